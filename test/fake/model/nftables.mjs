// Model layer, nftables mode: the objects kube-proxy's nftables proxier keeps in
// `table ip kube-proxy` for one node, from the service ports it sees (lib/services.mjs).
// Pure data ({ kind: 'set'|'map'|'chain', name, ... }); render/nft.mjs prints it.
//
// Sources: kubernetes/kubernetes pkg/proxy/nftables/proxier.go (search-index file id 292575:
// setupNFTables with cluster-ips, nodeport-ips, the no-endpoint maps, firewall-ips,
// service-ips/service-nodeports, the base chains and nftablesJumpChains), with the changes of
//  - PR #131492 (merged April 2025, in 1.34): the service chain's masquerade rule matches
//    only destination and source ("ip daddr <ClusterIP> ip saddr != <podCIDR>"), no
//    protocol or port (the service-ips lookup already matched them);
//  - 1.36: no endpoint chains, the service chain DNATs through a numgen map
//    (real capture real-outputs-modern/nft/06, "dnat ip to numgen random mod 3 map {...}");
// and real outputs: nft/02 (v1.32.1: even one endpoint goes through
// "numgen random mod 1 vmap { 0 : goto endpoint-... }"; sets/maps and their comments;
// nodeport-ips filled with the primary node IP) and nft/01 (base chain priorities as nft
// prints them: dstnat - 10, -110, -90, dstnat, -100, srcnat).
// nodePortAddresses defaults to "primary" in nftables mode (cmd/kube-proxy/app/
// server_linux.go platformApplyDefaults), so NodePorts are matched with @nodeport-ips and
// the set holds the node's primary IP.
import { kubeHash } from '../lib/services.mjs';

const hash8 = (s) => kubeHash(8, s);

/** Service ports with kube-proxy's nftables chain base name ns/name/proto/portName. */
function withBase(sps) {
  return sps
    .map((sp) => ({ ...sp, base: `${sp.ns}/${sp.name}/${sp.proto}/${sp.portName}` }))
    .sort((a, b) => (a.base < b.base ? -1 : 1));
}

export const svcChain = (sp) => `service-${hash8(sp.base)}-${sp.base}`;
export const extChain = (sp) => `external-${hash8(sp.base)}-${sp.base}`;
export const epChain = (sp, e) =>
  `endpoint-${hash8(`${sp.base}__${e.ip}/${e.port}`)}-${sp.base}__${e.ip}/${e.port}`;

/**
 * nftablesBaseChains up to 1.33 (search-index file id 292575): name, and nft 1.0.6's
 * printing of its type/hook/priority (real capture nft/01; checked with the real nft here).
 */
const BASE_CHAINS_133 = [
  ['filter-prerouting', 'type filter hook prerouting priority dstnat - 10; policy accept;'],
  ['filter-input', 'type filter hook input priority -110; policy accept;'],
  ['filter-forward', 'type filter hook forward priority -110; policy accept;'],
  ['filter-output', 'type filter hook output priority -110; policy accept;'],
  ['filter-output-post-dnat', 'type filter hook output priority -90; policy accept;'],
  ['nat-prerouting', 'type nat hook prerouting priority dstnat; policy accept;'],
  ['nat-output', 'type nat hook output priority -100; policy accept;'],
  ['nat-postrouting', 'type nat hook postrouting priority srcnat; policy accept;'],
];

/** nftablesJumpChains up to 1.33: [destination, source chain, extra match]. */
const JUMPS_133 = [
  ['nodeport-endpoints-check', 'filter-input', 'ct state new'],
  ['service-endpoints-check', 'filter-input', 'ct state new'],
  ['service-endpoints-check', 'filter-forward', 'ct state new'],
  ['service-endpoints-check', 'filter-output', 'ct state new'],
  ['firewall-check', 'filter-prerouting', 'ct state new'],
  ['firewall-check', 'filter-output', 'ct state new'],
  ['services', 'nat-output', ''],
  ['services', 'nat-prerouting', ''],
  ['masquerading', 'nat-postrouting', ''],
  ['cluster-ips-check', 'filter-forward', 'ct state new'],
  ['cluster-ips-check', 'filter-output-post-dnat', 'ct state new'],
];

