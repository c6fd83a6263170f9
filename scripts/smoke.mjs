#!/usr/bin/env node
// The smoke run: exactly what one CI job of .github/workflows/labs.yml does, so that a
// maintainer can run it on a laptop with `make smoke MODE=ipvs K8S=1.33`.
//
//   1. the cluster, kube-proxy in its default mode    proxylab up --mode iptables [--k8s K8S]
//   2. kube-proxy switched to MODE                     proxylab mode MODE
//   3. the web sample                                  proxylab web
//      (1-3 are what `proxylab lab` does before it checks one lab)
//   4. every lab in labs/*/README.md checked          proxylab check labs/X --junit --html
//   5. the state an instructor would look at           proxylab status
//   6. on failure, the cluster logs                    kind export logs test-results/kind-logs
//   7. the cluster deleted, unless --keep              proxylab down
//
// Results land in test-results/: one <lab>.xml (+ .html) per lab and smoke.xml, the JUnit
// record of the sequence itself (so a cluster that never came up still shows in the report).
// Exit code: 0 when every step passed, 1 when one failed, 2 on bad options.
import { $, fs, path } from 'zx';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const USAGE = `usage: node scripts/smoke.mjs [--mode ipvs|iptables|nftables] [--k8s 1.33] [--keep]
                              [--cluster NAME] [--lab NAME]... [--results DIR] [--labs-dir DIR]`;

let opts;
try {
  opts = parseArgs({
    options: {
      mode: { type: 'string', default: 'ipvs' },
      k8s: { type: 'string' },
      keep: { type: 'boolean', default: false },
      cluster: { type: 'string', default: process.env.CLUSTER || 'proxylab' },
      lab: { type: 'string', multiple: true },
      results: { type: 'string', default: 'test-results' },
      'labs-dir': { type: 'string', default: 'labs' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }).values;
} catch (e) {
  console.error(`✘ ${e.message}\n  → ${USAGE}`);
  process.exit(2);
}
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!['ipvs', 'iptables', 'nftables'].includes(opts.mode)) {
  console.error(`✘ unknown mode "${opts.mode}"\n  → use --mode ipvs, iptables or nftables`);
  process.exit(2);
}
if (opts.k8s !== undefined && !/^1\.\d+$/.test(opts.k8s)) {
  console.error(`✘ "${opts.k8s}" is not a Kubernetes minor version\n  → use e.g. --k8s 1.33`);
  process.exit(2);
}

$.cwd = root;
$.verbose = false;
const results = path.resolve(root, opts.results);
const proxylab = [
  process.execPath,
  path.join(root, 'bin', 'proxylab.js'),
  '--cluster',
  opts.cluster,
];
// the pinned kind of `make tools`, or PATH's (PROXYLAB_TOOLS=path, as proxylab itself does)
const pinnedKind = path.join(root, '.bin', 'kind');
const kind =
  process.env.PROXYLAB_TOOLS !== 'path' && fs.existsSync(pinnedKind) ? pinnedKind : 'kind';

// Every lab folder with a README.md, or the ones asked for with --lab.
const labsDir = path.resolve(root, opts['labs-dir']);
const allLabs = fs.existsSync(labsDir)
  ? fs
      .readdirSync(labsDir)
      .filter((n) => fs.existsSync(path.join(labsDir, n, 'README.md')))
      .sort()
  : [];
const labs = opts.lab?.length ? opts.lab : allLabs;
for (const l of labs) {
  if (!allLabs.includes(l)) {
    console.error(
      `✘ no lab "${l}" (no ${path.join(path.relative(root, labsDir) || '.', l, 'README.md')})\n  → labs here: ${allLabs.join(', ') || 'none'}`,
    );
    process.exit(2);
  }
}

/** One recorded phase of the run: becomes a <testcase> in smoke.xml. */
const phases = [];
const started = Date.now();

async function phase(name, argv) {
  const shown = ['proxylab', ...argv.slice(4)].join(' ');
  console.error(`\n▶ ${name}: ${shown}`);
  const t0 = Date.now();
  const p = await $({ stdio: ['ignore', 'inherit', 'inherit'], nothrow: true })`${argv}`;
  const secs = (Date.now() - t0) / 1000;
  const ok = p.exitCode === 0;
  phases.push({ name, command: shown, ok, exitCode: p.exitCode, secs });
  console.error(
    `${ok ? '✔' : '✘'} ${name} (${secs.toFixed(1)} s${ok ? '' : `, exit code ${p.exitCode}`})`,
  );
  return ok;
}

function xmlEscape(s) {
  return String(s).replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c],
  );
}

