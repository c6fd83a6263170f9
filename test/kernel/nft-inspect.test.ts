/**
 * kube-proxy's nftables table as the kernel holds it and `nft` prints it: the table is
 * loaded with `nft -f` into a network namespace this test creates (IPv4 and IPv6, the forms
 * kube-proxy writes: numgen vmap over endpoint chains, one endpoint, the squashed
 * `dnat … to numgen … map` of Kubernetes 1.36, no-endpoint-services with a comment), then
 * `nft list table` — real nft output, wrapping and all — goes through `proxylab parse nft`'s
 * parser and the inspect snapshot reader. No packet is sent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { netnsUnavailable, withNetns } from '../helpers/netns.js';
import { parseNft, kubeProxyNftView } from '../../src/inspect/nft.js';
import { readNode } from '../../src/inspect/snapshot.js';

function why(): string | undefined {
  const ns = netnsUnavailable();
  if (ns) return ns;
  if (spawnSync('sh', ['-c', 'command -v nft']).status !== 0)
    return 'nft is not installed (apt-get install nftables)';
  return undefined;
}
const skip = why();
if (skip) console.log(`# skipping nft inspect kernel tests: ${skip}`);

const WEB = 'default/web/tcp/http';
/** kube-proxy's endpoint chain name: an IPv6 address has its colons turned into dots. */
const ep = (hash: string, base: string, addr: string, port: number) =>
  `endpoint-${hash}-${base}__${addr.replace(/:/g, '.')}/${port}`;

/** kube-proxy's table for one family, in nft's own syntax. */
function table(family: 'ip' | 'ip6'): string {
  const v6 = family === 'ip6';
  const a = (v4: string, v6a: string) => (v6 ? v6a : v4);
  const addrType = v6 ? 'ipv6_addr' : 'ipv4_addr';
  const dnat = (addr: string, port: number) => (v6 ? `[${addr}]:${port}` : `${addr}:${port}`);
  const web = {
    vip: a('10.96.63.156', 'fd00:10:96::9c'),
    pods: [a('10.244.1.3', 'fd00:10:244:1::3'), a('10.244.2.2', 'fd00:10:244:2::2')],
  };
  const e1 = ep('IVINOOCY', WEB, web.pods[0]!, 80);
  const e2 = ep('KLDTO2PW', WEB, web.pods[1]!, 80);
  const api = {
    vip: a('10.96.7.7', 'fd00:10:96::7'),
    pods: [a('10.244.3.4', 'fd00:10:244:3::4'), a('10.244.3.5', 'fd00:10:244:3::5')],
  };
  const one = { vip: a('10.96.9.9', 'fd00:10:96::9'), pod: a('10.244.4.4', 'fd00:10:244:4::4') };
  const lone = ep('Q2W3E4R5', 'default/lone/tcp/http', a('10.244.5.5', 'fd00:10:244:5::5'), 80);
  return `table ${family} kube-proxy {
	comment "rules for kube-proxy"
	chain mark-for-masquerade {
		meta mark set meta mark | 0x4000
	}
	map service-ips {
		type ${addrType} . inet_proto . inet_service : verdict
		comment "ClusterIP, ExternalIP and LoadBalancer IP traffic"
	}
	map no-endpoint-services {
		type ${addrType} . inet_proto . inet_service : verdict
		comment "vmap to drop or reject packets to services with no endpoints"
	}
	chain reject-chain {
		reject
	}
	chain ${e1} {
		${family} saddr ${web.pods[0]} jump mark-for-masquerade
		meta l4proto tcp dnat to ${dnat(web.pods[0]!, 80)}
	}
	chain ${e2} {
		${family} saddr ${web.pods[1]} jump mark-for-masquerade
		meta l4proto tcp dnat to ${dnat(web.pods[1]!, 80)}
	}
	chain service-SUSTUHLJ-${WEB} {
		${family} daddr ${web.vip} tcp dport 80 jump mark-for-masquerade
		numgen random mod 2 vmap { 0 : goto ${e1}, 1 : goto ${e2} }
	}
	chain service-SQUASHED-default/api/tcp/http {
		meta l4proto tcp dnat ${family} addr . port to numgen random mod 2 map { 0 : ${api.pods[0]} . 8080, 1 : ${api.pods[1]} . 8080 }
	}
	chain service-ONEEPXXX-default/one/tcp/http {
		meta l4proto tcp dnat to ${dnat(one.pod, 8080)}
	}
	chain ${lone} {
		meta l4proto tcp dnat to ${dnat(a('10.244.5.5', 'fd00:10:244:5::5'), 80)}
	}
	chain service-LONEXXXX-default/lone/tcp/http {
		goto ${lone}
	}
	chain services {
		${family} daddr . meta l4proto . th dport vmap @service-ips
	}
}
add element ${family} kube-proxy service-ips { ${web.vip} . tcp . 80 : goto service-SUSTUHLJ-${WEB} }
add element ${family} kube-proxy service-ips { ${api.vip} . tcp . 8080 : goto service-SQUASHED-default/api/tcp/http }
add element ${family} kube-proxy service-ips { ${one.vip} . tcp . 8080 : goto service-ONEEPXXX-default/one/tcp/http }
add element ${family} kube-proxy service-ips { ${a('10.96.5.5', 'fd00:10:96::5')} . tcp . 80 : goto service-LONEXXXX-default/lone/tcp/http }
add element ${family} kube-proxy no-endpoint-services { ${a('10.96.44.201', 'fd00:10:96::c9')} . tcp . 443 comment "shop/legacy-api:https" : goto reject-chain }
`;
}

