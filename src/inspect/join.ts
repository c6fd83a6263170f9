/**
 * Join the cluster's Services and ready endpoints (kubectl JSON) with each node's datapath:
 * ClusterIP on kube-ipvs0, IPVS virtual server + real servers, KUBE-CLUSTER-IP member
 * (ipvs mode), KUBE-SVC/KUBE-SEP chains (iptables mode).
 */
import { parse as parseYaml } from 'yaml';
import type { NodeSnapshot } from './snapshot.js';
import type { ProxyMode } from './kubeproxylog.js';

// ----- The bits of Kubernetes JSON we read -----------------------------------------------

export interface K8sList<T> {
  kind?: string;
  items?: T[];
}
export interface K8sService {
  metadata: { name: string; namespace?: string };
  spec?: {
    type?: string;
    clusterIP?: string;
    ports?: {
      name?: string;
      protocol?: string;
      port: number;
      targetPort?: number | string;
      nodePort?: number;
    }[];
    sessionAffinity?: string;
  };
}
export interface K8sEndpointSlice {
  metadata: { name?: string; namespace?: string; labels?: Record<string, string> };
  addressType?: string;
  endpoints?:
    | {
        addresses?: string[];
        conditions?: { ready?: boolean | null };
        nodeName?: string;
        targetRef?: { name?: string };
      }[]
    | null;
  ports?: { name?: string | null; port?: number | null; protocol?: string }[] | null;
}
export interface K8sEndpoints {
  metadata: { name: string; namespace?: string };
  subsets?: {
    addresses?: { ip: string; targetRef?: { name?: string } }[];
    ports?: { name?: string; port: number; protocol?: string }[];
  }[];
}
export interface K8sConfigMap {
  data?: Record<string, string>;
}

// ----- Joined model -----------------------------------------------------------------------

export interface ServicePort {
  /** `namespace/name` */
  service: string;
  portName: string | null;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  clusterIP: string;
  port: number;
  type: string;
  /** Ready endpoints `ip:port`, sorted. */
  ready: string[];
  /** Pod name per endpoint address (ready or not), when the slice names it. */
  pods: Record<string, string>;
}

export interface NodeServiceView {
  /** ClusterIP on kube-ipvs0: null when kube-ipvs0 could not be read. */
  vipOnKubeIpvs0: boolean | null;
  /** The IPVS virtual server; null when ipvsadm could not be read, false when absent. */
  ipvs:
    | {
        scheduler: string | null;
        persistent: number | null;
        realServers: string[];
        weights: Record<string, number | null>;
      }
    | null
    | false;
  /** `ip,proto:port` in ipset KUBE-CLUSTER-IP; null when ipset could not be read. */
  inClusterIpSet: boolean | null;
  /** KUBE-SVC chain and its endpoints; null when iptables-save could not be read, false when absent. */
  iptables: { chain: string; endpoints: string[] } | null | false;
  /** nftables service chain (from map service-ips) and its endpoints; null when nft could not be read, false when absent. */
  nft: { chain: string; endpoints: string[] } | null | false;
}

export interface NodeView {
  node: string;
  mode: ProxyMode | null;
  /** Where `mode` came from: kube-proxy's /proxyMode answer, or null when unknown. */
  modeSource: 'proxyMode' | null;
  services: Record<string, NodeServiceView>;
  /** KUBE-SVC-/KUBE-SEP- chains in the nat table. */
  serviceChains: number;
  endpointChains: number;
  ipvsServices: number;
  /** Entries in kube-proxy's nftables map service-ips; null when nft could not be read. */
  nftServices: number | null;
  /** Addresses on kube-ipvs0; null when the node has none or it could not be read. */
  kubeIpvs0Addresses: number | null;
  unavailable: NodeSnapshot['unavailable'];
}

export interface KubeProxyConfig {
  /** As written in config.conf ("" when unset). */
  mode: string;
  /** The mode kube-proxy uses for it ("" → iptables on Linux). */
  effectiveMode: string;
  /** ipvs.scheduler as written ("" when unset). */
  scheduler: string;
  /** The scheduler kube-proxy uses ("" → rr). */
  effectiveScheduler: string;
}

