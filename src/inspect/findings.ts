/**
 * What is wrong (or worth knowing) in a joined snapshot, each finding with its evidence:
 * the lines a person would look at to see it for themselves.
 */
import { servicePortKey, type Snapshot } from './join.js';

export type FindingId =
  | 'no-virtual-server'
  | 'real-servers-mismatch'
  | 'vip-not-on-kube-ipvs0'
  | 'not-in-cluster-ip-set'
  | 'no-service-chain'
  | 'stale-iptables-chains'
  | 'scheduler-mismatch'
  | 'mode-mismatch'
  | 'mode-differs-from-config'
  | 'datapath-unreadable';

export interface Finding {
  id: FindingId;
  severity: 'error' | 'warning' | 'info';
  /** Node the finding is about; null for cluster-wide findings. */
  node: string | null;
  /** `namespace/name[:port]` the finding is about, or null. */
  service: string | null;
  message: string;
  evidence: string[];
}

function diff(want: string[], have: string[]): { missing: string[]; extra: string[] } {
  const h = new Set(have);
  const w = new Set(want);
  return { missing: want.filter((x) => !h.has(x)), extra: have.filter((x) => !w.has(x)) };
}

/**
 * The datapath's endpoints for one Service port against its ready endpoints: a
 * real-servers-mismatch finding when they differ, else null. `have` names where the
 * datapath's list was read (e.g. "ipvsadm real servers").
 */
function endpointsFinding(
  node: string,
  service: string,
  message: string,
  ready: string[],
  have: { what: string; endpoints: string[]; missing: string; extra: string },
): Finding | null {
  const d = diff(ready, have.endpoints);
  if (!d.missing.length && !d.extra.length) return null;
  return {
    id: 'real-servers-mismatch',
    severity: 'error',
    node,
    service,
    message,
    evidence: [
      `ready endpoints: ${ready.join(', ') || '(none)'}`,
      `${have.what}: ${have.endpoints.join(', ') || '(none)'}`,
      ...(d.missing.length ? [`${have.missing}: ${d.missing.join(', ')}`] : []),
      ...(d.extra.length ? [`${have.extra}: ${d.extra.join(', ')}`] : []),
    ],
  };
}