function writeSmokeJunit() {
  const failures = phases.filter((p) => !p.ok).length;
  const total = (Date.now() - started) / 1000;
  const suite = `smoke (${opts.mode}${opts.k8s ? `, k8s ${opts.k8s}` : ''})`;
  const cases = phases.map((p) => {
    const head = `    <testcase classname="smoke" name="${xmlEscape(p.name)}" time="${p.secs.toFixed(3)}"`;
    if (p.ok) return `${head}/>`;
    return `${head}>\n      <failure message="${xmlEscape(`\`${p.command}\` exited with code ${p.exitCode}`)}"/>\n    </testcase>`;
  });
  const xml = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="proxylab smoke" tests="${phases.length}" failures="${failures}" time="${total.toFixed(3)}">`,
    `  <testsuite name="${xmlEscape(suite)}" tests="${phases.length}" failures="${failures}" errors="0" skipped="0" time="${total.toFixed(3)}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
  fs.writeFileSync(path.join(results, 'smoke.xml'), xml);
}

let interrupted = false;
process.on('SIGINT', () => {
  interrupted = true; // the child gets the same SIGINT and finishes cleanly; we then clean up
});

fs.mkdirpSync(results);
console.error(
  `smoke: mode ${opts.mode}, Kubernetes ${opts.k8s ?? '(default)'}, cluster ${opts.cluster}, labs ${labs.join(', ') || '(none)'}` +
    `\n       results in ${path.relative(root, results) || '.'}/${opts.keep ? ', cluster kept' : ''}`,
);

let ok = false;
try {
  const up =
    (await phase('cluster', [
      ...proxylab,
      'up',
      '--mode',
      'iptables',
      ...(opts.k8s ? ['--k8s', opts.k8s] : []),
    ])) &&
    !interrupted &&
    (await phase(`kube-proxy in ${opts.mode} mode`, [...proxylab, 'mode', opts.mode])) &&
    !interrupted &&
    (await phase('web sample', [...proxylab, 'web']));
  let checks = up;
  if (up) {
    if (!labs.length) console.error('\n⚠ no lab docs to check (no labs/*/README.md)');
    for (const l of labs) {
      if (interrupted) break;
      const doc = path.join(labsDir, l);
      const junit = path.join(results, `${l}.xml`);
      const html = path.join(results, `${l}.html`);
      const passed = await phase(`check ${path.relative(root, doc)}`, [
        ...proxylab,
        'check',
        doc,
        '--junit',
        junit,
        '--html',
        html,
      ]);
      checks = checks && passed;
    }
    if (!interrupted) await phase('status', [...proxylab, 'status']);
  }
  ok = up && checks && !interrupted;
} finally {
  writeSmokeJunit();
  if (!ok) {
    const logs = path.join(results, 'kind-logs');
    const clusters = await $({ nothrow: true })`${kind} get clusters`;
    if (clusters.exitCode === 0 && clusters.stdout.split('\n').includes(opts.cluster)) {
      console.error(
        `\n▶ saving the cluster logs: kind export logs ${path.relative(root, logs)} --name ${opts.cluster}`,
      );
      const r = await $({ nothrow: true })`${kind} export logs ${logs} --name ${opts.cluster}`;
      console.error(
        r.exitCode === 0
          ? `✔ logs in ${path.relative(root, logs)}/`
          : `⚠ kind export logs failed: ${r.stderr.trim()}`,
      );
    }
  }
  if (opts.keep) {
    console.error(`\ncluster ${opts.cluster} kept (--keep): \`make down\` deletes it`);
  } else {
    await phase('down', [...proxylab, 'down']);
    writeSmokeJunit();
  }
}

const failed = phases.filter((p) => !p.ok);
console.error(
  `\n${failed.length ? '✘' : '✔'} smoke ${failed.length ? 'failed' : 'passed'}: ${phases.length - failed.length}/${phases.length} steps` +
    ` in ${((Date.now() - started) / 1000).toFixed(0)} s; JUnit in ${path.relative(root, results)}/`,
);
for (const f of failed)
  console.error(`  ✘ ${f.name}: \`${f.command}\` exited with code ${f.exitCode}`);
process.exit(interrupted ? 130 : failed.length ? 1 : 0);