const endpoints = (v: NonNullable<ReturnType<typeof kubeProxyNftView>>, name: string) =>
  v.services
    .find((s) => s.name === name)!
    .endpoints.map((e) => `${e.address}:${e.port}`)
    .sort();

test(
  'nft list table ip/ip6 kube-proxy, printed by the real nft, reads back to every service and endpoint',
  { skip },
  async () => {
    await withNetns(['node'], async (ns) => {
      await ns.exec('node', ['nft', '-f', '-'], { input: table('ip') + table('ip6') });
      const out4 = await ns.out('node', ['nft', 'list', 'table', 'ip', 'kube-proxy']);
      const out6 = await ns.out('node', ['nft', 'list', 'table', 'ip6', 'kube-proxy']);
      // nft wraps long element lists over several lines: the parser must join them
      assert.match(out4, /elements = \{[^}]*,\n/);

      const v4 = kubeProxyNftView(parseNft(out4), 'ip')!;
      assert.equal(v4.family, 'ip');
      assert.deepEqual(
        v4.services.map((s) => `${s.clusterIP}:${s.port}/${s.protocol} ${s.name}`).sort(),
        [
          '10.96.5.5:80/TCP default/lone',
          '10.96.63.156:80/TCP default/web',
          '10.96.7.7:8080/TCP default/api',
          '10.96.9.9:8080/TCP default/one',
        ],
      );
      assert.deepEqual(endpoints(v4, 'default/web'), ['10.244.1.3:80', '10.244.2.2:80']);
      assert.deepEqual(endpoints(v4, 'default/api'), ['10.244.3.4:8080', '10.244.3.5:8080']);
      assert.deepEqual(endpoints(v4, 'default/one'), ['10.244.4.4:8080']);
      assert.deepEqual(endpoints(v4, 'default/lone'), ['10.244.5.5:80']);
      assert.deepEqual(v4.noEndpoints, ['10.96.44.201 . tcp . 443']);
      assert.equal(v4.services.find((s) => s.name === 'default/web')!.portName, 'http');

      const v6 = kubeProxyNftView(parseNft(out6), 'ip6')!;
      assert.equal(v6.family, 'ip6');
      assert.deepEqual(endpoints(v6, 'default/web'), [
        'fd00:10:244:1::3:80',
        'fd00:10:244:2::2:80',
      ]);
      assert.deepEqual(endpoints(v6, 'default/api'), [
        'fd00:10:244:3::4:8080',
        'fd00:10:244:3::5:8080',
      ]);
      assert.deepEqual(endpoints(v6, 'default/one'), ['fd00:10:244:4::4:8080']);

      // inspect's node snapshot: the same section the node script prints
      const section = `\n@@proxylab-inspect begin nft@@\n${out4}\n@@proxylab-inspect end nft 0@@\n@@proxylab-inspect done@@\n`;
      const snap = readNode('node', section);
      assert.equal(snap.nft?.services.length, 4);
      assert.equal(snap.unavailable.nft, undefined);

      // and a node without the table says so
      const gone = await ns.exec('node', ['nft', 'list', 'table', 'ip', 'no-such-table'], {
        reject: false,
      });
      assert.equal(gone.exitCode, 1);
      const missing = readNode(
        'node',
        `\n@@proxylab-inspect begin nft@@\n${gone.stderr}\n@@proxylab-inspect end nft 1@@\n@@proxylab-inspect done@@\n`,
      );
      assert.equal(missing.unavailable.nft, 'the node has no nftables table ip kube-proxy');
    });
  },
);
