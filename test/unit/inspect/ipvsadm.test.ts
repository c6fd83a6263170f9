import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIpvsadm, ParseError, type IpvsTable } from '../../../src/inspect/index.js';
import { real, realFiles, seed, seedFiles } from '../../helpers/fixtures.js';

const vs = (t: IpvsTable) =>
  t.services.map((s) => `${s.protocol} ${s.address}:${s.port} ${s.scheduler}`);
const rsOf = (t: IpvsTable, i: number) =>
  t.services[i]!.realServers.map((r) => `${r.address}:${r.port}`);

const REAL: Record<string, (t: IpvsTable) => void> = {
  'ipvsadm/01-opsnull-v1.16-multinode-loop.txt': (t) => {
    assert.equal(t.services.length, 3);
    assert.deepEqual(
      t.services.map((s) => s.section),
      ['172.27.138.251', '172.27.137.229', '172.27.138.239'],
    );
    assert.deepEqual(vs(t), Array(3).fill('TCP 10.254.0.1:443 rr'));
    assert.deepEqual(rsOf(t, 0), [
      '172.27.137.229:6443',
      '172.27.138.239:6443',
      '172.27.138.251:6443',
    ]);
    assert.equal(t.services[2]!.realServers.length, 2);
    assert.deepEqual(t.services[0]!.realServers[0], {
      address: '172.27.137.229',
      port: 6443,
      forward: 'Masq',
      weight: 1,
      activeConn: 0,
      inActConn: 0,
      numeric: true,
      line: 6,
    });
  },
  'ipvsadm/02-opsnull-v1.10-persistent-10800.txt': (t) => {
    assert.equal(t.services.length, 3);
    for (const s of t.services) {
      assert.equal(s.persistent, 10800);
      assert.equal(s.scheduler, 'rr');
      assert.deepEqual(rsOf(t, 0), ['172.27.129.105:6443']);
    }
  },
  'ipvsadm/03-kube-router-toolbox-persistent-mask.txt': (t) => {
    assert.equal(t.services.length, 5);
    assert.equal(t.services[0]!.persistent, 10800);
    assert.equal(t.services[0]!.mask, '0.0.0.0');
    assert.deepEqual(t.services[0]!.flags, []);
    assert.equal(t.services[2]!.realServers[0]!.activeConn, 45);
    assert.equal(t.services[4]!.protocol, 'UDP');
    assert.equal(t.services[1]!.persistent, null);
  },
  'ipvsadm/04-minikube-nodeport-docker-bridges.txt': (t) => {
    assert.equal(t.services.length, 10);
    assert.equal(t.services.filter((s) => s.port === 32470).length, 4);
    assert.deepEqual(rsOf(t, 0), ['172.17.0.3:80', '172.17.0.4:80']);
    assert.equal(t.services[9]!.protocol, 'UDP');
    assert.equal(
      t.services.reduce((n, s) => n + s.realServers.length, 0),
      16,
    );
  },
  'ipvsadm/05-kep265-session-affinity-no-destinations.txt': (t) => {
    assert.deepEqual(vs(t), ['TCP 10.102.128.4:3080 rr']);
    assert.equal(t.services[0]!.persistent, 10800);
    assert.deepEqual(t.services[0]!.realServers, []);
  },
  'ipvsadm/06-kep265-lb-ingress-trailing-spaces.txt': (t) => {
    assert.deepEqual(vs(t), [
      'TCP 10.102.128.4:3080 rr',
      'TCP 10.96.1.2:3080 rr',
      'TCP 10.96.1.3:3080 rr',
    ]);
    for (const s of t.services)
      assert.deepEqual(
        s.realServers.map((r) => `${r.address}:${r.port}`),
        ['10.244.0.235:8080'],
      );
    assert.deepEqual(t.skipped, []);
  },
  'ipvsadm/07-kep265-typo-Port-header.txt': (t) => {
    assert.deepEqual(vs(t), ['TCP 10.102.128.4:3080 rr']);
    assert.deepEqual(rsOf(t, 0), ['10.244.0.235:8080', '10.244.1.237:8080']);
    assert.deepEqual(t.skipped, []);
  },
  'ipvsadm/15-lnc-connections-k8s-node.txt': (t) => {
    assert.deepEqual(t.layouts, ['connections']);
    assert.equal(t.services.length, 0);
    assert.equal(t.connections.length, 3);
    const [a, b] = t.connections;
    assert.equal(a!.state, 'ESTABLISHED');
    assert.equal(a!.expireSeconds, 14 * 60 + 52);
    assert.deepEqual(a!.virtual, { address: '10.96.0.1', port: 443 });
    assert.deepEqual(a!.destination, { address: '172.38.40.214', port: 6443 });
    assert.equal(b!.protocol, 'UDP');
    assert.equal(b!.state, 'UDP');
    assert.deepEqual(b!.source, { address: '10.244.3.244', port: 39398 });
  },
  'ipvsadm/16-timeout-k8s-node.txt': (t) => {
    assert.deepEqual(t.timeout, { tcp: 900, tcpfin: 120, udp: 300 });
    assert.deepEqual(t.layouts, ['timeout']);
  },
  'ipvsadm/17-stats-nodeport-3-apiservers.txt': (t) => {
    assert.deepEqual(t.layouts, ['stats']);
    assert.equal(t.services.length, 2);
    const k = t.services[1]!;
    assert.equal(k.address, '10.96.0.1');
    assert.equal(k.scheduler, null, 'the --stats layout prints no scheduler');
    assert.deepEqual(k.stats, {
      conns: 66,
      inPkts: 4327,
      outPkts: 4056,
      inBytes: 500036,
      outBytes: 4558037,
    });
    assert.equal(k.realServers.length, 3);
    assert.equal(k.realServers[1]!.stats!.outBytes, 2923352);
    assert.equal(k.realServers[1]!.forward, null);
    assert.equal(k.realServers[1]!.activeConn, null);
  },
  'ipvsadm/18-stats-with-author-annotation.txt': (t) => {
    assert.deepEqual(t.layouts, ['stats']);
    assert.equal(t.services[0]!.address, '10.85.0.10');
    assert.equal(t.services[0]!.port, 9153);
    assert.deepEqual(t.services[0]!.stats, {
      conns: 0,
      inPkts: 0,
      outPkts: 0,
      inBytes: 0,
      outBytes: 0,
    });
    assert.deepEqual(rsOf(t, 0), ['172.22.34.187:9153']);
    assert.deepEqual(t.skipped, []);
  },
  'ipvsadm/19-ssup2-headerless-body-only.txt': (t) => {
    assert.equal(t.version, null);
    assert.equal(t.services.length, 6);
    assert.equal(t.services[2]!.address, '172.35.0.200');
    for (const s of t.services) assert.equal(s.realServers.length, 3);
    assert.deepEqual(t.skipped, []);
  },
  'ipvsadm/20-hwchiu-fresh-kubeadm-ipvs.txt': (t) => {
    assert.equal(t.version, '1.2.1');
    assert.equal(t.tableSize, 4096);
    assert.deepEqual(vs(t), [
      'TCP 10.96.0.1:443 rr',
      'TCP 10.96.0.10:53 rr',
      'TCP 10.96.0.10:9153 rr',
      'UDP 10.96.0.10:53 rr',
    ]);
    assert.equal(t.services[0]!.realServers[0]!.activeConn, 3);
    assert.deepEqual(rsOf(t, 3), ['10.244.0.2:53', '10.244.0.3:53']);
  },
  'ipvsadm/21-hwchiu-grep-rr-nodeport-all-ips.txt': (t) => {
    assert.equal(t.services.length, 12);
    assert.equal(t.services.filter((s) => s.port === 31543).length, 6);
    assert.ok(t.services.every((s) => s.realServers.length === 0));
    assert.equal(t.services[5]!.address, '127.0.0.1');
  },
  'ipvsadm/22-int32bit-save-Sn-grep-clusterip.txt': (t) => {
    assert.deepEqual(t.layouts, ['save']);
    assert.deepEqual(vs(t), ['TCP 10.96.54.11:8080 rr']);
    assert.deepEqual(rsOf(t, 0), ['10.244.1.2:8080', '10.244.1.3:8080', '10.244.2.2:8080']);
    assert.equal(t.services[0]!.realServers[0]!.forward, 'Masq');
    assert.equal(t.services[0]!.realServers[0]!.weight, 1);
    assert.equal(t.services[0]!.realServers[0]!.activeConn, null, 'save format has no counters');
  },
  'ipvsadm/23-int32bit-save-Sn-grep-nodeport.txt': (t) => {
    assert.deepEqual(vs(t), ['TCP 192.168.193.172:32016 rr']);
    assert.deepEqual(rsOf(t, 0), ['10.244.1.2:8080', '10.244.1.3:8080', '10.244.3.2:8080']);
  },
};