/**
 * 1.34–1.35 (kube-proxy's own TestOverallNFTablesRules baseRules in the stored
 * pkg/proxy/nftables/proxier_test.go with the port-less masquerade rule, file id 48108274):
 * the firewall check before DNAT (priority -110), the other filter chains at priority 0
 * ("filter", as nft prints it), NAT at -100/100. Printing checked with the real nft here.
 */
const BASE_CHAINS_134 = [
  [
    'filter-prerouting-pre-dnat',
    'type filter hook prerouting priority dstnat - 10; policy accept;',
  ],
  ['filter-output-pre-dnat', 'type filter hook output priority -110; policy accept;'],
  ['filter-forward', 'type filter hook forward priority filter; policy accept;'],
  ['filter-input', 'type filter hook input priority filter; policy accept;'],
  ['filter-output', 'type filter hook output priority filter; policy accept;'],
  ['nat-output', 'type nat hook output priority -100; policy accept;'],
  ['nat-postrouting', 'type nat hook postrouting priority srcnat; policy accept;'],
  ['nat-prerouting', 'type nat hook prerouting priority dstnat; policy accept;'],
];

/** 1.34–1.35 jumps, per source chain in the order of that baseRules listing. */
const JUMPS_134 = [
  ['firewall-check', 'filter-prerouting-pre-dnat', 'ct state new'],
  ['service-endpoints-check', 'filter-forward', 'ct state new'],
  ['cluster-ips-check', 'filter-forward', 'ct state new'],
  ['nodeport-endpoints-check', 'filter-input', 'ct state new'],
  ['service-endpoints-check', 'filter-input', 'ct state new'],
  ['service-endpoints-check', 'filter-output', 'ct state new'],
  ['firewall-check', 'filter-output-pre-dnat', 'ct state new'],
  ['cluster-ips-check', 'filter-output', 'ct state new'],
  ['services', 'nat-output', ''],
  ['masquerading', 'nat-postrouting', ''],
  ['services', 'nat-prerouting', ''],
];

/**
 * @param {object} a
 * @param {Array} a.sps service ports (lib/services.mjs shape)
 * @param {number} a.minor Kubernetes minor version of kube-proxy
 * @param {string} a.nodeIP the node's primary IP (nodeport-ips)
 * @param {string} a.clusterCIDR detect-local CIDR (kind's podSubnet)
 * @param {string} [a.serviceCIDR] the cluster's ServiceCIDR (drop rule for unallocated IPs)
 * @returns {Array<object>} objects in creation order
 */
