/**
 * The kernel modules kube-proxy's IPVS mode needs, in the kernel the kind nodes run on: the
 * Docker engine's. They are checked and loaded through a node (readEngineKernel below); this
 * machine's own modprobe is the last resort, and only when this machine is the engine's.
 * Without a cluster yet, this machine's kernel is checked as the likely engine.
 *
 * A module counts as present when it is built in (modules.builtin), loaded (/proc/modules)
 * or loadable (a .ko file under /lib/modules/<release>). For tests the roots move with
 * PROXYLAB_PROC_ROOT, PROXYLAB_MODULES_ROOT, PROXYLAB_KERNEL_RELEASE and
 * PROXYLAB_MODULES_LOAD_D.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { checkModules, hostRoots, type ModuleReport, type ModuleStatus } from '../cluster/host.js';
import type { Scheduler } from './schedulers.js';

export interface KernelRoots {
  proc: string;
  modules: string;
  release: string;
  modulesLoadD: string;
}

/** The same roots (and env overrides) as `proxylab doctor`'s check in src/cluster/host.ts. */
export function kernelRoots(env: NodeJS.ProcessEnv): KernelRoots {
  const h = hostRoots(env);
  return {
    proc: h.proc,
    modules: h.modules,
    release: h.kernel,
    modulesLoadD: env.PROXYLAB_MODULES_LOAD_D || '/etc/modules-load.d',
  };
}

export const PERSIST_FILE = 'proxylab-ipvs.conf';

/** Kernel 4.19 renamed nf_conntrack_ipv4 into nf_conntrack. */
export function kernelBefore419(rel: string): boolean {
  const m = /^(\d+)\.(\d+)/.exec(rel);
  if (!m) return false;
  const [maj, min] = [Number(m[1]), Number(m[2])];
  return maj < 4 || (maj === 4 && min < 19);
}

/** Modules for a proxy mode, in load order. iptables and nftables need none from us. */
export function requiredModules(
  mode: string,
  scheduler: Scheduler | undefined,
  rel: string,
): string[] {
  if (mode !== 'ipvs') return [];
  const mods = ['ip_vs', 'ip_vs_rr', 'ip_vs_wrr', 'ip_vs_sh'];
  const s = `ip_vs_${scheduler ?? 'rr'}`;
  if (!mods.includes(s)) mods.push(s);
  mods.push(kernelBefore419(rel) ? 'nf_conntrack_ipv4' : 'nf_conntrack');
  return mods;
}

export {
  checkModules,
  type ModuleReport,
  type ModuleState,
  type ModuleStatus,
} from '../cluster/host.js';

export interface LoadPlan {
  /** Modules to modprobe (loadable, not yet loaded). */
  toLoad: string[];
  /** Neither built in, loaded nor loadable: this kernel cannot run IPVS mode as is. */
  missing: string[];
  /** argv per module, prefixed with sudo -n when not root. */
  commands: string[][];
}

export function planLoad(report: ModuleReport, isRoot: boolean): LoadPlan {
  const toLoad = report.modules.filter((m) => m.state === 'loadable').map((m) => m.name);
  const missing = report.modules.filter((m) => m.state === 'missing').map((m) => m.name);
  const commands = toLoad.map((m) => [...(isRoot ? [] : ['sudo', '-n']), 'modprobe', '--', m]);
  return { toLoad, missing, commands };
}

/** The exact commands a person runs by hand (seed 000's list, for this kernel). */
export function manualCommands(mods: string[]): string[] {
  return mods.map((m) => `sudo modprobe -- ${m}`);
}

export function persistPath(r: KernelRoots): string {
  return join(r.modulesLoadD, PERSIST_FILE);
}

export function persistContent(mods: string[]): string {
  return `# Written by proxylab (\`proxylab modules --persist\`): IPVS modules for kube-proxy.\n${mods.join('\n')}\n`;
}

/** Write the modules-load.d file; returns false when it already had this content. */
export function writePersist(r: KernelRoots, mods: string[]): boolean {
  const file = persistPath(r);
  const want = persistContent(mods);
  try {
    if (readFileSync(file, 'utf8') === want) return false;
  } catch {
    /* not there yet */
  }
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, want);
  return true;
}

export interface EnsureResult {
  report: ModuleReport;
  loaded: string[];
  /** Commands for the user to run, when proxylab could not load them itself. */
  manual: string[];
}

/**
 * Make sure the modules are present on the host: load the loadable ones (modprobe as root,
 * `sudo -n modprobe` otherwise). Throws a UserError naming the exact commands when it
 * cannot, or when a module does not exist for this kernel.
 */
