/**
 * A rehearsal of a GitHub Actions job on this machine: the job's steps run in order, as a
 * runner would run them, against the fake toolchain (test/fake) instead of Docker and kind.
 *
 * The runner, as GitHub's ubuntu-24.04 image has it:
 * - a non-root user with a password-less sudo (a temporary user made here, with a
 *   sudoers.d entry; both removed at the end), CI=true, GITHUB_ACTIONS=true, RUNNER_TEMP,
 *   and fresh GITHUB_ENV / GITHUB_PATH / GITHUB_OUTPUT files per step, read back after it;
 * - `run:` steps in `bash --noprofile --norc -eo pipefail`, in the workspace, with the job's
 *   and the step's env and `${{ matrix.… }}` / `${{ env.… }}` / `${{ github.… }}` filled in;
 *   `if:` conditions with success(), failure(), cancelled() and always(); a step's
 *   timeout-minutes kills it, and it fails;
 * - what the image has on PATH: this machine's /usr/bin without QEMU (Ubuntu's image has
 *   none) and without docker/kind/kubectl, which come from the fake toolchain; sudo sees the
 *   same PATH (its secure_path), so `sudo modprobe` and `sudo apt-get` reach the stand-ins
 *   below, never this machine's kernel or packages;
 * - stand-ins for what touches the host: modprobe and lsmod (a runner kernel with the IPVS
 *   modules, as a fake module table: PROXYLAB_PROC_ROOT…), apt-get (records, installs
 *   nothing), `npm ci` (node_modules of this checkout, no registry), and dl.k8s.io (a server
 *   on 127.0.0.1 via PROXYLAB_DOWNLOAD_BASE handing out the fake kubectl at any version, with
 *   its .sha256, so `make tools` downloads and verifies what it would download on GitHub).
 * `uses:` steps are simulated: checkout copies the tree under test into the workspace,
 * setup-node checks node's major version, the JUnit action reads the reports it is given
 * (and fails as the action would with require_tests and none), upload-artifact copies what
 * its `path:` lines match into an artifacts folder the test reads.
 *
 * The workspace is built once per tree (copy + `npm run build`) and copied for each job
 * with its timestamps, so make sees a current build: the one liberty taken with a fresh
 * checkout, for the sake of the test's run time.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parse } from 'yaml';
import { ROOT } from './cli.js';
import { FAKE_BIN, startServer } from './fake.js';
import { parseXml, walk } from './xml.js';
import { fakeKernel } from '../flow/steps-helpers.js';

// ---------------------------------------------------------------------------------------
// The workflow

export interface WfStep {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  if?: string;
  shell?: string;
  env?: Record<string, string>;
  with?: Record<string, unknown>;
  'timeout-minutes'?: number;
  'continue-on-error'?: boolean;
}
export interface WfJob {
  name?: string;
  'runs-on': string;
  'timeout-minutes'?: number;
  strategy?: { matrix: Record<string, unknown> };
  env?: Record<string, string>;
  steps: WfStep[];
}
export interface Workflow {
  env?: Record<string, string>;
  jobs: Record<string, WfJob>;
}

export type Combo = Record<string, string>;

/** The jobs a matrix expands to: the product of its axes, minus excludes, plus includes. */
export function expandMatrix(matrix: Record<string, unknown>): Combo[] {
  const include = (matrix.include ?? []) as Combo[];
  const exclude = (matrix.exclude ?? []) as Combo[];
  const axes = Object.entries(matrix).filter(([k]) => k !== 'include' && k !== 'exclude') as [
    string,
    unknown[],
  ][];
  let combos: Combo[] = [{}];
  for (const [k, values] of axes)
    combos = combos.flatMap((c) => values.map((v) => ({ ...c, [k]: String(v) })));
  const excluded = (c: Combo) =>
    exclude.some((e) => Object.entries(e).every(([k, v]) => c[k] === String(v)));
  return [...combos.filter((c) => !excluded(c)), ...include];
}

// ---------------------------------------------------------------------------------------
// Expressions: the part of GitHub's expression language the workflow uses

interface ExprContext {
  matrix: Combo;
  env: Record<string, string | undefined>;
  github: Record<string, unknown>;
  runner: Record<string, string>;
  status: 'success' | 'failure' | 'cancelled';
}

