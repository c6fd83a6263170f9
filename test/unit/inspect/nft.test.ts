/**
 * `nft list` output as people paste it: a single map (labs/nftables shows `nft list map ip
 * kube-proxy service-ips`), grep'd chain fragments with `--` separators, a service chain
 * whose endpoint chains are not in the input (their names carry the address; an IPv6
 * address is written with dots, as kube-proxy names it). The kernel tier
 * (test/kernel/nft-inspect.test.ts) parses whole tables printed by the real nft.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseLab } from '../../../src/doccheck/markdown.js';
import { parseNft, kubeProxyNftView, ParseError, PARSERS } from '../../../src/inspect/index.js';
import { ROOT } from '../../helpers/cli.js';

const lab = parseLab(readFileSync(join(ROOT, 'labs', 'nftables', 'README.md'), 'utf8'));
const block = (re: RegExp) => lab.steps.find((s) => re.test(s.command))!.expected;

test('the service-ips map as labs/nftables lists it: every ClusterIP . proto . port and its chain', () => {
  const r = parseNft(block(/nft list map ip kube-proxy service-ips/));
  assert.equal(r.tables.length, 1);
  assert.deepEqual([r.tables[0]!.family, r.tables[0]!.name], ['ip', 'kube-proxy']);
  const map = r.tables[0]!.sets['service-ips']!;
  assert.equal(map.kind, 'map');
  assert.equal(map.type, 'ipv4_addr . inet_proto . inet_service : verdict');
  assert.equal(map.comment, 'ClusterIP, ExternalIP and LoadBalancer IP traffic');
  assert.equal(map.elements.length, 6, 'elements spread over six lines');
  const v = kubeProxyNftView(r)!;
  const dns = v.services.filter((s) => s.name === 'kube-system/kube-dns');
  assert.deepEqual(dns.map((s) => `${s.protocol} ${s.clusterIP}:${s.port} ${s.portName}`).sort(), [
    'TCP 10.96.0.10:53 dns-tcp',
    'TCP 10.96.0.10:9153 metrics',
    'UDP 10.96.0.10:53 dns',
  ]);
  assert.ok(v.services.every((s) => !s.chainListed && s.endpoints.length === 0));
});

test("grep'd chains with -- separators: the rules of each chain, endpoints from the chain names", () => {
  const text = block(/grep -A3 'chain endpoint-/);
  const r = parseNft(text);
  const chains = Object.keys(r.tables[0]!.chains);
  assert.equal(chains.length, 2);
  for (const c of chains) {
    assert.match(c, /^endpoint-[A-Z0-9]{8}-default\/web\/tcp\/http__10\.244\.\d+\.\d+\/80$/);
    assert.match(
      r.tables[0]!.chains[c]!.rules[1]!,
      /^meta l4proto tcp dnat to 10\.244\.\d+\.\d+:80$/,
    );
  }
  assert.deepEqual(r.skipped, []);
  // a service chain with its endpoint chains missing, one of them IPv6
  const partial = parseNft(`table ip6 kube-proxy {
	map service-ips {
		type ipv6_addr . inet_proto . inet_service : verdict
		elements = { fd00:10:96::9c . tcp . 80 : goto service-SUSTUHLJ-default/web/tcp/http }
	}
	chain service-SUSTUHLJ-default/web/tcp/http {
		numgen random mod 2 vmap { 0 : goto endpoint-IVINOOCY-default/web/tcp/http__fd00.10.244.1..3/80, 1 : goto endpoint-KLDTO2PW-default/web/tcp/http__10.244.2.2/80 }
	}
}`);
  const v = kubeProxyNftView(partial, 'ip6')!;
  assert.deepEqual(
    v.services[0]!.endpoints.map((e) => `${e.address} ${e.port}`),
    ['fd00:10:244:1::3 80', '10.244.2.2 80'],
  );
});

test('no-endpoint-services, the table comment and a base chain hook', () => {
  const r = parseNft(`table ip kube-proxy {
	comment "rules for kube-proxy"
	map no-endpoint-services {
		type ipv4_addr . inet_proto . inet_service : verdict
		comment "vmap to drop or reject packets to services with no endpoints"
		elements = { 10.96.44.201 . tcp . 443 comment "shop/legacy-api:https, v2" : goto reject-chain }
	}
	chain nat-prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		jump services
	}
}`);
  const t = r.tables[0]!;
  assert.equal(t.comment, 'rules for kube-proxy');
  assert.equal(
    t.chains['nat-prerouting']!.hook,
    'type nat hook prerouting priority dstnat; policy accept;',
  );
  assert.deepEqual(t.chains['nat-prerouting']!.rules, ['jump services']);
  assert.equal(t.sets['no-endpoint-services']!.elements.length, 1, 'a comma inside a comment');
  assert.deepEqual(kubeProxyNftView(r)!.noEndpoints, ['10.96.44.201 . tcp . 443']);
});

test('input that is not nft output is refused with a one-line reason', () => {
  for (const text of [
    '',
    'TCP  10.96.0.1:443 rr\n  -> 10.0.0.1:6443 Masq 1 0 0',
    '*nat\n-A X -j Y\nCOMMIT',
  ]) {
    assert.throws(
      () => PARSERS.nft(text),
      (e: unknown) => e instanceof ParseError && e.format === 'nft' && !e.message.includes('\n'),
    );
  }
});
