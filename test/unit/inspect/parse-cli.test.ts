/** `proxylab parse` through the real CLI, as a user runs it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli } from '../../helpers/cli.js';
import { REAL_OUTPUTS, real, seed } from '../../helpers/fixtures.js';

test('parse ipvsadm FILE prints the contract JSON and exits 0', async () => {
  const r = await runCli([
    'parse',
    'ipvsadm',
    join(REAL_OUTPUTS, 'ipvsadm/20-hwchiu-fresh-kubeadm-ipvs.txt'),
  ]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as {
    services: {
      protocol: string;
      address: string;
      port: number;
      scheduler: string;
      persistent: number | null;
      realServers: Record<string, unknown>[];
    }[];
  };
  assert.equal(j.services.length, 4);
  const dns = j.services[3]!;
  assert.deepEqual(
    [dns.protocol, dns.address, dns.port, dns.scheduler, dns.persistent],
    ['UDP', '10.96.0.10', 53, 'rr', null],
  );
  const { address, port, forward, weight, activeConn, inActConn } = dns.realServers[0]!;
  assert.deepEqual(
    { address, port, forward, weight, activeConn, inActConn },
    { address: '10.244.0.2', port: 53, forward: 'Masq', weight: 1, activeConn: 0, inActConn: 0 },
  );
  assert.equal(r.stderr, '');
});

test('parse reads stdin (- or no FILE): iptables, ipset, ip-addr, kube-proxy-log contracts', async () => {
  const ipt = await runCli(['parse', 'iptables', '--table', 'nat', '-'], {
    input: real('iptables/17-hwchiu-2018-save-grep-nodeport.txt').body,
  });
  assert.equal(ipt.code, 0, ipt.stderr);
  const d = JSON.parse(ipt.stdout) as {
    tables: Record<
      string,
      {
        chains: Record<
          string,
          { policy: string | null; rules: { target: string; comment: string; raw: string }[] }
        >;
      }
    >;
    kubeProxy: { services: { clusterIP: string; nodePorts: number[] }[] };
  };
  const ks = d.tables.nat!.chains['KUBE-SERVICES']!;
  assert.equal(ks.policy, null);
  assert.equal(ks.rules[1]!.target, 'KUBE-SVC-RD5DSC6PXE26GCYZ');
  assert.equal(ks.rules[1]!.comment, 'default/k8s-nginx-node: cluster IP');
  assert.match(ks.rules[1]!.raw, /^-A KUBE-SERVICES -d 10\.98\.128\.179\/32/);
  assert.deepEqual(d.kubeProxy.services[0]!.nodePorts, [30136]);

  const ips = await runCli(['parse', 'ipset'], {
    input: seed('001-ipset-KUBE-CLUSTER-IP.txt').body,
  });
  assert.equal(ips.code, 0, ips.stderr);
  const s = (
    JSON.parse(ips.stdout) as { sets: { name: string; type: string; members: string[] }[] }
  ).sets[0]!;
  assert.deepEqual(
    [s.name, s.type, s.members.length, s.members[1]],
    ['KUBE-CLUSTER-IP', 'hash:ip,port', 9, '10.96.0.1,tcp:443'],
  );

  const ip = await runCli(['parse', 'ip-addr', '-'], {
    input: real('kube-ipvs0/04-int32bit-ip-addr-show.txt').body,
  });
  const i = (
    JSON.parse(ip.stdout) as {
      interfaces: { name: string; index: number; state: string; addresses: string[] }[];
    }
  ).interfaces[0]!;
  assert.deepEqual(
    [i.name, i.index, i.state, i.addresses],
    ['kube-ipvs0', 4, 'DOWN', ['10.96.0.1/32', '10.96.0.10/32', '10.96.54.11/32']],
  );

  const log = await runCli(['parse', 'kube-proxy-log'], {
    input: seed('000-kube-proxy-log-ipvs-v1.15.txt').body,
  });
  const l = JSON.parse(log.stdout) as Record<string, unknown>;
  assert.deepEqual(
    {
      mode: l.mode,
      fallback: l.fallback,
      fatal: l.fatal,
      deprecationWarning: l.deprecationWarning,
      version: l.version,
    },
    { mode: 'ipvs', fallback: false, fatal: null, deprecationWarning: false, version: 'v1.15.5' },
  );
});

test('input of another format exits 2 with a one-line reason and nothing on stdout', async () => {
  const r = await runCli([
    'parse',
    'ipvsadm',
    join(REAL_OUTPUTS, 'ipset/03-hwchiu-KUBE-CLUSTER-IP.txt'),
  ]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /not ipvsadm output: no line looks like ipvsadm output/);
  assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
});

test('an unreadable file, an unknown kind and a misplaced --table exit 2 with a clear message', async () => {
  const missing = await runCli(['parse', 'ipset', '/nonexistent/ipset.txt']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot read \/nonexistent\/ipset\.txt: no such file/);
  const dir = await runCli(['parse', 'ipset', REAL_OUTPUTS]);
  assert.equal(dir.code, 2);
  assert.match(dir.stderr, /it is a directory/);
  const kind = await runCli(['parse', 'nftables', '-'], { input: 'x' });
  assert.equal(kind.code, 2);
  assert.match(kind.stderr, /unknown output kind "nftables"/);
  const table = await runCli(['parse', 'ipset', '--table', 'nat', '-'], { input: 'x' });
  assert.equal(table.code, 2);
  assert.match(table.stderr, /--table applies to iptables only/);
});