type Value = string | boolean | number | null | Record<string, unknown>;

/** Evaluate one expression (the inside of `${{ }}`). */
export function evaluate(src: string, ctx: ExprContext): Value {
  const tokens = [
    ...src.matchAll(/\s*('(?:[^']|'')*'|&&|\|\||==|!=|[!()]|[A-Za-z_][\w.-]*(?:\(\))?|\d+)/gy),
  ].map((m) => m[1]!);
  if (tokens.join('').replace(/\s/g, '') !== src.replace(/\s/g, ''))
    throw new Error(`expression not understood by the rehearsal: ${src}`);
  let i = 0;
  const peek = () => tokens[i];
  const truthy = (v: Value) => v !== '' && v !== false && v !== 0 && v !== null;
  const primary = (): Value => {
    const t = tokens[i++];
    if (t === undefined) throw new Error(`unexpected end of ${src}`);
    if (t === '(') {
      const v = or();
      if (tokens[i++] !== ')') throw new Error(`missing ) in ${src}`);
      return v;
    }
    if (t === '!') return !truthy(primary());
    if (t.startsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
    if (/^\d+$/.test(t)) return Number(t);
    if (t === 'true' || t === 'false') return t === 'true';
    if (t === 'null') return null;
    if (t === 'always()') return true;
    if (t === 'success()') return ctx.status === 'success';
    if (t === 'failure()') return ctx.status === 'failure';
    if (t === 'cancelled()') return ctx.status === 'cancelled';
    const [head, ...path] = t.split('.');
    let v: unknown = (ctx as unknown as Record<string, unknown>)[head!];
    if (v === undefined || typeof v !== 'object')
      throw new Error(`unknown context "${head}" in ${src}`);
    for (const p of path) v = (v as Record<string, unknown> | undefined)?.[p];
    return (v ?? '') as Value;
  };
  const cmp = (): Value => {
    let l = primary();
    while (peek() === '==' || peek() === '!=') {
      const op = tokens[i++];
      const r = primary();
      l = op === '==' ? String(l) === String(r) : String(l) !== String(r);
    }
    return l;
  };
  const and = (): Value => {
    let l = cmp();
    while (peek() === '&&') {
      i++;
      const r = cmp();
      l = truthy(l) ? r : l;
    }
    return l;
  };
  const or = (): Value => {
    let l = and();
    while (peek() === '||') {
      i++;
      const r = and();
      l = truthy(l) ? l : r;
    }
    return l;
  };
  const v = or();
  if (i !== tokens.length) throw new Error(`trailing tokens in ${src}`);
  return v;
}

/** A string with every `${{ }}` filled in. */
export function interpolate(text: string, ctx: ExprContext): string {
  return text.replace(/\$\{\{([\s\S]*?)\}\}/g, (_m, e: string) => String(evaluate(e, ctx)));
}

function condition(expr: string | undefined, ctx: ExprContext): boolean {
  if (expr === undefined) return ctx.status === 'success';
  const inner = /^\s*\$\{\{([\s\S]*)\}\}\s*$/.exec(expr)?.[1] ?? expr;
  // GitHub adds success() to a condition that names no status function
  const hasStatus = /\b(?:always|success|failure|cancelled)\(\)/.test(inner);
  const v = evaluate(inner, ctx);
  const ok = v !== '' && v !== false && v !== 0 && v !== null;
  return hasStatus ? ok : ok && ctx.status === 'success';
}

// ---------------------------------------------------------------------------------------
// The runner machine

export interface Runner {
  user: string;
  uid: number;
  gid: number;
  /** The folder holding everything of this rehearsal (removed by close()). */
  base: string;
  /** The runner image's PATH (shims, fake tools, /usr/bin without QEMU). */
  path: string;
  /** Environment every job gets on top of GitHub's (fake state, kernel, download site). */
  env: Record<string, string>;
  /** Calls to the host stand-ins: "uid tool args" per line. */
  hostCalls(): string[];
  close(): Promise<void>;
}

/** Why a rehearsal cannot run here, or undefined when it can. */
export function cannotRehearse(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (to make the temporary runner user)';
  for (const t of ['useradd', 'userdel', 'sudo', 'bash', 'make'])
    if (spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0)
      return `${t} is not installed${t === 'sudo' ? ' (scripts/test-deps.sh installs it)' : ''}`;
  return undefined;
}

function sh(argv: string[], what: string): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${what}: ${argv.join(' ')}: ${r.stderr || r.error}`);
  return r.stdout;
}

function script(file: string, text: string): void {
  writeFileSync(file, text);
  chmodSync(file, 0o755);
}

/** The fake kubectl at any version, with its sha256, as dl.k8s.io would serve it. */
function downloadSite(): Promise<{ server: Server; base: string; served: string[] }> {
  const served: string[] = [];
  const server = createServer((req, res) => {
    const m =
      /^\/dl\.k8s\.io\/release\/(v\d+\.\d+\.\d+)\/bin\/linux\/amd64\/kubectl(\.sha256)?$/.exec(
        req.url ?? '',
      );
    if (!m) {
      res.writeHead(404).end('not found\n');
      return;
    }
    const body = `#!/bin/sh\n# kubectl ${m[1]} as the rehearsal's download site serves it: the fake\nFAKE_KUBECTL_VERSION=${m[1]} exec ${join(FAKE_BIN, 'kubectl')} "$@"\n`;
    served.push(req.url!);
    res.writeHead(200);
    res.end(m[2] ? `${createHash('sha256').update(body).digest('hex')}\n` : body);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const a = server.address() as { port: number };
      resolve({ server, base: `http://127.0.0.1:${a.port}`, served });
    }),
  );
}

