/**
 * The N-service generators: kube-proxy's chain names (checked against hashes seen in real
 * outputs), exact counts, and the shapes kube-proxy writes. That the kernel accepts them is
 * checked in test/kernel/scale-generate.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { real } from '../../helpers/fixtures.js';
import {
  base32,
  iptablesEndpointChain,
  iptablesServiceChain,
  nftBaseName,
  nftEndpointChain,
  nftServiceChain,
  servicePortName,
} from '../../../src/scale/names.js';
import {
  iptablesAddOne,
  iptablesFull,
  ipvsAddOne,
  ipvsFull,
  makeServices,
  nftAddOne,
  nftFull,
  vipFor,
} from '../../../src/scale/generate.js';
import { parseIptables, kubeProxyView } from '../../../src/inspect/iptables.js';
import { parseIpset } from '../../../src/inspect/ipset.js';

test('base32 matches RFC 4648 test vectors', () => {
  const enc = (s: string) => base32(new TextEncoder().encode(s));
  assert.equal(enc('f'), 'MY');
  assert.equal(enc('fo'), 'MZXQ');
  assert.equal(enc('foobar'), 'MZXW6YTBOI');
});

test('iptables chain names are the ones kube-proxy printed in real outputs', () => {
  // fixture 03: KUBE-SVC-NPX46M4PTMTKRN6Y is default/kubernetes:https
  const f03 = real('iptables/03-nL-KUBE-SVC-single-endpoint.txt').body;
  assert.match(
    f03,
    new RegExp(`Chain ${iptablesServiceChain('default/kubernetes:https', 'tcp')} `),
  );
  // fixture 01: default/test-svc with endpoints 10.244.1.3:80 and 10.244.2.3:80
  const f01 = real('iptables/01-kind-nodeport-local-xlb-grep.txt').body;
  const svc = iptablesServiceChain('default/test-svc', 'tcp');
  assert.equal(svc, 'KUBE-SVC-QKNQQNIN727HO3XU');
  assert.ok(f01.includes(`-j ${svc}`));
  for (const ep of ['10.244.1.3:80', '10.244.2.3:80']) {
    const sep = iptablesEndpointChain('default/test-svc', ep, 'tcp');
    assert.ok(
      f01.includes(
        `-A ${sep} -p tcp -m comment --comment "default/test-svc" -m tcp -j DNAT --to-destination ${ep}`,
      ),
      `${sep} for ${ep}`,
    );
  }
  // fixture 08 (kind, KEP-2086): three endpoints of default/agnhost-server
  const f08 = real('iptables/08-kep2086-KUBE-SVC-3-endpoints-probability.txt').body;
  assert.ok(f08.includes(`-A ${iptablesServiceChain('default/agnhost-server')} `));
  assert.ok(f08.includes(`-j ${iptablesEndpointChain('default/agnhost-server', '10.244.1.4:80')}`));
  assert.equal(servicePortName('default', 'kubernetes', 'https'), 'default/kubernetes:https');
  assert.equal(servicePortName('default', 'test-svc', ''), 'default/test-svc');
});

test('nftables chain names follow kube-proxy (service-HASH8-ns/name/proto/port)', () => {
  // Hashes seen in `nft list table ip kube-proxy` on real clusters.
  assert.equal(
    nftServiceChain(nftBaseName('default', 'kubernetes', 'https')),
    'service-2QRHZV4L-default/kubernetes/tcp/https',
  );
  assert.equal(
    nftServiceChain(nftBaseName('kube-system', 'kube-dns', 'dns', 'udp')),
    'service-FY5PMXPG-kube-system/kube-dns/udp/dns',
  );
  assert.equal(
    nftEndpointChain(nftBaseName('kube-system', 'kube-dns', 'dns', 'udp'), '192.168.1.2', 53),
    'endpoint-O6ON3DXL-kube-system/kube-dns/udp/dns__192.168.1.2/53',
  );
});

test('services: VIPs, names and default endpoints are distinct and deterministic', () => {
  const s = makeServices(300);
  assert.equal(s.length, 300);
  assert.equal(s[0]!.clusterIP, '10.100.0.1');
  assert.equal(s[299]!.clusterIP, '10.100.1.44');
  assert.equal(new Set(s.map((x) => x.clusterIP)).size, 300);
  assert.equal(new Set(s.flatMap((x) => x.endpoints.map((e) => e.ip))).size, 600);
  assert.equal(s[7]!.name, 'svc-00007');
  assert.equal(vipFor(254), '10.100.0.255');
  assert.deepEqual(makeServices(1, { start: 300 })[0]!.clusterIP, vipFor(300));
  assert.throws(() => makeServices(-1), RangeError);
});

test('iptables full sync: exact counts, 8 + 8N rules and 4 + 3N chains, kube-proxy shapes', () => {
  for (const n of [0, 1, 10, 250]) {
    const r = iptablesFull(makeServices(n));
    assert.equal(r.counts.rules, 8 + 8 * n, `rules at N=${n}`);
    assert.equal(r.counts.chains, 4 + 3 * n, `chains at N=${n}`);
    const lines = r.restore.split('\n');
    assert.equal(lines.filter((l) => l.startsWith('-A ')).length, r.counts.rules);
    assert.equal(lines.filter((l) => l.startsWith(':')).length, r.counts.chains);
    assert.equal(lines[0], '*nat');
    assert.ok(r.restore.endsWith('COMMIT\n'));
  }
  const r = iptablesFull(makeServices(3));
  assert.match(
    r.restore,
    /-m comment --comment "scale\/svc-00002:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-[A-Z2-7]{16}\n/,
  );
  assert.match(
    r.restore,
    /-m statistic --mode random --probability 0\.50000000000 -j KUBE-SEP-[A-Z2-7]{16}\n/,
  );
  assert.match(r.restore, /-j DNAT --to-destination 10\.244\.1\.5:8080\n/);
  assert.match(
    r.restore,
    /-s 10\.244\.1\.5\/32 -m comment --comment "scale\/svc-00002:http" -j KUBE-MARK-MASQ\n/,
  );
  // The NodePorts jump must stay the last rule of KUBE-SERVICES.
  const services = r.restore.split('\n').filter((l) => l.startsWith('-A KUBE-SERVICES'));
  assert.match(services[services.length - 1]!, /-j KUBE-NODEPORTS$/);
});

test('iptables output reads back through the inspect parser as kube-proxy services', () => {
  const dump = parseIptables(iptablesFull(makeServices(5)).restore);
  assert.equal(dump.ruleCount, 48);
  const view = kubeProxyView(dump);
  assert.equal(view.services.length, 5);
  const svc = view.services.find((s) => s.clusterIP?.startsWith('10.100.0.3'));
  assert.ok(svc, 'svc-00002 found');
  assert.equal(svc.endpoints.length, 2);
  assert.deepEqual(
    svc.endpoints.map((e) => e.probability),
    [0.5, null],
  );
});

test('iptables partial sync adds one service: KUBE-SERVICES rewritten whole, 7 new rules', () => {
  const existing = makeServices(100);
  const added = makeServices(1, { start: 100 })[0]!;
  const r = iptablesAddOne(existing, added);
  assert.equal(r.counts.chains, 3);
  assert.equal(r.counts.rules, 7 + 101 + 1);
  assert.ok(r.restore.includes(':KUBE-SERVICES - [0:0]'));
  assert.ok(!r.restore.includes(':KUBE-POSTROUTING'));
});

test('ipvs: one virtual server, two real servers, one set member and one bound address per service', () => {
  const r = ipvsFull(makeServices(40));
  assert.deepEqual(
    {
      vs: r.counts.virtualServers,
      rs: r.counts.realServers,
      members: r.counts.setMembers,
      addrs: r.counts.boundAddresses,
      rules: r.counts.rules,
    },
    { vs: 40, rs: 80, members: 40, addrs: 40, rules: 10 },
  );
  const ipvsLines = r.ipvsadm.trim().split('\n');
  assert.equal(ipvsLines.filter((l) => l.startsWith('-A -t ')).length, 40);
  assert.equal(ipvsLines.filter((l) => / -r 10\.244\.\d+\.\d+:8080 -m -w 1$/.test(l)).length, 80);
  assert.equal(ipvsLines[0], '-A -t 10.100.0.1:80 -s rr');
  const sets = parseIpset(r.ipset);
  assert.equal(sets.sets[0]!.name, 'KUBE-CLUSTER-IP');
  assert.equal(sets.sets[0]!.type, 'hash:ip,port');
  assert.equal(sets.sets[0]!.members.length, 40);
  assert.ok(r.iptables.includes('-m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ'));
  assert.equal(r.ipBatch.split('\n').filter((l) => l.startsWith('address add ')).length, 40);
  const one = ipvsAddOne(makeServices(1, { start: 40 })[0]!);
  assert.equal(one.ipvsadm.trim().split('\n').length, 3);
  assert.equal(one.ipset, 'add KUBE-CLUSTER-IP 10.100.0.41,tcp:80\n');
});

test('nftables: 9 + 6N rules, 6 + 3N chains, N service-ips elements; numgen vmap and dnat', () => {
  for (const n of [0, 1, 50]) {
    const r = nftFull(makeServices(n));
    assert.equal(r.counts.rules, 9 + 6 * n);
    assert.equal(r.counts.chains, 6 + 3 * n);
    assert.equal(r.counts.setMembers, n);
    const lines = r.script.split('\n');
    assert.equal(lines.filter((l) => l.startsWith('add rule ')).length, r.counts.rules);
    assert.equal(lines.filter((l) => l.startsWith('add chain ')).length, r.counts.chains);
    assert.equal(
      lines.filter((l) => l.startsWith('add element ip kube-proxy service-ips ')).length,
      n,
    );
  }
  const r = nftFull(makeServices(2));
  assert.match(
    r.script,
    /numgen random mod 2 vmap \{ 0 : goto endpoint-[A-Z2-7]{8}-scale\/svc-00001\/tcp\/http__10\.244\.1\.2\/8080 , 1 : goto endpoint-/,
  );
  assert.match(r.script, /meta l4proto tcp dnat to 10\.244\.1\.3:8080\n/);
  assert.match(
    r.script,
    /add element ip kube-proxy service-ips \{ 10\.100\.0\.2 \. tcp \. 80 : goto service-[A-Z2-7]{8}-scale\/svc-00001\/tcp\/http \}/,
  );
  // Every chain is declared before a rule jumps to it (nft -f fails otherwise).
  const declared = new Set<string>();
  for (const l of r.script.split('\n')) {
    const c = /^add chain ip kube-proxy (\S+)/.exec(l);
    if (c) declared.add(c[1]!);
    for (const m of l.matchAll(/(?:goto|jump) (\S+?)(?=[ ,}]|$)/g))
      assert.ok(declared.has(m[1]!), `${m[1]} declared before use`);
  }
  const one = nftAddOne(makeServices(1, { start: 2 })[0]!);
  assert.equal(one.counts.rules, 6);
  assert.equal(one.counts.chains, 3);
});
