/**
 * The host kernel modules kube-proxy's IPVS mode needs. kind nodes share the host's kernel
 * (and mount /lib/modules read-only), so the modules are loaded on the host.
 *
 * A module counts as present when it is built in (modules.builtin), loaded (/proc/modules)
 * or loadable (a .ko file under /lib/modules/<release>). For tests the roots move with
 * PROXYLAB_PROC_ROOT, PROXYLAB_MODULES_ROOT, PROXYLAB_KERNEL_RELEASE and
 * PROXYLAB_MODULES_LOAD_D.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { checkModules, hostRoots, type ModuleReport } from '../cluster/host.js';
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
