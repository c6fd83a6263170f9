/**
 * flush-nat against real iptables (nft and legacy) in a network namespace this test creates:
 * a kube-proxy-shaped nat table from real fixture rules plus kind's DOCKER_OUTPUT,
 * DOCKER_POSTROUTING and KIND-MASQ-AGENT chains. The plan is computed from the real
 * inspection script's output and applied with the real one-command apply script; then
 * iptables-save before/after must show the leftovers gone and Docker/kind byte-identical.
 * The same for IPv6 (ip6tables of the same variant): kube-proxy runs dual-stack, so its
 * leftovers are there too, and the host's own IPv6 rule must stay. The filter and mangle
 * tables too (issue 16): iptables mode's KUBE-EXTERNAL-SERVICES, filter KUBE-SERVICES and
 * KUBE-NODEPORTS, KUBE-PROXY-CANARY go after a switch to ipvs, while KUBE-FORWARD and
 * KUBE-PROXY-FIREWALL, which ipvs mode uses too, stay; the reverse for ipvs → iptables;
 * everything of both for nftables.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { natTable, natTable6, IPVS_SETS, IPVS_SETS_6 } from '../unit/steps/nat-fixture.js';
import {
  APPLY_SCRIPT,
  INSPECT_SCRIPT,
  countPlan,
  isEmptyPlan,
  planFlush,
  renderApplyInput,
  snapshotFromInspect,
  type ProxyMode,
} from '../../src/steps/flushnat.js';

function why(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces and iptables)';
  for (const b of [
    'ip',
    'ipset',
    'iptables-nft-restore',
    'iptables-legacy-restore',
    'ip6tables-nft-restore',
    'ip6tables-legacy-restore',
  ]) {
    if (spawnSync('sh', ['-c', `command -v ${b}`]).status !== 0)
      return `${b} is not installed (apt-get install iptables ipset iproute2)`;
  }
  const probe = `proxylab-fnprobe-${process.pid}`;
  const r = spawnSync('ip', ['netns', 'add', probe]);
  if (r.status !== 0) return `cannot create a network namespace: ${r.stderr.toString().trim()}`;
  spawnSync('ip', ['netns', 'del', probe]);
  return undefined;
}

const skip = why();
if (skip) console.log(`# skipping flush-nat kernel tests: ${skip}`);

/**
 * The filter and mangle tables kube-proxy leaves on a node that ran iptables mode and then
 * ipvs mode (or the reverse), as each proxier writes them:
 * - iptables mode: the jumps of iptablesJumpChains (pkg/proxy/iptables/proxier.go, kubernetes
 *   v1.29–v1.35: INPUT/FORWARD → KUBE-EXTERNAL-SERVICES and INPUT/FORWARD/OUTPUT →
 *   KUBE-PROXY-FIREWALL with --ctstate NEW, INPUT → KUBE-NODEPORTS, FORWARD/OUTPUT →
 *   KUBE-SERVICES, FORWARD → KUBE-FORWARD), KUBE-FORWARD's accept rules, a health-check
 *   node port in filter KUBE-NODEPORTS, KUBE-PROXY-CANARY in mangle and filter (the chain
 *   kube-proxy's ipt.Monitor watches); the chains cleanup.go lists.
 * - ipvs mode: iptablesJumpChain (pkg/proxy/ipvs/proxier.go, v1.28+): INPUT →
 *   KUBE-IPVS-FILTER, KUBE-PROXY-FIREWALL ("kube-proxy firewall rules"), KUBE-NODE-PORT;
 *   FORWARD → KUBE-PROXY-FIREWALL, KUBE-FORWARD; OUTPUT → KUBE-IPVS-OUT-FILTER; the
 *   KUBE-IPVS-FILTER returns on kube-proxy's sets and rejects new connections to
 *   KUBE-IPVS-IPS; KUBE-SOURCE-RANGES-FIREWALL drops (as a real ipvs-mode node shows them:
 *   fixture nft/04 of real-outputs-modern).
 * - kubelet's KUBE-FIREWALL (INPUT and OUTPUT), KUBE-KUBELET-CANARY and
 *   KUBE-IPTABLES-HINT, and a host rule of its own: never touched.
 */