test('every shared ipvsadm real output parses to the values it shows', () => {
  const files = realFiles('ipvsadm');
  assert.ok(files.length >= 16, `expected the shared ipvsadm fixtures, found ${files.length}`);
  for (const f of files) {
    const check = REAL[f];
    assert.ok(check, `${f}: no assertions written for this fixture`);
    check(parseIpvsadm(real(f).body));
  }
});

const SEEDS: Record<string, (t: IpvsTable) => void> = {
  '000-ipvsadm-ln-coredns-no-endpoints.txt': (t) => {
    assert.deepEqual(vs(t), [
      'TCP 10.49.0.1:443 rr',
      'TCP 10.49.0.10:53 rr',
      'TCP 10.49.0.10:9153 rr',
      'UDP 10.49.0.10:53 rr',
    ]);
    assert.deepEqual(rsOf(t, 0), ['10.0.0.104:6443']);
    assert.deepEqual(
      t.services.slice(1).map((s) => s.realServers.length),
      [0, 0, 0],
    );
  },
  '000-ipvsadm-ln-scheduler-rr.txt': (t) => {
    assert.ok(t.services.every((s) => s.scheduler === 'rr'));
    assert.equal(t.services.length, 4);
  },
  '000-ipvsadm-ln-persistent-10800.txt': (t) => {
    assert.deepEqual(vs(t), ['TCP 10.102.128.4:3080 rr']);
    assert.equal(t.services[0]!.persistent, 10800);
  },
  '001-ipvsadm-ln-kind-web.txt': (t) => {
    assert.equal(t.services.length, 12);
    const web = t.services.find((s) => s.address === '10.96.119.228')!;
    assert.deepEqual(
      web.realServers.map((r) => `${r.address}:${r.port}`),
      ['10.244.1.6:80', '10.244.2.4:80'],
    );
    assert.deepEqual(
      t.services.filter((s) => s.port === 31730).map((s) => s.address),
      ['192.168.224.4', '10.244.2.1', '127.0.0.1'],
    );
    assert.equal(t.services[11]!.realServers[0]!.inActConn, 8);
  },
  '003-ipvsadm-Ln-wlc-by-hand.txt': (t) => {
    assert.deepEqual(vs(t), ['TCP 10.0.0.185:80 wlc']);
    assert.deepEqual(
      t.services[0]!.realServers.map((r) => r.inActConn),
      [1, 1],
    );
  },
  '004-ipvsadm-ln-grep-A3.txt': (t) => {
    assert.deepEqual(vs(t), ['TCP 10.200.61.128:80 rr', 'UDP 10.200.0.10:53 rr']);
    assert.deepEqual(rsOf(t, 0), ['10.100.1.70:80', '10.100.5.9:80']);
  },
};