/** A runner user and image on this machine (root only: see cannotRehearse). */
export async function createRunner(): Promise<Runner> {
  const base = mkdtempSync(join(tmpdir(), 'plb-rehearsal-'));
  chmodSync(base, 0o755);
  const user = `plbr${process.pid}`.slice(0, 30);
  const home = join(base, 'home');
  sh(
    ['useradd', '--system', '--home-dir', home, '--create-home', '--shell', '/bin/bash', user],
    'make the runner user',
  );
  const uid = Number(sh(['id', '-u', user], 'uid').trim());
  const gid = Number(sh(['id', '-g', user], 'gid').trim());
  const log = join(base, 'host-calls.log');
  writeFileSync(log, '');
  chmodSync(log, 0o666);

  // the image's tools: stand-ins first, then the fake toolchain, then /usr/bin minus QEMU
  const shims = join(base, 'image', 'shims');
  const fakes = join(base, 'image', 'fake');
  const usr = join(base, 'image', 'usr-bin');
  for (const d of [shims, fakes, usr]) mkdirSync(d, { recursive: true });
  for (const t of ['docker', 'kind', 'kubectl']) symlinkSync(join(FAKE_BIN, t), join(fakes, t));
  for (const e of readdirSync('/usr/bin'))
    if (!/^qemu/.test(e) && !['docker', 'kind', 'kubectl'].includes(e))
      symlinkSync(join('/usr/bin', e), join(usr, e));
  const record = `echo "$(id -u) $(basename "$0") $*" >> ${log}`;
  // the runner's kernel: with or without the IPVS modules (rehearseJob's ipvsKernel), as a
  // fake module table for proxylab (PROXYLAB_PROC_ROOT…) and a modprobe that agrees with it
  const ipvsFlag = join(base, 'kernel-has-ipvs');
  writeFileSync(ipvsFlag, 'yes\n');
  script(
    join(shims, 'modprobe'),
    `#!/bin/sh\n${record}\nfor a in "$@"; do case $a in -*) ;; *) m=$a ;; esac; done\n` +
      `if [ "$(cat ${ipvsFlag})" = no ]; then case $m in ip_vs*) echo "modprobe: FATAL: Module $m not found in directory /lib/modules/$(uname -r)" >&2; exit 1 ;; esac; fi\nexit 0\n`,
  );
  script(
    join(shims, 'lsmod'),
    `#!/bin/sh\n${record}\necho "Module                  Size  Used by"\nawk '{print $1, $2, $3}' "\${PROXYLAB_PROC_ROOT:-/nonexistent}/modules" 2>/dev/null\n`,
  );
  script(join(shims, 'apt-get'), `#!/bin/sh\n${record}\nexit 0\n`);
  script(
    join(shims, 'npm'),
    `#!/bin/sh\nif [ "$1" = ci ]; then\n  ${record}\n  echo "npm ci: node_modules of the checkout under test (the rehearsal does not reach the registry)"\n  exit 0\nfi\nexec /usr/bin/npm "$@"\n`,
  );
  const path = [shims, fakes, usr, '/usr/sbin'].join(':');
  writeFileSync(
    `/etc/sudoers.d/${user}`,
    `Defaults:${user} secure_path="${path}"\n${user} ALL=(ALL) NOPASSWD:ALL\n`,
    { mode: 0o440 },
  );
  const site = await downloadSite();
  chownSync(home, uid, gid);
  return {
    user,
    uid,
    gid,
    base,
    path,
    env: {
      FAKE_HANG_MAX_MS: '3000',
      // the fake cluster settles at once: a step's retries need no real waiting
      PROXYLAB_CHECK_BACKOFF_MS: '20',
      PROXYLAB_DOWNLOAD_BASE: site.base,
    },
    hostCalls: () => readFileSync(log, 'utf8').split('\n').filter(Boolean),
    close: async () => {
      await new Promise((r) => site.server.close(r));
      rmSync(`/etc/sudoers.d/${user}`, { force: true });
      spawnSync('userdel', [user]);
      // PROXYLAB_REHEARSAL_KEEP=1: leave the workspaces, logs and artifacts to look at
      if (process.env.PROXYLAB_REHEARSAL_KEEP !== '1')
        rmSync(base, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------
// The tree under test

/** Files of the checkout as they are in the working tree (tracked, and untracked but not ignored), or a commit's. */
function checkoutFiles(src: string, dest: string, commit?: string): void {
  mkdirSync(dest, { recursive: true });
  if (commit) {
    const tar = spawnSync('git', ['-C', src, 'archive', '--format=tar', commit], {
      maxBuffer: 1 << 30,
    });
    if (tar.status !== 0) throw new Error(`git archive ${commit}: ${tar.stderr}`);
    const x = spawnSync('tar', ['-x', '-C', dest], { input: tar.stdout });
    if (x.status !== 0) throw new Error(`tar -x: ${x.stderr}`);
    return;
  }
  const ls = spawnSync(
    'git',
    ['-C', src, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    { encoding: 'utf8' },
  );
  if (ls.status !== 0) throw new Error(`git ls-files in ${src}: ${ls.stderr}`);
  for (const f of ls.stdout.split('\0').filter(Boolean)) {
    const from = join(src, f);
    if (!existsSync(from)) continue; // deleted in the working tree
    mkdirSync(dirname(join(dest, f)), { recursive: true });
    copyFileSync(from, join(dest, f));
    const st = statSync(from);
    chmodSync(join(dest, f), st.mode);
    utimesSync(join(dest, f), st.atime, st.mtime);
  }
}

/**
 * A built checkout to copy per job: the tree (working tree, or a commit of src), this
 * checkout's node_modules linked in (npm ci's stand-in), `npm run build` run once.
 */
export function prepareTree(
  runner: Runner,
  o: { src?: string; commit?: string; name: string },
): string {
  const dest = join(runner.base, 'trees', o.name);
  // PROXYLAB_REHEARSAL_COMMIT=HEAD: rehearse a commit rather than the working tree (e.g.
  // while others' edits are in flight in a shared checkout)
  const commit = o.commit ?? process.env.PROXYLAB_REHEARSAL_COMMIT;
  checkoutFiles(o.src ?? ROOT, dest, commit);
  const nm = join(dest, 'node_modules');
  mkdirSync(nm);
  for (const e of readdirSync(join(ROOT, 'node_modules')))
    if (e !== '.package-lock.json') symlinkSync(join(ROOT, 'node_modules', e), join(nm, e));
  copyFileSync(join(ROOT, 'node_modules', '.package-lock.json'), join(nm, '.package-lock.json'));
  spawnSync('chown', ['-R', `${runner.uid}:${runner.gid}`, dest]);
  const b = spawnSync('make', ['-s', 'dist/.build-stamp'], {
    cwd: dest,
    uid: runner.uid,
    gid: runner.gid,
    env: { PATH: runner.path, HOME: join(runner.base, 'home') },
    encoding: 'utf8',
  });
  if (b.status !== 0) throw new Error(`building ${o.name}: ${b.stdout}${b.stderr}`);
  return dest;
}

// ---------------------------------------------------------------------------------------
// One job

export interface StepRecord {
  name: string;
  kind: 'run' | 'uses';
  status: 'success' | 'failure' | 'skipped';
  exitCode?: number | null;
  output: string;
  secs: number;
  timedOut?: boolean;
}

export interface JobRecord {
  matrix: Combo;
  status: 'success' | 'failure';
  steps: StepRecord[];
  workspace: string;
  /** upload-artifact name → files in it (paths relative to the workspace). */
  artifacts: Record<string, string[]>;
  /** Where the uploaded files were copied. */
  artifactsDir: string;
  /** What the JUnit action read: file → [tests, failures, skipped]. */
  junit: Record<string, [number, number, number]>;
}

function globFiles(ws: string, pattern: string): string[] {
  const p = pattern.trim();
  if (!p) return [];
  if (p.endsWith('/')) {
    const d = join(ws, p);
    if (!existsSync(d)) return [];
    return (readdirSync(d, { recursive: true }) as string[])
      .map((f) => join(p, f))
      .filter((f) => statSync(join(ws, f)).isFile());
  }
  if (!p.includes('*')) return existsSync(join(ws, p)) ? [p] : [];
  const dir = dirname(p);
  const re = new RegExp(
    `^${p
      .slice(dir.length + 1)
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '[^/]*')}$`,
  );
  if (!existsSync(join(ws, dir))) return [];
  return readdirSync(join(ws, dir))
    .filter((f) => re.test(f) && statSync(join(ws, dir, f)).isFile())
    .map((f) => join(dir, f));
}

function runAs(
  runner: Runner,
  file: string,
  cwd: string,
  env: Record<string, string>,
  timeoutMs: number,
): Promise<{ code: number | null; output: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', file], {
      cwd,
      env,
      uid: runner.uid,
      gid: runner.gid,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, timedOut });
    });
  });
}

