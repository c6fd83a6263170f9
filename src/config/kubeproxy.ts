/**
 * KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1): the keys kube-proxy accepts
 * (as in kubeadm's ConfigMap, see fixture kubectl/27-v1.34-...), strict validation, and the
 * document proxylab generates.
 */
import { SCHEDULER_NAMES } from '../steps/schedulers.js';
import { DURATION, isPlain, unknownKeys, type Plain, type Problem } from './problems.js';
import { NFTABLES_MIN_MINOR, type LabOptions } from './options.js';

export const KUBEPROXY_API = 'kubeproxy.config.k8s.io/v1alpha1';

export const KUBEPROXY_KEYS = [
  'apiVersion',
  'kind',
  'bindAddress',
  'bindAddressHardFail',
  'clientConnection',
  'clusterCIDR',
  'configSyncPeriod',
  'conntrack',
  'detectLocal',
  'detectLocalMode',
  'enableProfiling',
  'featureGates',
  'healthzBindAddress',
  'hostnameOverride',
  'iptables',
  'ipvs',
  'logging',
  'metricsBindAddress',
  'mode',
  'nftables',
  'nodePortAddresses',
  'oomScoreAdj',
  'portRange',
  'showHiddenMetricsForVersion',
  'winkernel',
  'windowsRunAsService',
] as const;
export const IPVS_KEYS = [
  'excludeCIDRs',
  'minSyncPeriod',
  'scheduler',
  'strictARP',
  'syncPeriod',
  'tcpFinTimeout',
  'tcpTimeout',
  'udpTimeout',
] as const;
export const IPTABLES_KEYS = [
  'localhostNodePorts',
  'masqueradeAll',
  'masqueradeBit',
  'minSyncPeriod',
  'syncPeriod',
] as const;
export const NFTABLES_KEYS = [
  'masqueradeAll',
  'masqueradeBit',
  'minSyncPeriod',
  'syncPeriod',
] as const;
export const CONNTRACK_KEYS = [
  'maxPerCore',
  'min',
  'tcpBeLiberal',
  'tcpCloseWaitTimeout',
  'tcpEstablishedTimeout',
  'udpStreamTimeout',
  'udpTimeout',
] as const;
const DURATIONS: Record<string, readonly string[]> = {
  ipvs: ['minSyncPeriod', 'syncPeriod', 'tcpFinTimeout', 'tcpTimeout', 'udpTimeout'],
  iptables: ['minSyncPeriod', 'syncPeriod'],
  nftables: ['minSyncPeriod', 'syncPeriod'],
  conntrack: ['tcpCloseWaitTimeout', 'tcpEstablishedTimeout', 'udpStreamTimeout', 'udpTimeout'],
};

/**
 * Check a KubeProxyConfiguration document (or a kind kubeadmConfigPatches fragment of one).
 * `minor` enables version checks (nftables before 1.31).
 */
export function checkKubeProxy(
  doc: Plain,
  at: string,
  minor: number | undefined,
  problems: Problem[],
): void {
  unknownKeys(doc, KUBEPROXY_KEYS, at, problems);
  const mode = doc.mode;
  if (mode !== undefined && mode !== null) {
    if (typeof mode !== 'string' || !['', 'iptables', 'ipvs', 'nftables'].includes(mode))
      problems.push({
        at: `${at}.mode`,
        message: `"${String(mode)}" is not a proxy mode; valid: iptables, ipvs, nftables (or "" for the default, iptables)`,
      });
    else if (mode === 'nftables' && minor !== undefined && minor < NFTABLES_MIN_MINOR)
      problems.push({
        at: `${at}.mode`,
        message: `nftables mode needs Kubernetes 1.${NFTABLES_MIN_MINOR} or newer (checking for 1.${minor})`,
      });
  }
  const sections: Array<[string, readonly string[]]> = [
    ['ipvs', IPVS_KEYS],
    ['iptables', IPTABLES_KEYS],
    ['nftables', NFTABLES_KEYS],
    ['conntrack', CONNTRACK_KEYS],
  ];
  for (const [name, keys] of sections) {
    const v = doc[name];
    if (v === undefined || v === null) continue;
    if (!isPlain(v)) {
      problems.push({ at: `${at}.${name}`, message: 'must be a map' });
      continue;
    }
    unknownKeys(v, keys, `${at}.${name}`, problems);
    for (const d of DURATIONS[name] ?? []) {
      const x = v[d];
      if (x !== undefined && x !== null && (typeof x !== 'string' || !DURATION.test(x)))
        problems.push({
          at: `${at}.${name}.${d}`,
          message: `"${String(x)}" is not a duration like 30s, 1m or 0s`,
        });
    }
  }
  const ipvs = doc.ipvs;
  if (
    isPlain(ipvs) &&
    ipvs.scheduler !== undefined &&
    ipvs.scheduler !== null &&
    ipvs.scheduler !== ''
  ) {
    if (
      typeof ipvs.scheduler !== 'string' ||
      !(SCHEDULER_NAMES as readonly string[]).includes(ipvs.scheduler)
    )
      problems.push({
        at: `${at}.ipvs.scheduler`,
        message: `"${String(ipvs.scheduler)}" is not an IPVS scheduler; valid: ${SCHEDULER_NAMES.join(' ')}`,
      });
  }
  if (isPlain(ipvs) && ipvs.strictARP !== undefined && typeof ipvs.strictARP !== 'boolean')
    problems.push({ at: `${at}.ipvs.strictARP`, message: 'must be true or false' });
}

/** The KubeProxyConfiguration proxylab generates for the options. */
export function kubeProxyDocument(o: LabOptions): Plain {
  const doc: Plain = { apiVersion: KUBEPROXY_API, kind: 'KubeProxyConfiguration', mode: o.mode };
  if (o.mode === 'ipvs') doc.ipvs = { scheduler: o.scheduler ?? 'rr' };
  return doc;
}