function filterTables(v6: boolean): string {
  const set = (n: string) => (v6 ? `KUBE-6-${n}` : `KUBE-${n}`);
  const reject = v6 ? 'icmp6-port-unreachable' : 'icmp-port-unreachable';
  const fwd = '-m comment --comment "kubernetes forwarding rules"';
  return [
    '*mangle',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ':KUBE-IPTABLES-HINT - [0:0]',
    ':KUBE-KUBELET-CANARY - [0:0]',
    ':KUBE-PROXY-CANARY - [0:0]',
    'COMMIT',
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':KUBE-EXTERNAL-SERVICES - [0:0]',
    ':KUBE-FIREWALL - [0:0]',
    ':KUBE-FORWARD - [0:0]',
    ':KUBE-IPVS-FILTER - [0:0]',
    ':KUBE-IPVS-OUT-FILTER - [0:0]',
    ':KUBE-KUBELET-CANARY - [0:0]',
    ':KUBE-NODE-PORT - [0:0]',
    ':KUBE-NODEPORTS - [0:0]',
    ':KUBE-PROXY-CANARY - [0:0]',
    ':KUBE-PROXY-FIREWALL - [0:0]',
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-SOURCE-RANGES-FIREWALL - [0:0]',
    // iptables mode
    '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS',
    '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
    // ipvs mode
    '-A INPUT -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-FILTER',
    '-A INPUT -m comment --comment "kube-proxy firewall rules" -j KUBE-PROXY-FIREWALL',
    '-A INPUT -m comment --comment "kubernetes health check rules" -j KUBE-NODE-PORT',
    // kubelet and the host
    ...(v6 ? [] : ['-A INPUT -j KUBE-FIREWALL']),
    `-A INPUT -s ${v6 ? 'fd00:abcd::/64' : '192.0.2.0/24'} -j ACCEPT`,
    // iptables mode
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    `-A FORWARD ${fwd} -j KUBE-FORWARD`,
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
    // ipvs mode (its KUBE-FORWARD jump is the same rule as iptables mode's)
    '-A FORWARD -m comment --comment "kube-proxy firewall rules" -j KUBE-PROXY-FIREWALL',
    // iptables mode
    '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    // ipvs mode
    '-A OUTPUT -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-OUT-FILTER',
    ...(v6 ? [] : ['-A OUTPUT -j KUBE-FIREWALL']),
    ...(v6
      ? []
      : [
          '-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
        ]),
    `-A KUBE-FORWARD ${fwd} -m mark --mark 0x4000/0x4000 -j ACCEPT`,
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    `-A KUBE-IPVS-FILTER -m set --match-set ${set('CLUSTER-IP')} dst,dst -j RETURN`,
    `-A KUBE-IPVS-FILTER -m set --match-set ${set('HEALTH-CHECK-NODE-PORT')} dst -j RETURN`,
    `-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set ${set('IPVS-IPS')} dst -j REJECT --reject-with ${reject}`,
    `-A KUBE-NODE-PORT -m comment --comment "Kubernetes health check node port" -m set --match-set ${set('HEALTH-CHECK-NODE-PORT')} dst -j ACCEPT`,
    '-A KUBE-NODEPORTS -p tcp -m comment --comment "default/web-local:http health check node port" -m tcp --dport 31834 -j ACCEPT',
    '-A KUBE-SOURCE-RANGES-FIREWALL -j DROP',
    `-A KUBE-SERVICES -d ${v6 ? 'fd00:10:96::99/128' : '10.96.0.99/32'} -p tcp -m comment --comment "default/none:http has no endpoints" -m tcp --dport 80 -j REJECT --reject-with ${reject}`,
    'COMMIT',
    '',
  ].join('\n');
}

/** The extra sets the filter rules above match on (kube-proxy's ipsetInfo, ipvs/proxier.go). */
const FILTER_SETS = [
  ['KUBE-HEALTH-CHECK-NODE-PORT', 'bitmap:port', 'range', '0-65535'],
  ['KUBE-IPVS-IPS', 'hash:ip'],
  ['KUBE-6-HEALTH-CHECK-NODE-PORT', 'bitmap:port', 'range', '0-65535'],
  ['KUBE-6-IPVS-IPS', 'hash:ip', 'family', 'inet6'],
];

type Variant = 'nft' | 'legacy';

function withNs(variant: Variant, fn: (ex: (argv: string[], input?: string) => string) => void) {
  const ns = `proxylab-fn-${variant}-${process.pid}`;
  const bin = mkdtempSync(join(tmpdir(), 'proxylab-ipt-'));
  for (const t of [
    'iptables',
    'iptables-save',
    'iptables-restore',
    'ip6tables',
    'ip6tables-save',
    'ip6tables-restore',
  ]) {
    const name = t.replace(/^(ip6?tables)/, `$1-${variant}`);
    symlinkSync(existsSync(`/usr/sbin/${name}`) ? `/usr/sbin/${name}` : name, join(bin, t));
  }
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
    fn((argv, input) =>
      execFileSync('ip', ['netns', 'exec', ns, ...argv], {
        env,
        input: input ?? '',
        encoding: 'utf8',
      }),
    );
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
    rmSync(bin, { recursive: true, force: true });
  }
}