function readEnvFile(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(file)) return out;
  const lines = readFileSync(file, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    const heredoc = /^([A-Za-z_]\w*)<<(.+)$/.exec(l);
    if (heredoc) {
      const body: string[] = [];
      for (i++; i < lines.length && lines[i] !== heredoc[2]; i++) body.push(lines[i]!);
      out[heredoc[1]!] = body.join('\n');
    } else if (/^[A-Za-z_]\w*=/.test(l))
      out[l.slice(0, l.indexOf('='))] = l.slice(l.indexOf('=') + 1);
  }
  return out;
}

export interface JobOptions {
  workflow: Workflow;
  job?: string;
  matrix: Combo;
  /** A tree from prepareTree, copied into the workspace by the checkout step. */
  tree: string;
  event?: string;
  /** Minutes of a step's timeout-minutes → ms here (default: 60,000: real minutes). */
  msPerMinute?: number;
  /** Extra environment of the runner (added to Runner.env). */
  env?: Record<string, string>;
  /** Does the runner's kernel have the IPVS modules? (default true, as GitHub's has) */
  ipvsKernel?: boolean;
  /** Keep only these labs/ folders in the checkout (the rest take minutes on the fake). */
  labs?: string[];
  /** Labs added to the checkout: folder name → README.md text. */
  extraLabs?: Record<string, string>;
}

