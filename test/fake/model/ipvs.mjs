// Model layer, IPVS mode: what kube-proxy's IPVS proxier programs on one node for one IP
// family, from the service ports it sees (lib/services.mjs) and the node's local addresses
// (model/node.mjs). Pure data out; the renderers in render/ print it.
//
// Source: kubernetes/kubernetes pkg/proxy/ipvs/proxier.go and pkg/proxy/ipvs/ipset.go as
// stored in the search index (file version id 32359423: NewDualStackProxier with ctx,
// per-family ipts map, initOnly and the KUBE-IPVS-OUT-FILTER chain, i.e. the 1.33–1.36
// layout; the ipvs deprecation log is in cmd/kube-proxy/app/server_linux.go of the same
// era, id 680549773). Nothing below changed between 1.31 and 1.35 except where noted.

/** ipset.go: set names (IPv6 sets are "KUBE-6-" + name, cut to 31 characters by NewIPSet). */
export const IPSETS = [
  // ipsetInfo order (proxier.go): name, type, comment (ipset.go constants)
  [
    'KUBE-LOOP-BACK',
    'hash:ip,port,ip',
    'Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose',
  ],
  [
    'KUBE-CLUSTER-IP',
    'hash:ip,port',
    'Kubernetes service cluster ip + port for masquerade purpose',
  ],
  [
    'KUBE-EXTERNAL-IP',
    'hash:ip,port',
    'Kubernetes service external ip + port for masquerade and filter purpose',
  ],
  [
    'KUBE-EXTERNAL-IP-LOCAL',
    'hash:ip,port',
    'Kubernetes service external ip + port with externalTrafficPolicy=local',
  ],
  ['KUBE-LOAD-BALANCER', 'hash:ip,port', 'Kubernetes service lb portal'],
  [
    'KUBE-LOAD-BALANCER-FW',
    'hash:ip,port',
    'Kubernetes service load balancer ip + port for load balancer with sourceRange',
  ],
  [
    'KUBE-LOAD-BALANCER-LOCAL',
    'hash:ip,port',
    'Kubernetes service load balancer ip + port with externalTrafficPolicy=local',
  ],
  [
    'KUBE-LOAD-BALANCER-SOURCE-IP',
    'hash:ip,port,ip',
    'Kubernetes service load balancer ip + port + source IP for packet filter purpose',
  ],
  [
    'KUBE-LOAD-BALANCER-SOURCE-CIDR',
    'hash:ip,port,net',
    'Kubernetes service load balancer ip + port + source cidr for packet filter purpose',
  ],
  ['KUBE-NODE-PORT-TCP', 'bitmap:port', 'Kubernetes nodeport TCP port for masquerade purpose'],
  [
    'KUBE-NODE-PORT-LOCAL-TCP',
    'bitmap:port',
    'Kubernetes nodeport TCP port with externalTrafficPolicy=local',
  ],
  ['KUBE-NODE-PORT-UDP', 'bitmap:port', 'Kubernetes nodeport UDP port for masquerade purpose'],
  [
    'KUBE-NODE-PORT-LOCAL-UDP',
    'bitmap:port',
    'Kubernetes nodeport UDP port with externalTrafficPolicy=local',
  ],
  [
    'KUBE-NODE-PORT-SCTP-HASH',
    'hash:ip,port',
    "Kubernetes nodeport SCTP port for masquerade purpose with type 'hash ip:port'",
  ],
  [
    'KUBE-NODE-PORT-LOCAL-SCTP-HASH',
    'hash:ip,port',
    "Kubernetes nodeport SCTP port with externalTrafficPolicy=local with type 'hash ip:port'",
  ],
  ['KUBE-HEALTH-CHECK-NODE-PORT', 'bitmap:port', 'Kubernetes health check node port'],
  ['KUBE-IPVS-IPS', 'hash:ip', 'Addresses on the ipvs interface'],
];

