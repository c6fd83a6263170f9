/**
 * What a lab doc needs in order to run, as the doc itself declares it, and whether this
 * machine has it. Read from the raw doc text (not from the parsed steps), so that `check`
 * can stop before it runs anything and `make smoke` can skip, with the reason, a lab the
 * machine cannot run.
 *
 * A lab declares its needs in an HTML comment, which the rendered page does not show:
 *
 *   <!-- proxylab needs: cluster + ipvs-modules -->
 *   <!-- proxylab needs: root + ipvs-kernel | microvm -->
 *   <!-- proxylab unchecked: its figures are timings of the machine it runs on -->
 *
 * `+` joins things needed together and `|` separates alternatives, any one of which is
 * enough (`|` binds loosest: "root and IPVS in this kernel, or the micro-VM" above). A doc
 * without a `needs` line needs the cluster, as every lab did before labs said so.
 * `ipvs-modules` is what a cluster in IPVS mode needs from this host (kind nodes use its
 * kernel: the modules built in, loaded or loadable, as `proxylab doctor` checks them);
 * `ipvs-kernel` is IPVS usable here and now (/proc/net/ip_vs, after modprobe), as the bare
 * lab's native backend uses it.
 * `unchecked` marks a page that is read, not checked (its commands are plain `console`
 * blocks); the text after the colon says why.
 */
import { existsSync } from 'node:fs';
import { run } from '../core/exec.js';
import { which } from '../cluster/tools.js';
import { ipvsSupport } from '../cluster/host.js';
import { UsageError } from '../core/errors.js';

export const NEEDS = {
  cluster: 'the kind cluster',
  root: 'root',
  'ipvs-modules': "the IPVS modules for the cluster's nodes",
  'ipvs-kernel': 'IPVS in this kernel',
  microvm: "the bare lab's micro-VM",
} as const;
export type Need = keyof typeof NEEDS;

export interface LabNeeds {
  /** Alternatives, each a set of needs that together are enough. */
  alternatives: Need[][];
  /** false: the doc says nothing and the cluster is assumed. */
  declared: boolean;
  /** Why the page is not checked (an `unchecked:` line), if it says so. */
  unchecked?: string;
}

