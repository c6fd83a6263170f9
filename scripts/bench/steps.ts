/**
 * Lab steps benchmark (issue 3), against the fake toolchain:
 *  1. `docker exec` calls per node per step, from the fake's calls.jsonl
 *     (goal: ≤ 1 per node per inspection);
 *  2. the whole `proxylab lab` flow's own overhead: the same commands replayed by a plain bash
 *     script (same order, same parallel groups, same stdin) against a fresh fake, as a ratio
 *     (goal ≤ 1.2×).
 * Ratios only; nothing here is asserted by a test. Run alone: node --import tsx scripts/bench/steps.ts
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createFake,
  createFakeCluster,
  FAKE_BIN,
  type Fake,
  type FakeCall,
} from '../../test/helpers/fake.js';
import { fakeKernel } from '../../test/flow/steps-helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function labEnv(f: Fake, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...f.env,
    NO_COLOR: '1',
    CI: 'true',
    PROXYLAB_STATE_DIR: join(f.dir, 'state'),
    PROXYLAB_DEB_CACHE: join(f.dir, 'debs'),
    ...fakeKernel(join(f.dir, 'kernel')),
    ...extra,
  };
}

/**
 * How the CLI is started: the compiled JS (what `make` runs: node bin/proxylab.js → dist/)
 * when BENCH_CLI_JS or dist/cli.js exists, else the TypeScript sources through tsx.
 */
let built: string | undefined;
function cliArgv(): { argv: string[]; how: string } {
  let js =
    process.env.BENCH_CLI_JS ??
    (existsSync(`${ROOT}dist/cli.js`) ? `${ROOT}dist/cli.js` : undefined);
  if (!js) {
    if (built === undefined) {
      // compile the current sources once (inside the checkout, so node_modules resolve)
      const out = `${ROOT}.cache/bench-dist`;
      const r = spawnSync(
        process.execPath,
        [`${ROOT}node_modules/typescript/bin/tsc`, '-p', `${ROOT}tsconfig.json`, '--outDir', out],
        { cwd: ROOT, encoding: 'utf8', timeout: 600_000 },
      );
      built = existsSync(`${out}/cli.js`) && r.status === 0 ? `${out}/cli.js` : '';
    }
    js = built || undefined;
  }
  return js
    ? { argv: [js], how: `compiled JS (${js.replace(ROOT, '')}), as \`make\` runs it` }
    : {
        argv: ['--import', 'tsx', `${ROOT}src/cli.ts`],
        how: 'TypeScript through tsx (the build failed)',
      };
}

function cli(
  f: Fake,
  args: string[],
  env: NodeJS.ProcessEnv,
): { code: number; ms: number; stderr: string } {
  const t = performance.now();
  const r = spawnSync(
    process.execPath,
    [...cliArgv().argv, '--kubeconfig', f.kubeconfig, ...args],
    { cwd: ROOT, env: { PROXYLAB_ROOT: ROOT, ...env }, encoding: 'utf8', timeout: 600_000 },
  );
  return { code: r.status ?? 1, ms: performance.now() - t, stderr: r.stderr };
}

const nodeOf = (c: FakeCall): string | undefined => {
  if (c.tool !== 'docker' || c.argv[0] !== 'exec') return undefined;
  return c.argv.slice(1).find((a) => !a.startsWith('-'));
};

/** docker exec per node for one CLI run (calls between two points of the log). */
function execsPerNode(calls: FakeCall[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of calls) {
    const n = nodeOf(c);
    if (n) out[n] = (out[n] ?? 0) + 1;
  }
  return out;
}

export function stepExecCounts(log: (l: string) => void): Record<string, Record<string, number>> {
  const f = createFake({});
  try {
    createFakeCluster(f, { mode: 'iptables', image: 'v1.35.0' });
    const env = labEnv(f);
    const steps: [string, string[]][] = [
      ['node-tools (first install)', ['node-tools']],
      ['node-tools (re-run)', ['node-tools']],
      ['mode ipvs (switch + verify + flush)', ['mode', 'ipvs', '--scheduler', 'rr']],
      ['mode ipvs (re-run: verify only)', ['mode', 'ipvs', '--scheduler', 'rr']],
      ['flush-nat --dry-run (inspection)', ['flush-nat', '--dry-run']],
      ['web', ['web']],
      ['traffic -n 20', ['traffic', '-n', '20']],
    ];
    const table: Record<string, Record<string, number>> = {};
    for (const [name, args] of steps) {
      const before = f.calls().length;
      const r = cli(f, args, env);
      if (r.code !== 0) throw new Error(`${name} failed: ${r.stderr.slice(-400)}`);
      table[name] = execsPerNode(f.calls().slice(before));
      const per = Object.values(table[name]);
      log(
        `  ${name.padEnd(40)} docker exec per node: ${per.length ? `${Math.min(...per)}–${Math.max(...per)}` : '0'}  ${JSON.stringify(table[name])}`,
      );
    }
    log(
      '  inspections: /proxyMode = 1 exec per node per check round; flush-nat look = 1 exec per node, apply = 1 exec per node',
    );
    return table;
  } finally {
    f.cleanup();
  }
}

// ---------------------------------------------------------------------------------------