export interface Snapshot {
  cluster: string;
  config: KubeProxyConfig | null;
  servicePorts: ServicePort[];
  nodes: NodeView[];
}

export function servicePortKey(p: Pick<ServicePort, 'protocol' | 'clusterIP' | 'port'>): string {
  return `${p.protocol} ${p.clusterIP}:${p.port}`;
}

export function readKubeProxyConfig(cm: K8sConfigMap | null | undefined): KubeProxyConfig | null {
  const text = cm?.data?.['config.conf'];
  if (typeof text !== 'string') return null;
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch {
    return null;
  }
  const d = (doc ?? {}) as { mode?: unknown; ipvs?: { scheduler?: unknown } };
  const mode = typeof d.mode === 'string' ? d.mode : '';
  const scheduler = typeof d.ipvs?.scheduler === 'string' ? d.ipvs.scheduler : '';
  return {
    mode,
    effectiveMode: mode || 'iptables',
    scheduler,
    effectiveScheduler: scheduler || 'rr',
  };
}

function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Service ports with a ClusterIP, each with its ready endpoints. */
export function servicePorts(
  services: K8sList<K8sService>,
  endpoints: K8sList<K8sEndpointSlice> | K8sList<K8sEndpoints>,
): ServicePort[] {
  const out: ServicePort[] = [];
  const slices = (endpoints.items ?? []) as (K8sEndpointSlice & K8sEndpoints)[];
  const isSlices =
    endpoints.kind === 'EndpointSliceList' ||
    slices.some((s) => 'addressType' in s || 'endpoints' in s);
  // The slices (or Endpoints) of each Service, in their order: looked up, not scanned, per
  // port (5,000 Services scanned 5,000 slices each: 25 million steps).
  const byService = new Map<string, (K8sEndpointSlice & K8sEndpoints)[]>();
  for (const s of slices) {
    const name = isSlices ? s.metadata.labels?.['kubernetes.io/service-name'] : s.metadata.name;
    if (typeof name !== 'string') continue; // a slice of no Service
    const k = `${s.metadata.namespace ?? 'default'}/${name}`;
    const list = byService.get(k);
    if (list) list.push(s);
    else byService.set(k, [s]);
  }
  for (const svc of services.items ?? []) {
    const ns = svc.metadata.namespace ?? 'default';
    const ip = svc.spec?.clusterIP;
    if (!ip || ip === 'None') continue;
    for (const p of svc.spec?.ports ?? []) {
      const protocol = (p.protocol ?? 'TCP').toUpperCase() as ServicePort['protocol'];
      const ready = new Set<string>();
      const pods: Record<string, string> = {};
      for (const s of byService.get(`${ns}/${svc.metadata.name}`) ?? []) {
        if (isSlices) {
          const sp = (s.ports ?? []).find(
            (x) =>
              (x.name ?? '') === (p.name ?? '') && (x.protocol ?? 'TCP').toUpperCase() === protocol,
          );
          if (!sp || typeof sp.port !== 'number') continue;
          for (const e of s.endpoints ?? []) {
            for (const a of e.addresses ?? []) {
              if (e.targetRef?.name) pods[a] = e.targetRef.name;
              if (e.conditions?.ready !== false) ready.add(hostPort(a, sp.port));
            }
          }
        } else {
          for (const sub of s.subsets ?? []) {
            const sp = (sub.ports ?? []).find(
              (x) =>
                (x.name ?? '') === (p.name ?? '') &&
                (x.protocol ?? 'TCP').toUpperCase() === protocol,
            );
            if (!sp) continue;
            for (const a of sub.addresses ?? []) {
              ready.add(hostPort(a.ip, sp.port));
              if (a.targetRef?.name) pods[a.ip] = a.targetRef.name;
            }
          }
        }
      }
      out.push({
        service: `${ns}/${svc.metadata.name}`,
        portName: p.name ? p.name : null,
        protocol,
        clusterIP: ip,
        port: p.port,
        type: svc.spec?.type ?? 'ClusterIP',
        ready: [...ready].sort(),
        pods,
      });
    }
  }
  return out;
}

