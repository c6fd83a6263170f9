#!/usr/bin/env node
// The smoke run: exactly what one CI job of .github/workflows/labs.yml does, so that a
// maintainer can run it on a laptop with `make smoke MODE=ipvs K8S=1.33`.
//
//   0. each lab's needs, as its README.md declares them (<!-- proxylab needs: … -->, see
//      src/doccheck/requires.ts): a lab this machine cannot run, or one marked
//      `unchecked`, is skipped and the reason recorded in JUnit
//   1. labs that need no cluster (e.g. labs/ipvs-by-hand: root + IPVS in this kernel),
//      checked first, with `sudo -n` when they need root and this user is not root
//   2. the cluster, kube-proxy in its default mode    proxylab up --mode iptables [--k8s K8S]
//   3. kube-proxy switched to MODE                     proxylab mode MODE
//   4. the web sample                                  proxylab web
//      (2-4 are what `proxylab lab` does before it checks one lab; only when a lab needs it)
//   5. every lab that needs the cluster checked        proxylab check labs/X --junit --html
//   6. the state an instructor would look at           proxylab status
//   7. on failure, the cluster logs                    kind export logs test-results/kind-logs
//   8. the cluster deleted, unless --keep              proxylab down
//
// Results land in test-results/: one <lab>.xml (+ .html) per checked lab and smoke.xml, the
// JUnit record of the sequence itself (so a cluster that never came up, and every skipped
// lab with its reason, still show in the report).
// Exit code: 0 when every step passed (skips included), 1 when one failed, 2 on bad options.
import { $, fs, path } from 'zx';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';

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

/**
 * proxylab's own modules (how a lab declares its needs, where state lives): the sources
 * through tsx when it is installed (always current), else the build in dist/.
 */
async function proxylabModule(rel) {
  try {
    const { register } = await import('tsx/esm/api');
    register();
    return await import(pathToFileURL(path.join(root, 'src', `${rel}.ts`)).href);
  } catch (e) {
    const built = path.join(root, 'dist', `${rel}.js`);
    if (!fs.existsSync(built)) throw e;
    return import(pathToFileURL(built).href);
  }
}
const requires = await proxylabModule('doccheck/requires');
const { stateDir } = await proxylabModule('steps/state');
const isRoot = process.getuid?.() === 0;

/** One recorded phase of the run: becomes a <testcase> in smoke.xml. */
const phases = [];
const started = Date.now();

/** Record a phase that did not run, and why (a <skipped> testcase). */
function skip(name, command, why) {
  phases.push({ name, command, ok: true, skipped: why, exitCode: null, secs: 0 });
  console.error(`\n⊘ ${name}: skipped: ${why}`);
}

