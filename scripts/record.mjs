#!/usr/bin/env node
// Record real outputs: on a running cluster, run every step of the lab docs exactly as
// `proxylab check` runs them (same step list, one bash session, same environment: this
// script runs `proxylab check <lab> --json` and takes each step's output from its result) and
// store each output as a fixture, with a header saying where it was recorded:
//
//   # source: recorded by scripts/record.mjs (proxylab check labs/ipvs --json)
//   # lab / step / doc-line / command / status / exit-code / date
//   # kind-version / kubernetes-version / node / node-image / kernel
//   # iptables / ip6tables / ipset / nft / ipvsadm     (`<tool> --version` inside the node)
//   # ---
//   <the output, stdout and stderr as the check saw them>
//
// test/helpers/fixtures.ts reads them (splitFixture). Files: <out>/<lab>/NNN-<command>.txt
// and <out>/<lab>/environment.txt (the header alone). The CI workflow uploads
// test-results/recorded/; a maintainer can commit them under test/fixtures/ and rerun
// `proxylab check <lab> --update` against them.
//
//   node scripts/record.mjs [--cluster NAME] [--kubeconfig FILE] [--out DIR] [--lab NAME]...
//
// Exit code: 0 when every lab was recorded and every step passed, 1 when a check failed
// (its outputs are recorded all the same), 2 on bad options or when there is no cluster.
import { $, fs, path } from 'zx';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const USAGE = `usage: node scripts/record.mjs [--cluster NAME] [--kubeconfig FILE] [--out DIR] [--lab NAME]...`;

