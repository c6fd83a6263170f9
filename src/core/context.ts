/** What every command receives: the global options, resolved once. */
import { paths } from './paths.js';

export interface GlobalOptions {
  cluster: string;
  kubeconfig: string;
  quiet: boolean;
  json: boolean;
  debug: boolean;
}

export interface Output {
  /** Data or results for the user (stdout). Suppressed by --quiet unless it is the data asked for. */
  out(text: string): void;
  /** Progress and notes (stderr). Suppressed by --quiet. */
  info(text: string): void;
  /** Warnings (stderr). Suppressed by --quiet. */
  warn(text: string): void;
  /** Errors (stderr). Always shown. */
  error(text: string): void;
}

export interface Context extends GlobalOptions {
  io: Output;
  /** Environment the command runs in (process.env in the CLI, a copy in tests). */
  env: NodeJS.ProcessEnv;
  color: boolean;
  /** Aborted on SIGINT: long steps pass it down so children are killed and state restored. */
  signal: AbortSignal;
}

export const DEFAULT_CLUSTER = 'proxylab';

export function defaultGlobals(env: NodeJS.ProcessEnv = process.env): GlobalOptions {
  return {
    cluster: env.PROXYLAB_CLUSTER ?? DEFAULT_CLUSTER,
    kubeconfig: env.PROXYLAB_KUBECONFIG ?? paths.defaultKubeconfig,
    quiet: false,
    json: false,
    debug: false,
  };
}

export function useColor(env: NodeJS.ProcessEnv, stream: NodeJS.WriteStream): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY) && env.TERM !== 'dumb';
}

export function makeOutput(opts: { quiet: boolean }): Output {
  return {
    out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
    info: (t) => {
      if (!opts.quiet) process.stderr.write(t.endsWith('\n') ? t : `${t}\n`);
    },
    warn: (t) => {
      if (!opts.quiet) process.stderr.write(t.endsWith('\n') ? t : `${t}\n`);
    },
    error: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
  };
}
