/**
 * Network namespaces for kernel tests: unique names, argv run inside, guaranteed cleanup.
 *
 *   const why = netnsUnavailable();           // a reason string, or undefined when usable
 *   test('...', { skip: why }, async () => {
 *     await withNetns(['node', 'pod'], async (ns) => {
 *       await ns.exec('node', ['iptables-save', '-t', 'nat']);
 *     });                                     // deleted here, also when the body throws
 *   });
 *
 * Every namespace a test makes is also deleted when the process exits (even after a
 * failed assertion or an uncaught error), so nothing is left on the machine. Names look
 * like `plt-<pid>-<n>-<role>` so a leftover (after SIGKILL) is easy to spot and remove.
 */
import { spawnSync } from 'node:child_process';
import { run, type RunOptions, type RunResult } from '../../src/core/exec.js';

const live = new Set<string>();
let counter = 0;
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  const sweep = () => {
    for (const n of live) spawnSync('ip', ['netns', 'delete', n], { stdio: 'ignore' });
    live.clear();
  };
  process.on('exit', sweep);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      sweep();
      process.exit(130);
    });
  }
}

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore' }).status === 0;
}

/** Why namespaces cannot be used here (a sentence for node:test's skip), or undefined. */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== 'linux')
    return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0)
    return 'network namespaces need root (run the kernel tier as root, e.g. in CI)';
  if (!which('ip')) return 'the `ip` command is missing (apt-get install iproute2)';
  const probe = `plt-probe-${process.pid}`;
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (r.status !== 0)
    return `cannot create a network namespace: ${(r.stderr || '').trim() || `ip exited ${r.status}`}`;
  spawnSync('ip', ['netns', 'delete', probe], { stdio: 'ignore' });
  return undefined;
}

/** Why a given iptables flavour cannot be used here, or undefined. */
export function iptablesUnavailable(flavour: 'nft' | 'legacy'): string | undefined {
  const bin = `iptables-${flavour}`;
  if (!which(bin)) return `${bin} is missing (apt-get install iptables)`;
  return undefined;
}

export function uniqueName(role: string): string {
  counter += 1;
  return `plt-${process.pid}-${counter}-${role}`.slice(0, 40);
}

export async function createNetns(role: string): Promise<string> {
  hookExit();
  const name = uniqueName(role);
  live.add(name);
  await run(['ip', 'netns', 'add', name]);
  await run(['ip', 'netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
  return name;
}

export async function deleteNetns(name: string): Promise<void> {
  await run(['ip', 'netns', 'delete', name], { reject: false });
  live.delete(name);
}

/** Run argv inside the namespace (throws CommandError on a non-zero exit unless reject:false). */
export function netnsExec(
  name: string,
  argv: readonly string[],
  opts: RunOptions = {},
): Promise<RunResult> {
  return run(['ip', 'netns', 'exec', name, ...argv], opts);
}

export interface Namespaces {
  /** role → real namespace name */
  name(role: string): string;
  exec(role: string, argv: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** Output (stdout) of argv run inside the namespace. */
  out(role: string, argv: readonly string[], opts?: RunOptions): Promise<string>;
}

/** Create one namespace per role, run `body`, delete them all afterwards, whatever happens. */
export async function withNetns<T>(
  roles: readonly string[],
  body: (ns: Namespaces) => Promise<T>,
): Promise<T> {
  const made = new Map<string, string>();
  try {
    for (const r of roles) made.set(r, await createNetns(r));
    const name = (role: string): string => {
      const n = made.get(role);
      if (!n)
        throw new Error(`no namespace for role ${role} (have ${[...made.keys()].join(', ')})`);
      return n;
    };
    return await body({
      name,
      exec: (role, argv, opts) => netnsExec(name(role), argv, opts),
      out: async (role, argv, opts) => (await netnsExec(name(role), argv, opts)).stdout,
    });
  } finally {
    for (const n of made.values()) await deleteNetns(n);
  }
}

/** Namespaces whose names start with plt-<this pid>- (what this process still holds). */
export async function leftoverNetns(): Promise<string[]> {
  const r = await run(['ip', 'netns', 'list'], { reject: false });
  return r.stdout
    .split('\n')
    .map((l) => l.split(/\s+/)[0] ?? '')
    .filter((n) => n.startsWith(`plt-${process.pid}-`));
}
