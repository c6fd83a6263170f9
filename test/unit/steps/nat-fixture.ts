/**
 * A kind node's nat table assembled from real rules: kube-proxy's iptables-mode rules from
 * the shared fixtures (kind cluster, KEP-2086 notes, int32bit), its ipvs-mode rules
 * (hwchiu, int32bit, seed 001), and the Docker / kind chains every kind node has (seed 001
 * shows them in `iptables -t nat -nvL`; here in iptables-save form).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const FIX = fileURLToPath(new URL('../../fixtures/real-outputs/', import.meta.url));

export function fixtureBody(rel: string): string {
  const t = readFileSync(`${FIX}${rel}`, 'utf8');
  const i = t.indexOf('\n# ---\n');
  return i >= 0 ? t.slice(i + 7) : t;
}

function ruleLines(rel: string): string[] {
  return fixtureBody(rel)
    .split('\n')
    .map((l) => l.replace(/\s+$/, ''))
    .filter((l) => l.startsWith('-A '));
}

/** iptables-mode rules for three services (kind NodePort + XLB, internal-local SVL, 3 endpoints). */
export const IPTABLES_MODE_RULES = [
  ...ruleLines('iptables/01-kind-nodeport-local-xlb-grep.txt'),
  ...ruleLines('iptables/07-kep2086-KUBE-SVL-internal-local.txt'),
  ...ruleLines('iptables/08-kep2086-KUBE-SVC-3-endpoints-probability.txt'),
  '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
];

/** ipvs-mode rules (match-set on kube-proxy's ipsets). */
export const IPVS_MODE_RULES = [
  ...ruleLines('iptables/18-int32bit-ipvs-mode-save-excerpt-KUBE-CLUSTER-IP.txt').filter(
    (l) => !l.startsWith('-A OUTPUT') && !l.startsWith('-A KUBE-MARK-MASQ'),
  ),
  ...ruleLines('iptables/15-hwchiu-ipvs-save-grep-KUBE-NODE.txt'),
  '-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT',
  '-A KUBE-POSTROUTING -m comment --comment "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose" -m set --match-set KUBE-LOOP-BACK dst,dst,src -j MASQUERADE',
];

/** Chains and rules kind and Docker put in every node: never ours to touch. */
export const DOCKER_KIND_RULES = [
  '-A PREROUTING -d 192.168.224.1/32 -j DOCKER_OUTPUT',
  '-A OUTPUT -d 192.168.224.1/32 -j DOCKER_OUTPUT',
  '-A POSTROUTING -d 192.168.224.1/32 -j DOCKER_POSTROUTING',
  '-A POSTROUTING -m addrtype ! --dst-type LOCAL -m comment --comment "kind-masq-agent: ensure nat POSTROUTING directs all non-LOCAL destination traffic to our custom KIND-MASQ-AGENT chain" -j KIND-MASQ-AGENT',
  '-A DOCKER_OUTPUT -d 192.168.224.1/32 -p tcp -m tcp --dport 53 -j DNAT --to-destination 127.0.0.11:37619',
  '-A DOCKER_OUTPUT -d 192.168.224.1/32 -p udp -m udp --dport 53 -j DNAT --to-destination 127.0.0.11:55581',
  '-A DOCKER_POSTROUTING -s 127.0.0.11/32 -p tcp -m tcp --sport 37619 -j SNAT --to-source 192.168.224.1:53',
  '-A DOCKER_POSTROUTING -s 127.0.0.11/32 -p udp -m udp --sport 55581 -j SNAT --to-source 192.168.224.1:53',
  '-A KIND-MASQ-AGENT -d 10.244.0.0/16 -m comment --comment "kind-masq-agent: local traffic is not subject to MASQUERADE" -j RETURN',
  '-A KIND-MASQ-AGENT -m comment --comment "kind-masq-agent: outbound traffic is subject to MASQUERADE (must be last in chain)" -j MASQUERADE',
];

const COMMON_KUBE = [
  '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
  '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
  '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
  '-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000',
  '-A KUBE-MARK-DROP -j MARK --set-xmark 0x8000/0x8000',
  '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
  '-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0',
  '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
];

/** The sets the ipvs rules reference (create them before loading IPVS_MODE_RULES). */
export const IPVS_SETS = [
  ['KUBE-CLUSTER-IP', 'hash:ip,port'],
  ['KUBE-NODE-PORT-TCP', 'bitmap:port', 'range', '0-65535'],
  ['KUBE-LOOP-BACK', 'hash:ip,port,ip'],
];

