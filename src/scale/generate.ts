/**
 * N-service rulesets, written the way kube-proxy programs a node in each mode:
 *
 * - iptables: the `iptables-restore --noflush` input of the nat table (KUBE-SERVICES with one
 *   rule per service, a KUBE-SVC-* chain per service with a masquerade rule and a
 *   `statistic --probability 0.50000000000` split, a KUBE-SEP-* chain per endpoint with
 *   KUBE-MARK-MASQ and DNAT --to-destination);
 * - ipvs: `ipvsadm -R` input (one virtual server + its real servers per service), `ipset
 *   restore` input (KUBE-CLUSTER-IP hash:ip,port, one member per service), the handful of
 *   `-m set --match-set` iptables rules, and the VIPs bound to the kube-ipvs0 dummy device;
 * - nftables: `nft -f` input in the form kube-proxy sends (table ip kube-proxy, the
 *   service-ips verdict map, a service chain per service with `numgen random mod 2 vmap`,
 *   an endpoint chain per endpoint with dnat).
 *
 * Only what ClusterIP services need is generated (no NodePorts, no filter table): the
 * parts whose size grows with the number of services. Each generator also returns the exact
 * counts it wrote, which the tests check against the kernel after a restore.
 */
import {
  iptablesEndpointChain,
  iptablesServiceChain,
  nftBaseName,
  nftEndpointChain,
  nftServiceChain,
  servicePortName,
} from './names.js';

export type Mode = 'iptables' | 'ipvs' | 'nftables';
export const MODES: readonly Mode[] = ['iptables', 'ipvs', 'nftables'];

export interface Endpoint {
  ip: string;
  port: number;
}

export interface Service {
  /** 0-based position in the ruleset (the order kube-proxy would write them in). */
  index: number;
  namespace: string;
  name: string;
  portName: string;
  clusterIP: string;
  port: number;
  protocol: 'tcp';
  endpoints: Endpoint[];
}

export interface ServiceSetOptions {
  /** Namespace of the generated services (default "scale"). */
  namespace?: string;
  /** First index (default 0): lets an update add service N on top of 0..N-1. */
  start?: number;
  /** Endpoints of service i (default: two unique pod IPs in 10.244.1.0+ on port 8080). */
  endpoints?: (index: number) => Endpoint[];
}

/** Pod CIDR used in masquerade rules (`! -s 10.244.0.0/16`), as on a kind cluster. */
export const CLUSTER_CIDR = '10.244.0.0/16';
/** Service VIPs come from 10.100.0.1 upwards (inside kind's 10.96.0.0/12 service range). */
const VIP_BASE = (10 << 24) | (100 << 16);
/** Fake pod IPs from 10.244.1.0 upwards: 10.244.0.0/24 is left for real servers. */
const POD_BASE = (10 << 24) | (244 << 16) | (1 << 8);