export function nftablesProxier({ sps, minor, nodeIP, clusterCIDR, serviceCIDR, family = 'ip' }) {
  const ports = withBase(sps);
  // setupNFTables: "ip"/"ipv4_addr" for IPv4, "ip6"/"ipv6_addr" for IPv6
  const ipX = family;
  const addrT = family === 'ip6' ? 'ipv6_addr' : 'ipv4_addr';
  const sets = [];
  const chains = new Map();
  const chain = (name, extra = {}) => {
    if (!chains.has(name)) chains.set(name, { kind: 'chain', name, rules: [], ...extra });
    return chains.get(name);
  };
  const v134 = minor >= 34;
  for (const [name, head] of v134 ? BASE_CHAINS_134 : BASE_CHAINS_133) chain(name, { head });
  for (const [dst, src, extra] of v134 ? JUMPS_134 : JUMPS_133) {
    chain(dst);
    chain(src).rules.push(`${extra ? `${extra} ` : ''}jump ${dst}`);
  }
  for (const c of ['services', 'cluster-ips-check', 'masquerading', 'mark-for-masquerade'])
    chain(c);
  chain('mark-for-masquerade').rules.push('meta mark set meta mark | 0x00004000');
  chain('masquerading').rules.push(
    'meta mark & 0x00004000 == 0x00000000 return',
    'meta mark set meta mark ^ 0x00004000',
    'masquerade fully-random',
  );
  const clusterIPs = [...new Set(ports.map((sp) => sp.vip))];
  sets.push({
    kind: 'set',
    name: 'cluster-ips',
    type: addrT,
    comment: 'Active ClusterIPs',
    elements: clusterIPs,
  });
  chain('cluster-ips-check').rules.push(
    `${ipX} daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"`,
  );
  // ServiceCIDRs (GA in 1.33): nft prints a one-element anonymous set as the bare prefix
  if (serviceCIDR)
    chain('cluster-ips-check').rules.push(
      `${ipX} daddr ${serviceCIDR} drop comment "Drop traffic to unallocated ClusterIPs"`,
    );
  sets.push({
    kind: 'set',
    name: 'nodeport-ips',
    type: addrT,
    comment: 'IPs that accept NodePort traffic',
    elements: nodeIP ? [nodeIP] : [],
  });
  const noEp = ports.filter((sp) => !sp.eps.length);
  sets.push({
    kind: 'map',
    name: 'no-endpoint-services',
    type: `${addrT} . inet_proto . inet_service : verdict`,
    comment: 'vmap to drop or reject packets to services with no endpoints',
    elements: noEp.map(
      (sp) =>
        `${sp.vip} . ${sp.proto} . ${sp.port} comment "${sp.ns}/${sp.name}${sp.portName ? `:${sp.portName}` : ''}" : goto reject-chain`,
    ),
  });
  sets.push({
    kind: 'map',
    name: 'no-endpoint-nodeports',
    type: 'inet_proto . inet_service : verdict',
    comment: 'vmap to drop or reject packets to service nodeports with no endpoints',
    elements: noEp
      .filter((sp) => sp.nodePort)
      .map(
        (sp) =>
          `${sp.proto} . ${sp.nodePort} comment "${sp.ns}/${sp.name}${sp.portName ? `:${sp.portName}` : ''}" : goto reject-chain`,
      ),
  });
  chain('reject-chain', {
    comment: 'helper for @no-endpoint-services / @no-endpoint-nodeports',
  }).rules.push('reject');
  chain('service-endpoints-check').rules.push(
    `${ipX} daddr . meta l4proto . th dport vmap @no-endpoint-services`,
  );
  chain('nodeport-endpoints-check').rules.push(
    `${ipX} daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports`,
  );
  sets.push({
    kind: 'map',
    name: 'firewall-ips',
    type: `${addrT} . inet_proto . inet_service : verdict`,
    comment: 'destinations that are subject to LoadBalancerSourceRanges',
    elements: [],
  });
  chain('firewall-check').rules.push(`${ipX} daddr . meta l4proto . th dport vmap @firewall-ips`);
  const withEps = ports.filter((sp) => sp.eps.length);
  sets.push({
    kind: 'map',
    name: 'service-ips',
    type: `${addrT} . inet_proto . inet_service : verdict`,
    comment: 'ClusterIP, ExternalIP and LoadBalancer IP traffic',
    elements: withEps.map((sp) => `${sp.vip} . ${sp.proto} . ${sp.port} : goto ${svcChain(sp)}`),
  });
  sets.push({
    kind: 'map',
    name: 'service-nodeports',
    type: 'inet_proto . inet_service : verdict',
    comment: 'NodePort traffic',
    elements: withEps
      .filter((sp) => sp.nodePort)
      .map((sp) => `${sp.proto} . ${sp.nodePort} : goto ${extChain(sp)}`),
  });
  chain('services').rules.push(
    `${ipX} daddr . meta l4proto . th dport vmap @service-ips`,
    `${ipX} daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports`,
  );
  const endpointChains = minor < 36;
  for (const sp of withEps) {
    if (endpointChains)
      for (const e of sp.eps)
        chain(epChain(sp, e)).rules.push(
          `ip saddr ${e.ip} jump mark-for-masquerade`,
          `meta l4proto ${sp.proto} dnat to ${e.ip}:${e.port}`,
        );
    const svc = chain(svcChain(sp));
    svc.rules.push(
      minor >= 34
        ? `ip daddr ${sp.vip} ip saddr != ${clusterCIDR} jump mark-for-masquerade`
        : `ip daddr ${sp.vip} ${sp.proto} dport ${sp.port} ip saddr != ${clusterCIDR} jump mark-for-masquerade`,
    );
    const n = sp.eps.length;
    svc.rules.push(
      endpointChains
        ? `numgen random mod ${n} vmap { ${sp.eps.map((e, i) => `${i} : goto ${epChain(sp, e)}`).join(', ')} }`
        : `meta l4proto ${sp.proto} dnat ip to numgen random mod ${n} map { ${sp.eps.map((e, i) => `${i} : ${e.ip} . ${e.port}`).join(', ')} }`,
    );
    if (sp.nodePort)
      chain(extChain(sp)).rules.push('jump mark-for-masquerade', `goto ${svcChain(sp)}`);
  }
  return [...sets, ...chains.values()];
}