let jobCount = 0;

/** Run one job of the workflow for one matrix combination. */
export async function rehearseJob(runner: Runner, o: JobOptions): Promise<JobRecord> {
  const jobName = o.job ?? Object.keys(o.workflow.jobs)[0]!;
  const job = o.workflow.jobs[jobName]!;
  const tag = Object.values(o.matrix)
    .join('-')
    .replace(/[^\w.-]/g, '_');
  // a fresh folder per job, as each GitHub job gets a fresh machine
  const jobDir = join(runner.base, 'jobs', `${++jobCount}-${jobName}-${tag}`);
  const ws = join(jobDir, 'work');
  const temp = join(jobDir, 'temp');
  const artifactsDir = join(jobDir, 'artifacts');
  const fakeState = join(jobDir, 'fake-state');
  for (const d of [jobDir, temp, artifactsDir, fakeState]) mkdirSync(d, { recursive: true });
  const ipvs = o.ipvsKernel ?? true;
  writeFileSync(join(runner.base, 'kernel-has-ipvs'), ipvs ? 'yes\n' : 'no\n');
  const kernelEnv = fakeKernel(join(jobDir, 'kernel'), {
    release: '6.11.0-1018-azure',
    ...(ipvs ? {} : { loaded: ['nf_conntrack'] }),
  });
  spawnSync('chown', ['-R', `${runner.uid}:${runner.gid}`, jobDir]);
  // the fake's server for this job's engine, as the runner user (the tools run as that user)
  const fakeServer = startServer(fakeState, { uid: runner.uid, gid: runner.gid });
  const github = {
    event_name: o.event ?? 'push',
    ref: 'refs/heads/main',
    workspace: ws,
    event: { pull_request: { head: { repo: { fork: false } } } },
  };
  const ctx: ExprContext = {
    matrix: o.matrix,
    env: {},
    github,
    runner: { temp, os: 'Linux' },
    status: 'success',
  };
  const base: Record<string, string> = {
    HOME: join(runner.base, 'home'),
    USER: runner.user,
    LOGNAME: runner.user,
    SHELL: '/bin/bash',
    LANG: 'C.UTF-8',
    PATH: runner.path,
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: ws,
    GITHUB_EVENT_NAME: github.event_name,
    GITHUB_REF: github.ref,
    GITHUB_JOB: jobName,
    RUNNER_OS: 'Linux',
    RUNNER_TEMP: temp,
    ...runner.env,
    // a fresh Docker engine (the fake's state) per job, as each job gets a fresh machine
    FAKE_STATE: fakeState,
    ...kernelEnv,
    ...o.env,
  };
  const jobEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...o.workflow.env, ...job.env })) {
    ctx.env = { ...base, ...jobEnv };
    jobEnv[k] = interpolate(String(v), ctx);
  }
  const fromFiles: Record<string, string> = {};
  const extraPath: string[] = [];
  const rec: JobRecord = {
    matrix: o.matrix,
    status: 'success',
    steps: [],
    workspace: ws,
    artifacts: {},
    artifactsDir,
    junit: {},
  };
  const msPerMinute = o.msPerMinute ?? 60_000;
  for (const [i, step] of job.steps.entries()) {
    const env: Record<string, string> = { ...base, ...jobEnv, ...fromFiles };
    env.PATH = [...extraPath, env.PATH].join(':');
    ctx.env = env;
    ctx.status = rec.status;
    const name = interpolate(
      step.name ?? step.uses ?? step.run?.split('\n')[0] ?? `step ${i + 1}`,
      ctx,
    );
    const kind = step.uses ? 'uses' : 'run';
    if (!condition(step.if, ctx)) {
      rec.steps.push({ name, kind, status: 'skipped', output: '', secs: 0 });
      continue;
    }
    for (const [k, v] of Object.entries(step.env ?? {})) env[k] = interpolate(String(v), ctx);
    const t0 = Date.now();
    let r: { ok: boolean; output: string; exitCode?: number | null; timedOut?: boolean };
    if (step.uses) r = simulateAction(step, ctx, ws, o.tree, runner, rec, o.labs, o.extraLabs);
    else {
      const files = {
        GITHUB_ENV: 'env',
        GITHUB_PATH: 'path',
        GITHUB_OUTPUT: 'output',
        GITHUB_STEP_SUMMARY: 'summary',
      };
      for (const [k, f] of Object.entries(files)) {
        const p = join(temp, `_step${i}_${f}`);
        writeFileSync(p, '');
        chownSync(p, runner.uid, runner.gid);
        env[k] = p;
      }
      const file = join(temp, `_step${i}.sh`);
      writeFileSync(file, interpolate(step.run!, ctx));
      chownSync(file, runner.uid, runner.gid);
      const limit = (step['timeout-minutes'] ?? job['timeout-minutes'] ?? 360) * msPerMinute;
      const p = await runAs(runner, file, ws, env, limit);
      Object.assign(fromFiles, readEnvFile(env.GITHUB_ENV!));
      const added = existsSync(env.GITHUB_PATH!)
        ? readFileSync(env.GITHUB_PATH!, 'utf8').split('\n').filter(Boolean)
        : [];
      extraPath.unshift(...added.reverse());
      r = {
        ok: p.code === 0 && !p.timedOut,
        output: p.output + (p.timedOut ? `\n[rehearsal: killed after timeout-minutes]` : ''),
        exitCode: p.code,
        timedOut: p.timedOut,
      };
    }
    const ok = r.ok || step['continue-on-error'] === true;
    rec.steps.push({
      name,
      kind,
      status: ok ? 'success' : 'failure',
      output: r.output,
      secs: (Date.now() - t0) / 1000,
      ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}),
      ...(r.timedOut ? { timedOut: true } : {}),
    });
    if (!ok) rec.status = 'failure';
    appendFileSync(
      join(jobDir, 'steps.log'),
      `\n===== ${name}: ${ok ? 'success' : 'failure'}\n${r.output}`,
    );
  }
  fakeServer.kill();
  return rec;
}

