/**
 * The generated N-service rulesets are accepted by the real kernel, and the kernel then holds
 * exactly the counts the generator announced: iptables-restore (nft and legacy backends),
 * nft -f, ipset restore, the IPVS-mode match-set rules, and ipvsadm -R where the kernel has
 * IPVS. Each in a namespace this test creates and deletes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { iptablesUnavailable, netnsUnavailable, withNetns } from '../helpers/netns.js';
import {
  iptablesAddOne,
  iptablesFull,
  ipvsFull,
  makeServices,
  nftAddOne,
  nftFull,
} from '../../src/scale/generate.js';
import {
  countIpsetTerse,
  countIptablesSave,
  countIpvsSave,
  countNftJson,
  countNftText,
} from '../../src/scale/bare.js';
import { parseIptables, kubeProxyView } from '../../src/inspect/iptables.js';

const N = 50;
const noNetns = netnsUnavailable();
const which = (b: string) =>
  spawnSync('sh', ['-c', 'command -v "$1"', 'sh', b], { stdio: 'ignore' }).status === 0;
const noNft = noNetns ?? (which('nft') ? undefined : 'nft is missing (apt-get install nftables)');
const noIpset =
  noNetns ?? (which('ipset') ? undefined : 'ipset is missing (apt-get install ipset)');

function ipvsUnavailable(): string | undefined {
  if (noNetns) return noNetns;
  if (!which('ipvsadm')) return 'ipvsadm is missing (apt-get install ipvsadm)';
  if (
    !existsSync('/proc/net/ip_vs') &&
    spawnSync('modprobe', ['ip_vs'], { stdio: 'ignore' }).status !== 0
  )
    return 'this kernel has no IPVS (no ip_vs module)';
  return undefined;
}
const noIpvs = ipvsUnavailable();
for (const [what, why] of [
  ['netns', noNetns],
  ['nft', noNft],
  ['ipset', noIpset],
  ['ipvs', noIpvs],
] as const) {
  if (why) console.log(`# skipping scale ${what} kernel checks: ${why}`);
}

for (const flavour of ['nft', 'legacy'] as const) {
  const why = noNetns ?? iptablesUnavailable(flavour);
  test(
    `iptables-${flavour}-restore accepts ${N} kube-proxy-shaped services and holds exactly what was generated`,
    { skip: why },
    async () => {
      await withNetns(['node'], async (ns) => {
        const services = makeServices(N);
        const full = iptablesFull(services);
        await ns.exec('node', [`iptables-${flavour}-restore`, '--noflush'], {
          input: full.restore,
        });
        const saved = await ns.out('node', [`iptables-${flavour}-save`, '-t', 'nat']);
        assert.deepEqual(countIptablesSave(saved), {
          rules: full.counts.rules,
          chains: full.counts.chains,
        });
        // Read back through the inspect parser: N services, two endpoints each, 50/50.
        const view = kubeProxyView(parseIptables(saved));
        assert.equal(view.services.filter((s) => s.name?.startsWith('scale/')).length, N);
        // A one-service partial sync on top.
        const added = makeServices(1, { start: N })[0]!;
        await ns.exec('node', [`iptables-${flavour}-restore`, '--noflush'], {
          input: iptablesAddOne(services, added).restore,
        });
        const after = countIptablesSave(
          await ns.out('node', [`iptables-${flavour}-save`, '-t', 'nat']),
        );
        assert.deepEqual(after, { rules: full.counts.rules + 8, chains: full.counts.chains + 3 });
      });
    },
  );
}

test(
  `nft -f accepts the ${N}-service table ip kube-proxy and lists exactly what was generated`,
  { skip: noNft },
  async () => {
    await withNetns(['node'], async (ns) => {
      const services = makeServices(N);
      const full = nftFull(services);
      await ns.exec('node', ['nft', '-f', '-'], { input: full.script });
      const json = await ns.out('node', ['nft', '-j', 'list', 'table', 'ip', 'kube-proxy']);
      assert.deepEqual(countNftJson(json), {
        rules: full.counts.rules,
        chains: full.counts.chains,
        setMembers: N,
      });
      await ns.exec('node', ['nft', '-f', '-'], {
        input: nftAddOne(makeServices(1, { start: N })[0]!).script,
      });
      assert.deepEqual(
        countNftJson(await ns.out('node', ['nft', '-j', 'list', 'table', 'ip', 'kube-proxy'])),
        {
          rules: full.counts.rules + 6,
          chains: full.counts.chains + 3,
          setMembers: N + 1,
        },
      );
      // The text counter (used on cluster nodes) agrees with the JSON one on real nft output.
      assert.deepEqual(
        countNftText(await ns.out('node', ['nft', 'list', 'table', 'ip', 'kube-proxy'])),
        countNftJson(await ns.out('node', ['nft', '-j', 'list', 'table', 'ip', 'kube-proxy'])),
      );
      const text = await ns.out('node', ['nft', 'list', 'chain', 'ip', 'kube-proxy', 'services']);
      assert.match(text, /ip daddr \. meta l4proto \. th dport vmap @service-ips/);
    });
  },
);

test(
  `ipset restore makes KUBE-CLUSTER-IP with ${N} members; the IPVS-mode match-set rules load`,
  { skip: noIpset ?? iptablesUnavailable('nft') },
  async () => {
    await withNetns(['node'], async (ns) => {
      const v = ipvsFull(makeServices(N));
      await ns.exec('node', ['ipset', 'restore'], { input: v.ipset });
      assert.equal(
        countIpsetTerse(await ns.out('node', ['ipset', 'list', '-t', 'KUBE-CLUSTER-IP'])),
        N,
      );
      await ns.exec('node', ['iptables-restore', '--noflush'], { input: v.iptables });
      const saved = await ns.out('node', ['iptables-save', '-t', 'nat']);
      assert.match(saved, /-m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ/);
      assert.equal(countIptablesSave(saved).rules, v.counts.rules);
    });
  },
);

test(
  `ipvsadm -R loads ${N} virtual servers with 2 real servers each`,
  { skip: noIpvs },
  async () => {
    await withNetns(['node'], async (ns) => {
      const v = ipvsFull(makeServices(N));
      await ns.exec('node', ['ipvsadm', '-R'], { input: v.ipvsadm });
      assert.deepEqual(countIpvsSave(await ns.out('node', ['ipvsadm', '-Sn'])), {
        virtualServers: N,
        realServers: 2 * N,
      });
    });
  },
);
