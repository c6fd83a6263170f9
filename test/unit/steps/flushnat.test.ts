import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  natTable,
  IPTABLES_MODE_RULES,
  IPVS_MODE_RULES,
  DOCKER_KIND_RULES,
  fixtureBody,
  natTable6,
} from './nat-fixture.js';
import {
  APPLY_SCRIPT,
  INSPECT_SCRIPT,
  countPlan,
  describePlan,
  isEmptyPlan,
  parseIpvsadmSave,
  planFlush,
  renderApplyInput,
  renderIptablesRestore,
  snapshotFromInspect,
} from '../../../src/steps/flushnat.js';

test('a rule is named for -D exactly as iptables-save printed it; output that is not iptables-save is refused', () => {
  const save = [
    '*nat',
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-SVC-ABCDEFGHIJKLMNOP - [0:0]',
    '-A KUBE-SERVICES -d 10.96.0.10/32 -p udp -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp --dport 53 -j KUBE-SVC-ABCDEFGHIJKLMNOP',
    'COMMIT',
    '',
  ].join('\n');
  const p = planFlush('ipvs', { iptablesSave: save, ip6tablesSave: '', kubeIpvs0: false });
  assert.deepEqual(p.tables[0]!.deleteRules, [
    {
      chain: 'KUBE-SERVICES',
      spec: '-d 10.96.0.10/32 -p udp -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp --dport 53 -j KUBE-SVC-ABCDEFGHIJKLMNOP',
    },
  ]);
  assert.throws(
    () =>
      planFlush('ipvs', { iptablesSave: 'Permission denied (you must be root)', kubeIpvs0: false }),
    /not iptables output/,
  );
});

test('after iptables→ipvs: every KUBE-SVC/SEP/SVL/XLB chain, KUBE-NODEPORTS and the jumps to them go; ipvs rules and DOCKER/KIND stay', () => {
  const save = natTable({ iptablesMode: true, ipvsMode: true });
  const p = planFlush('ipvs', { iptablesSave: save, kubeIpvs0: true });
  assert.equal(p.tables.length, 1);
  const nat = p.tables[0]!;
  assert.equal(nat.table, 'nat');
  assert.deepEqual(nat.deleteChains.sort(), [
    'KUBE-NODEPORTS',
    'KUBE-SEP-EMZSNZ2TWKTA6UM4', // referenced only (from fixture 08's KUBE-SVC) — declared, so deleted
    'KUBE-SEP-KTGIEIH27TIG3JO7',
    'KUBE-SEP-MNGWCV7VA4JSYYKU',
    'KUBE-SEP-SQEBHSRBMT4ZUBXZ',
    'KUBE-SEP-SUSDB4Q4CAFDFR7F',
    'KUBE-SVC-QKNQQNIN727HO3XU',
    'KUBE-SVC-VPG43MSD43N5Z7KJ',
    'KUBE-SVL-VPG43MSD43N5Z7KJ',
    'KUBE-XLB-QKNQQNIN727HO3XU',
  ]);
  // kept chains lose exactly their jumps into the doomed chains
  assert.deepEqual(nat.deleteRules, [
    {
      chain: 'KUBE-SERVICES',
      spec: '-d 10.96.115.88/32 -p tcp -m comment --comment "default/test-svc cluster IP" -m tcp --dport 80 -j KUBE-SVC-QKNQQNIN727HO3XU',
    },
    {
      chain: 'KUBE-SERVICES',
      spec: '-m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
    },
  ]);
  const text = describePlan(p).join('\n');
  for (const r of [...IPVS_MODE_RULES, ...DOCKER_KIND_RULES])
    assert.ok(!text.includes(r.slice(3)), `kept: ${r}`);
  assert.doesNotMatch(text, /DOCKER|KIND-/);
  // the ipvs side is what runs now: nothing of it is planned
  assert.deepEqual([p.ipvsServices, p.ipsets, p.deleteKubeIpvs0], [[], [], false]);
  assert.deepEqual(countPlan(p), { rules: 2, chains: 10, ipvsServices: 0, ipsets: 0, links: 0 });
});

