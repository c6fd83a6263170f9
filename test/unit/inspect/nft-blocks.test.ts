/**
 * nft outputs as they are pasted: the same chain from several nodes without its table (each
 * block kept), `nft -a` handles, `nft list tables`, blocks this parser does not read (in
 * `skipped`, never dropped), and an nft that crashed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kubeProxyNftView, parseNft, ParseError } from '../../../src/inspect/index.js';
import { modern } from '../../helpers/fixtures.js';

const K3S = modern('nft/01-k3s-nftables-mode-nft-list-table-ip-kube-proxy.txt').body;

/** One chain's block (`chain NAME { … }`) cut out of a real table listing. */
function chainBlock(table: string, name: string): string {
  const lines = table.split('\n');
  const at = lines.findIndex((l) => l.trim() === `chain ${name} {`);
  assert.ok(at >= 0, `chain ${name} in the listing`);
  const end = lines.findIndex((l, i) => i > at && l.trim() === '}');
  return lines.slice(at, end + 1).join('\n');
}

test('the same chain pasted from three nodes without its table: three blocks, every rule kept', () => {
  const services = chainBlock(K3S, 'services');
  const n = services.split('\n').length - 2;
  assert.ok(n >= 2);
  const r = parseNft([services, services, services].join('\n'));
  assert.equal(r.tables.length, 3);
  for (const t of r.tables) {
    assert.equal(t.name, 'unknown');
    assert.equal(t.chains.services!.rules.length, n);
  }
  assert.deepEqual(r.skipped, []);
});

test('blocks under node markers are filed by node; a node pasted whole still gives its kube-proxy view', () => {
  const map = modern(
    'nft/06-minikube-kindnet-ge1.36-service-ips-map-and-dnat-numgen-map-chain.txt',
  ).body;
  const r = parseNft(['==> node1 <==', map, '', '==> node2 <==', map].join('\n'));
  assert.deepEqual(
    r.tables.map((t) => t.section),
    ['node1', 'node2'],
  );
  for (const t of r.tables) {
    assert.equal(t.sets['service-ips']!.elements.length, 5);
    assert.equal(Object.keys(t.chains).length, 1);
  }
  const v = kubeProxyNftView(r)!;
  const web = v.services.find((s) => s.name === 'ch40/web')!;
  assert.deepEqual(
    web.endpoints.map((e) => `${e.address}:${e.port}`),
    ['10.244.0.9:8080', '10.244.1.7:8080', '10.244.1.8:8080'],
  );
});

test('a map and its chains pasted one `nft list` at a time (prompts between) stay one table', () => {
  const map = modern(
    'nft/06-minikube-kindnet-ge1.36-service-ips-map-and-dnat-numgen-map-chain.txt',
  ).body;
  const lines = map.split('\n');
  const chainAt = lines.findIndex((l) => l.trim().startsWith('chain '));
  const text = [
    '$ nft list map ip kube-proxy service-ips',
    ...lines.slice(0, chainAt),
    '$ nft list chain ip kube-proxy service-KQQRD225-ch40/web/tcp/http',
    ...lines.slice(chainAt),
  ].join('\n');
  const r = parseNft(text);
  assert.equal(r.tables.length, 1);
  assert.equal(
    kubeProxyNftView(r)!.services.find((s) => s.name === 'ch40/web')!.endpoints.length,
    3,
  );
});

test('nft -a: `# handle N` after tables, sets, chains and rules is not part of them', () => {
  const r = parseNft(
    modern('nft/02-kubeadm-v1.32.1-nft-a-list-table-kube-proxy-with-handles.txt').body,
  );
  const t = r.tables[0]!;
  assert.equal(t.name, 'kube-proxy');
  assert.equal(t.sets['service-ips']!.elements.length, 12);
  assert.equal(t.sets['cluster-ips']!.elements.length, 6);
  for (const c of Object.values(t.chains))
    for (const rule of c.rules) assert.doesNotMatch(rule, /# handle/);
  const v = kubeProxyNftView(r)!;
  assert.equal(v.services.length, 12);
});

test('nft list tables: every table named, none with contents', () => {
  const r = parseNft(
    modern('nft/03-kubeadm-v1.32.1-nft-list-tables-ip-and-ip6-kube-proxy.txt').body,
  );
  assert.deepEqual(
    r.tables.map((t) => `${t.family} ${t.name} ${t.nameOnly}`),
    [
      'ip nat true',
      'ip filter true',
      'ip mangle true',
      'ip6 mangle true',
      'ip6 nat true',
      'ip6 filter true',
      'ip kube-proxy true',
      'ip6 kube-proxy true',
    ],
  );
});

test('what is not read is said: other blocks and lines go to skipped, set attributes are kept', () => {
  const text = [
    'table inet t {',
    '\tflowtable f {',
    '\t\thook ingress priority filter',
    '\t\tdevices = { eth0 }',
    '\t}',
    '\tset s {',
    '\t\ttype ipv4_addr',
    '\t\tsize 65535',
    '\t\tflags dynamic,timeout',
    '\t\ttimeout 1h',
    '\t\telements = { 10.0.0.1 }',
    '\t}',
    '\tstray words here',
    '\tchain c {',
    '\t\taccept',
    '\t}',
    '}',
  ].join('\n');
  const r = parseNft(text);
  // the flowtable's five lines and the stray line
  assert.deepEqual(r.skipped, [2, 3, 4, 5, 13]);
  const t = r.tables[0]!;
  assert.deepEqual(t.sets.s!.attributes, ['size 65535', 'timeout 1h']);
  assert.deepEqual(t.sets.s!.elements, ['10.0.0.1']);
  // the flowtable's `}` did not close the table: the chain after it is in it
  assert.deepEqual(t.chains.c!.rules, ['accept']);
  assert.equal(r.tables.length, 1);
});

test('an nft that crashed is refused with what happened and what to do', () => {
  const crash = modern('nft/07-kind-bullseye-nft-0.9.8-segfault-listing-kube-proxy-ruleset.txt');
  assert.throws(
    () => parseNft(crash.body),
    (e: unknown) =>
      e instanceof ParseError &&
      /Segmentation fault/.test(e.reason) &&
      /nft 1\.0\.1 or newer/.test(e.reason),
  );
});