/** One node's view of every service port. */
export function joinNode(snap: NodeSnapshot, ports: ServicePort[]): NodeView {
  const services: Record<string, NodeServiceView> = {};
  const ipvsIndex = new Map<string, NonNullable<NodeSnapshot['ipvs']>['services'][number]>();
  for (const s of snap.ipvs?.services ?? [])
    if (s.address !== null) ipvsIndex.set(`${s.protocol} ${s.address}:${s.port}`, s);
  const clusterSet = snap.ipsets
    ? new Set(snap.ipsets.sets.find((s) => s.name === 'KUBE-CLUSTER-IP')?.members ?? [])
    : null;
  const vips = snap.kubeIpvs0 ? new Set(snap.kubeIpvs0.addressDetails.map((a) => a.address)) : null;
  const svcChains = new Map<string, { chain: string; endpoints: string[] }>();
  for (const s of snap.kubeProxy?.services ?? []) {
    if (!s.clusterIP || s.port === null || !s.chain || !s.protocol) continue;
    svcChains.set(`${s.protocol.toUpperCase()} ${s.clusterIP}:${s.port}`, {
      chain: s.chain,
      endpoints: s.endpoints
        .filter((e) => e.address !== null && e.port !== null)
        .map((e) => hostPort(e.address!, e.port!))
        .sort(),
    });
  }
  const nftChains = new Map<string, { chain: string; endpoints: string[] }>();
  for (const s of snap.nft?.services ?? [])
    nftChains.set(`${s.protocol} ${s.clusterIP}:${s.port}`, {
      chain: s.chain,
      endpoints: s.endpoints.map((e) => hostPort(e.address, e.port)).sort(),
    });
  for (const p of ports) {
    const key = servicePortKey(p);
    const vs = ipvsIndex.get(key);
    services[key] = {
      // Without a kube-ipvs0 interface the VIP is certainly not on it; unknown only when `ip` failed.
      vipOnKubeIpvs0: vips
        ? vips.has(p.clusterIP)
        : snap.unavailable['kube-ipvs0'] === 'the node has no kube-ipvs0 interface'
          ? false
          : null,
      ipvs: snap.ipvs
        ? vs
          ? {
              scheduler: vs.scheduler,
              persistent: vs.persistent,
              realServers: vs.realServers.map((r) => hostPort(r.address, r.port ?? 0)).sort(),
              weights: Object.fromEntries(
                vs.realServers.map((r) => [hostPort(r.address, r.port ?? 0), r.weight]),
              ),
            }
          : false
        : null,
      inClusterIpSet: clusterSet
        ? clusterSet.has(`${p.clusterIP},${p.protocol.toLowerCase()}:${p.port}`)
        : null,
      iptables: snap.kubeProxy ? (svcChains.get(key) ?? false) : null,
      nft: snap.nft ? (nftChains.get(key) ?? false) : null,
    };
  }
  return {
    node: snap.node,
    mode: snap.proxyMode,
    modeSource: snap.proxyMode ? 'proxyMode' : null,
    services,
    serviceChains:
      snap.kubeProxy?.serviceChains.filter((c) => /^KUBE-(?:SVC|SVL)-/.test(c)).length ?? 0,
    endpointChains: snap.kubeProxy?.endpointChains.length ?? 0,
    ipvsServices: snap.ipvs?.services.length ?? 0,
    nftServices: snap.nft ? snap.nft.services.length : null,
    kubeIpvs0Addresses: snap.kubeIpvs0 ? snap.kubeIpvs0.addresses.length : null,
    unavailable: snap.unavailable,
  };
}

export function joinSnapshot(
  cluster: string,
  nodes: NodeSnapshot[],
  services: K8sList<K8sService>,
  endpoints: K8sList<K8sEndpointSlice> | K8sList<K8sEndpoints>,
  configMap: K8sConfigMap | null,
): Snapshot {
  const ports = servicePorts(services, endpoints);
  return {
    cluster,
    config: readKubeProxyConfig(configMap),
    servicePorts: ports,
    nodes: nodes.map((n) => joinNode(n, ports)),
  };
}