test('the restore text deletes rules first, flushes every doomed chain before deleting any', () => {
  const p = planFlush('ipvs', {
    iptablesSave: natTable({ iptablesMode: true, ipvsMode: true }),
    kubeIpvs0: false,
  });
  const lines = renderIptablesRestore(p).trimEnd().split('\n');
  assert.equal(lines[0], '*nat');
  assert.equal(lines.at(-1), 'COMMIT');
  const kinds = lines.slice(1, -1).map((l) => l.slice(0, 2));
  assert.deepEqual(
    kinds,
    [...kinds].sort((a, b) => '-D-F-X'.indexOf(a) - '-D-F-X'.indexOf(b)),
  );
  assert.equal(kinds.filter((k) => k === '-F').length, 10);
  assert.equal(kinds.filter((k) => k === '-X').length, 10);
});

test('after ipvs→iptables: match-set rules, KUBE-NODE-PORT, virtual servers, KUBE-* ipsets and kube-ipvs0 go; iptables-mode rules stay', () => {
  const ipvsadm =
    '-A -t 10.96.0.1:443 -s rr\n-a -t 10.96.0.1:443 -r 172.18.0.3:6443 -m -w 1\n-A -u 10.96.0.10:53 -s rr\n';
  const p = planFlush('iptables', {
    iptablesSave: natTable({ iptablesMode: true, ipvsMode: true }),
    ipvsadmSave: ipvsadm,
    ipsetNames: 'KUBE-CLUSTER-IP\nKUBE-NODE-PORT-TCP\nKUBE-LOOP-BACK\nmy-own-set\n',
    kubeIpvs0: true,
  });
  const nat = p.tables[0]!;
  assert.deepEqual(nat.deleteChains, ['KUBE-NODE-PORT']);
  assert.deepEqual(
    nat.deleteRules.map((r) => `-A ${r.chain} ${r.spec}`).sort(),
    IPVS_MODE_RULES.filter((r) => !r.startsWith('-A KUBE-NODE-PORT ')).sort(), // that one goes with its chain
  );
  assert.deepEqual(p.ipvsServices, [
    { proto: '-t', address: '10.96.0.1:443' },
    { proto: '-u', address: '10.96.0.10:53' },
  ]);
  assert.deepEqual(p.ipsets, ['KUBE-CLUSTER-IP', 'KUBE-NODE-PORT-TCP', 'KUBE-LOOP-BACK']);
  assert.equal(p.deleteKubeIpvs0, true);
  const text = describePlan(p).join('\n');
  for (const r of IPTABLES_MODE_RULES) assert.ok(!text.includes(r.slice(3)), `kept: ${r}`);
  assert.doesNotMatch(text, /my-own-set|DOCKER|KIND-/);
});

test('a clean node (only the current mode) gives an empty plan', () => {
  assert.ok(
    isEmptyPlan(
      planFlush('ipvs', {
        iptablesSave: natTable({ ipvsMode: true }),
        ipvsadmSave: '',
        ipsetNames: 'KUBE-CLUSTER-IP\n',
        kubeIpvs0: true,
      }),
    ),
  );
  assert.ok(
    isEmptyPlan(
      planFlush('iptables', {
        iptablesSave: natTable({ iptablesMode: true }),
        ipvsadmSave: '',
        ipsetNames: '',
        kubeIpvs0: false,
      }),
    ),
  );
});

test('nftables: both iptables-mode and ipvs-mode leftovers go', () => {
  const p = planFlush('nftables', {
    iptablesSave: natTable({ iptablesMode: true, ipvsMode: true }),
    kubeIpvs0: false,
  });
  assert.deepEqual(p.leftoversOf, ['iptables', 'ipvs']);
  // + KUBE-SERVICES, KUBE-POSTROUTING, KUBE-MARK-MASQ: shared by iptables and ipvs mode, used by neither in nftables mode
  assert.equal(countPlan(p).chains, 14);
  assert.match(p.notes.join('\n'), /ipset is not installed/);
});

test('the real ipvsadm -Ln fixture services have the -Sn form we parse', () => {
  // ipvsadm -Sn prints "-A -t VIP:PORT -s rr" for each "TCP  VIP:PORT rr" of -Ln
  const ln = fixtureBody('ipvsadm/20-hwchiu-fresh-kubeadm-ipvs.txt');
  const sn = [...ln.matchAll(/^(TCP|UDP)\s+(\S+) (\w+)/gm)]
    .map((m) => `-A ${m[1] === 'TCP' ? '-t' : '-u'} ${m[2]} -s ${m[3]}`)
    .join('\n');
  assert.deepEqual(
    parseIpvsadmSave(sn).map((s) => s.address),
    ['10.96.0.1:443', '10.96.0.10:53', '10.96.0.10:9153', '10.96.0.10:53'],
  );
});

