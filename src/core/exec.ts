/**
 * The one seam through which the library runs programs. argv arrays only: nothing is
 * ever passed through a shell string. Every failure becomes a `CommandError`.
 */
import { execa } from 'execa';
import { CommandError } from './errors.js';

export interface RunOptions {
  /** Kill the program after this many milliseconds (default: 5 minutes). */
  timeoutMs?: number;
  /** Text written to the program's stdin. */
  input?: string;
  cwd?: string;
  /** Extra environment variables (merged over process.env unless `extendEnv` is false). */
  env?: Record<string, string | undefined>;
  extendEnv?: boolean;
  /** Return the result instead of throwing when the exit code is not 0. */
  reject?: boolean;
  /** Abort (e.g. on Ctrl-C); the program is killed and a CommandError thrown. */
  signal?: AbortSignal;
  /** Called with each chunk of stdout/stderr as it arrives (for progress output). */
  onOutput?: (chunk: string) => void;
}

export interface RunResult {
  argv: readonly string[];
  stdout: string;
  stderr: string;
  exitCode: number;
  durationMs: number;
}

export const DEFAULT_TIMEOUT_MS = 5 * 60_000;

/** Observers (tests, the benchmark) can count the processes proxylab starts. */
type SpawnListener = (argv: readonly string[]) => void;
const listeners = new Set<SpawnListener>();
export function onSpawn(fn: SpawnListener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export async function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (!file) throw new TypeError('run: empty argv');
  for (const l of listeners) l(argv);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const started = performance.now();
  const child = execa(file, args, {
    reject: false,
    timeout: timeoutMs,
    input: opts.input,
    cwd: opts.cwd,
    env: opts.env,
    extendEnv: opts.extendEnv ?? true,
    cancelSignal: opts.signal,
    stripFinalNewline: false,
    encoding: 'utf8',
    stdin: opts.input === undefined ? 'ignore' : 'pipe',
  });
  if (opts.onOutput) {
    child.stdout?.on('data', (b: Buffer) => opts.onOutput?.(b.toString()));
    child.stderr?.on('data', (b: Buffer) => opts.onOutput?.(b.toString()));
  }
  const r = await child;
  const durationMs = Math.round(performance.now() - started);
  const stdout = typeof r.stdout === 'string' ? r.stdout : '';
  const stderr = typeof r.stderr === 'string' ? r.stderr : '';
  const spawnError =
    r.failed && r.exitCode === undefined && !r.timedOut && !r.isCanceled && !r.signal
      ? ((r.cause as NodeJS.ErrnoException | undefined)?.code ?? r.shortMessage ?? null)
      : null;
  const failure = {
    argv,
    exitCode: r.exitCode ?? null,
    signal: r.isCanceled ? 'abort' : (r.signal ?? null),
    stdout,
    stderr,
    durationMs,
    timedOut: Boolean(r.timedOut),
    timeoutMs,
    spawnError: spawnError === 'ENOENT' ? `${file}: command not found` : spawnError,
  };
  if (failure.spawnError || failure.timedOut || r.isCanceled || failure.signal) {
    throw new CommandError(failure);
  }
  if (r.exitCode !== 0 && opts.reject !== false) throw new CommandError(failure);
  return { argv, stdout, stderr, exitCode: r.exitCode ?? 0, durationMs };
}

/** Run and return stdout only. */
export async function output(argv: readonly string[], opts: RunOptions = {}): Promise<string> {
  return (await run(argv, opts)).stdout;
}

/** A long-lived program fed through stdin (the lab checker's bash session). */
export interface LiveProcess {
  readonly pid: number | undefined;
  write(text: string): void;
  onStdout(fn: (chunk: string) => void): void;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Kill the program and everything it started (it runs in its own process group). */
  kill(): void;
  /**
   * Resolves when the program has exited and, after an abort, when everything it started
   * has ended (or was killed once the grace time ran out).
   */
  settled(): Promise<void>;
}

/** How long a program started with `start` has, after SIGINT, before it is killed. */
export const INTERRUPT_GRACE_MS = 30_000;

export function start(
  argv: readonly string[],
  opts: Pick<RunOptions, 'cwd' | 'env' | 'extendEnv' | 'signal'> & {
    /**
     * On abort, the group first gets SIGINT, as a terminal's Ctrl-C would give it, so a
     * proxylab run inside it restores what it was changing; SIGKILL after this long.
     */
    graceMs?: number;
  } = {},
): LiveProcess {
  const [file, ...args] = argv;
  if (!file) throw new TypeError('start: empty argv');
  for (const l of listeners) l(argv);
  const child = execa(file, args, {
    reject: false,
    buffer: false,
    cwd: opts.cwd,
    env: opts.env,
    extendEnv: opts.extendEnv ?? true,
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'ignore',
    detached: true,
    encoding: 'utf8',
  });
  let done = false;
  const exited = child
    .then((r) => r.exitCode ?? null)
    .catch(() => null)
    .finally(() => (done = true));
  const signalGroup = (sig: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, sig);
    } catch {
      child.kill(sig);
    }
  };
  const killGroup = () => signalGroup('SIGKILL');
  const groupAlive = () => {
    if (child.pid === undefined) return false;
    try {
      process.kill(-child.pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  let settled: Promise<void> = exited.then(() => undefined);
  opts.signal?.addEventListener(
    'abort',
    () => {
      if (done && !groupAlive()) return;
      signalGroup('SIGINT');
      const until = Date.now() + (opts.graceMs ?? INTERRUPT_GRACE_MS);
      // the shell may end before what it started (make waits for its children, a pipe
      // may not): wait for the whole group to be gone, then kill what is left
      settled = (async () => {
        while (groupAlive() && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
        if (groupAlive()) killGroup();
        await exited;
      })();
    },
    { once: true },
  );
  return {
    pid: child.pid,
    write: (t) => {
      child.stdin?.write(t);
    },
    onStdout: (fn) => {
      child.stdout?.on('data', (b: Buffer | string) => fn(b.toString()));
    },
    exited,
    kill: killGroup,
    settled: () => settled,
  };
}
