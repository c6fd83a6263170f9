/**
 * `proxylab parse` and `inspect` measured as users run them: the compiled CLI started as a
 * process, its input a file, its stdout a file, beside `proxylab --version` in the same run.
 * "Work" is what a command costs beyond start-up: its CPU time (user + system, from
 * /usr/bin/time) minus that of a `--version` run just before it (median over the runs), and
 * the same for wall time; memory is its peak RSS minus that of `--version`, against the
 * input's size. CPU time is the figure to read on a busy machine (wall time is inflated
 * there). The default parse is measured twice: stdout a file, and stdout a pipe this process
 * reads as the child writes (as `| jq` would).
 * BENCH_BASELINE_JS=<other build's cli.js> adds a before/after ratio; BENCH_INSPECT=0 skips
 * the inspect case; BENCH_RUNS (default 5).
 * Goals (issue 14): parse of a 5,000-service iptables-save and of a 10,000-service
 * `ipvsadm -Ln` ≤ 150 ms of work, peak memory ≤ 4× the input; `inspect` of a 3-node (fake)
 * cluster with 5,000 Services ≤ 2 s of work.
 *   npm run bench -- parse-cli
 *   node --import tsx scripts/bench/parse-cli.ts     (alone)
 */
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateIpvsadm, generateIptablesSave } from './parse.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TIME = '/usr/bin/time';
const PARSE_GOAL_MS = 150;
const INSPECT_GOAL_MS = 2000;

/** The compiled CLI: dist/cli.js when current, else a build of the sources in .cache/. */
function compiledCli(log: (l: string) => void): string[] {
  if (process.env.BENCH_CLI_JS) return [process.env.BENCH_CLI_JS];
  const out = `${ROOT}.cache/bench-dist`;
  log('building the CLI (tsc → .cache/bench-dist) so start-up is the compiled one users run');
  const r = spawnSync(
    process.execPath,
    [`${ROOT}node_modules/typescript/bin/tsc`, '-p', `${ROOT}tsconfig.json`, '--outDir', out],
    { cwd: ROOT, encoding: 'utf8', timeout: 900_000 },
  );
  if (existsSync(`${out}/cli.js`) && r.status === 0) return [`${out}/cli.js`];
  log(`  build failed (${(r.stdout || r.stderr).split('\n')[0]}): measuring through tsx instead`);
  return ['--import', 'tsx', `${ROOT}src/cli.ts`];
}

interface Run {
  wallMs: number;
  cpuMs: number;
  rssKb: number;
  outBytes: number;
  code: number;
}