export async function ensureModules(
  names: string[],
  env: NodeJS.ProcessEnv,
  runner: (argv: string[]) => Promise<void>,
  isRoot: boolean,
): Promise<EnsureResult> {
  const { UserError } = await import('../core/errors.js');
  const roots = kernelRoots(env);
  let report = checkModules(names, roots);
  const plan = planLoad(report, isRoot);
  if (plan.missing.length) {
    throw new UserError(
      `this kernel (${roots.release}) has no ${plan.missing.join(', ')} module${plan.missing.length > 1 ? 's' : ''}: kube-proxy's IPVS mode cannot run here`,
      report.modulesDirPresent
        ? "install your distribution's extra kernel modules package (e.g. linux-modules-extra-$(uname -r)), or use `proxylab mode nftables` / `iptables`"
        : `there is no ${join(roots.modules, roots.release)} on this machine (WSL2, a container, or a minimal VM?); use \`proxylab mode nftables\` or \`iptables\`, or the bare lab`,
    );
  }
  const loaded: string[] = [];
  const failed: string[] = [];
  for (const [i, argv] of plan.commands.entries()) {
    try {
      await runner(argv);
      loaded.push(plan.toLoad[i]!);
    } catch {
      failed.push(plan.toLoad[i]!);
    }
  }
  if (failed.length) {
    const manual = manualCommands(failed);
    throw new UserError(
      `could not load ${failed.join(', ')}${isRoot ? '' : ' (not root, and sudo asks for a password)'}`,
      `run these, then try again:\n${manual.join('\n')}`,
    );
  }
  if (loaded.length) report = checkModules(names, roots);
  return { report, loaded, manual: [] };
}

/** Module names from /proc/modules text (first word of each line). */
export function loadedFromProc(text: string): Set<string> {
  const out = new Set<string>();
  for (const l of text.split('\n')) {
    const name = l.trim().split(/\s+/)[0];
    if (name) out.add(name.replace(/-/g, '_'));
  }
  return out;
}

/** Module names from modules.builtin text (`kernel/net/netfilter/ipvs/ip_vs.ko` lines). */
export function builtinFromList(text: string): Set<string> {
  const out = new Set<string>();
  for (const l of text.split('\n')) {
    const m = /([^/\s]+)\.ko(\.(xz|gz|zst))?\s*$/.exec(l);
    if (m) out.add(m[1]!.replace(/-/g, '_'));
  }
  return out;
}

/**
 * What a kind node sees of the engine's kernel. kind nodes are privileged containers that
 * mount the engine host's /lib/modules read-only (kind v0.31.0
 * pkg/cluster/internal/providers/docker/provision.go: `--volume /lib/modules:/lib/modules:ro`
 * with `--privileged`) and its image ships kmod (images/base/Dockerfile), so `modprobe` in a
 * node loads a module into the kernel every node and kube-proxy share: the engine's, which is
 * not this machine's under Docker Desktop or a remote DOCKER_HOST.
 */
export interface EngineKernel {
  node: string;
  release: string;
  loaded: Set<string>;
  /** undefined: modules.builtin could not be read. */
  builtin: Set<string> | undefined;
}

export type NodeExec = (
  argv: readonly string[],
) => Promise<{ exitCode: number | null; stdout: string; stderr: string }>;

export async function readEngineKernel(node: string, exec: NodeExec): Promise<EngineKernel> {
  const rel = await exec(['uname', '-r']);
  const release = rel.stdout.trim();
  if (rel.exitCode !== 0 || !/^[\w.+~-]+$/.test(release))
    throw new Error(`\`uname -r\` in ${node} said "${(rel.stderr || rel.stdout).trim()}"`);
  const proc = await exec(['cat', '/proc/modules']);
  if (proc.exitCode !== 0)
    throw new Error(`could not read /proc/modules in ${node}: ${proc.stderr.trim()}`);
  const b = await exec(['cat', `/lib/modules/${release}/modules.builtin`]);
  return {
    node,
    release,
    loaded: loadedFromProc(proc.stdout),
    builtin: b.exitCode === 0 ? builtinFromList(b.stdout) : undefined,
  };
}

export function engineStatuses(k: EngineKernel, names: readonly string[]): ModuleStatus[] {
  return names.map((name) => ({
    name,
    state: k.builtin?.has(name) ? 'builtin' : k.loaded.has(name) ? 'loaded' : 'loadable',
  }));
}

/** Names modprobe reported as absent ("Module X not found in directory ..."). */
export function notFoundIn(stderr: string): string[] {
  return [...stderr.matchAll(/Module (\S+) not found/g)].map((m) => m[1]!);
}

/**
 * Is this machine the engine's kernel? Only then can the host's modprobe help. The engine is
 * elsewhere when DOCKER_HOST names a remote daemon (tcp://, ssh://), or when the kernel the
 * nodes run differs from this one (Docker Desktop's VM, a remote context).
 */
export function engineIsThisHost(
  env: NodeJS.ProcessEnv,
  engineRelease: string,
  hostRelease: string,
): { local: boolean; why: string } {
  const dh = env.DOCKER_HOST ?? '';
  if (dh !== '' && !dh.startsWith('unix://'))
    return { local: false, why: `the Docker engine is remote (DOCKER_HOST=${dh})` };
  if (engineRelease !== hostRelease)
    return {
      local: false,
      why: `the Docker engine runs kernel ${engineRelease}, this machine ${hostRelease} (Docker Desktop or another machine's engine)`,
    };
  return { local: true, why: '' };
}