/** A full `iptables-save -t nat` text holding the given rule groups. */
export function natTable(
  parts: { iptablesMode?: boolean; ipvsMode?: boolean; dockerKind?: boolean } = {},
): string {
  return saveText([
    ...(parts.dockerKind !== false ? DOCKER_KIND_RULES : []),
    ...COMMON_KUBE,
    ...(parts.ipvsMode ? IPVS_MODE_RULES : []),
    ...(parts.iptablesMode ? IPTABLES_MODE_RULES : []),
  ]);
}

/** The nat table iptables-save would print for these rules (chains declared from their use). */
function saveText(rules: string[]): string {
  const builtin = ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'];
  const chains: string[] = [];
  for (const r of rules) {
    for (const m of r.matchAll(/(?:^-A |-j |-g )(\S+)/g)) {
      const c = m[1]!;
      if (
        /^[A-Z][A-Z0-9_-]*$/.test(c) &&
        !builtin.includes(c) &&
        !['MARK', 'MASQUERADE', 'DNAT', 'SNAT', 'RETURN', 'ACCEPT', 'DROP'].includes(c) &&
        !chains.includes(c)
      )
        chains.push(c);
    }
  }
  return [
    '*nat',
    ...builtin.map((c) => `:${c} ACCEPT [0:0]`),
    ...chains.sort().map((c) => `:${c} - [0:0]`),
    ...rules,
    'COMMIT',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------
// IPv6: kube-proxy runs dual-stack even in an IPv4-only kind cluster (its log says
// "Creating dualStackProxier for iptables", seed 004), so ip6tables holds the same
// kube-proxy chains. No IPv6 fixture exists: these are the rules above in their IPv6 form
// (same chains and matches, addresses in fd00::/8, kube-proxy's IPv6 sets named KUBE-6-*).

/** IPv6 iptables-mode rules: one service with one endpoint, and the node-port chain. */
export const IPTABLES_MODE_RULES_6 = [
  '-A KUBE-SERVICES -d fd00:10:96::a/128 -p tcp -m comment --comment "default/web cluster IP" -m tcp --dport 80 -j KUBE-SVC-V6WEBQ2XCTM4IN5Z',
  '-A KUBE-SVC-V6WEBQ2XCTM4IN5Z -m comment --comment "default/web -> [fd00:10:244::5]:80" -j KUBE-SEP-V6EP7KQ3MZ2WLR4A',
  '-A KUBE-SEP-V6EP7KQ3MZ2WLR4A -s fd00:10:244::5/128 -m comment --comment "default/web" -j KUBE-MARK-MASQ',
  '-A KUBE-SEP-V6EP7KQ3MZ2WLR4A -p tcp -m comment --comment "default/web" -m tcp -j DNAT --to-destination [fd00:10:244::5]:80',
  '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
];

/** IPv6 ipvs-mode rules (match-set on the KUBE-6-* sets). */
export const IPVS_MODE_RULES_6 = [
  '-A KUBE-SERVICES -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-6-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ',
  '-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT',
  '-A KUBE-SERVICES -m set --match-set KUBE-6-CLUSTER-IP dst,dst -j ACCEPT',
  '-A KUBE-POSTROUTING -m comment --comment "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose" -m set --match-set KUBE-6-LOOP-BACK dst,dst,src -j MASQUERADE',
];

/** The host's own IPv6 rule: never ours to touch. */
export const HOST_RULES_6 = ['-A POSTROUTING -s fd00:abcd::/64 -j MASQUERADE'];

export const IPVS_SETS_6 = [
  ['KUBE-6-CLUSTER-IP', 'hash:ip,port', 'family', 'inet6'],
  ['KUBE-6-LOOP-BACK', 'hash:ip,port,ip', 'family', 'inet6'],
];

/** A full `ip6tables-save -t nat` text holding the given rule groups. */
export function natTable6(parts: { iptablesMode?: boolean; ipvsMode?: boolean } = {}): string {
  return saveText([
    ...HOST_RULES_6,
    ...COMMON_KUBE,
    ...(parts.ipvsMode ? IPVS_MODE_RULES_6 : []),
    ...(parts.iptablesMode ? IPTABLES_MODE_RULES_6 : []),
  ]);
}
