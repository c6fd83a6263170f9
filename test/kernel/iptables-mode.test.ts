/**
 * Kernel tier, natively: kube-proxy's iptables-mode chains (KUBE-SERVICES → KUBE-SVC with
 * `statistic random` → KUBE-SEP DNAT) balancing three real HTTP servers, in namespaces this
 * test creates, for iptables-nft and iptables-legacy. Traffic stays inside the namespaces.
 *
 * Topology (routed, one veth pair per pod, like a CNI without a bridge):
 *   client 10.77.0.2 ── node ──┬── web-1 10.77.1.11
 *                              ├── web-2 10.77.1.12
 *                              └── web-3 10.77.1.13        service VIP 10.77.96.10:80
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { iptablesModeRules, distribution, allRules } from '../../src/bare/lab.js';
import { NativeBackend } from '../../src/bare/backend.js';
import { parseIptables } from '../../src/inspect/iptables.js';
import {
  iptablesUnavailable,
  netnsUnavailable,
  withNetns,
  type Namespaces,
} from '../helpers/netns.js';

const VIP = '10.77.96.10';
const PODS = [
  { role: 'web1', name: 'web-1', ip: '10.77.1.11' },
  { role: 'web2', name: 'web-2', ip: '10.77.1.12' },
  { role: 'web3', name: 'web-3', ip: '10.77.1.13' },
];
const CLIENT = { role: 'client', ip: '10.77.0.2' };

const netnsWhy = netnsUnavailable();

async function wire(ns: Namespaces): Promise<void> {
  const node = ns.name('node');
  await ns.exec('node', ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  let i = 0;
  for (const m of [...PODS, { ...CLIENT, name: 'client' }]) {
    i += 1;
    const host = `pv${i}`;
    await ns.exec(m.role, [
      'ip',
      'link',
      'add',
      'eth0',
      'type',
      'veth',
      'peer',
      'name',
      host,
      'netns',
      node,
    ]);
    await ns.exec(m.role, ['ip', 'addr', 'add', `${m.ip}/32`, 'dev', 'eth0']);
    await ns.exec(m.role, ['ip', 'link', 'set', 'eth0', 'up']);
    await ns.exec(m.role, ['ip', 'route', 'add', '169.254.1.1', 'dev', 'eth0']);
    await ns.exec(m.role, ['ip', 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0']);
    await ns.exec('node', ['ip', 'link', 'set', host, 'up']);
    await ns.exec('node', ['ip', 'addr', 'add', '169.254.1.1/32', 'dev', host]);
    await ns.exec('node', ['sysctl', '-q', '-w', `net.ipv4.conf.${host}.proxy_arp=1`]);
    await ns.exec('node', ['ip', 'route', 'add', `${m.ip}/32`, 'dev', host]);
  }
  // a node reaches the service range through some route (normally its default route)
  await ns.exec('node', ['ip', 'route', 'add', '10.77.96.0/24', 'dev', 'pv4']);
}

async function stopServers(ns: Namespaces, roles: string[]): Promise<void> {
  for (const r of roles) {
    const pids = (await ns.exec(r, ['ip', 'netns', 'pids', ns.name(r)], { reject: false })).stdout
      .split('\n')
      .filter((l) => /^\d+$/.test(l.trim()));
    if (pids.length) await ns.exec(r, ['kill', ...pids], { reject: false });
  }
}

for (const flavour of ['nft', 'legacy'] as const) {
  const why = netnsWhy ?? iptablesUnavailable(flavour);
  if (why) console.log(`# kernel tier: iptables-${flavour} mode test skipped: ${why}`);

  test(
    `iptables-${flavour}: KUBE-SERVICES → KUBE-SVC (statistic random) → KUBE-SEP DNAT balances 3 real HTTP servers`,
    { skip: why, timeout: 180_000 },
    async () => {
      const b = new NativeBackend();
      await withNetns(['node', 'client', ...PODS.map((p) => p.role)], async (ns) => {
        try {
          await wire(ns);
          for (const p of PODS) await b.startServer(ns.name(p.role), p.name);
          // each server answers with its own name, straight (no service yet)
          for (const p of PODS) {
            let body = '';
            for (let t = 0; t < 50 && body.trim() !== p.name; t++) {
              body = (
                await ns.exec(
                  'client',
                  b.requests(ns.name('client'), `http://${p.ip}/`, 1).argv.slice(4),
                  { reject: false },
                )
              ).stdout;
              if (body.trim() !== p.name) await new Promise((r) => setTimeout(r, 100));
            }
            assert.equal(body.trim(), p.name, `${p.name} answers on ${p.ip}`);
          }

          const rules = iptablesModeRules('iptables', PODS, VIP);
          await ns.exec('node', [`iptables-${flavour}-restore`, '--noflush'], { input: rules });

          // the chains as the kernel holds them, read back with iptables-save and parsed
          const saved = parseIptables(
            await ns.out('node', [`iptables-${flavour}-save`, '-t', 'nat']),
          );
          const nat = saved.tables.nat;
          assert.ok(nat, 'iptables-save shows a nat table');
          const svc = nat.chains['KUBE-SVC-WEB'];
          assert.ok(svc, 'KUBE-SVC-WEB exists');
          assert.deepEqual(
            svc.rules.map((r) => r.probability),
            [0.33333333349, 0.5, null],
            'statistic probabilities 1/3, 1/2, then the rest',
          );
          for (const p of PODS) {
            const sep = nat.chains[`KUBE-SEP-${p.name.toUpperCase()}`];
            assert.ok(sep, `KUBE-SEP for ${p.name}`);
            assert.ok(
              sep.rules.some((r) => r.dnatTo === `${p.ip}:80`),
              `KUBE-SEP-${p.name.toUpperCase()} DNATs to ${p.ip}:80`,
            );
          }

          // 100 connections from the client pod (PREROUTING) and 20 from the node itself (OUTPUT)
          const fromPod = distribution(
            await ns.out(
              'client',
              b.requests(ns.name('client'), `http://${VIP}/`, 100).argv.slice(4),
              { timeoutMs: 120_000 },
            ),
          );
          assert.equal(fromPod.error, undefined, `no request failed: ${JSON.stringify(fromPod)}`);
          for (const p of PODS)
            assert.ok(
              (fromPod[p.name] ?? 0) >= 15,
              `${p.name} got ${fromPod[p.name] ?? 0} of 100 (random 1/3 each)`,
            );
          const fromNode = distribution(
            await ns.out('node', b.requests(ns.name('node'), `http://${VIP}/`, 20).argv.slice(4)),
          );
          assert.equal(
            fromNode.error,
            undefined,
            `requests from the node: ${JSON.stringify(fromNode)}`,
          );
          assert.equal(
            Object.values(fromNode).reduce((a, c) => a + c, 0),
            20,
          );

          // the kernel's counters agree with who answered: one NEW packet per connection
          const listed = allRules(
            await ns.out('node', [`iptables-${flavour}`, '-t', 'nat', '-nvxL', 'KUBE-SVC-WEB']),
          );
          const counted = listed.map((r) => r.counters?.packets ?? 0);
          assert.equal(
            counted.reduce((a, c) => a + c, 0),
            120,
            `KUBE-SVC-WEB counted ${counted.join('+')} connections`,
          );
        } finally {
          await stopServers(
            ns,
            PODS.map((p) => p.role),
          );
        }
      });
    },
  );
}