/** ipset.go NewIPSet: IPv6 sets get the "KUBE-6-" prefix; names over 31 characters are cut. */
export function setName(base, family) {
  return family === 'ipv6' ? `KUBE-6-${base.slice(5)}`.slice(0, 31) : base;
}

const comment = (base) => IPSETS.find((s) => s[0] === base)[2];

/**
 * The IPVS proxier of one family on one node.
 * @param {object} a
 * @param {Array} a.sps service ports (lib/services.mjs shape) of this family
 * @param {{name: string}} a.node
 * @param {string[]} a.nodeIPs local addresses for NodePorts (model/node.mjs: all but
 *   kube-ipvs0's, loopback and IPv6 link-local)
 * @param {string} a.clusterCIDR detect-local CIDR ('' = not implemented for this family)
 * @param {string} [a.scheduler] '' → rr
 * @param {'ipv4'|'ipv6'} [a.family]
 */
export function ipvsProxier({ sps, node, nodeIPs, clusterCIDR, scheduler = '', family = 'ipv4' }) {
  // proxier.go NewProxier: an empty scheduler means rr ("IPVS scheduler not specified")
  const sched = scheduler || 'rr';
  const sets = Object.fromEntries(IPSETS.map(([n, type]) => [n, { type, members: [] }]));
  const add = (base, m) => {
    if (!sets[base].members.includes(m)) sets[base].members.push(m);
  };
  const vs = [];
  const bind = [];
  // syncProxyRules: hasNodePort → nodeIPs from GetAllLocalAddressesExcept(kube-ipvs0), whose
  // netlink handle keeps the proxier's own family only (netlink_linux.go isValidForSet)
  const hasNodePort = sps.some((sp) => sp.nodePort);
  nodeIPs = nodeIPs.filter((ip) => ip.includes(':') === (family === 'ipv6'));
  for (const sp of sps) {
    // loop-back entries: local endpoints only (ep.IsLocal())
    for (const e of sp.eps)
      if (e.node === node.name) add('KUBE-LOOP-BACK', `${e.ip},${sp.proto}:${e.port},${e.ip}`);
    add('KUBE-CLUSTER-IP', `${sp.vip},${sp.proto}:${sp.port}`);
    const rs = sp.eps.map((e) => ({ ip: e.ip, port: e.port }));
    // session affinity: FlagPersistent + timeout; "mh" also sets the source-hash flag
    const server = (addr) => ({
      proto: sp.proto,
      addr,
      sched,
      persistent: sp.affinity,
      rs,
    });
    vs.push(server(`${sp.vip}:${sp.port}`));
    if (!bind.includes(sp.vip)) bind.push(sp.vip); // ClusterIPs are bound to kube-ipvs0
    if (sp.nodePort && hasNodePort && nodeIPs.length) {
      const setBase = sp.proto === 'udp' ? 'KUBE-NODE-PORT-UDP' : 'KUBE-NODE-PORT-TCP';
      add(setBase, String(sp.nodePort));
      // one virtual server per node address; not bound to kube-ipvs0
      for (const ip of nodeIPs) vs.push(server(`${ip}:${sp.nodePort}`));
    }
  }
  // KUBE-IPVS-IPS holds activeBindAddrs
  for (const a of bind) add('KUBE-IPVS-IPS', a);

  const tables = writeIptablesRules(sets, clusterCIDR, family);
  const ipsets = {};
  for (const [base, s] of Object.entries(sets)) ipsets[setName(base, family)] = s;
  return { ...tables, ipsets, ipvs: vs, bind };
}