async function phase(name, argv, { sudo = false } = {}) {
  const shown = `${sudo ? 'sudo ' : ''}${['proxylab', ...argv.slice(4)].join(' ')}`;
  console.error(`\n▶ ${name}: ${shown}`);
  // root for this lab: sudo, keeping the environment (and PATH, which sudo's secure_path
  // would replace) so that the check sees the same tools and settings as the rest
  const full = sudo ? ['sudo', '-n', '-E', 'env', `PATH=${process.env.PATH ?? ''}`, ...argv] : argv;
  const t0 = Date.now();
  const p = await $({ stdio: ['ignore', 'inherit', 'inherit'], nothrow: true })`${full}`;
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
  const skipped = phases.filter((p) => p.skipped).length;
  const total = (Date.now() - started) / 1000;
  const suite = `smoke (${opts.mode}${opts.k8s ? `, k8s ${opts.k8s}` : ''})`;
  const cases = phases.map((p) => {
    const head = `    <testcase classname="smoke" name="${xmlEscape(p.name)}" time="${p.secs.toFixed(3)}"`;
    if (p.skipped)
      return `${head}>\n      <skipped message="${xmlEscape(p.skipped)}"/>\n    </testcase>`;
    if (p.ok) return `${head}/>`;
    return `${head}>\n      <failure message="${xmlEscape(`\`${p.command}\` exited with code ${p.exitCode}`)}"/>\n    </testcase>`;
  });
  const xml = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="proxylab smoke" tests="${phases.length}" failures="${failures}" skipped="${skipped}" time="${total.toFixed(3)}">`,
    `  <testsuite name="${xmlEscape(suite)}" tests="${phases.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${total.toFixed(3)}">`,
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

// 0. What each lab needs, and whether this machine has it. The cluster counts as there:
// this run creates it. Root counts when a password-less sudo works (labs run with it).
const probes = {
  ...requires.hostProbes({
    cluster: opts.cluster,
    kubeconfig: '',
    env: process.env,
    sudo: true,
  }),
  cluster: async () => ({ ok: true, why: 'make smoke creates it' }),
};
const plan = [];
for (const l of labs) {
  const doc = path.join(labsDir, l);
  const rel = path.relative(root, doc) || doc;
  const name = `check ${rel}`;
  let needs;
  try {
    needs = requires.labNeeds(
      fs.readFileSync(path.join(doc, 'README.md'), 'utf8'),
      `${rel}/README.md`,
    );
  } catch (e) {
    console.error(`✘ ${e.message}${e.hint ? `\n  → ${e.hint}` : ''}`);
    process.exit(2);
  }
  if (needs.unchecked) {
    plan.push({ lab: l, doc, name, skip: `not checked: ${needs.unchecked}` });
    continue;
  }
  const v = await requires.evaluateNeeds(needs, probes, rel);
  if (!v.ok) plan.push({ lab: l, doc, name, skip: `this machine cannot run it: ${v.message}` });
  else
    plan.push({
      lab: l,
      doc,
      name,
      cluster: v.via.includes('cluster'),
      sudo: v.via.includes('root') && !isRoot,
    });
}

/** Hand files a sudo'ed check wrote (reports, proxylab's state) back to this user. */
async function reclaim(files) {
  if (isRoot) return;
  const mine = `${process.getuid()}:${process.getgid()}`;
  const there = files.filter((f) => fs.existsSync(f));
  if (there.length) await $({ nothrow: true })`sudo -n chown -R ${mine} ${there}`;
}

async function check(p) {
  const junit = path.join(results, `${p.lab}.xml`);
  const html = path.join(results, `${p.lab}.html`);
  const ok = await phase(p.name, [...proxylab, 'check', p.doc, '--junit', junit, '--html', html], {
    sudo: p.sudo,
  });
  if (p.sudo) await reclaim([junit, html, stateDir(process.env)]);
  return ok;
}

let ok = false;
let clusterMade = false;
try {
  let checks = true;
  for (const p of plan) if (p.skip) skip(p.name, `proxylab check ${p.doc}`, p.skip);
  // 1. labs without a cluster, before there is one
  for (const p of plan.filter((x) => !x.skip && !x.cluster)) {
    if (interrupted) break;
    checks = (await check(p)) && checks;
  }
  // 2-6. the cluster, then the labs that need it
  const onCluster = plan.filter((x) => !x.skip && x.cluster);
  let up = true;
  if (onCluster.length && !interrupted) {
    clusterMade = true;
    up =
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
    if (up) {
      for (const p of onCluster) {
        if (interrupted) break;
        checks = (await check(p)) && checks;
      }
      if (!interrupted) await phase('status', [...proxylab, 'status']);
    }
  } else if (!plan.some((x) => !x.skip)) console.error('\n⚠ no lab here can be checked');
  ok = up && checks && !interrupted;
} finally {
  writeSmokeJunit();
  if (!ok && clusterMade) {
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
  if (!clusterMade) {
    // no lab needed it: nothing to keep or delete
  } else if (opts.keep) {
    console.error(`\ncluster ${opts.cluster} kept (--keep): \`make down\` deletes it`);
  } else {
    await phase('down', [...proxylab, 'down']);
    writeSmokeJunit();
  }
}

const failed = phases.filter((p) => !p.ok);
const skipped = phases.filter((p) => p.skipped);
console.error(
  `\n${failed.length ? '✘' : '✔'} smoke ${failed.length ? 'failed' : 'passed'}: ${phases.length - failed.length - skipped.length}/${phases.length} steps passed` +
    `${skipped.length ? `, ${skipped.length} skipped` : ''} in ${((Date.now() - started) / 1000).toFixed(0)} s; JUnit in ${path.relative(root, results)}/`,
);
for (const s of skipped) console.error(`  ⊘ ${s.name}: ${s.skipped}`);
for (const f of failed)
  console.error(`  ✘ ${f.name}: \`${f.command}\` exited with code ${f.exitCode}`);
process.exit(interrupted ? 130 : failed.length ? 1 : 0);