test('every ipvsadm block in the seeds parses to its values', () => {
  const files = seedFiles('ipvsadm');
  assert.equal(files.length, Object.keys(SEEDS).length);
  for (const f of files) {
    assert.ok(SEEDS[f], `${f}: no assertions`);
    SEEDS[f]!(parseIpvsadm(seed(f).body));
  }
});

test('IPv6 virtual and real servers come back without brackets', () => {
  const t = parseIpvsadm(
    [
      'IP Virtual Server version 1.2.1 (size=4096)',
      'Prot LocalAddress:Port Scheduler Flags',
      '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
      'TCP  [fd00:10:96::a]:53 rr',
      '  -> [fd00:10:244:1::5]:53         Masq    1      0          0',
      'SCTP  10.96.0.20:9999 sh',
      '  -> 10.244.1.7:9999               Route   0      0          0',
      'FWM  42 wlc persistent 60 ops',
      '  -> 10.244.1.8:0                  Tunnel  2      1          1',
      '  -> 10.244.1.9:0                  Local   1      0          0',
    ].join('\n'),
  );
  assert.equal(t.services[0]!.address, 'fd00:10:96::a');
  assert.equal(t.services[0]!.realServers[0]!.address, 'fd00:10:244:1::5');
  assert.equal(t.services[1]!.protocol, 'SCTP');
  assert.equal(t.services[1]!.realServers[0]!.weight, 0, 'weight-0 servers are kept');
  assert.equal(t.services[1]!.realServers[0]!.forward, 'Route');
  const fwm = t.services[2]!;
  assert.equal(fwm.protocol, 'FWM');
  assert.equal(fwm.fwmark, 42);
  assert.equal(fwm.address, null);
  assert.equal(fwm.persistent, 60);
  assert.equal(fwm.ops, true);
  assert.deepEqual(
    fwm.realServers.map((r) => r.forward),
    ['Tunnel', 'Local'],
  );
});

