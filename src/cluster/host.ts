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

export interface ModuleStatus {
  name: string;
  state: ModuleState;
}

/** Where the kernel's module facts are read from (see hostRoots). */
export interface ModuleRoots {
  proc: string;
  modules: string;
  release: string;
}

export interface ModuleReport {
  release: string;
  modules: ModuleStatus[];
  /** Whether /proc/modules could be read at all (no: we cannot tell what is loaded). */
  procReadable: boolean;
  modulesDirPresent: boolean;
  /** modules.builtin could be read. */
  builtinReadable: boolean;
}

/** modprobe treats - and _ alike. */
const norm = (n: string) => n.replace(/-/g, '_');

function readLines(file: string): string[] | undefined {
  try {
    return readFileSync(file, 'utf8').split('\n');
  } catch {
    return undefined;
  }
}

function builtinNames(r: ModuleRoots): Set<string> | undefined {
  const lines = readLines(join(r.modules, r.release, 'modules.builtin'));
  if (!lines) return undefined;
  return new Set(
    lines.filter(Boolean).map((p) =>
      norm(
        p
          .split('/')
          .pop()!
          .replace(/\.ko.*$/, ''),
      ),
    ),
  );
}

function loadedNames(r: ModuleRoots): Set<string> {
  const lines = readLines(join(r.proc, 'modules')) ?? [];
  return new Set(lines.filter(Boolean).map((l) => norm(l.split(' ')[0]!)));
}

/** Names of .ko files: modules.dep when present (fast), else a walk of the module tree. */
function loadableNames(r: ModuleRoots): Set<string> {
  const base = join(r.modules, r.release);
  const out = new Set<string>();
  const add = (p: string) => {
    const m = /([^/]+)\.ko(\.(xz|gz|zst))?$/.exec(p);
    if (m) out.add(norm(m[1]!));
  };
  const dep = readLines(join(base, 'modules.dep'));
  if (dep) {
    for (const l of dep) {
      const i = l.indexOf(':');
      if (i > 0) add(l.slice(0, i));
    }
    return out;
  }
  const walk = (dir: string, depth: number) => {
    if (depth > 8) return;
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory()) walk(join(dir, e.name), depth + 1);
      else add(e.name);
    }
  };
  walk(base, 0);
  return out;
}

/**
 * The one place that decides whether a module is present: built in (modules.builtin),
 * loaded (/proc/modules) or loadable (a .ko under /lib/modules/<release>).
 */
export function checkModules(names: readonly string[], r: ModuleRoots): ModuleReport {
  const builtin = builtinNames(r);
  const loaded = loadedNames(r);
  const loadable = loadableNames(r);
  return {
    release: r.release,
    procReadable: existsSync(join(r.proc, 'modules')),
    modulesDirPresent: existsSync(join(r.modules, r.release)),
    builtinReadable: builtin !== undefined,
    modules: names.map((name) => {
      const n = norm(name);
      const state: ModuleState = builtin?.has(n)
        ? 'builtin'
        : loaded.has(n)
          ? 'loaded'
          : loadable.has(n)
            ? 'loadable'
            : 'missing';
      return { name, state };
    }),
  };
}

export interface IpvsReport {
  ok: boolean;
  /** /proc/net/ip_vs exists: IPVS is active in this kernel right now. */
  active: boolean;
  modules: { module: string; state: ModuleState }[];
  /** What could be looked at (missing files explain a "missing"). */
  sources: { builtin: boolean; procModules: boolean; moduleTree: boolean };
}

/** doctor's and up's question: can this host run kube-proxy's IPVS mode? */
export function ipvsSupport(env: NodeJS.ProcessEnv): IpvsReport {
  const h = hostRoots(env);
  const report = checkModules(IPVS_MODULES, {
    proc: h.proc,
    modules: h.modules,
    release: h.kernel,
  });
  const modules = report.modules.map((m) => ({ module: m.name, state: m.state }));
  const active = existsSync(join(h.proc, 'net', 'ip_vs'));
  const core = modules.filter((m) => m.module !== 'nf_conntrack');
  const ok =
    core.every((m) => m.state !== 'missing') ||
    (active && core.slice(1).every((m) => m.state !== 'missing'));
  return {
    ok,
    active,
    modules,
    sources: {
      builtin: report.builtinReadable,
      procModules: report.procReadable,
      moduleTree: report.modulesDirPresent,
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
    const t = readLines(join(r.proc, 'sys', 'fs', 'inotify', f))?.[0];
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
