/**
 * One bash session per lab run, like the terminal a person follows the lab in: aliases,
 * variables and the working directory carry over from step to step.
 *
 * Each step's command is the doc's own text. It is written to a file and bash is told to
 * source that file; proxylab never puts the command (or anything else from input) inside a
 * shell string it builds. What proxylab writes to bash's stdin is fixed text plus paths of
 * files it created itself. Output (stdout and stderr together, as a terminal shows them)
 * goes to a file; the end of a step is a line with a random marker and the exit code.
 *
 * stderr: docs show a step's output as a terminal shows it, stdout and stderr interleaved in
 * the order the programs wrote them (one file for both, so one shared offset). A line a
 * program prints on stderr, such as kubectl's `Found 3 pods, using pod/kube-proxy-…` before
 * `kubectl logs ds/kube-proxy` output (kubectl writes it to stderr even when stdout goes
 * into a pipe), belongs in the doc's expected output where it appeared.
 *
 * The environment: the caller's (proxylab check: labEnv in src/commands/check.ts), minus
 * what would make the lab behave differently from a person's fresh terminal (labShellEnv).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { start, type LiveProcess } from '../core/exec.js';

export interface SessionOptions {
  cwd: string;
  env: Record<string, string | undefined>;
  signal?: AbortSignal;
}

export interface StepRun {
  output: string;
  exitCode: number | null;
  durationMs: number;
  timedOut: boolean;
  /** The command ended the shell itself (`exit`): a new session was started for the rest. */
  shellEnded: boolean;
}

const BASH = existsSync('/bin/bash') ? '/bin/bash' : 'bash';

/**
 * What GNU make (4.3, Debian 12) exports to every recipe's environment: under `make lab` or
 * `make smoke` they reach the lab's shell, and a step's own `make web` then runs as a
 * sub-make (MAKELEVEL=1 turns on -w: "make[1]: Entering directory …") with the outer
 * command line's variables (MAKEFLAGS/MAKEOVERRIDES carry `MODE=ipvs`).
 */
export const MAKE_VARIABLES = [
  'MAKEFLAGS',
  'MFLAGS',
  'GNUMAKEFLAGS',
  'MAKELEVEL',
  'MAKEOVERRIDES',
  'MAKEFILES',
  'MAKE_TERMOUT',
  'MAKE_TERMERR',
] as const;

/** The Makefile's own variables (set on make's command line they are exported too). */
export const MAKEFILE_VARIABLES = ['MODE', 'K8S', 'SCHEDULER', 'CLUSTER', 'ARGS'] as const;

/** Variables that change how a non-interactive bash itself behaves (sourced files, cd output). */
export const SHELL_VARIABLES = [
  'BASH_ENV',
  'ENV',
  'CDPATH',
  'GLOBIGNORE',
  'SHELLOPTS',
  'BASHOPTS',
] as const;

/**
 * The lab shell's environment: `env` without make's, the Makefile's and bash's
 * behaviour-changing variables; CLUSTER is set to the cluster being checked
 * (PROXYLAB_CLUSTER) so a step's `make …` acts on it, as the outer command did.
 */
export function labShellEnv(
  env: Record<string, string | undefined>,
): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = { ...env };
  for (const k of [...MAKE_VARIABLES, ...MAKEFILE_VARIABLES, ...SHELL_VARIABLES]) delete out[k];
  if (env.PROXYLAB_CLUSTER) out.CLUSTER = env.PROXYLAB_CLUSTER;
  return out;
}

/** Quote a path proxylab generated itself (mkdtemp + fixed names) for bash. */
function q(path: string): string {
  if (!/^[\w./+-]+$/.test(path)) throw new Error(`unexpected characters in temporary path ${path}`);
  return `'${path}'`;
}

export class ShellSession {
  private proc!: LiveProcess;
  private buf = '';
  private waiter: ((line: string) => void) | null = null;
  private ended = false;
  private readonly dir: string;
  private readonly nonce = randomBytes(8).toString('hex');
  private n = 0;

  constructor(private readonly opts: SessionOptions) {
    this.dir = mkdtempSync(join(tmpdir(), 'proxylab-check-'));
    this.spawn();
  }

  private spawn(): void {
    this.ended = false;
    this.buf = '';
    this.proc = start([BASH, '--noprofile', '--norc'], {
      cwd: this.opts.cwd,
      env: labShellEnv(this.opts.env),
      extendEnv: false,
      ...(this.opts.signal ? { signal: this.opts.signal } : {}),
    });
    this.proc.onStdout((chunk) => {
      this.buf += chunk;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        if (line.startsWith(this.nonce) && this.waiter) this.waiter(line);
      }
    });
    const proc = this.proc;
    void proc.exited.then(() => {
      if (this.proc !== proc) return;
      this.ended = true;
      this.waiter?.('');
    });
    // a person's interactive shell expands aliases; a non-interactive one does not by default
    this.proc.write('shopt -s expand_aliases\n');
  }

  /** Run one command; `node` runs it inside that kind node through `docker exec -i NODE sh`. */
  async run(command: string, opts: { timeoutMs: number; node?: string }): Promise<StepRun> {
    const k = ++this.n;
    const script = join(this.dir, `step-${k}.sh`);
    const out = join(this.dir, `out-${k}.txt`);
    writeFileSync(script, command.endsWith('\n') ? command : `${command}\n`);
    writeFileSync(out, '');
    const started = performance.now();
    const exec =
      opts.node !== undefined
        ? // node names are checked against [A-Za-z0-9][A-Za-z0-9_.-]* by the doc parser
          `docker exec -i ${q(opts.node)} sh < ${q(script)} > ${q(out)} 2>&1`
        : `. ${q(script)} < /dev/null > ${q(out)} 2>&1`;
    const done = new Promise<string>((resolve) => {
      this.waiter = resolve;
    });
    if (this.ended) this.spawn();
    this.proc.write(`${exec}\nprintf '\\n%s %s %s\\n' ${this.nonce} ${k} "$?"\n`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), opts.timeoutMs);
    });
    const line = await Promise.race([done, timeout]);
    clearTimeout(timer);
    this.waiter = null;
    const durationMs = Math.round(performance.now() - started);
    const output = existsSync(out) ? readFileSync(out, 'utf8') : '';
    if (line === 'timeout') {
      this.proc.kill();
      await this.proc.exited;
      this.spawn();
      return { output, exitCode: null, durationMs, timedOut: true, shellEnded: false };
    }
    if (line === '') {
      // the shell itself ended (the step ran `exit`): start a new one for the next steps
      // (not after Ctrl-C: the shell ended because it was interrupted, no step comes next)
      const code = await this.proc.exited;
      if (!this.opts.signal?.aborted) this.spawn();
      return { output, exitCode: code, durationMs, timedOut: false, shellEnded: true };
    }
    const code = Number(line.split(' ')[2]);
    return {
      output,
      exitCode: Number.isFinite(code) ? code : null,
      durationMs,
      timedOut: false,
      shellEnded: false,
    };
  }

  async close(): Promise<void> {
    if (!this.ended) {
      this.proc.write('exit 0\n');
      const t = setTimeout(() => this.proc.kill(), 2000);
      await this.proc.exited;
      clearTimeout(t);
    }
    // after Ctrl-C: what the steps started gets its time to restore before proxylab exits
    await this.proc.settled();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
