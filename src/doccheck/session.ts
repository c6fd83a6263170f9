/**
 * One bash session per lab run, like the terminal a person follows the lab in: aliases,
 * variables and the working directory carry over from step to step.
 *
 * Each step's command is the doc's own text. It is written to a file and bash is told to
 * source that file; proxylab never puts the command (or anything else from input) inside a
 * shell string it builds. What proxylab writes to bash's stdin is fixed text plus paths of
 * files it created itself. Output (stdout and stderr together, as a terminal shows them)
 * goes to a file; the end of a step is a line with a random marker and the exit code.
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
      env: this.opts.env,
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
      const code = await this.proc.exited;
      this.spawn();
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
    rmSync(this.dir, { recursive: true, force: true });
  }
}