test('inspection output splits into sections; a missing tool shows as undefined, a cut output throws', () => {
  const text = `### proxylab:iptables-save\n*nat\nCOMMIT\n### proxylab:ipset\nKUBE-CLUSTER-IP\n### proxylab:end\n`;
  const s = snapshotFromInspect(text);
  assert.equal(s.iptablesSave, '*nat\nCOMMIT');
  assert.equal(s.ipvsadmSave, undefined);
  assert.equal(s.ipsetNames, 'KUBE-CLUSTER-IP');
  assert.equal(s.kubeIpvs0, false);
  assert.equal(s.ip6tablesSave, undefined);
  assert.match(planFlush('ipvs', s).notes.join('\n'), /ip6tables-save is not available/);
  assert.equal(
    snapshotFromInspect(`### proxylab:ip6tables-save\n*nat\nCOMMIT\n${text}`).ip6tablesSave,
    '*nat\nCOMMIT',
  );
  assert.throws(() => snapshotFromInspect('### proxylab:iptables-save\n*nat\n'), /cut short/);
  assert.match(INSPECT_SCRIPT, /iptables-save/);
  assert.match(INSPECT_SCRIPT, /ip6tables-save/);
});

test("IPv6: the dual-stack proxier's leftovers are planned per family and rendered for ip6tables", () => {
  const p = planFlush('ipvs', {
    iptablesSave: natTable({ ipvsMode: true }),
    ip6tablesSave: natTable6({ iptablesMode: true, ipvsMode: true }),
    kubeIpvs0: true,
  });
  assert.deepEqual(
    p.tables.map((t) => `${t.family}/${t.table}`),
    ['ipv6/nat'],
    'the IPv4 table has no leftovers, the IPv6 one does',
  );
  const v6 = p.tables[0]!;
  assert.deepEqual(v6.deleteChains.sort(), [
    'KUBE-NODEPORTS',
    'KUBE-SEP-V6EP7KQ3MZ2WLR4A',
    'KUBE-SVC-V6WEBQ2XCTM4IN5Z',
  ]);
  assert.equal(v6.deleteRules.length, 2, 'the two KUBE-SERVICES jumps into them');
  assert.equal(renderIptablesRestore(p), '', 'nothing for iptables-restore');
  const r6 = renderIptablesRestore(p, 'ipv6');
  assert.match(r6, /^-D KUBE-SERVICES -d fd00:10:96::a\/128 .* -j KUBE-SVC-V6WEBQ2XCTM4IN5Z$/m);
  assert.match(r6, /^-X KUBE-NODEPORTS$/m);
  assert.match(renderApplyInput(p), /^### proxylab:ip6tables$/m);
  assert.ok(describePlan(p).every((l) => l.startsWith('ip6tables -t nat ')));
  assert.match(APPLY_SCRIPT, /ip6tables-restore --noflush < "\$d\/ip6tables"/);
});

test('apply input has one section per restore command, in dependency order', () => {
  const p = planFlush('iptables', {
    iptablesSave: natTable({ iptablesMode: true, ipvsMode: true }),
    ip6tablesSave: natTable6({ iptablesMode: true, ipvsMode: true }),
    ipvsadmSave: '-A -t 10.96.0.1:443 -s rr\n',
    ipsetNames: 'KUBE-CLUSTER-IP\nKUBE-6-CLUSTER-IP\n',
    kubeIpvs0: true,
  });
  const input = renderApplyInput(p);
  const sections = [...input.matchAll(/^### proxylab:(\S+)$/gm)].map((m) => m[1]);
  // the rules that use the sets (both families) go before the sets
  assert.deepEqual(sections, ['iptables', 'ip6tables', 'ipvsadm', 'ipset', 'kube-ipvs0']);
  assert.match(input, /^destroy KUBE-6-CLUSTER-IP$/m);
  assert.match(input, /^-D -t 10\.96\.0\.1:443$/m);
  assert.match(input, /^destroy KUBE-CLUSTER-IP$/m);
  assert.doesNotMatch(APPLY_SCRIPT, /\$\{/); // constant script, nothing interpolated from input
});
