/**
 * Press Ctrl-C on the CLI the way a user would: start `proxylab ARGS` (CI on, no colour) and
 * send SIGINT once `ready(output)` holds, plus `delayMs`. Returns the exit code, the signal
 * that ended it (if any) and everything it printed, stdout and stderr in arrival order.
 */
import { spawn } from 'node:child_process';
import { CLI, ROOT } from './cli.js';

export interface Interrupted {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
}

export function interruptWhen(
  run: { kubeconfig: string; env: NodeJS.ProcessEnv },
  args: string[],
  ready: (out: string) => boolean,
  opts: { delayMs?: number; env?: Record<string, string> } = {},
): Promise<Interrupted> {
  const child = spawn(process.execPath, [...CLI, '--kubeconfig', run.kubeconfig, ...args], {
    cwd: ROOT,
    env: { ...run.env, NO_COLOR: '1', CI: 'true', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  return new Promise((resolve) => {
    const tick = setInterval(() => {
      if (!ready(out)) return;
      clearInterval(tick);
      setTimeout(() => child.kill('SIGINT'), opts.delayMs ?? 0);
    }, 50);
    child.on('close', (code, signal) => {
      clearInterval(tick);
      resolve({ code, signal, out });
    });
  });
}