/** `pipe`: stdout is a pipe this process reads (as `| jq` would), not a file. */
function once(
  cli: string[],
  args: string[],
  env: NodeJS.ProcessEnv,
  dir: string,
  pipe = false,
): Run {
  const out = join(dir, 'stdout');
  const tf = join(dir, 'time');
  const fd = openSync(out, 'w');
  const t = performance.now();
  const r = spawnSync(TIME, ['-f', '%U %S %M', '-o', tf, process.execPath, ...cli, ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', CI: 'true', ...env },
    stdio: ['ignore', pipe ? 'pipe' : fd, 'pipe'],
    maxBuffer: 1 << 30,
    timeout: 600_000,
  });
  const wallMs = performance.now() - t;
  if (pipe && r.stdout) writeFileSync(fd, r.stdout);
  closeSync(fd);
  const last = readFileSync(tf, 'utf8').trim().split('\n').pop() ?? '';
  const [u, s, m] = last.split(' ').map(Number);
  return {
    wallMs,
    cpuMs: ((u ?? NaN) + (s ?? NaN)) * 1000,
    rssKb: m ?? NaN,
    outBytes: statSync(out).size,
    code: r.status ?? 1,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function measure(
  cli: string[],
  args: string[],
  runs: number,
  dir: string,
  env: NodeJS.ProcessEnv = {},
  pipe = false,
): Run {
  const rs: Run[] = [];
  for (let i = 0; i < runs; i++) rs.push(once(cli, args, env, dir, pipe));
  const bad = rs.find((r) => r.code !== 0);
  if (bad) throw new Error(`proxylab ${args.join(' ')} exited ${bad.code}`);
  return {
    wallMs: median(rs.map((r) => r.wallMs)),
    cpuMs: median(rs.map((r) => r.cpuMs)),
    rssKb: median(rs.map((r) => r.rssKb)),
    outBytes: rs[0]!.outBytes,
    code: 0,
  };
}

const MB = (b: number) => `${(b / 1e6).toFixed(1)} MB`;

/**
 * What `inspect` reads from a 3-node cluster in iptables mode with `n` Services of 2
 * endpoints each: each node's output of the inspect node script (the kube-proxy nat table
 * as iptables-save prints it, the other tools absent) and the Services and EndpointSlices
 * kubectl returns. (The fake toolchain's kubectl takes minutes per 500 Services applied, so
 * the cluster side is generated here rather than applied to a fake cluster.)
 */
export function inspectInputs(n: number, dir: string): { nodes: string[]; k8s: string } {
  const sec = (name: string, out: string, code = 0) =>
    `\n@@proxylab-inspect begin ${name}@@\n${out}\n@@proxylab-inspect end ${name} ${code}@@\n`;
  const node =
    sec('ipvsadm', 'sh: 1: ipvsadm: not found', 127) +
    sec('iptables-save', generateIptablesSave(n)) +
    sec('ipset', 'sh: 1: ipset: not found', 127) +
    sec('kube-ipvs0', 'Device "kube-ipvs0" does not exist.', 1) +
    sec(
      'nft',
      'Error: No such file or directory\nlist table ip kube-proxy\n                 ^^^^^^^^^^',
      1,
    ) +
    sec('proxy-mode', 'iptables') +
    '\n@@proxylab-inspect done@@\n';
  const ip = (a: number) => `${(a >>> 24) & 255}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
  const V4 = (a: number, b: number, c: number, d: number) =>
    ((a << 24) >>> 0) + (b << 16) + (c << 8) + d;
  const services = [];
  const slices = [];
  for (let i = 0; i < n; i++) {
    const name = `svc-${i}`;
    services.push({
      metadata: { namespace: 'bench', name },
      spec: {
        type: 'ClusterIP',
        clusterIP: ip(V4(10, 96, 0, 10) + i),
        ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
      },
    });
    slices.push({
      metadata: {
        namespace: 'bench',
        name: `${name}-abcde`,
        labels: { 'kubernetes.io/service-name': name },
      },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: [0, 1].map((k) => ({
        addresses: [ip(V4(10, 244, 0, 2) + 2 * i + k)],
        conditions: { ready: true },
      })),
    });
  }
  const nodes = ['control-plane', 'worker', 'worker2'].map((name) => {
    const f = join(dir, `node-${name}.txt`);
    writeFileSync(f, node);
    return f;
  });
  const k8s = join(dir, 'k8s.json');
  writeFileSync(
    k8s,
    JSON.stringify({
      services: { kind: 'List', items: services },
      endpoints: { kind: 'List', items: slices },
      configMap: { data: { 'config.conf': 'kind: KubeProxyConfiguration\nmode: iptables\n' } },
    }),
  );
  return { nodes, k8s };
}

/**
 * inspect's own work on those inputs in a fresh process of the compiled code (cold, as a CLI
 * run is): every node's output read, joined with the Services, findings, the SVG. The child
 * reports its CPU time around that work (reading the files and loading modules excluded).
 */
function inspectWork(
  cliJs: string,
  inputs: { nodes: string[]; k8s: string },
): { cpuMs: number; wallMs: number; services: number } {
  const dist = cliJs.replace(/cli\.js$/, '');
  const code = `
    import { readFileSync } from 'node:fs';
    // the V8 settings the inspect command sets for itself
    (await import(${JSON.stringify(`${dist}core/v8-tuning.js`)})).tuneForOneParse();
    const { readNode } = await import(${JSON.stringify(`${dist}inspect/snapshot.js`)});
    const { joinSnapshot } = await import(${JSON.stringify(`${dist}inspect/join.js`)});
    const { findings } = await import(${JSON.stringify(`${dist}inspect/findings.js`)});
    const { renderSvg } = await import(${JSON.stringify(`${dist}inspect/svg.js`)});
    const nodes = ${JSON.stringify(inputs.nodes)}.map((f) => readFileSync(f, 'utf8'));
    const k = JSON.parse(readFileSync(${JSON.stringify(inputs.k8s)}, 'utf8'));
    const c0 = process.cpuUsage(); const t0 = performance.now();
    const snaps = nodes.map((t, i) => readNode(['control-plane', 'worker', 'worker2'][i], t));
    const s = joinSnapshot('proxylab', snaps, k.services, k.endpoints, k.configMap);
    const f = findings(s);
    const svg = renderSvg(s, f);
    const json = JSON.stringify({ snapshot: s, findings: f });
    const c = process.cpuUsage(c0);
    process.stdout.write(JSON.stringify({ cpuMs: (c.user + c.system) / 1000, wallMs: performance.now() - t0, services: s.servicePorts.length, bytes: json.length + svg.length }));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (r.status !== 0)
    throw new Error(`inspect work: ${r.stderr.split('\n').slice(0, 3).join(' ')}`);
  return JSON.parse(r.stdout) as { cpuMs: number; wallMs: number; services: number };
}

export async function bench(log: (line: string) => void) {
  if (!existsSync(TIME)) {
    log(
      `parse-cli: skipped — needs GNU time at ${TIME} for the CPU time and peak memory of a child process`,
    );
    return { skipped: 'no /usr/bin/time' };
  }
  const runs = Number(process.env.BENCH_RUNS ?? 5);
  const dir = mkdtempSync(join(tmpdir(), 'proxylab-bench-'));
  try {
    const cli = compiledCli(log);
    const ipt = join(dir, 'iptables-save-5k.txt');
    const ipvs = join(dir, 'ipvsadm-10k.txt');
    writeFileSync(ipt, generateIptablesSave(5_000));
    writeFileSync(ipvs, generateIpvsadm(10_000));
    // 4× the listing: a parse that streams takes the same memory (what it takes is V8's own,
    // the compiler's above all), one that holds its input takes 4× more; and 10 services: the
    // memory any parse takes (the parse command's modules, V8's WebAssembly compiler: ~3 MB of
    // node's own code read in to compile even an empty module)
    const ipvs4 = join(dir, 'ipvsadm-40k.txt');
    writeFileSync(ipvs4, generateIpvsadm(40_000));
    const ipvsTiny = join(dir, 'ipvsadm-10.txt');
    writeFileSync(ipvsTiny, generateIpvsadm(10));
    const size = {
      ipt: statSync(ipt).size,
      ipvs: statSync(ipvs).size,
      ipvs4: statSync(ipvs4).size,
      ipvsTiny: statSync(ipvsTiny).size,
    };
    const [load1] = loadavg();
    log(
      `load average ${load1!.toFixed(1)} on ${cpus().length} CPUs${load1! > cpus().length ? ' — busy machine: read the CPU figures' : ''}; median of ${runs} runs each`,
    );
    const base = measure(cli, ['--version'], runs, dir);
    log(
      `proxylab --version (baseline)             ${base.wallMs.toFixed(0)} ms wall, ${base.cpuMs.toFixed(0)} ms CPU, ${(base.rssKb / 1024).toFixed(0)} MB peak RSS`,
    );
    // [name, args, input bytes, goal, stdout a pipe read as it is written (| jq) rather than a file]
    const cases: Array<[string, string[], number, number, boolean?]> = [
      ['parse iptables (5,000 services)', ['parse', 'iptables', ipt], size.ipt, PARSE_GOAL_MS],
      ['  … | reader (stdout a pipe)', ['parse', 'iptables', ipt], size.ipt, PARSE_GOAL_MS, true],
      [
        '  --view kube-proxy',
        ['parse', 'iptables', '--view', 'kube-proxy', ipt],
        size.ipt,
        PARSE_GOAL_MS,
      ],
      ['  --view rules', ['parse', 'iptables', '--view', 'rules', ipt], size.ipt, PARSE_GOAL_MS],
      [
        '  --view summary',
        ['parse', 'iptables', '--view', 'summary', ipt],
        size.ipt,
        PARSE_GOAL_MS,
      ],
      ['parse ipvsadm (10,000 services)', ['parse', 'ipvsadm', ipvs], size.ipvs, PARSE_GOAL_MS],
      // (no CPU goal: these lines are there for their memory)
      ['  40,000 services (memory)', ['parse', 'ipvsadm', ipvs4], size.ipvs4, 0],
      ['  10 services (memory any parse takes)', ['parse', 'ipvsadm', ipvsTiny], size.ipvsTiny, 0],
      [
        '  --view summary',
        ['parse', 'ipvsadm', '--view', 'summary', ipvs],
        size.ipvs,
        PARSE_GOAL_MS,
      ],
    ];
    const results: Record<string, unknown> = {
      loadAverage: +load1!.toFixed(1),
      versionCpuMs: +base.cpuMs.toFixed(0),
      versionWallMs: +base.wallMs.toFixed(0),
      versionRssMb: +(base.rssKb / 1024).toFixed(1),
    };
    /** The case a `  --view …` line belongs to, for its key in the results. */
    let parent = '';
    for (const [name, args, inBytes, goal, pipe] of cases) {
      if (!name.startsWith(' ')) parent = name;
      // each run beside a `--version` run just before it: work is the median of the
      // differences, so a load that comes and goes during the bench weighs on both
      const pairs = Array.from({ length: runs }, () => {
        const v = once(cli, ['--version'], {}, dir);
        const r = once(cli, args, {}, dir, pipe);
        if (r.code !== 0) throw new Error(`proxylab ${args.join(' ')} exited ${r.code}`);
        return { v, r };
      });
      const m = { outBytes: pairs[0]!.r.outBytes };
      const cpuWork = median(pairs.map((p) => p.r.cpuMs - p.v.cpuMs));
      const wallWork = median(pairs.map((p) => p.r.wallMs - p.v.wallMs));
      const memKb = median(pairs.map((p) => p.r.rssKb - p.v.rssKb));
      const memRatio = (memKb * 1024) / inBytes;
      const vsGoal = goal ? ` (${(cpuWork / goal).toFixed(2)}× the ${goal} ms goal)` : '';
      // (an input of a few KB: the memory is the parse's own, no ratio to read)
      const memory =
        inBytes < 100_000
          ? `memory +${(memKb / 1024).toFixed(1)} MB`
          : `memory +${(memKb / 1024).toFixed(1)} MB = ${memRatio.toFixed(1)}× the ${MB(inBytes)} input (goal ≤ 4×)`;
      log(
        `${name.padEnd(40)} work ${cpuWork.toFixed(0)} ms CPU${vsGoal}, ${wallWork.toFixed(0)} ms wall; ${memory}; stdout ${MB(m.outBytes)}`,
      );
      // (`--view summary` is a case of iptables and of ipvsadm: keyed under its parse)
      results[name.startsWith(' ') ? `${parent} ${name.trim()}` : name] = {
        cpuWorkMs: +cpuWork.toFixed(0),
        wallWorkMs: +wallWork.toFixed(0),
        vsGoal: goal ? +(cpuWork / goal).toFixed(2) : null,
        memoryVsInput: inBytes < 100_000 ? null : +memRatio.toFixed(1),
        memoryMb: +(memKb / 1024).toFixed(1),
        stdoutBytes: m.outBytes,
      };
    }
    // Another build (e.g. an older commit compiled elsewhere) against this one, for a
    // before/after ratio: BENCH_BASELINE_JS=path/to/cli.js. The two run in turns with a
    // `--version` of this build before each pair, so a load that changes during the run
    // weighs on both alike; the ratio is the median of the pairs' ratios of work.
    const before = process.env.BENCH_BASELINE_JS;
    if (before && existsSync(before)) {
      for (const [name, args, inBytes, , pipe] of [cases[0]!, cases[1]!, cases[5]!]) {
        const pairs = Array.from({ length: runs }, () => {
          const v = once(cli, ['--version'], {}, dir);
          const now = once(cli, args, {}, dir, pipe);
          const old = once([before], args, {}, dir, pipe);
          if (now.code !== 0 || old.code !== 0)
            throw new Error(`proxylab ${args.join(' ')} failed`);
          return { v, now, old };
        });
        const nowWork = median(pairs.map((p) => p.now.cpuMs - p.v.cpuMs));
        const oldWork = median(pairs.map((p) => p.old.cpuMs - p.v.cpuMs));
        const ratio = median(
          pairs.map((p) => (p.now.cpuMs - p.v.cpuMs) / (p.old.cpuMs - p.v.cpuMs)),
        );
        const mem = (r: Run, v: Run) => ((r.rssKb - v.rssKb) * 1024) / inBytes;
        const nowMem = median(pairs.map((p) => mem(p.now, p.v)));
        const oldMem = median(pairs.map((p) => mem(p.old, p.v)));
        log(
          `${`${name.trim()} — this build vs baseline build, in turns`.padEnd(40)} work ${nowWork.toFixed(0)} vs ${oldWork.toFixed(0)} ms CPU (×${ratio.toFixed(2)}); memory ${nowMem.toFixed(1)}× vs ${oldMem.toFixed(1)}× the input`,
        );
        results[`${name.trim()} (vs baseline build)`] = {
          cpuWorkMs: +nowWork.toFixed(0),
          baselineCpuWorkMs: +oldWork.toFixed(0),
          thisBuildVsBaseline: +ratio.toFixed(2),
          memoryVsInput: +nowMem.toFixed(1),
          baselineMemoryVsInput: +oldMem.toFixed(1),
        };
      }
    }
    if (process.env.BENCH_INSPECT !== '0' && !cli.includes('tsx')) {
      const inputs = inspectInputs(5_000, dir);
      const rs = Array.from({ length: Math.min(runs, 3) }, () => inspectWork(cli[0]!, inputs));
      const cpuMs = median(rs.map((r) => r.cpuMs));
      const wallMs = median(rs.map((r) => r.wallMs));
      log(
        `inspect work (3 nodes, ${rs[0]!.services.toLocaleString('en')} Service ports: read, join, findings, SVG, JSON)  ${cpuMs.toFixed(0)} ms CPU (${(cpuMs / INSPECT_GOAL_MS).toFixed(2)}× the ${INSPECT_GOAL_MS} ms goal), ${wallMs.toFixed(0)} ms wall`,
      );
      results.inspect5k = {
        cpuMs: +cpuMs.toFixed(0),
        wallMs: +wallMs.toFixed(0),
        vsGoal: +(cpuMs / INSPECT_GOAL_MS).toFixed(2),
      };
    }
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const r = await bench((l) => process.stdout.write(`${l}\n`));
  process.stdout.write(`${JSON.stringify(r)}\n`);
}