let opts;
try {
  opts = parseArgs({
    options: {
      cluster: { type: 'string', default: process.env.CLUSTER || 'proxylab' },
      kubeconfig: { type: 'string' },
      out: { type: 'string', default: path.join('test-results', 'recorded') },
      lab: { type: 'string', multiple: true },
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

$.cwd = root;
$.verbose = false;
const kubeconfig = path.resolve(
  opts.kubeconfig ?? process.env.PROXYLAB_KUBECONFIG ?? path.join(root, 'kubeconfig'),
);
const out = path.resolve(root, opts.out);
const labsDir = path.join(root, 'labs');
// the pinned tools of `make tools` first, as proxylab itself does (PROXYLAB_TOOLS=path: PATH's)
const tool = (name) => {
  const pinned = path.join(root, '.bin', name);
  return process.env.PROXYLAB_TOOLS !== 'path' && fs.existsSync(pinned) ? pinned : name;
};
const proxylab = [
  process.execPath,
  path.join(root, 'bin', 'proxylab.js'),
  '--cluster',
  opts.cluster,
  '--kubeconfig',
  kubeconfig,
];

/**
 * proxylab's own module that reads a lab's needs: the sources through tsx when it is
 * installed (always current), else the build in dist/ (as scripts/smoke.mjs does).
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
const { readNeeds } = await proxylabModule('doccheck/requires');

/** The labs checked on the cluster: `<!-- proxylab needs: … cluster … -->`, not unchecked. */
function clusterLabs() {
  return fs
    .readdirSync(labsDir)
    .filter((n) => {
      const f = path.join(labsDir, n, 'README.md');
      if (!fs.existsSync(f)) return false;
      const needs = readNeeds(fs.readFileSync(f, 'utf8'));
      return !needs.unchecked && needs.alternatives.some((a) => a.includes('cluster'));
    })
    .sort();
}
const labs = opts.lab?.length ? opts.lab.map((l) => l.replace(/^labs\//, '')) : clusterLabs();
for (const l of labs)
  if (!fs.existsSync(path.join(labsDir, l, 'README.md'))) {
    console.error(
      `✘ no lab "${l}" (no labs/${l}/README.md)\n  → labs here: ${clusterLabs().join(', ')}`,
    );
    process.exit(2);
  }

/** First line of a command's stdout, or why there is none (recorded as such, never guessed). */
async function first(argv) {
  const p = await $({ nothrow: true })`${argv}`;
  const line = p.stdout.split('\n').find((l) => l.trim()) ?? '';
  if (p.exitCode === 0 && line) return line.trim();
  const why = (p.stderr.trim().split('\n').at(-1) ?? '').trim();
  return `unknown (\`${argv.map((a) => path.basename(a)).join(' ')}\` exited ${p.exitCode}${why ? `: ${why}` : ''})`;
}

// --- the environment every output was recorded in -------------------------------------
const nodes = await $({ nothrow: true })`${[tool('kind'), 'get', 'nodes', '--name', opts.cluster]}`;
const names = nodes.stdout
  .split('\n')
  .map((s) => s.trim())
  .filter(Boolean);
if (nodes.exitCode !== 0 || !names.length) {
  console.error(
    `✘ no cluster "${opts.cluster}" to record on (kind get nodes: ${(nodes.stderr || nodes.stdout).trim() || 'no nodes'})\n  → create it with \`make up\` (or \`make lab\`), then run this again`,
  );
  process.exit(2);
}
// the labs look at proxylab-worker: record the tools of a worker (else the first node)
const node =
  names.find((n) => /-worker$/.test(n)) ?? names.find((n) => /-worker/.test(n)) ?? names[0];
const inNode = (argv) => first(['docker', 'exec', node, ...argv]);
const serverVersion = await (async () => {
  const p = await $({
    nothrow: true,
  })`${[tool('kubectl'), '--kubeconfig', kubeconfig, 'version', '-o', 'json']}`;
  try {
    return JSON.parse(p.stdout).serverVersion?.gitVersion ?? 'unknown (no serverVersion)';
  } catch {
    return `unknown (kubectl version exited ${p.exitCode})`;
  }
})();
const env = {
  'kind-version': await first([tool('kind'), 'version']),
  'kubernetes-version': serverVersion,
  node,
  'node-image': await first(['docker', 'inspect', '--format', '{{.Config.Image}}', node]),
  kernel: await inNode(['uname', '-r']),
  iptables: await inNode(['iptables', '--version']),
  ip6tables: await inNode(['ip6tables', '--version']),
  ipset: await inNode(['ipset', '--version']),
  nft: await inNode(['nft', '--version']),
  ipvsadm: await inNode(['ipvsadm', '--version']),
};

/** One header line: `# key: value`, on one line (newlines written as \n). */
const h = (k, v) => `# ${k}: ${String(v).replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`;
const slug = (s) =>
  s
    .split('\n')[0]
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60) || 'step';

let worst = 0;
for (const lab of labs) {
  const rel = `labs/${lab}`;
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  console.error(
    `▶ recording ${rel} on cluster "${opts.cluster}" (${env['kubernetes-version']}, node ${node})`,
  );
  const p = await $({
    nothrow: true,
    stdio: ['ignore', 'pipe', 'inherit'],
  })`${[...proxylab, 'check', rel, '--json']}`;
  let result;
  try {
    result = JSON.parse(p.stdout);
  } catch {
    console.error(
      `✘ ${rel}: proxylab check exited ${p.exitCode} without a result: nothing recorded`,
    );
    worst = 2;
    continue;
  }
  const dir = path.join(out, lab);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirpSync(dir);
  const common = [
    h('source', `recorded by scripts/record.mjs (proxylab check ${rel} --json)`),
    h('lab', rel),
    h('date', date),
    ...Object.entries(env).map(([k, v]) => h(k, v)),
  ];
  fs.writeFileSync(path.join(dir, 'environment.txt'), [...common, '# ---', ''].join('\n'));
  let n = 0;
  for (const s of result.steps) {
    const file = `${String(s.index).padStart(3, '0')}-${slug(s.command)}.txt`;
    const head = [
      ...common,
      h('step', s.index),
      h('doc-line', s.line),
      h('command', s.command),
      h('status', s.status),
      h('exit-code', s.exitCode ?? 'none'),
      '# ---',
    ];
    fs.writeFileSync(path.join(dir, file), `${head.join('\n')}\n${s.actual ?? ''}`);
    n++;
  }
  const failed = result.steps.filter((s) => s.status !== 'passed').length;
  console.error(
    `${failed ? '✘' : '✔'} ${rel}: ${n} outputs in ${path.relative(root, dir) || dir}${failed ? ` (${failed} steps did not pass)` : ''}`,
  );
  if (p.exitCode !== 0) worst = Math.max(worst, 1);
}
process.exit(worst);