const strip = (save: string) =>
  save.split('\n').filter((l) => !l.startsWith('#') && l.trim() !== '');
const matching = (save: string, re: RegExp) => strip(save).filter((l) => re.test(l));

/** What flush-nat must remove from filter and mangle for each new mode, and nothing else. */
const GONE: Record<ProxyMode, { chains: RegExp; jumpComments: RegExp | null }> = {
  // iptables → ipvs: the chains only iptables mode owns; its own firewall jumps
  ipvs: {
    chains: /^(KUBE-EXTERNAL-SERVICES|KUBE-NODEPORTS|KUBE-SERVICES|KUBE-PROXY-CANARY)$/,
    jumpComments: /^kubernetes load balancer firewall$/,
  },
  // ipvs → iptables: the chains only ipvs mode owns; its own firewall jumps
  iptables: {
    chains: /^(KUBE-IPVS-FILTER|KUBE-IPVS-OUT-FILTER|KUBE-NODE-PORT|KUBE-SOURCE-RANGES-FIREWALL)$/,
    jumpComments: /^kube-proxy firewall rules$/,
  },
  // → nftables: every kube-proxy chain; kubelet's stay (KUBE-MARK-DROP: kubelet's before
  // 1.28, no proxier of ours owns it)
  nftables: {
    chains: /^KUBE-(?!FIREWALL$|KUBELET-CANARY$|IPTABLES-HINT$|MARK-DROP$)/,
    jumpComments: null,
  },
};

/** The lines of an iptables-save text that flush-nat is to remove for `current`. */
function removedLine(current: ProxyMode, line: string): boolean {
  const g = GONE[current];
  const decl = /^:(\S+) /.exec(line);
  if (decl) return g.chains.test(decl[1]!);
  const rule = /^-A (\S+) .*?(?:-j|-g) (\S+)/.exec(line) ?? /^-A (\S+)/.exec(line);
  if (!rule) return false;
  if (g.chains.test(rule[1]!) || (rule[2] !== undefined && g.chains.test(rule[2]))) return true;
  const comment = /--comment "([^"]*)"/.exec(line)?.[1];
  return !!(
    g.jumpComments &&
    comment &&
    !rule[1]!.startsWith('KUBE-') &&
    g.jumpComments.test(comment)
  );
}