function simulateAction(
  step: WfStep,
  ctx: ExprContext,
  ws: string,
  tree: string,
  runner: Runner,
  rec: JobRecord,
  labs: string[] | undefined,
  extraLabs: Record<string, string> | undefined,
): { ok: boolean; output: string } {
  const action = step.uses!.split('@')[0]!;
  const w = Object.fromEntries(
    Object.entries(step.with ?? {}).map(([k, v]) => [k, interpolate(String(v), ctx)]),
  );
  switch (action) {
    case 'actions/checkout': {
      const cp = spawnSync('cp', ['-a', `${tree}/.`, ws], { encoding: 'utf8' });
      if (cp.status !== 0) return { ok: false, output: `cp -a ${tree} ${ws}: ${cp.stderr}` };
      // narrowed: the labs this rehearsal leaves out are not in its checkout
      if (labs)
        for (const l of readdirSync(join(ws, 'labs')))
          if (!labs.includes(l)) rmSync(join(ws, 'labs', l), { recursive: true, force: true });
      for (const [name, text] of Object.entries(extraLabs ?? {})) {
        mkdirSync(join(ws, 'labs', name), { recursive: true });
        writeFileSync(join(ws, 'labs', name, 'README.md'), text);
      }
      spawnSync('chown', ['-R', '-h', `${runner.uid}:${runner.gid}`, ws]);
      return { ok: true, output: `checked out ${relative(runner.base, tree)} into ${ws}` };
    }
    case 'actions/setup-node': {
      const major = process.versions.node.split('.')[0];
      const want = w['node-version'];
      return want && want !== major
        ? { ok: false, output: `node ${process.version} here, the step wants ${want}` }
        : { ok: true, output: `node ${process.version} on PATH` };
    }
    case 'mikepenz/action-junit-report': {
      const files = (w.report_paths ?? '').split(/[\n,]/).flatMap((p) => globFiles(ws, p));
      let tests = 0;
      for (const f of files) {
        const cases = walk(parseXml(readFileSync(join(ws, f), 'utf8'))).filter(
          (e) => e.name === 'testcase',
        );
        const failed = cases.filter((c) =>
          c.children.some((x) => x.name === 'failure' || x.name === 'error'),
        );
        const skipped = cases.filter((c) => c.children.some((x) => x.name === 'skipped'));
        rec.junit[f] = [cases.length, failed.length, skipped.length];
        tests += cases.length;
      }
      if (w.require_tests === 'true' && !tests)
        return { ok: false, output: `no test results in ${w.report_paths}` };
      return { ok: true, output: `${tests} tests in ${files.join(', ')}` };
    }
    case 'actions/upload-artifact': {
      const files = [...new Set((w.path ?? '').split('\n').flatMap((p) => globFiles(ws, p)))];
      const name = w.name ?? 'artifact';
      for (const f of files) {
        const to = join(rec.artifactsDir, name, f);
        mkdirSync(dirname(to), { recursive: true });
        copyFileSync(join(ws, f), to);
      }
      rec.artifacts[name] = files.sort();
      if (!files.length && w['if-no-files-found'] === 'error')
        return { ok: false, output: `no files match ${w.path}` };
      return { ok: true, output: `${files.length} files uploaded as ${name}` };
    }
    default:
      return { ok: false, output: `the rehearsal does not know the action ${step.uses}` };
  }
}

export function loadWorkflow(text: string): Workflow {
  return parse(text) as Workflow;
}
