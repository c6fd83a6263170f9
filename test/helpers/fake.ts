/**
 * The fake toolchain for flow tests: a fresh state dir, an env whose PATH starts with the
 * fake docker/kind/kubectl, helpers to read the recorded calls and the state, and cleanup.
 * See test/fake/README.md for the state model, faults and the handler API.
 */
import {
  mkdtempSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  existsSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, delimiter } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { ROOT } from './cli.js';

export const FAKE_BIN = join(ROOT, 'test', 'fake', 'bin');
export const FAKE_TOOLS = ['docker', 'kind', 'kubectl'] as const;
export type FakeTool = (typeof FAKE_TOOLS)[number];

export interface FakeCall {
  tool: FakeTool;
  argv: string[];
  ms: number;
  exit: number;
  /** Start time, ms since the epoch. */
  t: number;
  /** 'server' when the fake's server answered; absent for a tool in a process of its own. */
  via?: 'server';
}

export interface FakeOptions {
  /** Leave these tools off PATH (e.g. ['kind'] to test "kind not installed"). */
  omit?: FakeTool[];
  /** Extra environment (faults: FAKE_DOCKER_DOWN, FAKE_FAIL, FAKE_HANG, ...). */
  env?: Record<string, string>;
  /**
   * Keep the system PATH after the fake bin dir (default false: PATH holds only the fake
   * tools and node, so a real docker/kind/kubectl can never be reached).
   */
  systemPath?: boolean;
  /**
   * Start the fake's server for this state dir (default true). false: every call runs in a
   * node process of its own, as a test of the client's fallback would want.
   */
  server?: boolean;
}

export interface Fake {
  /** The state dir ($FAKE_STATE): state.json, calls.jsonl, and a scratch area for tests. */
  dir: string;
  /** A kubeconfig path inside dir (pass it with --kubeconfig). */
  kubeconfig: string;
  /** The env to run the CLI with. */
  env: NodeJS.ProcessEnv;
  calls(): FakeCall[];
  /** Calls whose tool matches and whose argv contains `tokens` in order. */
  callsMatching(tool: FakeTool, ...tokens: string[]): FakeCall[];
  state(): FakeState;
  /** Run a fake tool directly (set up a scenario before running the CLI). */
  tool(
    tool: FakeTool,
    args: string[],
    input?: string,
  ): { code: number; stdout: string; stderr: string };
  /** The pid of the fake's server (test/fake/server.mjs), when one was started. */
  serverPid?: number;
  cleanup(): void;
}

/** The parts of the fake's state the tests read (see test/fake/README.md). */
export interface FakeState {
  seq: number;
  clusters: Record<
    string,
    {
      name: string;
      image: string;
      k8sVersion: string;
      status: 'creating' | 'running';
      kubeProxyMode: string;
      nodes: Array<{
        name: string;
        role: string;
        ip: string;
        running: boolean;
        ready: boolean;
        datapath: Record<string, unknown> & {
          kubeProxy?: { mode: string; scheduler: string; pod: string };
        };
        files: Record<string, string>;
        packages: string[];
      }>;
      objects: Record<
        string,
        {
          kind: string;
          metadata: { name: string; namespace?: string; labels?: Record<string, string> };
          [k: string]: unknown;
        }
      >;
    }
  >;
  ext: Record<string, unknown>;
}

function subsequence(argv: string[], pattern: string[]): boolean {
  let i = 0;
  for (const a of argv) if (i < pattern.length && a === pattern[i]) i++;
  return i === pattern.length;
}