test('--rate, --persistent-conn and non-numeric -L names', () => {
  const rate = parseIpvsadm(
    [
      'IP Virtual Server version 1.2.1 (size=4096)',
      'Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS',
      '  -> RemoteAddress:Port',
      'TCP  10.96.0.1:443                       2       30       28     4100     9800',
      '  -> 172.18.0.2:6443                     2       30       28     4100     9800',
    ].join('\n'),
  );
  assert.deepEqual(rate.layouts, ['rate']);
  assert.deepEqual(rate.services[0]!.rate, {
    cps: 2,
    inPps: 30,
    outPps: 28,
    inBps: 4100,
    outBps: 9800,
  });
  assert.equal(rate.services[0]!.stats, undefined);
  const pc = parseIpvsadm(
    [
      'Prot LocalAddress:Port Scheduler Flags',
      '  -> RemoteAddress:Port           Forward Weight PersistConn ActiveConn InActConn',
      'TCP  10.96.0.1:443 rr persistent 10800',
      '  -> 172.18.0.2:6443              Masq    1      3           2          5',
    ].join('\n'),
  );
  assert.deepEqual(pc.layouts, ['persistent-conn']);
  const r = pc.services[0]!.realServers[0]!;
  assert.deepEqual([r.persistConn, r.activeConn, r.inActConn], [3, 2, 5]);
  const named = parseIpvsadm(
    'TCP  kubernetes.default.svc.cluster.local:https rr\n  -> kind-control-plane:6443  Masq 1 0 0\n',
  );
  const s = named.services[0]!;
  assert.equal(s.numeric, false);
  assert.equal(s.port, null);
  assert.equal(s.portName, 'https');
  assert.equal(s.address, 'kubernetes.default.svc.cluster.local');
  assert.equal(s.realServers[0]!.numeric, false);
  assert.equal(s.realServers[0]!.port, 6443);
});

test('input that is not ipvsadm output is refused with a reason', () => {
  for (const text of [
    '',
    'hello world\nthis is not it',
    '*nat\n-A KUBE-SERVICES -j KUBE-NODEPORTS\nCOMMIT',
    'Name: KUBE-CLUSTER-IP\nType: hash:ip,port',
  ]) {
    assert.throws(
      () => parseIpvsadm(text),
      (e: unknown) => e instanceof ParseError && e.format === 'ipvsadm' && !e.reason.includes('\n'),
    );
  }
});
