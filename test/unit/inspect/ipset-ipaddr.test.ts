import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseIpset,
  parseIpAddr,
  ParseError,
  type IpsetList,
  type IpAddrList,
} from '../../../src/inspect/index.js';
import { real, realFiles, seed, seedFiles } from '../../helpers/fixtures.js';

const IPSET_REAL: Record<string, (l: IpsetList) => void> = {
  'ipset/01-ssup2-ipset-list-4-sets-inconsistent-count.txt': (l) => {
    assert.deepEqual(
      l.sets.map((s) => [s.name, s.type, s.members.length]),
      [
        ['KUBE-CLUSTER-IP', 'hash:ip,port', 3],
        ['KUBE-LOOP-BACK', 'hash:ip,port,ip', 3],
        ['KUBE-NODE-PORT-TCP', 'bitmap:port', 2],
        ['KUBE-LOAD-BALANCER', 'hash:ip,port', 1],
      ],
    );
    const cip = l.sets[0]!;
    assert.equal(
      cip.declaredEntries,
      1,
      'kept as printed, even when it disagrees with the members',
    );
    assert.deepEqual(cip.members, [
      '10.96.98.173,tcp:80',
      '10.97.229.148,tcp:80',
      '10.103.1.234,tcp:80',
    ]);
    assert.equal(cip.revision, 5);
    assert.deepEqual(cip.header, { family: 'inet', hashsize: '1024', maxelem: '65536' });
    assert.deepEqual(l.sets[2]!.header, { range: '0-65535' });
    assert.deepEqual(l.sets[2]!.members, ['30781', '30915']);
    assert.equal(l.sets[1]!.sizeInMemory, 896);
  },
  'ipset/02-hwchiu-KUBE-NODE-PORT-TCP.txt': (l) => {
    assert.equal(l.sets.length, 1);
    assert.equal(l.sets[0]!.type, 'bitmap:port');
    assert.deepEqual(l.sets[0]!.members, ['31543']);
    assert.equal(l.sets[0]!.revision, 3);
  },
  'ipset/03-hwchiu-KUBE-CLUSTER-IP.txt': (l) => {
    assert.equal(l.sets[0]!.declaredEntries, 6);
    assert.equal(l.sets[0]!.members.length, 6);
    assert.ok(l.sets[0]!.members.includes('10.96.0.10,udp:53'));
    assert.equal(l.sets[0]!.references, 2);
  },
};

test('every shared ipset output parses to its sets and members', () => {
  const files = realFiles('ipset');
  assert.ok(files.length >= 3);
  for (const f of files) {
    assert.ok(IPSET_REAL[f], `${f}: no assertions`);
    IPSET_REAL[f]!(parseIpset(real(f).body));
  }
});

test('the ipset blocks in the seeds', () => {
  const files = seedFiles('ipset');
  assert.deepEqual(files, ['001-ipset-KUBE-CLUSTER-IP.txt', '001-ipset-KUBE-LOOP-BACK.txt']);
  const cip = parseIpset(seed(files[0]!).body).sets[0]!;
  assert.equal(cip.members.length, 9);
  assert.equal(cip.declaredEntries, 9);
  assert.ok(cip.members.includes('10.96.119.228,tcp:80'));
  const lb = parseIpset(seed(files[1]!).body).sets[0]!;
  assert.deepEqual(lb.members, ['10.244.1.2,tcp:3030,10.244.1.2', '10.244.1.6,tcp:80,10.244.1.6']);
});

test('ipset Revision 7 headers with bucketsize/initval, comments, timeouts; and ipset save', () => {
  const l = parseIpset(
    [
      'Name: KUBE-CLUSTER-IP',
      'Type: hash:ip,port',
      'Revision: 7',
      'Header: family inet hashsize 1024 maxelem 65536 comment bucketsize 12 initval 0x8d5e5e06',
      'Size in memory: 1040',
      'References: 2',
      'Number of entries: 2',
      'Members:',
      '10.96.0.1,tcp:443 comment "default/kubernetes:https"',
      '10.96.0.10,udp:53 timeout 30 comment "kube-system/kube-dns:dns"',
    ].join('\n'),
  );
  const s = l.sets[0]!;
  assert.equal(s.revision, 7);
  assert.equal(s.header.bucketsize, '12');
  assert.equal(s.header.initval, '0x8d5e5e06');
  assert.equal(s.header.comment, true);
  assert.deepEqual(s.members, ['10.96.0.1,tcp:443', '10.96.0.10,udp:53']);
  assert.deepEqual(s.memberDetails![1], {
    value: '10.96.0.10,udp:53',
    comment: 'kube-system/kube-dns:dns',
    timeout: 30,
  });
  const saved = parseIpset(
    'create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x1\nadd KUBE-CLUSTER-IP 10.96.0.1,tcp:443\nadd KUBE-CLUSTER-IP 10.96.0.10,udp:53\ncreate KUBE-NODE-PORT-TCP bitmap:port range 0-65535\n',
  );
  assert.equal(saved.format, 'save');
  assert.deepEqual(
    saved.sets.map((x) => [x.name, x.type, x.members]),
    [
      ['KUBE-CLUSTER-IP', 'hash:ip,port', ['10.96.0.1,tcp:443', '10.96.0.10,udp:53']],
      ['KUBE-NODE-PORT-TCP', 'bitmap:port', []],
    ],
  );
  assert.equal(saved.sets[1]!.header.range, '0-65535');
});

test('not ipset output is refused', () => {
  for (const t of ['', 'TCP  10.96.0.1:443 rr', '-A KUBE-SERVICES -j ACCEPT', 'just words']) {
    assert.throws(
      () => parseIpset(t),
      (e: unknown) => e instanceof ParseError && e.format === 'ipset',
    );
  }
});