export function createFake(opts: FakeOptions = {}): Fake {
  const dir = mkdtempSync(join(tmpdir(), 'proxylab-fake-'));
  // A private bin dir: the chosen fake tools plus node itself, so nothing real leaks in.
  const binDir = join(dir, 'bin');
  mkdirSync(binDir);
  for (const t of FAKE_TOOLS)
    if (!opts.omit?.includes(t)) symlinkSync(join(FAKE_BIN, t), join(binDir, t));
  symlinkSync(process.execPath, join(binDir, 'node'));
  const basePath = opts.systemPath ? `${delimiter}${process.env.PATH ?? ''}` : '';
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${binDir}${basePath}`,
    FAKE_STATE: dir,
    // Tools are looked up on PATH only (never ./.bin of the checkout).
    PROXYLAB_TOOLS: 'path',
    KUBECONFIG: '',
    FAKE_HANG_MAX_MS: '3000',
    ...opts.env,
  };
  delete env.KUBECONFIG;
  // The fake's server for this state dir (test/fake/server.mjs): the tools' calls are answered
  // there from modules loaded once (a perl client each) instead of a node process each. Until
  // it listens, and for calls that sleep, a tool runs in a node process of its own.
  const server = opts.server === false ? undefined : startServer(dir);
  const readCalls = (): FakeCall[] => {
    const f = join(dir, 'calls.jsonl');
    if (!existsSync(f)) return [];
    return readFileSync(f, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as FakeCall);
  };
  return {
    dir,
    kubeconfig: join(dir, 'kubeconfig'),
    env,
    calls: readCalls,
    callsMatching: (tool, ...tokens) =>
      readCalls().filter((c) => c.tool === tool && subsequence(c.argv, tokens)),
    state: () => {
      const f = join(dir, 'state.json');
      return existsSync(f)
        ? (JSON.parse(readFileSync(f, 'utf8')) as FakeState)
        : { seq: 0, clusters: {}, ext: {} };
    },
    tool: (tool, args, input) => {
      const r = spawnSync(join(FAKE_BIN, tool), args, {
        env,
        input: input ?? '',
        encoding: 'utf8',
      });
      return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
    },
    serverPid: server?.pid,
    cleanup: () => {
      server?.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const SERVER = join(ROOT, 'test', 'fake', 'server.mjs');

/**
 * Start the fake's server for the state dir `dir` (createFake does it; a test that makes its
 * own state dir calls this). `as`: the user the tools run as, so the files it writes (state,
 * kubeconfigs) are theirs. Kill it, or remove `dir`, when done.
 */
export function startServer(dir: string, as: { uid?: number; gid?: number } = {}) {
  const child = spawn(process.execPath, [SERVER, dir], { stdio: 'ignore', ...as });
  child.on('error', () => {});
  // never keeps a test process alive; it also exits on its own once dir is removed
  child.unref();
  return child;
}

export interface FakeClusterOptions {
  name?: string;
  /** kube-proxy mode in the kind config (networking.kubeProxyMode); none: kind's default. */
  mode?: string;
  /** Number of workers (default 2: the labs' 1 control plane + 2 workers). */
  workers?: number;
  /** Node image tag, e.g. v1.33.1 (the fake reads the Kubernetes version from it). */
  image?: string;
  extraArgs?: string[];
}

/** The kind config the labs use, as YAML text. */
export function kindConfig(o: Pick<FakeClusterOptions, 'mode' | 'workers'> = {}): string {
  const net = o.mode ? `networking:\n  kubeProxyMode: ${o.mode}\n` : '';
  const workers = '- role: worker\n'.repeat(o.workers ?? 2);
  return `kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n${net}nodes:\n- role: control-plane\n${workers}`;
}

/** Create a cluster in the fake with `kind create cluster`, as a test's starting point. */
export function createFakeCluster(
  f: Fake,
  o: FakeClusterOptions = {},
): { code: number; stdout: string; stderr: string } {
  const cfg = join(f.dir, `kind-${o.name ?? 'proxylab'}.yaml`);
  writeFileSync(cfg, kindConfig(o));
  return f.tool('kind', [
    'create',
    'cluster',
    '--name',
    o.name ?? 'proxylab',
    '--config',
    cfg,
    '--image',
    `kindest/node:${o.image ?? 'v1.33.1'}@sha256:0000`,
    '--kubeconfig',
    f.kubeconfig,
    ...(o.extraArgs ?? []),
  ]);
}