/** PATH shims that record each call's stdin (keyed by argv) and hand over to the fake. */
function recordingShims(dir: string): string {
  const bin = join(dir, 'shim');
  mkdirSync(join(dir, 'stdin'), { recursive: true });
  mkdirSync(bin, { recursive: true });
  for (const t of ['docker', 'kind', 'kubectl']) {
    writeFileSync(
      join(bin, t),
      `#!/bin/bash\nkey=$( { printf '%s\\0' ${t} "$@"; } | /usr/bin/sha1sum | /usr/bin/cut -c1-16)\nn=0; while [ -e "${dir}/stdin/$key.$n" ]; do n=$((n+1)); done\n/bin/cat > "${dir}/stdin/$key.$n"\nprev=; for a in "$@"; do [ "$prev" = --config ] && /bin/cp "$a" "${dir}/stdin/$key.$n.config"; prev=$a; done\nexec "${FAKE_BIN}/${t}" "$@" < "${dir}/stdin/$key.$n"\n`,
    );
    chmodSync(join(bin, t), 0o755);
  }
  return bin;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** A bash script issuing the recorded calls: same order, overlapping calls in parallel groups. */
function replayScript(calls: FakeCall[], stdinDir: string): string {
  const seen = new Map<string, number>();
  const lines = ['#!/bin/bash', 'set -u'];
  let groupEnd = -1;
  let group: string[] = [];
  const flush = () => {
    if (group.length === 1) lines.push(group[0]!.replace(/ &$/, ''));
    else if (group.length) lines.push(...group, 'wait');
    group = [];
  };
  for (const c of [...calls].sort((a, b) => a.t - b.t)) {
    const key = createHash('sha1')
      .update([c.tool, ...c.argv].map((a) => `${a}\0`).join(''))
      .digest('hex')
      .slice(0, 16);
    const n = seen.get(key) ?? 0;
    seen.set(key, n + 1);
    const input = join(stdinDir, `${key}.${n}`);
    const cfgCopy = `${input}.config`;
    const argv = c.argv.map((a, i) =>
      c.argv[i - 1] === '--config' && existsSync(cfgCopy) ? cfgCopy : a,
    );
    const cmd = `${[c.tool, ...argv].map(q).join(' ')} < ${existsSync(input) ? q(input) : '/dev/null'} >/dev/null 2>&1 &`;
    if (c.t > groupEnd) flush();
    group.push(cmd);
    groupEnd = Math.max(groupEnd, c.t + c.ms);
  }
  flush();
  lines.push("exit 0 # failures are counted from the fake's call log");
  return `${lines.join('\n')}\n`;
}

export function labOverhead(log: (l: string) => void): {
  proxylabMs: number;
  bashMs: number;
  ratio: number;
  calls: number;
} {
  // 1. record the lab's calls and their stdin
  const rec = createFake({});
  let calls: FakeCall[];
  let script: string;
  try {
    const shim = recordingShims(rec.dir);
    const r = cli(
      rec,
      ['lab', '--mode', 'ipvs', '--skip-check'],
      labEnv(rec, { PATH: `${shim}:${rec.env.PATH}` }),
    );
    if (r.code !== 0) throw new Error(`lab (recording) failed: ${r.stderr.slice(-400)}`);
    calls = rec.calls();
    script = replayScript(calls, join(rec.dir, 'stdin'));
    writeFileSync(join(rec.dir, 'replay.sh'), script);
    // 2. proxylab itself, on a fresh fake
    const a = createFake({});
    let proxylabMs: number;
    try {
      const r2 = cli(a, ['lab', '--mode', 'ipvs', '--skip-check'], labEnv(a));
      if (r2.code !== 0) throw new Error(`lab failed: ${r2.stderr.slice(-400)}`);
      proxylabMs = r2.ms;
    } finally {
      a.cleanup();
    }
    // 3. the plain bash replay, on a fresh fake
    const b = createFake({});
    let bashMs: number;
    try {
      const t = performance.now();
      const r3 = spawnSync('/bin/bash', [join(rec.dir, 'replay.sh')], {
        env: { ...b.env, KUBECONFIG: b.kubeconfig },
        encoding: 'utf8',
        timeout: 600_000,
        cwd: b.dir,
      });
      bashMs = performance.now() - t;
      if (r3.status !== 0)
        throw new Error(`bash replay failed: ${String(r3.stderr ?? r3.error).slice(-400)}`);
      const replayed = b.calls();
      const failed = replayed.filter((c) => c.exit !== 0).length;
      if (process.env.BENCH_DEBUG)
        for (const c of replayed.filter((x) => x.exit !== 0).slice(0, 5))
          log(`    exit ${c.exit}: ${c.tool} ${c.argv.join(' ').slice(0, 160)}`);
      log(
        `  bash replay: ${replayed.length} calls, ${failed} non-zero exits (the recording had ${calls.filter((c) => c.exit !== 0).length})`,
      );
    } finally {
      b.cleanup();
    }
    const ratio = proxylabMs / bashMs;
    log(
      `  proxylab lab --mode ipvs: ${calls.length} tool calls, ${(proxylabMs / 1000).toFixed(1)} s`,
    );
    log(`  same calls from bash:     ${(bashMs / 1000).toFixed(1)} s`);
    log(`  proxylab / bash = ${ratio.toFixed(2)}× (goal ≤ 1.2×)`);
    return {
      proxylabMs: Math.round(proxylabMs),
      bashMs: Math.round(bashMs),
      ratio: Number(ratio.toFixed(3)),
      calls: calls.length,
    };
  } finally {
    rec.cleanup();
  }
}

export async function bench(log: (l: string) => void): Promise<unknown> {
  log('docker exec calls per node, per step (fake toolchain, 3 nodes):');
  const perStep = stepExecCounts(log);
  log(`whole lab flow vs the same commands from bash (CLI: ${cliArgv().how}):`);
  const overhead = labOverhead(log);
  return { perStep, overhead };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const r = await bench((l) => process.stdout.write(`${l}\n`));
  void r;
}
