/**
 * Kernel tier, IPVS through the vm backend: the whole by-hand lab in a QEMU micro-VM
 * (Debian's kernel, an initramfs built from Debian packages), with assertions on the
 * parsed ipvsadm output and on who answered. All traffic stays inside the guest, which has
 * no network card; the guest is powered off at the end, also when an assertion fails.
 *
 * Skipped (with the reason printed) only where it cannot run: not root and QEMU missing,
 * or no apt to build the image with.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { detect, openVmBackend, type VmBackend } from '../../src/bare/backend.js';
import { NET, PHASES, VIP_PORT, type Distribution } from '../../src/bare/lab.js';
import { runPhase, setupPods, teardown, type PhaseRecord } from '../../src/bare/run.js';
import { parseIpvsadm } from '../../src/inspect/ipvsadm.js';

function vmUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `the micro-VM needs Linux (this is ${process.platform})`;
  const qemu =
    spawnSync('sh', ['-c', 'command -v qemu-system-x86_64'], { stdio: 'ignore' }).status === 0;
  const root = process.getuid?.() === 0;
  const apt =
    spawnSync('sh', ['-c', 'command -v apt-get && command -v dpkg-deb'], { stdio: 'ignore' })
      .status === 0;
  if (!apt)
    return 'the VM image is built from Debian packages and this machine has no apt-get/dpkg-deb';
  if (!qemu && !root)
    return 'qemu-system-x86_64 is missing and installing it needs root (sudo apt-get install qemu-system-x86)';
  return undefined;
}

const why = vmUnavailable();
if (why) console.log(`# kernel tier: IPVS micro-VM tests skipped: ${why}`);

let backend: VmBackend | undefined;
const records = new Map<string, PhaseRecord>();
const failures = new Map<string, Error>();

function total(d: Distribution): number {
  return Object.values(d).reduce((a, b) => a + b, 0);
}

function rec(id: string): PhaseRecord {
  const e = failures.get(id);
  if (e) throw e;
  const r = records.get(id);
  assert.ok(r, `phase ${id} ran`);
  return r;
}

function out(r: PhaseRecord, pick: (argv: string[]) => boolean): string {
  const c = r.commands.find((x) => pick(x.argv));
  assert.ok(c, `phase ${r.id} ran the command`);
  return c.output;
}

const isIpvsadm =
  (...args: string[]) =>
  (argv: string[]) =>
    argv.includes('ipvsadm') &&
    argv.slice(argv.indexOf('ipvsadm') + 1).join(' ') === args.join(' ');
const isRequests = (ns: string) => (argv: string[]) => argv[3] === ns && argv.includes('-c');

describeVm();

function describeVm(): void {
  before(
    async () => {
      if (why) return;
      const d = await detect();
      assert.ok(d.vm.ok, `vm backend possible: ${d.vm.why}`);
      backend = await openVmBackend({ log: (l) => console.log(`# ${l}`) });
      console.log(`# ${backend.describe()}`);
      await setupPods(backend);
      // every phase runs once, in order (they build on each other); the tests below read the records
      for (const p of PHASES) {
        try {
          records.set(p.id, await runPhase(backend, p));
        } catch (e) {
          failures.set(p.id, e as Error);
        }
      }
    },
    { timeout: 900_000 },
  );

  after(async () => {
    if (!backend) return;
    try {
      const left = await teardown(backend);
      assert.deepEqual(left, [], 'nothing left in the guest after teardown');
    } finally {
      await backend.close();
    }
  });

  test('NAT mode: ipvsadm -Ln shows the VIP with rr and 3 Masq real servers', { skip: why }, () => {
    const r = rec('nat');
    const t = parseIpvsadm(out(r, isIpvsadm('-Ln')));
    assert.equal(t.version, '1.2.1');
    const svc = t.services.find((s) => `${s.address}:${s.port}` === VIP_PORT);
    assert.ok(svc, `service ${VIP_PORT} listed`);
    assert.equal(svc.protocol, 'TCP');
    assert.equal(svc.scheduler, 'rr');
    assert.deepEqual(
      svc.realServers.map((s) => [s.address, s.port, s.forward, s.weight]).sort(),
      NET.pods.map((p) => [p.ip, 80, 'Masq', 1]).sort(),
    );
  });

  test(
    'NAT mode: requests from the node and from a pod reach every pod; --stats and -Lnc agree',
    { skip: why },
    () => {
      const r = rec('traffic');
      for (const ns of [NET.node, NET.client]) {
        const answers = out(r, isRequests(ns)).trim().split('\n');
        assert.equal(answers.length, 30);
        assert.deepEqual(
          [...new Set(answers)].sort(),
          ['web-1', 'web-2', 'web-3'],
          `${ns}: every pod answered`,
        );
      }
      const stats = parseIpvsadm(out(r, isIpvsadm('-Ln', '--stats')));
      const svc = stats.services[0];
      assert.ok(svc?.stats);
      assert.ok(svc.stats.conns >= 60, `${svc.stats.conns} connections counted`);
      assert.ok(svc.stats.outPkts > 0, 'NAT: replies pass the director');
      assert.equal(
        svc.realServers.reduce((a, s) => a + (s.stats?.conns ?? 0), 0),
        svc.stats.conns,
        'real-server conns add up',
      );
      const conns = parseIpvsadm(out(r, isIpvsadm('-Lnc'))).connections;
      assert.ok(
        conns.some((c) => c.source.address === NET.clientIp && c.virtual.address === NET.vip),
        'a connection from the client pod to the VIP',
      );
      for (const c of conns)
        assert.ok(
          NET.pods.some((p) => p.ip === c.destination.address),
          `destination ${c.destination.address} is a pod`,
        );
    },
  );

  test('rr: 100 requests within ±15 % of even', { skip: why }, () => {
    const d = rec('rr').data.distribution as Distribution;
    assert.equal(total(d), 100);
    for (const p of NET.pods) {
      const n = d[p.name] ?? 0;
      assert.ok(Math.abs(n - 100 / 3) <= (100 / 3) * 0.15, `${p.name}: ${n} of 100`);
    }
  });

  test('wrr 3:1: web-1 gets 75 % ± 10 %, web-3 (removed) nothing', { skip: why }, () => {
    const r = rec('wrr');
    const svc = parseIpvsadm(out(r, isIpvsadm('-Ln'))).services[0];
    assert.equal(svc?.scheduler, 'wrr');
    assert.deepEqual(svc?.realServers.map((s) => [s.address, s.weight]).sort(), [
      [NET.pods[0].ip, 3],
      [NET.pods[1].ip, 1],
    ]);
    const d = r.data.distribution as Distribution;
    assert.equal(total(d), 100);
    assert.ok(Math.abs((d['web-1'] ?? 0) - 75) <= 7.5, `web-1: ${d['web-1']} of 100`);
    assert.equal(d['web-3'], undefined);
  });

  test('sh: one source always reaches the same pod', { skip: why }, () => {
    const r = rec('sh');
    for (const ns of [NET.client, NET.node]) {
      const answers = new Set(out(r, isRequests(ns)).trim().split('\n'));
      assert.equal(answers.size, 1, `${ns} reached ${[...answers].join(', ')}`);
      assert.match([...answers][0]!, /^web-\d$/);
    }
  });

  test(
    'persistence: -p 60 keeps the client on one pod, with a template in -Lnc',
    { skip: why },
    () => {
      const r = rec('persistence');
      const svc = parseIpvsadm(out(r, isIpvsadm('-Ln'))).services[0];
      assert.equal(svc?.persistent, 60);
      const answers = new Set(out(r, isRequests(NET.client)).trim().split('\n'));
      assert.equal(answers.size, 1);
      const pod = NET.pods.find((p) => answers.has(p.name));
      const template = parseIpvsadm(out(r, isIpvsadm('-Lnc'))).connections.find(
        (c) => c.source.port === 0,
      );
      assert.ok(template, 'a persistence template (source port 0)');
      assert.equal(template.source.address, NET.clientIp);
      assert.equal(
        template.destination.address,
        pod?.ip,
        'the template points at the pod that answered',
      );
    },
  );

  test(
    'kube-proxy wiring: KUBE-CLUSTER-IP holds VIP,tcp:80 and its match-set rule counts packets',
    { skip: why },
    () => {
      const r = rec('ipset');
      assert.deepEqual(r.data.members, [`${NET.vip},tcp:80`]);
      assert.equal(r.data.packets, 10, 'one NEW packet per connection, 10 connections');
    },
  );

  test(
    'DR mode: every pod answers, the real servers are Route, and no reply passes the director',
    { skip: why },
    () => {
      const r = rec('dr');
      const svc = parseIpvsadm(out(r, isIpvsadm('-Ln'))).services[0];
      assert.deepEqual(
        svc?.realServers.map((s) => s.forward),
        ['Route', 'Route', 'Route'],
      );
      const d = r.data.distribution as Distribution;
      assert.deepEqual(Object.keys(d).sort(), ['web-1', 'web-2', 'web-3']);
      const stats = parseIpvsadm(out(r, isIpvsadm('-Ln', '--stats'))).services[0]?.stats;
      assert.ok(stats && stats.conns === 30 && stats.inPkts > 0);
      assert.equal(stats.outPkts, 0);
    },
  );

  test(
    'iptables mode in the guest: statistic random chains balance the same pods',
    { skip: why },
    () => {
      const r = rec('iptables');
      const d = r.data.distribution as Distribution;
      assert.equal(total(d), 100);
      for (const p of NET.pods) assert.ok((d[p.name] ?? 0) >= 15, `${p.name}: ${d[p.name]}`);
      assert.deepEqual(r.data.probabilities, [0.33333333349, 0.5]);
    },
  );
}