/** proxier.go writeIptablesRules + createAndLinkKubeChain, as iptables-save prints them. */
function writeIptablesRules(sets, clusterCIDR, family) {
  const n = (b) => setName(b, family);
  const empty = (b) => sets[b].members.length === 0;
  // iptablesChains: the chains created in each table
  const nat = {
    'KUBE-SERVICES': [],
    'KUBE-POSTROUTING': [],
    'KUBE-NODE-PORT': [],
    'KUBE-LOAD-BALANCER': [],
    'KUBE-MARK-MASQ': [],
  };
  const filter = {
    'KUBE-FORWARD': [],
    'KUBE-NODE-PORT': [],
    'KUBE-PROXY-FIREWALL': [],
    'KUBE-SOURCE-RANGES-FIREWALL': [],
    'KUBE-IPVS-FILTER': [],
    'KUBE-IPVS-OUT-FILTER': [],
  };
  // dismiss connections from localhost early (since 1.26): 127.0.0.0/8, ::1/128 for IPv6
  nat['KUBE-SERVICES'].push(`-s ${family === 'ipv6' ? '::1/128' : '127.0.0.0/8'} -j RETURN`);
  // ipsetWithIptablesChain, in its order, for the non-empty sets
  const withChain = [
    ['KUBE-LOOP-BACK', nat, 'KUBE-POSTROUTING', 'MASQUERADE', 'dst,dst,src', ''],
    ['KUBE-LOAD-BALANCER', nat, 'KUBE-SERVICES', 'KUBE-LOAD-BALANCER', 'dst,dst', ''],
    ['KUBE-LOAD-BALANCER-LOCAL', nat, 'KUBE-LOAD-BALANCER', 'RETURN', 'dst,dst', ''],
    ['KUBE-NODE-PORT-LOCAL-TCP', nat, 'KUBE-NODE-PORT', 'RETURN', 'dst', 'tcp'],
    ['KUBE-NODE-PORT-TCP', nat, 'KUBE-NODE-PORT', 'KUBE-MARK-MASQ', 'dst', 'tcp'],
    ['KUBE-NODE-PORT-LOCAL-UDP', nat, 'KUBE-NODE-PORT', 'RETURN', 'dst', 'udp'],
    ['KUBE-NODE-PORT-UDP', nat, 'KUBE-NODE-PORT', 'KUBE-MARK-MASQ', 'dst', 'udp'],
    ['KUBE-NODE-PORT-LOCAL-SCTP-HASH', nat, 'KUBE-NODE-PORT', 'RETURN', 'dst,dst', 'sctp'],
    ['KUBE-NODE-PORT-SCTP-HASH', nat, 'KUBE-NODE-PORT', 'KUBE-MARK-MASQ', 'dst,dst', 'sctp'],
    [
      'KUBE-LOAD-BALANCER-FW',
      filter,
      'KUBE-PROXY-FIREWALL',
      'KUBE-SOURCE-RANGES-FIREWALL',
      'dst,dst',
      '',
    ],
    [
      'KUBE-LOAD-BALANCER-SOURCE-CIDR',
      filter,
      'KUBE-SOURCE-RANGES-FIREWALL',
      'RETURN',
      'dst,dst,src',
      '',
    ],
    [
      'KUBE-LOAD-BALANCER-SOURCE-IP',
      filter,
      'KUBE-SOURCE-RANGES-FIREWALL',
      'RETURN',
      'dst,dst,src',
      '',
    ],
  ];
  for (const [base, table, from, to, match, proto] of withChain) {
    if (empty(base)) continue;
    // iptables-save prints -p before the -m matches, as written
    table[from].push(
      `${proto ? `-p ${proto} ` : ''}-m comment --comment "${comment(base)}" -m set --match-set ${n(base)} ${match} -j ${to}`,
    );
  }
  if (!empty('KUBE-CLUSTER-IP')) {
    // localDetector (detect-local-mode ClusterCIDR, kind's podSubnet) → "! -s <cidr>";
    // without a CIDR for the family the rule matches "src,dst" instead
    nat['KUBE-SERVICES'].push(
      clusterCIDR
        ? `! -s ${clusterCIDR} -m comment --comment "${comment('KUBE-CLUSTER-IP')}" -m set --match-set ${n('KUBE-CLUSTER-IP')} dst,dst -j KUBE-MARK-MASQ`
        : `-m comment --comment "${comment('KUBE-CLUSTER-IP')}" -m set --match-set ${n('KUBE-CLUSTER-IP')} src,dst -j KUBE-MARK-MASQ`,
    );
  }
  nat['KUBE-SERVICES'].push('-m addrtype --dst-type LOCAL -j KUBE-NODE-PORT');
  nat['KUBE-LOAD-BALANCER'].push('-j KUBE-MARK-MASQ');
  filter['KUBE-SOURCE-RANGES-FIREWALL'].push('-j DROP');
  // acceptIPVSTraffic: cluster IP and load balancer sets, when not empty
  for (const base of ['KUBE-CLUSTER-IP', 'KUBE-LOAD-BALANCER'])
    if (!empty(base)) nat['KUBE-SERVICES'].push(`-m set --match-set ${n(base)} dst,dst -j ACCEPT`);
  // masquerade mark 0x4000 (written as %#08x = 0x004000; iptables-save prints 0x4000)
  filter['KUBE-FORWARD'].push(
    '-m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT',
    '-m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
  );
  filter['KUBE-NODE-PORT'].push(
    `-m comment --comment "${comment('KUBE-HEALTH-CHECK-NODE-PORT')}" -m set --match-set ${n('KUBE-HEALTH-CHECK-NODE-PORT')} dst -j ACCEPT`,
  );
  // KUBE-IPVS-FILTER (k/k#72236): written whatever the sets hold
  for (const base of [
    'KUBE-LOAD-BALANCER',
    'KUBE-CLUSTER-IP',
    'KUBE-EXTERNAL-IP',
    'KUBE-EXTERNAL-IP-LOCAL',
  ])
    filter['KUBE-IPVS-FILTER'].push(`-m set --match-set ${n(base)} dst,dst -j RETURN`);
  filter['KUBE-IPVS-FILTER'].push(
    `-m set --match-set ${n('KUBE-HEALTH-CHECK-NODE-PORT')} dst -j RETURN`,
    // REJECT's default, as iptables-save prints it (checked with the real iptables 1.8.9)
    `-m conntrack --ctstate NEW -m set --match-set ${n('KUBE-IPVS-IPS')} dst -j REJECT --reject-with ${family === 'ipv6' ? 'icmp6-port-unreachable' : 'icmp-port-unreachable'}`,
  );
  nat['KUBE-POSTROUTING'].push(
    '-m mark ! --mark 0x4000/0x4000 -j RETURN',
    '-j MARK --set-xmark 0x4000/0x0', // --xor-mark as iptables-save prints it
    // iptables 1.8.9 has --random-fully (HasRandomFully)
    '-m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
  );
  nat['KUBE-MARK-MASQ'].push('-j MARK --set-xmark 0x4000/0x4000'); // --or-mark
  return { nat, filter, jumps: IPVS_JUMPS };
}

/**
 * iptablesJumpChain: rules kube-proxy prepends (EnsureRule Prepend) to the built-in chains,
 * in the order it ensures them; each later one lands above the earlier ones.
 */
export const IPVS_JUMPS = [
  ['nat', 'OUTPUT', 'KUBE-SERVICES', 'kubernetes service portals'],
  ['nat', 'PREROUTING', 'KUBE-SERVICES', 'kubernetes service portals'],
  ['nat', 'POSTROUTING', 'KUBE-POSTROUTING', 'kubernetes postrouting rules'],
  ['filter', 'FORWARD', 'KUBE-FORWARD', 'kubernetes forwarding rules'],
  ['filter', 'INPUT', 'KUBE-NODE-PORT', 'kubernetes health check rules'],
  ['filter', 'INPUT', 'KUBE-PROXY-FIREWALL', 'kube-proxy firewall rules'],
  ['filter', 'FORWARD', 'KUBE-PROXY-FIREWALL', 'kube-proxy firewall rules'],
  ['filter', 'INPUT', 'KUBE-IPVS-FILTER', 'kubernetes ipvs access filter'],
  ['filter', 'OUTPUT', 'KUBE-IPVS-OUT-FILTER', 'kubernetes ipvs access filter'],
];