const IP_REAL: Record<string, (l: IpAddrList) => void> = {
  'kube-ipvs0/01-kep265-ip-addr-old-iproute.txt': (l) => {
    const i = l.interfaces[0]!;
    assert.deepEqual(
      [i.name, i.index, i.state, i.qdisc, i.mtu],
      ['kube-ipvs0', 73, 'DOWN', 'noop', 1500],
    );
    assert.deepEqual(i.flags, ['BROADCAST', 'NOARP']);
    assert.deepEqual(i.addresses, ['10.102.128.4/32']);
    assert.equal(i.addressDetails[0]!.broadcast, null);
    assert.equal(i.mac, '1a:ce:f5:5f:c1:4d');
  },
  'kube-ipvs0/02-hwchiu-ip-link-show-type-dummy.txt': (l) => {
    assert.deepEqual(
      l.interfaces.map((i) => [i.name, i.index, i.state, i.addresses]),
      [['kube-ipvs0', 5, 'DOWN', []]],
    );
  },
  'kube-ipvs0/03-hwchiu-ip-addr-show-dev.txt': (l) => {
    assert.deepEqual(l.interfaces[0]!.addresses, [
      '10.96.0.10/32',
      '10.96.0.1/32',
      '10.97.35.96/32',
      '10.100.61.228/32',
    ]);
    assert.equal(l.interfaces[0]!.addressDetails[0]!.broadcast, '10.96.0.10');
    assert.equal(l.interfaces[0]!.addressDetails[0]!.scope, 'global');
  },
  'kube-ipvs0/04-int32bit-ip-addr-show.txt': (l) => {
    assert.equal(l.interfaces[0]!.index, 4);
    assert.deepEqual(l.interfaces[0]!.addresses, [
      '10.96.0.1/32',
      '10.96.0.10/32',
      '10.96.54.11/32',
    ]);
  },
};

test('every shared kube-ipvs0 output parses to interface, state and addresses', () => {
  const files = realFiles('kube-ipvs0');
  assert.ok(files.length >= 4);
  for (const f of files) {
    assert.ok(IP_REAL[f], `${f}: no assertions`);
    IP_REAL[f]!(parseIpAddr(real(f).body));
  }
});

test('the ip addr/link blocks in the seeds', () => {
  assert.deepEqual(seedFiles('ip-addr'), [
    '000-ip-addr-kube-ipvs0.txt',
    '001-ip-link-kube-ipvs0.txt',
  ]);
  const a = parseIpAddr(seed('000-ip-addr-kube-ipvs0.txt').body);
  assert.deepEqual(
    a.interfaces.map((i) => [i.name, i.index, i.addresses]),
    [['kube-ipvs0', 4, ['10.49.0.10/32', '10.49.0.1/32']]],
  );
  const b = parseIpAddr(seed('001-ip-link-kube-ipvs0.txt').body);
  assert.deepEqual(
    b.interfaces.map((i) => [i.name, i.index, i.state]),
    [['kube-ipvs0', 7, 'DOWN']],
  );
});

test('ip -j addr JSON and multi-interface text with veth peers and IPv6', () => {
  const j = parseIpAddr(
    JSON.stringify([
      {
        ifindex: 1,
        ifname: 'lo',
        flags: ['LOOPBACK', 'UP'],
        mtu: 65536,
        operstate: 'UNKNOWN',
        addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host' }],
      },
      {
        ifindex: 4,
        ifname: 'kube-ipvs0',
        flags: ['BROADCAST', 'NOARP'],
        mtu: 1500,
        qdisc: 'noop',
        operstate: 'DOWN',
        link_type: 'ether',
        address: '46:6b:9e:af:b0:60',
        linkinfo: { info_kind: 'dummy' },
        addr_info: [
          {
            family: 'inet',
            local: '10.96.0.1',
            prefixlen: 32,
            broadcast: '10.96.0.1',
            scope: 'global',
          },
          { family: 'inet6', local: 'fd00:10:96::1', prefixlen: 128, scope: 'global' },
        ],
      },
    ]),
  );
  assert.equal(j.format, 'json');
  assert.deepEqual(j.interfaces[1]!.addresses, ['10.96.0.1/32', 'fd00:10:96::1/128']);
  assert.equal(j.interfaces[1]!.kind, 'dummy');
  assert.equal(j.interfaces[1]!.state, 'DOWN');
  const t = parseIpAddr(
    [
      '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000',
      '    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00',
      '    inet 127.0.0.1/8 scope host lo',
      '12: eth0@if13: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default',
      '    link/ether 02:42:ac:12:00:02 brd ff:ff:ff:ff:ff:ff link-netnsid 0',
      '    inet 172.18.0.2/16 brd 172.18.255.255 scope global eth0',
      '       valid_lft forever preferred_lft forever',
      '    inet6 fc00:f853:ccd:e793::2/64 scope global nodad',
      '       valid_lft forever preferred_lft forever',
    ].join('\n'),
  );
  assert.deepEqual(
    t.interfaces.map((i) => [i.name, i.peer, i.state]),
    [
      ['lo', null, 'UNKNOWN'],
      ['eth0', 'if13', 'UP'],
    ],
  );
  assert.deepEqual(t.interfaces[1]!.addresses, ['172.18.0.2/16', 'fc00:f853:ccd:e793::2/64']);
  assert.deepEqual(t.skipped, []);
});

test('not ip addr output is refused', () => {
  for (const t of ['', 'Name: X', '[1,2', '{"a":1}', 'TCP  10.96.0.1:443 rr']) {
    assert.throws(
      () => parseIpAddr(t),
      (e: unknown) => e instanceof ParseError && e.format === 'ip-addr',
    );
  }
});