function scenario(variant: Variant, current: ProxyMode) {
  withNs(variant, (ex) => {
    for (const s of [...IPVS_SETS, ...IPVS_SETS_6, ...FILTER_SETS]) ex(['ipset', 'create', ...s]);
    ex(['iptables-restore'], natTable({ iptablesMode: true, ipvsMode: true }));
    ex(['ip6tables-restore'], natTable6({ iptablesMode: true, ipvsMode: true }));
    ex(['iptables-restore'], filterTables(false));
    ex(['ip6tables-restore'], filterTables(true));
    const before = ex(['iptables-save', '-t', 'nat']);
    const before6 = ex(['ip6tables-save', '-t', 'nat']);
    const filterBefore =
      ex(['iptables-save', '-t', 'filter']) + ex(['iptables-save', '-t', 'mangle']);
    const filterBefore6 =
      ex(['ip6tables-save', '-t', 'filter']) + ex(['ip6tables-save', '-t', 'mangle']);
    assert.ok(matching(before, /KUBE-SVC-/).length > 0, 'fixture loaded');
    assert.ok(matching(before6, /KUBE-SVC-/).length > 0, 'IPv6 fixture loaded');
    assert.ok(matching(filterBefore, /KUBE-IPVS-FILTER/).length > 0, 'filter fixture loaded');

    const snap = snapshotFromInspect(ex(['sh', '-c', INSPECT_SCRIPT]));
    const plan = planFlush(current, snap);
    assert.ok(!isEmptyPlan(plan));
    ex(['sh', '-c', APPLY_SCRIPT], renderApplyInput(plan));
    const after = ex(['iptables-save', '-t', 'nat']);
    const after6 = ex(['ip6tables-save', '-t', 'nat']);
    assert.ok(
      plan.tables.some((t) => t.family === 'ipv6'),
      'the plan covers IPv6',
    );
    // filter and mangle, both families: exactly the lines of the modes kube-proxy left, gone
    for (const [b, a] of [
      [filterBefore, ex(['iptables-save', '-t', 'filter']) + ex(['iptables-save', '-t', 'mangle'])],
      [
        filterBefore6,
        ex(['ip6tables-save', '-t', 'filter']) + ex(['ip6tables-save', '-t', 'mangle']),
      ],
    ] as const) {
      const want = strip(b).filter((l) => !removedLine(current, l));
      assert.deepEqual(strip(a), want);
      assert.ok(strip(b).length - want.length >= 4, 'something was removed');
      // kubelet's chains and the host's own rule always stay
      assert.ok(want.some((l) => /^:KUBE-KUBELET-CANARY /.test(l)));
      assert.ok(
        want.some((l) => /-A INPUT -s (192\.0\.2\.0\/24|fd00:abcd::\/64) -j ACCEPT/.test(l)),
      );
    }
    // the host's own IPv6 rule stays
    assert.deepEqual(matching(after6, /fd00:abcd::/), matching(before6, /fd00:abcd::/));
    assert.equal(matching(after6, /fd00:abcd::/).length, 1);

    // Docker's and kind's rules: byte-identical
    const dk = /DOCKER|KIND-/;
    assert.deepEqual(matching(after, dk), matching(before, dk));
    assert.ok(matching(before, dk).length >= 13);

    const sets = () =>
      ex(['ipset', 'list', '-n'])
        .split('\n')
        .filter((s) => s.startsWith('KUBE-'))
        .sort();
    if (current === 'ipvs') {
      const leftovers = /KUBE-(SVC|SEP|SVL|EXT|FW|XLB)-|KUBE-NODEPORTS/;
      assert.deepEqual(matching(after, leftovers), []);
      assert.deepEqual(matching(after6, leftovers), []);
      // the ipvs-mode rules (what kube-proxy uses now) are untouched
      const ipvs = /match-set KUBE-|KUBE-NODE-PORT\b/;
      assert.deepEqual(matching(after, ipvs), matching(before, ipvs));
      assert.ok(matching(after, ipvs).length >= 5);
      assert.deepEqual(matching(after6, ipvs), matching(before6, ipvs));
      assert.ok(matching(after6, ipvs).length >= 4);
      assert.equal(sets().length, IPVS_SETS.length + IPVS_SETS_6.length + FILTER_SETS.length);
    } else if (current === 'iptables') {
      const leftovers = /match-set KUBE-|:KUBE-NODE-PORT |-j KUBE-NODE-PORT$/;
      assert.deepEqual(matching(after, leftovers), []);
      assert.deepEqual(matching(after6, leftovers), []);
      const ipt = /KUBE-(SVC|SEP|SVL|XLB)-|KUBE-NODEPORTS/;
      assert.deepEqual(matching(after, ipt), matching(before, ipt));
      assert.deepEqual(matching(after6, ipt), matching(before6, ipt));
      assert.deepEqual(sets(), []);
      assert.equal(countPlan(plan).ipsets, 9, 'five IPv4 sets and four KUBE-6-* sets');
    } else {
      // nftables: no kube-proxy chain is left in nat either, in both families
      for (const [b, a] of [
        [before, after],
        [before6, after6],
      ] as const)
        assert.deepEqual(
          strip(a),
          strip(b).filter((l) => !removedLine('nftables', l)),
        );
      assert.deepEqual(matching(after, /KUBE-(?!MARK-DROP)/), []);
      assert.deepEqual(sets(), []);
    }
    if (current !== 'nftables') {
      // every other nat line is unchanged too
      const other = (s: string) =>
        strip(s).filter(
          (l) => !/KUBE-(SVC|SEP|SVL|EXT|FW|XLB)-|KUBE-NODEPORTS|KUBE-NODE-PORT|match-set/.test(l),
        );
      assert.deepEqual(other(after), other(before));
      assert.deepEqual(other(after6), other(before6));
    }
    // a second run finds nothing left
    assert.ok(
      isEmptyPlan(planFlush(current, snapshotFromInspect(ex(['sh', '-c', INSPECT_SCRIPT])))),
    );
  });
}

for (const variant of ['nft', 'legacy'] as const) {
  test(
    `iptables-${variant}: after iptables→ipvs the KUBE-SVC/SEP leftovers go, ipvs rules and DOCKER/KIND stay`,
    { skip },
    () => scenario(variant, 'ipvs'),
  );
  test(
    `iptables-${variant}: after ipvs→iptables the match-set rules and KUBE-* ipsets go, iptables rules and DOCKER/KIND stay`,
    { skip },
    () => scenario(variant, 'iptables'),
  );
  test(
    `iptables-${variant}: after → nftables every kube-proxy chain of both modes goes (nat, filter, mangle, IPv4 and IPv6) and the KUBE-* and KUBE-6-* sets; kubelet's, Docker's and kind's stay`,
    { skip },
    () => scenario(variant, 'nftables'),
  );
}