export function ipFromInt(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function vipFor(index: number): string {
  return ipFromInt(VIP_BASE + index + 1);
}

export function serviceName(index: number): string {
  return `svc-${String(index).padStart(5, '0')}`;
}

export function defaultEndpoints(index: number): Endpoint[] {
  return [
    { ip: ipFromInt(POD_BASE + 2 * index), port: 8080 },
    { ip: ipFromInt(POD_BASE + 2 * index + 1), port: 8080 },
  ];
}

export function makeServices(count: number, o: ServiceSetOptions = {}): Service[] {
  if (!Number.isInteger(count) || count < 0 || count > 60_000) {
    throw new RangeError(`service count must be an integer from 0 to 60000, got ${count}`);
  }
  const start = o.start ?? 0;
  const eps = o.endpoints ?? defaultEndpoints;
  const out: Service[] = [];
  for (let i = start; i < start + count; i++) {
    out.push({
      index: i,
      namespace: o.namespace ?? 'scale',
      name: serviceName(i),
      portName: 'http',
      clusterIP: vipFor(i),
      port: 80,
      protocol: 'tcp',
      endpoints: eps(i),
    });
  }
  return out;
}

/** What a generated ruleset contains; the tests compare these with what the kernel holds. */
export interface Counts {
  /** iptables: rules in the nat table; nftables: rules in table ip kube-proxy. */
  rules: number;
  /** User chains created (iptables nat / nftables table). */
  chains: number;
  /** Elements in the service-ips map (nftables) or members of KUBE-CLUSTER-IP (ipvs). */
  setMembers: number;
  /** ipvs only. */
  virtualServers: number;
  realServers: number;
  /** ipvs only: addresses bound to kube-ipvs0. */
  boundAddresses: number;
}

const zero = (): Counts => ({
  rules: 0,
  chains: 0,
  setMembers: 0,
  virtualServers: 0,
  realServers: 0,
  boundAddresses: 0,
});

function probability(remaining: number): string {
  // kube-proxy prints 1/remaining with 11 decimals (0.50000000000, 0.33333333349 for 3).
  return (1 / remaining).toFixed(11);
}

function q(text: string): string {
  return `"${text}"`;
}

// ---------------------------------------------------------------------------------------
// iptables

export interface IptablesRuleset {
  /** Input for `iptables-restore --noflush`. */
  restore: string;
  counts: Counts;
}

/** The service-dependent chains and rules of one service (used by full and partial syncs). */
function iptablesServiceParts(s: Service): {
  chains: string[];
  servicesRule: string;
  rules: string[];
} {
  const spn = servicePortName(s.namespace, s.name, s.portName);
  const svc = iptablesServiceChain(spn, s.protocol);
  const chains = [svc];
  const comment = q(`${spn} cluster IP`);
  const servicesRule = `-A KUBE-SERVICES -d ${s.clusterIP}/32 -p ${s.protocol} -m comment --comment ${comment} -m ${s.protocol} --dport ${s.port} -j ${svc}`;
  const rules = [
    `-A ${svc} ! -s ${CLUSTER_CIDR} -d ${s.clusterIP}/32 -p ${s.protocol} -m comment --comment ${comment} -m ${s.protocol} --dport ${s.port} -j KUBE-MARK-MASQ`,
  ];
  const seps: string[] = [];
  s.endpoints.forEach((ep, i) => {
    const epStr = `${ep.ip}:${ep.port}`;
    const sep = iptablesEndpointChain(spn, epStr, s.protocol);
    seps.push(sep);
    chains.push(sep);
    const left = s.endpoints.length - i;
    const stat = left > 1 ? ` -m statistic --mode random --probability ${probability(left)}` : '';
    rules.push(`-A ${svc} -m comment --comment ${q(`${spn} -> ${epStr}`)}${stat} -j ${sep}`);
  });
  s.endpoints.forEach((ep, i) => {
    const sep = seps[i]!;
    rules.push(`-A ${sep} -s ${ep.ip}/32 -m comment --comment ${q(spn)} -j KUBE-MARK-MASQ`);
    rules.push(
      `-A ${sep} -p ${s.protocol} -m comment --comment ${q(spn)} -m ${s.protocol} -j DNAT --to-destination ${ep.ip}:${ep.port}`,
    );
  });
  return { chains, servicesRule, rules };
}

const IPT_BASE_CHAINS = ['KUBE-SERVICES', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ', 'KUBE-NODEPORTS'];
const IPT_HOOKS = [
  '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
  '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
  '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
];
const IPT_MASQ = [
  '-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000',
  '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
  '-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000',
  '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
];
const IPT_NODEPORTS_LAST =
  '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS';

/** A full sync: every chain declared (and so flushed), every rule written. */
export function iptablesFull(
  services: readonly Service[],
  o: { hooks?: boolean } = {},
): IptablesRuleset {
  const counts = zero();
  const decl: string[] = [...IPT_BASE_CHAINS];
  const body: string[] = [];
  const servicesRules: string[] = [];
  if (o.hooks !== false) body.push(...IPT_HOOKS);
  body.push(...IPT_MASQ);
  for (const s of services) {
    const p = iptablesServiceParts(s);
    decl.push(...p.chains);
    servicesRules.push(p.servicesRule);
    body.push(...p.rules);
  }
  const lines = [
    '*nat',
    ...decl.map((c) => `:${c} - [0:0]`),
    ...body,
    ...servicesRules,
    IPT_NODEPORTS_LAST,
    'COMMIT',
    '',
  ];
  counts.chains = decl.length;
  counts.rules = body.length + servicesRules.length + 1;
  return { restore: lines.join('\n'), counts };
}

/**
 * A partial sync adding one service on top of `existing` (kube-proxy ≥1.27 minimizes
 * iptables-restore input: it rewrites KUBE-SERVICES whole, plus the chains that changed).
 */
export function iptablesAddOne(existing: readonly Service[], added: Service): IptablesRuleset {
  const p = iptablesServiceParts(added);
  const all = [...existing, added];
  const servicesRules = all.map((s) => iptablesServiceParts(s).servicesRule);
  const lines = [
    '*nat',
    ':KUBE-SERVICES - [0:0]',
    ...p.chains.map((c) => `:${c} - [0:0]`),
    ...p.rules,
    ...servicesRules,
    IPT_NODEPORTS_LAST,
    'COMMIT',
    '',
  ];
  const counts = zero();
  counts.chains = p.chains.length;
  counts.rules = p.rules.length + servicesRules.length + 1;
  return { restore: lines.join('\n'), counts };
}

// ---------------------------------------------------------------------------------------
// ipvs

export interface IpvsRuleset {
  /** `ipset restore` input: KUBE-CLUSTER-IP with one ip,proto:port member per service. */
  ipset: string;
  /** `ipvsadm -R` input. */
  ipvsadm: string;
  /** `iptables-restore --noflush` input: the fixed match-set rules of IPVS mode. */
  iptables: string;
  /** `ip -batch -` input binding every VIP to kube-ipvs0 (created first). */
  ipBatch: string;
  counts: Counts;
}

export const IPSET_CLUSTER_IP = 'KUBE-CLUSTER-IP';

function ipvsServiceLines(s: Service): string[] {
  const vs = `${s.clusterIP}:${s.port}`;
  return [
    `-A -t ${vs} -s rr`,
    ...s.endpoints.map((ep) => `-a -t ${vs} -r ${ep.ip}:${ep.port} -m -w 1`),
  ];
}

export function ipvsFull(
  services: readonly Service[],
  o: { hooks?: boolean; device?: string } = {},
): IpvsRuleset {
  const dev = o.device ?? 'kube-ipvs0';
  const counts = zero();
  const maxelem = Math.max(65536, 2 ** Math.ceil(Math.log2(Math.max(1, services.length))));
  const ipset = [
    `create ${IPSET_CLUSTER_IP} hash:ip,port family inet hashsize 1024 maxelem ${maxelem} comment`,
    ...services.map(
      (s) =>
        `add ${IPSET_CLUSTER_IP} ${s.clusterIP},${s.protocol}:${s.port} comment ${q(`${servicePortName(s.namespace, s.name, s.portName)} cluster IP`)}`,
    ),
    '',
  ].join('\n');
  const ipvsadm = [...services.flatMap(ipvsServiceLines), ''].join('\n');
  const rules = [
    ...(o.hooks !== false ? IPT_HOOKS : []),
    ...IPT_MASQ,
    `-A KUBE-SERVICES ! -s ${CLUSTER_CIDR} -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set ${IPSET_CLUSTER_IP} dst,dst -j KUBE-MARK-MASQ`,
    '-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT',
    `-A KUBE-SERVICES -m set --match-set ${IPSET_CLUSTER_IP} dst,dst -j ACCEPT`,
  ];
  const chains = ['KUBE-SERVICES', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ', 'KUBE-NODE-PORT'];
  const iptables = ['*nat', ...chains.map((c) => `:${c} - [0:0]`), ...rules, 'COMMIT', ''].join(
    '\n',
  );
  const ipBatch = [
    `link add ${dev} type dummy`,
    ...services.map((s) => `address add ${s.clusterIP}/32 dev ${dev}`),
    '',
  ].join('\n');
  counts.rules = rules.length;
  counts.chains = chains.length;
  counts.setMembers = services.length;
  counts.virtualServers = services.length;
  counts.realServers = services.reduce((n, s) => n + s.endpoints.length, 0);
  counts.boundAddresses = services.length;
  return { ipset, ipvsadm, iptables, ipBatch, counts };
}

/** What kube-proxy does for one new service in IPVS mode: O(1) netlink calls, no big restore. */
export function ipvsAddOne(
  added: Service,
  o: { device?: string } = {},
): { ipset: string; ipvsadm: string; ipBatch: string } {
  const dev = o.device ?? 'kube-ipvs0';
  return {
    ipset: `add ${IPSET_CLUSTER_IP} ${added.clusterIP},${added.protocol}:${added.port}\n`,
    ipvsadm: `${ipvsServiceLines(added).join('\n')}\n`,
    ipBatch: `address add ${added.clusterIP}/32 dev ${dev}\n`,
  };
}

// ---------------------------------------------------------------------------------------
// nftables

export interface NftRuleset {
  /** Input for `nft -f -`. */
  script: string;
  counts: Counts;
}

export const NFT_TABLE = 'kube-proxy';

function nftServiceLines(s: Service): { lines: string[]; chains: number; rules: number } {
  const base = nftBaseName(s.namespace, s.name, s.portName, s.protocol);
  const svc = nftServiceChain(base);
  const t = `ip ${NFT_TABLE}`;
  const eps = s.endpoints.map((ep) => ({ ep, chain: nftEndpointChain(base, ep.ip, ep.port) }));
  const lines: string[] = [];
  let rules = 0;
  for (const { ep, chain } of eps) {
    lines.push(`add chain ${t} ${chain}`);
    lines.push(`add rule ${t} ${chain} ip saddr ${ep.ip} jump mark-for-masquerade`);
    lines.push(`add rule ${t} ${chain} meta l4proto ${s.protocol} dnat to ${ep.ip}:${ep.port}`);
    rules += 2;
  }
  lines.push(`add chain ${t} ${svc}`);
  lines.push(
    `add rule ${t} ${svc} ip daddr ${s.clusterIP} ${s.protocol} dport ${s.port} ip saddr != ${CLUSTER_CIDR} jump mark-for-masquerade`,
  );
  rules++;
  if (eps.length) {
    const vmap = eps.map((e, i) => `${i} : goto ${e.chain}`).join(' , ');
    lines.push(`add rule ${t} ${svc} numgen random mod ${eps.length} vmap { ${vmap} }`);
    rules++;
  }
  lines.push(`add element ${t} cluster-ips { ${s.clusterIP} }`);
  lines.push(
    `add element ${t} service-ips { ${s.clusterIP} . ${s.protocol} . ${s.port} : goto ${svc} }`,
  );
  return { lines, chains: 1 + eps.length, rules };
}

export function nftFull(services: readonly Service[]): NftRuleset {
  const t = `ip ${NFT_TABLE}`;
  const head = [
    `add table ${t} { comment "rules for kube-proxy" ; }`,
    `add chain ${t} mark-for-masquerade`,
    `add chain ${t} masquerading`,
    `add chain ${t} services`,
    `add chain ${t} nat-prerouting { type nat hook prerouting priority -100 ; }`,
    `add chain ${t} nat-output { type nat hook output priority -100 ; }`,
    `add chain ${t} nat-postrouting { type nat hook postrouting priority 100 ; }`,
    `add set ${t} cluster-ips { type ipv4_addr ; comment "Active ClusterIPs" ; }`,
    `add set ${t} nodeport-ips { type ipv4_addr ; comment "IPs that accept NodePort traffic" ; }`,
    `add map ${t} service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }`,
    `add map ${t} service-nodeports { type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }`,
    `add rule ${t} mark-for-masquerade mark set mark or 0x4000`,
    `add rule ${t} masquerading mark and 0x4000 == 0 return`,
    `add rule ${t} masquerading mark set mark xor 0x4000`,
    `add rule ${t} masquerading masquerade fully-random`,
    `add rule ${t} services ip daddr . meta l4proto . th dport vmap @service-ips`,
    `add rule ${t} services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports`,
    `add rule ${t} nat-prerouting jump services`,
    `add rule ${t} nat-output jump services`,
    `add rule ${t} nat-postrouting jump masquerading`,
  ];
  const counts = zero();
  counts.chains = 6;
  counts.rules = 9;
  const lines = [...head];
  for (const s of services) {
    const p = nftServiceLines(s);
    lines.push(...p.lines);
    counts.chains += p.chains;
    counts.rules += p.rules;
  }
  counts.setMembers = services.length;
  lines.push('');
  return { script: lines.join('\n'), counts };
}

/** One service added on top of a programmed table: one small transaction. */
export function nftAddOne(added: Service): NftRuleset {
  const p = nftServiceLines(added);
  const counts = zero();
  counts.chains = p.chains;
  counts.rules = p.rules;
  counts.setMembers = 1;
  return { script: `${p.lines.join('\n')}\n`, counts };
}