export class NeedsSyntaxError extends Error {
  override readonly name = 'NeedsSyntaxError';
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

const COMMENT = /<!--\s*proxylab\s+(needs|unchecked)\s*:\s*([\s\S]*?)\s*-->/g;

/** The needs a lab doc declares (throws NeedsSyntaxError on an unknown or repeated one). */
export function readNeeds(text: string): LabNeeds {
  const out: LabNeeds = { alternatives: [['cluster']], declared: false };
  const lineOf = (i: number) => text.slice(0, i).split('\n').length;
  for (const m of text.matchAll(COMMENT)) {
    const line = lineOf(m.index);
    const value = m[2]!.replace(/\s+/g, ' ');
    if (m[1] === 'unchecked') {
      if (!value) throw new NeedsSyntaxError('"proxylab unchecked:" without a reason', line);
      out.unchecked = value;
      continue;
    }
    if (out.declared) throw new NeedsSyntaxError('a second "proxylab needs:" line', line);
    out.declared = true;
    out.alternatives = value.split('|').map((alt) => {
      const words = alt
        .split('+')
        .map((w) => w.trim())
        .filter(Boolean);
      if (!words.length) throw new NeedsSyntaxError(`an empty alternative in "${value}"`, line);
      for (const w of words)
        if (!(w in NEEDS))
          throw new NeedsSyntaxError(
            `unknown need "${w}" (known: ${Object.keys(NEEDS).join(', ')})`,
            line,
          );
      return [...new Set(words)] as Need[];
    });
  }
  return out;
}

/** readNeeds, with a syntax error reported as bad input at the doc's line. */
export function labNeeds(text: string, file: string): LabNeeds {
  try {
    return readNeeds(text);
  } catch (e) {
    if (!(e instanceof NeedsSyntaxError)) throw e;
    throw new UsageError(
      `${file}:${e.line}: ${e.message}`,
      `write e.g. <!-- proxylab needs: cluster --> or <!-- proxylab needs: root + ipvs-kernel | microvm -->`,
    );
  }
}

/** Whether one need is met here, and if not, why and what to do. */
export interface Probe {
  ok: boolean;
  why: string;
  fix?: string;
}
export type Probes = Record<Need, () => Promise<Probe>>;

export type Verdict =
  | { ok: true; via: Need[] }
  | { ok: false; message: string; fix: string; unmet: Array<{ need: Need; probe: Probe }> };

/** One line for a set of needs: "root + IPVS in this kernel". */
export function describeNeeds(alternatives: Need[][]): string {
  return alternatives.map((a) => a.map((n) => NEEDS[n]).join(' + ')).join(', or ');
}

/**
 * The first alternative whose needs are all met, or why none is. Each need is probed at
 * most once; a lab that needs the cluster in every alternative, without one, gets the
 * cluster's own message (`no cluster "proxylab" (…): run make up`).
 */
export async function evaluateNeeds(
  needs: LabNeeds,
  probes: Probes,
  what = 'this lab',
): Promise<Verdict> {
  const seen = new Map<Need, Promise<Probe>>();
  const probe = (n: Need) => {
    if (!seen.has(n)) seen.set(n, probes[n]());
    return seen.get(n)!;
  };
  const unmet: Array<{ need: Need; probe: Probe }> = [];
  for (const alt of needs.alternatives) {
    const results = await Promise.all(alt.map(async (n) => ({ need: n, probe: await probe(n) })));
    const missing = results.filter((r) => !r.probe.ok);
    if (!missing.length) return { ok: true, via: alt };
    for (const m of missing) if (!unmet.some((u) => u.need === m.need)) unmet.push(m);
  }
  // without the cluster nothing else matters: its message alone, the first thing to fix
  const cluster = needs.alternatives.every((a) => a.includes('cluster'))
    ? unmet.find((u) => u.need === 'cluster')
    : undefined;
  const only = needs.alternatives.length === 1 && needs.alternatives[0]!.length === 1;
  const message = cluster
    ? cluster.probe.why
    : only
      ? unmet[0]!.probe.why
      : `${what} needs ${describeNeeds(needs.alternatives)}: ${unmet.map((u) => u.probe.why).join('; ')}`;
  const fix = unmet
    .map((u) => u.probe.fix)
    .filter(Boolean)
    .join('; or ');
  return { ok: false, message, fix, unmet };
}

export interface HostProbeOptions {
  cluster: string;
  kubeconfig: string;
  env: NodeJS.ProcessEnv;
  /** Count a password-less `sudo` as root (make smoke runs such labs with sudo). */
  sudo?: boolean;
}

async function succeeds(argv: string[], env: NodeJS.ProcessEnv): Promise<boolean> {
  const r = await run(argv, { reject: false, timeoutMs: 15_000, env }).catch(() => undefined);
  return r?.exitCode === 0;
}

/** The probes of this machine (the real kernel: the bare lab's native backend uses it). */
export function hostProbes(o: HostProbeOptions): Probes {
  const isRoot = process.getuid?.() === 0;
  let sudoWorks: Promise<boolean> | undefined;
  const canSudo = () =>
    (sudoWorks ??=
      o.sudo && which('sudo', o.env)
        ? succeeds(['sudo', '-n', 'true'], o.env)
        : Promise.resolve(false));
  return {
    cluster: async () =>
      existsSync(o.kubeconfig)
        ? { ok: true, why: `kubeconfig ${o.kubeconfig}` }
        : {
            ok: false,
            why: `no cluster "${o.cluster}" (no kubeconfig at ${o.kubeconfig}): run make up`,
            fix: 'or pass --cluster NAME (or --kubeconfig FILE) for another cluster',
          },
    root: async () => {
      if (isRoot) return { ok: true, why: 'running as root' };
      if (await canSudo()) return { ok: true, why: 'sudo works without a password' };
      return {
        ok: false,
        why: 'not root',
        fix: o.sudo ? 'run it as root, or give this user a password-less sudo' : 'run it as root',
      };
    },
    'ipvs-modules': async () => {
      const r = ipvsSupport(o.env);
      if (r.ok) return { ok: true, why: 'the IPVS modules are built in, loaded or loadable' };
      const missing = r.modules.filter((m) => m.state === 'missing').map((m) => m.module);
      return {
        ok: false,
        why: `this host cannot give the cluster's nodes IPVS (${missing.join(', ')} not built in, loaded or loadable)`,
        fix: 'install the kernel modules (Ubuntu: linux-modules-extra-$(uname -r)); `proxylab doctor` says more',
      };
    },
    'ipvs-kernel': async () => {
      const ok = () => existsSync('/proc/net/ip_vs');
      if (!ok() && (isRoot || (await canSudo())))
        await succeeds([...(isRoot ? [] : ['sudo', '-n']), 'modprobe', 'ip_vs'], o.env);
      return ok()
        ? { ok: true, why: 'this kernel has IPVS (/proc/net/ip_vs)' }
        : {
            ok: false,
            why: 'this kernel has no IPVS (no /proc/net/ip_vs, and `modprobe ip_vs` did not load it)',
            fix: 'load it with `sudo modprobe ip_vs` (Ubuntu: install linux-modules-extra-$(uname -r) first)',
          };
    },
    microvm: async () => {
      if (!which('qemu-system-x86_64', o.env))
        return {
          ok: false,
          why: 'qemu-system-x86_64 is not installed',
          fix: 'sudo apt-get install qemu-system-x86',
        };
      if (!(await succeeds(['apt-cache', 'show', 'linux-image-amd64'], o.env)))
        return {
          ok: false,
          why: "apt has no Debian linux-image-amd64 (the micro-VM boots Debian's kernel)",
          fix: 'run it on Debian, or where the kernel has IPVS (native backend)',
        };
      return { ok: true, why: 'QEMU and Debian packages are there' };
    },
  };
}
