/**
 * The two error types users meet.
 *
 * - `UserError`: something the user can fix. Printed as one sentence plus a hint,
 *   never with a stack trace (unless --debug). Carries the exit code to use.
 * - `CommandError`: a program proxylab ran failed. Carries everything needed to say
 *   what happened: argv, exit code, the tail of stderr, duration, and whether it timed out.
 */

export const EXIT = {
  ok: 0,
  /** A check or step failed, or a required doctor item is missing. */
  failed: 1,
  /** Bad input: unknown flag, invalid config, unreadable file. */
  usage: 2,
  /** Interrupted (SIGINT). */
  interrupted: 130,
} as const;

export class UserError extends Error {
  override readonly name = 'UserError';
  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode: number = EXIT.failed,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Bad input from the user: exit code 2. */
export class UsageError extends UserError {
  constructor(message: string, hint?: string) {
    super(message, hint, EXIT.usage);
  }
}

export interface CommandFailure {
  argv: readonly string[];
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
  timeoutMs: number | null;
  /** The program could not be started at all (ENOENT, EACCES). */
  spawnError: string | null;
}

const STDERR_TAIL_LINES = 12;

export function tail(text: string, lines = STDERR_TAIL_LINES): string {
  const all = text.replace(/\s+$/, '').split('\n');
  return all.slice(-lines).join('\n');
}

/** Quote argv for display only (never executed through a shell). */
export function displayArgv(argv: readonly string[]): string {
  return argv
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}

export class CommandError extends Error implements CommandFailure {
  override readonly name = 'CommandError';
  readonly argv: readonly string[];
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
  readonly timedOut: boolean;
  readonly timeoutMs: number | null;
  readonly spawnError: string | null;

  constructor(f: CommandFailure) {
    super(CommandError.describe(f));
    this.argv = f.argv;
    this.exitCode = f.exitCode;
    this.signal = f.signal;
    this.stdout = f.stdout;
    this.stderr = f.stderr;
    this.durationMs = f.durationMs;
    this.timedOut = f.timedOut;
    this.timeoutMs = f.timeoutMs;
    this.spawnError = f.spawnError;
  }

  get stderrTail(): string {
    return tail(this.stderr);
  }

  static describe(f: CommandFailure): string {
    const cmd = displayArgv(f.argv);
    const secs = (f.durationMs / 1000).toFixed(1);
    if (f.spawnError) return `could not run \`${cmd}\`: ${f.spawnError}`;
    if (f.timedOut)
      return `\`${cmd}\` timed out after ${((f.timeoutMs ?? f.durationMs) / 1000).toFixed(0)} s`;
    if (f.signal === 'abort') return `\`${cmd}\` was stopped: proxylab was interrupted`;
    if (f.signal) return `\`${cmd}\` was killed by ${f.signal} after ${secs} s`;
    const why = tail(f.stderr, 1) || tail(f.stdout, 1);
    return `\`${cmd}\` exited with code ${f.exitCode} after ${secs} s${why ? `: ${why}` : ''}`;
  }
}

export function isCommandError(e: unknown): e is CommandError {
  return e instanceof CommandError;
}
