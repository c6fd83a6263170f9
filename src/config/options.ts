/**
 * What the user asks for (Kubernetes minor, proxy mode, IPVS scheduler, node count), turned
 * into typed options: defaults first, then every check, then one error listing all problems.
 */
import { SCHEDULERS, SCHEDULER_NAMES, type Scheduler } from '../steps/schedulers.js';
import { CONFIG_MINORS, parseMinor, byMinor, type VersionsTable } from './versions.js';
import { throwIfProblems, type Problem } from './problems.js';

export const MODES = ['iptables', 'ipvs', 'nftables'] as const;
export type ProxyMode = (typeof MODES)[number];

/** nftables mode: alpha 1.29, beta 1.31 (kind supports it from 1.31), GA 1.33. */
export const NFTABLES_MIN_MINOR = 31;
/** IPVS mode deprecated (KEP-5495): kube-proxy logs an error line and emits an Event. */
export const IPVS_DEPRECATED_MINOR = 35;

export interface LabOptions {
  minor: number;
  mode: ProxyMode;
  /** Only with mode ipvs; undefined = kube-proxy's default (rr). */
  scheduler?: Scheduler;
  /** Total nodes: 1 control plane + (nodes - 1) workers. */
  nodes: number;
  podSubnet: string;
  serviceSubnet: string;
}

export interface RawOptions {
  k8s?: string;
  mode?: string;
  scheduler?: string;
  nodes?: string;
}

export const DEFAULTS = {
  mode: 'iptables' as ProxyMode,
  nodes: 3,
  podSubnet: '10.244.0.0/16',
  serviceSubnet: '10.96.0.0/12',
};

export function isMode(s: string): s is ProxyMode {
  return (MODES as readonly string[]).includes(s);
}

export interface ResolveContext {
  table: VersionsTable;
  /** `up` needs a pinned node image; `config` renders for any minor in CONFIG_MINORS. */
  requireImage: boolean;
  /** Mode when --mode is absent (default iptables). */
  defaultMode?: ProxyMode;
}

/** The patch number a version names (1.33.7 → 7), if it names one. */
function patchOf(v: string): number | undefined {
  const m = /^v?1\.\d+\.(\d+)$/.exec(v.trim());
  return m ? Number(m[1]) : undefined;
}

/** The patch of the node image pinned for a minor (kindest/node:v1.33.7@… → 7). */
function pinnedPatch(table: VersionsTable, minor: number): number | undefined {
  const m = /:v1\.\d+\.(\d+)/.exec(table.images[`1.${minor}`] ?? '');
  return m ? Number(m[1]) : undefined;
}

/** Returns the options and warnings; throws ConfigError (exit 2) listing every problem. */
export function resolveOptions(
  raw: RawOptions,
  rc: ResolveContext,
): { options: LabOptions; warnings: string[] } {
  const problems: Problem[] = [];
  const warnings: string[] = [];
  const pinned = Object.keys(rc.table.images).sort(byMinor);
  let minor = parseMinor(rc.table.default)!;
  if (raw.k8s !== undefined) {
    const m = parseMinor(raw.k8s);
    if (m === undefined)
      problems.push({
        at: '--k8s',
        message: `"${raw.k8s}" is not a Kubernetes version; use a minor like 1.33`,
      });
    else if (rc.requireImage && !pinned.includes(`1.${m}`))
      problems.push({
        at: '--k8s',
        message: `no kind node image is pinned for 1.${m}; pinned: ${pinned.join(', ')}`,
      });
    else if (patchOf(raw.k8s) !== undefined && patchOf(raw.k8s) !== pinnedPatch(rc.table, m))
      // one node image per minor is pinned: a different patch would be silently ignored
      problems.push({
        at: '--k8s',
        message: `${raw.k8s.trim()}: proxylab runs one pinned patch per minor, and for 1.${m} it is ${pinnedPatch(rc.table, m) !== undefined ? `1.${m}.${pinnedPatch(rc.table, m)}` : 'whatever image is pinned'}; ask for --k8s 1.${m}`,
      });
    else if (m < CONFIG_MINORS.min || m > CONFIG_MINORS.max)
      problems.push({
        at: '--k8s',
        message: `1.${m} is outside what proxylab renders (1.${CONFIG_MINORS.min} to 1.${CONFIG_MINORS.max})`,
      });
    else minor = m;
  }
  let mode: ProxyMode = rc.defaultMode ?? DEFAULTS.mode;
  if (raw.mode !== undefined) {
    if (isMode(raw.mode)) mode = raw.mode;
    else
      problems.push({
        at: '--mode',
        message: `"${raw.mode}" is not a kube-proxy mode; valid: ${MODES.join(', ')}`,
      });
  }
  if (
    mode === 'nftables' &&
    minor < NFTABLES_MIN_MINOR &&
    raw.mode === 'nftables' &&
    !problems.some((p) => p.at === '--k8s')
  )
    problems.push({
      at: '--mode',
      message: `nftables mode needs Kubernetes 1.${NFTABLES_MIN_MINOR} or newer (asked for 1.${minor}); use --mode iptables or ipvs, or --k8s 1.${NFTABLES_MIN_MINOR}+`,
    });
  if (mode === 'ipvs' && minor >= IPVS_DEPRECATED_MINOR)
    warnings.push(
      `IPVS mode is deprecated since Kubernetes 1.35 (KEP-5495): kube-proxy 1.${minor} logs an error about it; nftables mode is GA since 1.33`,
    );
  let scheduler: Scheduler | undefined;
  if (raw.scheduler !== undefined) {
    const s = raw.scheduler.trim();
    if (!(s in SCHEDULERS))
      problems.push({
        at: '--scheduler',
        message: `"${raw.scheduler}" is not an IPVS scheduler; valid: ${SCHEDULER_NAMES.join(' ')}`,
      });
    else if (mode !== 'ipvs')
      problems.push({
        at: '--scheduler',
        message: `a scheduler applies only to --mode ipvs (mode is ${mode})`,
      });
    else scheduler = s as Scheduler;
  }
  let nodes = DEFAULTS.nodes;
  if (raw.nodes !== undefined) {
    const n = Number(raw.nodes);
    if (!/^\d+$/.test(raw.nodes) || n < 1 || n > 10)
      problems.push({
        at: '--nodes',
        message: `"${raw.nodes}" must be a whole number from 1 to 10 (1 control plane + workers)`,
      });
    else nodes = n;
  }
  throwIfProblems(
    'invalid options',
    problems,
    'see `proxylab config --help` for the accepted values',
  );
  return {
    options: {
      minor,
      mode,
      ...(scheduler ? { scheduler } : {}),
      nodes,
      podSubnet: DEFAULTS.podSubnet,
      serviceSubnet: DEFAULTS.serviceSubnet,
    },
    warnings,
  };
}