export function findings(s: Snapshot): Finding[] {
  const out: Finding[] = [];
  const cfg = s.config;

  // Mode across nodes, and against the ConfigMap.
  const modes = new Map<string, string[]>();
  for (const n of s.nodes) if (n.mode) modes.set(n.mode, [...(modes.get(n.mode) ?? []), n.node]);
  if (modes.size > 1) {
    out.push({
      id: 'mode-mismatch',
      severity: 'error',
      node: null,
      service: null,
      message: `kube-proxy runs in different modes on different nodes (${[...modes.keys()].join(' vs ')})`,
      evidence: [...modes].map(([m, ns]) => `${ns.join(', ')}: /proxyMode answers "${m}"`),
    });
  }
  for (const n of s.nodes) {
    if (cfg && n.mode && n.mode !== cfg.effectiveMode) {
      out.push({
        id: 'mode-differs-from-config',
        severity: 'warning',
        node: n.node,
        service: null,
        message: `kube-proxy on ${n.node} runs in ${n.mode} mode but its ConfigMap says ${cfg.effectiveMode} (restart it on this cluster: proxylab --cluster ${s.cluster} mode ${cfg.effectiveMode})`,
        evidence: [
          `/proxyMode on ${n.node}: ${n.mode}`,
          `ConfigMap kube-proxy config.conf: mode: "${cfg.mode}"`,
        ],
      });
    }
    for (const [section, why] of Object.entries(n.unavailable)) {
      // An absent kube-ipvs0 in iptables/nftables mode is normal; ipvsadm/ipset matter in ipvs mode only.
      if (section === 'kube-ipvs0' && n.mode !== 'ipvs') continue;
      if ((section === 'ipvsadm' || section === 'ipset') && n.mode !== 'ipvs') continue;
      if (section === 'nft' && n.mode !== 'nftables') continue;
      out.push({
        id: 'datapath-unreadable',
        severity:
          (n.mode === 'ipvs' || n.mode === 'nftables') && section !== 'proxy-mode'
            ? 'warning'
            : 'info',
        node: n.node,
        service: null,
        message: `${section} on ${n.node}: ${why}`,
        evidence: [why],
      });
    }
    if (
      (n.mode === 'ipvs' || n.mode === 'nftables') &&
      (n.serviceChains > 0 || n.endpointChains > 0)
    ) {
      out.push({
        id: 'stale-iptables-chains',
        severity: 'warning',
        node: n.node,
        service: null,
        message: `${n.node} runs in ${n.mode} mode but still has ${n.serviceChains} KUBE-SVC and ${n.endpointChains} KUBE-SEP chains from iptables mode (run \`proxylab flush-nat\`)`,
        evidence: [
          `iptables-save -t nat on ${n.node}: ${n.serviceChains} KUBE-SVC-*/KUBE-SVL-* chains, ${n.endpointChains} KUBE-SEP-* chains`,
        ],
      });
    }
  }

  for (const p of s.servicePorts) {
    const key = servicePortKey(p);
    const label = `${p.service}${p.portName ? `:${p.portName}` : ''}`;
    const what = `${p.protocol} ${p.clusterIP}:${p.port}`;
    for (const n of s.nodes) {
      const v = n.services[key];
      if (!v) continue;
      if (n.mode === 'ipvs') {
        if (v.ipvs === false) {
          out.push({
            id: 'no-virtual-server',
            severity: 'error',
            node: n.node,
            service: label,
            message: `${label} (${what}) has no IPVS virtual server on ${n.node}`,
            evidence: [
              `ipvsadm -Ln on ${n.node} lists no "${p.protocol}  ${p.clusterIP}:${p.port}"`,
              `Service ${p.service} has ClusterIP ${p.clusterIP} port ${p.port}/${p.protocol}`,
            ],
          });
        } else if (v.ipvs) {
          const f = endpointsFinding(
            n.node,
            label,
            `${label} on ${n.node}: IPVS real servers differ from the ready endpoints`,
            p.ready,
            {
              what: 'ipvsadm real servers',
              endpoints: v.ipvs.realServers,
              missing: 'missing from IPVS',
              extra: 'in IPVS but not ready',
            },
          );
          if (f) out.push(f);
          if (cfg && v.ipvs.scheduler && v.ipvs.scheduler !== cfg.effectiveScheduler) {
            out.push({
              id: 'scheduler-mismatch',
              severity: 'warning',
              node: n.node,
              service: label,
              message: `${label} on ${n.node} uses scheduler ${v.ipvs.scheduler}, the ConfigMap says ${cfg.effectiveScheduler}`,
              evidence: [
                `ipvsadm -Ln on ${n.node}: ${what} ${v.ipvs.scheduler}`,
                `ConfigMap kube-proxy config.conf: ipvs.scheduler: "${cfg.scheduler}"`,
              ],
            });
          }
        }
        if (v.vipOnKubeIpvs0 === false) {
          out.push({
            id: 'vip-not-on-kube-ipvs0',
            severity: 'error',
            node: n.node,
            service: label,
            message: `ClusterIP ${p.clusterIP} of ${label} is not bound to kube-ipvs0 on ${n.node}`,
            evidence: [`ip addr show kube-ipvs0 on ${n.node} has no ${p.clusterIP}/32`],
          });
        }
        if (v.inClusterIpSet === false) {
          out.push({
            id: 'not-in-cluster-ip-set',
            severity: 'warning',
            node: n.node,
            service: label,
            message: `${label} is missing from ipset KUBE-CLUSTER-IP on ${n.node}`,
            evidence: [
              `ipset list KUBE-CLUSTER-IP on ${n.node} has no member ${p.clusterIP},${p.protocol.toLowerCase()}:${p.port}`,
            ],
          });
        }
      } else if (n.mode === 'nftables') {
        if (v.nft === false && p.ready.length > 0) {
          out.push({
            id: 'no-service-chain',
            severity: 'error',
            node: n.node,
            service: label,
            message: `${label} (${what}) is not in kube-proxy's nftables map service-ips on ${n.node}`,
            evidence: [
              `nft list table ip kube-proxy on ${n.node}: map service-ips has no element ${p.clusterIP} . ${p.protocol.toLowerCase()} . ${p.port}`,
            ],
          });
        } else if (v.nft) {
          const f = endpointsFinding(
            n.node,
            label,
            `${label} on ${n.node}: the endpoints of nftables chain ${v.nft.chain} differ from the ready endpoints`,
            p.ready,
            {
              what: `${v.nft.chain} → dnat`,
              endpoints: v.nft.endpoints,
              missing: 'missing',
              extra: 'not ready',
            },
          );
          if (f) out.push(f);
        }
      } else if (n.mode === 'iptables') {
        if (v.iptables === false && p.ready.length > 0) {
          out.push({
            id: 'no-service-chain',
            severity: 'error',
            node: n.node,
            service: label,
            message: `${label} (${what}) has no KUBE-SVC chain on ${n.node}`,
            evidence: [
              `iptables-save on ${n.node}: no KUBE-SERVICES rule for ${p.clusterIP}/32 port ${p.port} jumping to a KUBE-SVC chain`,
            ],
          });
        } else if (v.iptables) {
          const f = endpointsFinding(
            n.node,
            label,
            `${label} on ${n.node}: ${v.iptables.chain} endpoints differ from the ready endpoints`,
            p.ready,
            {
              what: `${v.iptables.chain} → KUBE-SEP DNAT`,
              endpoints: v.iptables.endpoints,
              missing: 'missing',
              extra: 'not ready',
            },
          );
          if (f) out.push(f);
        }
      }
    }
  }
  return out;
}
