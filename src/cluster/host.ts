/**
 * Host checks for `proxylab doctor`: IPVS kernel support (built in per modules.builtin,
 * loaded per /proc/modules, or loadable as a .ko under /lib/modules/<release>), the inotify
 * limits kind needs, and whether modprobe can run as root. The /proc and /lib/modules roots
 * and the kernel release can be moved with PROXYLAB_PROC_ROOT, PROXYLAB_MODULES_ROOT and
 * PROXYLAB_KERNEL_RELEASE (tests).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { release } from 'node:os';

export interface HostRoots {
  proc: string;
  modules: string;
  kernel: string;
}

export function hostRoots(env: NodeJS.ProcessEnv): HostRoots {
  return {
    proc: env.PROXYLAB_PROC_ROOT ?? '/proc',
    modules: env.PROXYLAB_MODULES_ROOT ?? '/lib/modules',
    kernel: env.PROXYLAB_KERNEL_RELEASE ?? release(),
  };
}

/** The modules kube-proxy's IPVS mode needs (plus conntrack). */
export const IPVS_MODULES = ['ip_vs', 'ip_vs_rr', 'ip_vs_wrr', 'ip_vs_sh', 'nf_conntrack'] as const;

export type ModuleState = 'builtin' | 'loaded' | 'loadable' | 'missing';

export interface ModuleReport {
  module: string;
  state: ModuleState;
}

export interface IpvsReport {
  ok: boolean;
  /** /proc/net/ip_vs exists: IPVS is active in this kernel right now. */
  active: boolean;
  modules: ModuleReport[];
  /** What could be looked at (missing files explain a "missing"). */
  sources: { builtin: boolean; procModules: boolean; moduleTree: boolean };
}

function readOr(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function findKo(dir: string, names: Set<string>, found: Set<string>, depth = 0): void {
  if (depth > 8 || found.size === names.size) return;
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    if (e.isDirectory()) findKo(join(dir, e.name), names, found, depth + 1);
    else {
      const m = /^(.+?)\.ko(?:\.(?:xz|zst|gz))?$/.exec(e.name);
      if (m && names.has(m[1]!.replace(/-/g, '_'))) found.add(m[1]!.replace(/-/g, '_'));
    }
  }
}

export function ipvsSupport(env: NodeJS.ProcessEnv): IpvsReport {
  const r = hostRoots(env);
  const kdir = join(r.modules, r.kernel);
  const builtinText = readOr(join(kdir, 'modules.builtin'));
  const procModules = readOr(join(r.proc, 'modules'));
  const builtin = new Set(
    (builtinText ?? '')
      .split('\n')
      .map((l) => /([^/]+)\.ko$/.exec(l.trim())?.[1]?.replace(/-/g, '_'))
      .filter((x): x is string => !!x),
  );
  const loaded = new Set(
    (procModules ?? '')
      .split('\n')
      .map((l) => l.split(' ')[0]!)
      .filter(Boolean),
  );
  const loadable = new Set<string>();
  const moduleTree = existsSync(join(kdir, 'kernel'));
  if (moduleTree) findKo(join(kdir, 'kernel'), new Set(IPVS_MODULES), loadable);
  const modules = IPVS_MODULES.map((module): ModuleReport => ({
    module,
    state: builtin.has(module)
      ? 'builtin'
      : loaded.has(module)
        ? 'loaded'
        : loadable.has(module)
          ? 'loadable'
          : 'missing',
  }));
  const active = existsSync(join(r.proc, 'net', 'ip_vs'));
  const core = modules.filter((m) => m.module !== 'nf_conntrack');
  const ok =
    core.every((m) => m.state !== 'missing') ||
    (active && core.slice(1).every((m) => m.state !== 'missing'));
  return {
    ok,
    active,
    modules,
    sources: {
      builtin: builtinText !== undefined,
      procModules: procModules !== undefined,
      moduleTree,
    },
  };
}

export interface InotifyReport {
  watches?: number;
  instances?: number;
  ok: boolean;
}

/** kind's known-issues page asks for at least these on multi-node clusters. */
export const INOTIFY_MIN = { watches: 524288, instances: 512 };

export function inotifyLimits(env: NodeJS.ProcessEnv): InotifyReport {
  const r = hostRoots(env);
  const num = (f: string) => {
    const t = readOr(join(r.proc, 'sys', 'fs', 'inotify', f));
    return t === undefined ? undefined : Number(t.trim());
  };
  const watches = num('max_user_watches');
  const instances = num('max_user_instances');
  return {
    ...(watches !== undefined ? { watches } : {}),
    ...(instances !== undefined ? { instances } : {}),
    ok: (watches ?? 0) >= INOTIFY_MIN.watches && (instances ?? 0) >= INOTIFY_MIN.instances,
  };
}
