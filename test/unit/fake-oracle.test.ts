/**
 * The oracle for what kube-proxy programs: cases from kube-proxy's own proxier tests (as data
 * in test/fixtures/kube-proxy-tests/, each with its source header) fed to the fake's model
 * layer (test/fake/model/), which must program the same virtual servers, ipset entries and
 * iptables chain jumps the kube-proxy tests expect.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ROOT } from '../helpers/cli.js';
// @ts-expect-error the fake is plain JavaScript
import { servicePorts } from '../fake/lib/services.mjs';
// @ts-expect-error the fake is plain JavaScript
import { ipvsProxier } from '../fake/model/ipvs.mjs';
// @ts-expect-error the fake is plain JavaScript
import { iptablesProxier } from '../fake/model/iptables.mjs';
// @ts-expect-error the fake is plain JavaScript
import { nftablesProxier } from '../fake/model/nftables.mjs';
// @ts-expect-error the fake is plain JavaScript
import { words } from '../fake/lib/words.mjs';

const DIR = join(ROOT, 'test', 'fixtures', 'kube-proxy-tests');

interface Port {
  name: string;
  port: number;
  protocol: string;
  nodePort?: number;
}
interface Case {
  test: string;
  nodeIPs: string[];
  services: Array<{
    namespace: string;
    name: string;
    type: string;
    clusterIP: string;
    ports: Port[];
  }>;
  endpointSlices: Array<{
    namespace: string;
    service: string;
    addressType: string;
    endpoints: Array<{ addresses: string[]; nodeName?: string }>;
    ports: Port[];
  }>;
  expectedIPVS: Array<{
    address: string;
    port: number;
    protocol: string;
    scheduler: string;
    realServers: string[];
  }>;
  expectedIPSets?: Record<string, string[]>;
  expectedIptablesChains?: Record<
    string,
    Array<{ jumpChain: string; matchSet?: string; sourceAddress?: string }>
  >;
}

/** The objects of a case as the fake's cluster model holds them. */
function clusterOf(c: Case) {
  const objects: Record<string, unknown> = {};
  for (const s of c.services)
    objects[`Service/${s.namespace}/${s.name}`] = {
      kind: 'Service',
      metadata: { namespace: s.namespace, name: s.name },
      spec: { type: s.type, clusterIP: s.clusterIP, ports: s.ports },
    };
  c.endpointSlices.forEach((sl, i) => {
    objects[`EndpointSlice/${sl.namespace}/${sl.service}-${i}`] = {
      kind: 'EndpointSlice',
      metadata: {
        namespace: sl.namespace,
        name: `${sl.service}-${i}`,
        labels: { 'kubernetes.io/service-name': sl.service },
      },
      addressType: sl.addressType,
      endpoints: sl.endpoints,
      ports: sl.ports,
    };
  });
  return { objects, nodes: [] };
}

/** One chain's rules over nat then filter, as kube-proxy's fake iptables test helper reads them. */
function jumps(
  tables: { nat: Record<string, string[]>; filter: Record<string, string[]> },
  chain: string,
) {
  return [...(tables.nat[chain] ?? []), ...(tables.filter[chain] ?? [])].map((r) => {
    const w: string[] = words(r);
    const at = (flag: string) => (w.includes(flag) ? w[w.indexOf(flag) + 1] : undefined);
    const s = at('-s');
    return {
      jumpChain: at('-j'),
      ...(s && w[w.indexOf('-s') - 1] !== '!' ? { sourceAddress: s } : {}),
      matchSet: at('--match-set') ?? '',
    };
  });
}

for (const file of readdirSync(DIR).filter((f) => f.startsWith('ipvs-'))) {
  const text = readFileSync(join(DIR, file), 'utf8');
  const doc = parse(text) as { node: string; cases: Case[] };
  for (const c of doc.cases)
    test(`${file}: ${c.test}`, () => {
      assert.match(text, /^# source: kubernetes\/kubernetes pkg\/proxy\/ipvs\/proxier_test\.go/);
      const out = ipvsProxier({
        sps: servicePorts(clusterOf(c)),
        node: { name: doc.node },
        nodeIPs: c.nodeIPs,
        clusterCIDR: '',
        scheduler: '',
      });
      const got = (
        out.ipvs as Array<{
          proto: string;
          addr: string;
          sched: string;
          rs: Array<{ ip: string; port: number }>;
        }>
      )
        .map((v) => ({
          address: v.addr.slice(0, v.addr.lastIndexOf(':')),
          port: Number(v.addr.slice(v.addr.lastIndexOf(':') + 1)),
          protocol: v.proto.toUpperCase(),
          scheduler: v.sched,
          realServers: v.rs.map((r) => `${r.ip}:${r.port}`).sort(),
        }))
        .sort((a, b) => `${a.address}:${a.port}`.localeCompare(`${b.address}:${b.port}`));
      const want = [...c.expectedIPVS].sort((a, b) =>
        `${a.address}:${a.port}`.localeCompare(`${b.address}:${b.port}`),
      );
      assert.deepEqual(got, want);
      for (const [set, members] of Object.entries(c.expectedIPSets ?? {}))
        assert.deepEqual([...out.ipsets[set].members].sort(), [...members].sort(), set);
      for (const [chain, want] of Object.entries(c.expectedIptablesChains ?? {}))
        assert.deepEqual(
          jumps(out, chain),
          want.map((x) => ({
            jumpChain: x.jumpChain,
            ...(x.sourceAddress ? { sourceAddress: x.sourceAddress } : {}),
            matchSet: x.matchSet ?? '',
          })),
          chain,
        );
    });
}

/**
 * One iptables rule as a comparable value: its option groups ("-m tcp", "--dport 80",
 * "! -s 10.0.0.0/8") sorted, with the forms iptables-save prints and the forms kube-proxy
 * writes made equal (/32 hosts, --or-mark/--xor-mark as --set-xmark).
 */
function ruleKey(rule: string): string {
  const w: string[] = words(rule);
  const groups: string[] = [];
  for (let i = 0; i < w.length;) {
    let g = w[i]!;
    if (g === '!') g = `! ${w[++i]}`;
    i++;
    while (i < w.length && !w[i]!.startsWith('-') && w[i] !== '!') g += ` ${w[i++]}`;
    g = g
      .replace(/^(! )?(-[sd]) (\d+\.\d+\.\d+\.\d+)\/32$/, '$1$2 $3')
      .replace(/^--or-mark (\S+)$/, '--set-xmark $1/$1')
      .replace(/^--xor-mark (\S+)$/, '--set-xmark $1/0x0');
    groups.push(g);
  }
  return groups.sort().join(' | ');
}

for (const file of readdirSync(DIR).filter((f) => f.startsWith('iptables-'))) {
  const text = readFileSync(join(DIR, file), 'utf8');
  const doc = parse(text) as Pick<Case, 'services' | 'endpointSlices'> & {
    clusterCIDR: string;
    randomFully: boolean;
    expectedNat: string;
  };
  test(`${file}: the nat rules kube-proxy's iptables proxier test expects`, () => {
    assert.match(text, /^# source: kubernetes\/kubernetes pkg\/proxy\/iptables\/proxier_test\.go/);
    const { chains } = iptablesProxier({
      sps: servicePorts(clusterOf({ ...doc, test: '', nodeIPs: [], expectedIPVS: [] })),
      clusterCIDR: doc.clusterCIDR,
      randomFully: doc.randomFully,
    });
    const want = new Map<string, string[]>();
    for (const line of doc.expectedNat.trim().split('\n')) {
      const m = /^-A (\S+) (.*)$/.exec(line)!;
      want.set(m[1]!, [...(want.get(m[1]!) ?? []), ruleKey(m[2]!)]);
    }
    // the same chains (names carry kube-proxy's hashes), each with the same rules in order
    assert.deepEqual(
      Object.keys(chains)
        .filter((c) => (chains[c] as string[]).length)
        .sort(),
      [...want.keys()].sort(),
    );
    for (const [chain, rules] of want)
      assert.deepEqual((chains[chain] as string[]).map(ruleKey), rules, chain);
  });
}

/**
 * nft lists some rules in another form than kube-proxy writes them (checked by loading the
 * written form into the real nft 1.0.6 here and listing it): the model keeps the listed form,
 * the kube-proxy tests the written one.
 */
function written(rule: string): string {
  return rule
    .replace('meta mark set meta mark | 0x00004000', 'mark set mark or 0x4000')
    .replace('meta mark & 0x00004000 == 0x00000000 return', 'mark and 0x4000 == 0 return')
    .replace('meta mark set meta mark ^ 0x00004000', 'mark set mark xor 0x4000')
    .replace(/^ip daddr (\d+\.\d+\.\d+\.\d+\/\d+) drop/, 'ip daddr { $1 } drop');
}

interface NftObj {
  kind: 'set' | 'map' | 'chain';
  name: string;
  rules?: string[];
  elements?: string[];
}

for (const file of readdirSync(DIR).filter((f) => f.startsWith('nftables-'))) {
  const text = readFileSync(join(DIR, file), 'utf8');
  const doc = parse(text) as Pick<Case, 'services' | 'endpointSlices'> & {
    nodeIP: string;
    clusterCIDR: string;
    serviceCIDR: string;
    minor: number;
    expected: string;
  };
  test(`${file}: the nftables objects kube-proxy's nftables proxier test expects`, () => {
    assert.match(text, /^# source: kubernetes\/kubernetes pkg\/proxy\/nftables\/proxier_test\.go/);
    const objs = nftablesProxier({
      sps: servicePorts(clusterOf({ ...doc, test: '', nodeIPs: [], expectedIPVS: [] })),
      minor: doc.minor,
      nodeIP: doc.nodeIP,
      clusterCIDR: doc.clusterCIDR,
      serviceCIDR: doc.serviceCIDR,
    }) as NftObj[];
    const lines = doc.expected.trim().split('\n');
    const names = (kind: string) =>
      lines
        .filter((l) => l.startsWith(`add ${kind} ip kube-proxy `))
        .map((l) => l.split(' ')[4]!)
        .sort();
    for (const kind of ['set', 'map', 'chain'] as const)
      assert.deepEqual(
        objs
          .filter((o) => o.kind === kind)
          .map((o) => o.name)
          .sort(),
        names(kind),
        kind,
      );
    // each chain's rules, in order
    for (const o of objs.filter((x) => x.kind === 'chain')) {
      const want = lines
        .filter((l) => l.startsWith(`add rule ip kube-proxy ${o.name} `))
        .map((l) => l.slice(`add rule ip kube-proxy ${o.name} `.length).replace(/ , /g, ', '));
      assert.deepEqual(o.rules!.map(written), want, o.name);
    }
    // each set's and map's elements
    for (const o of objs.filter((x) => x.kind !== 'chain')) {
      const want = lines
        .filter((l) => l.startsWith(`add element ip kube-proxy ${o.name} `))
        .map((l) => /\{ (.*) \}$/.exec(l)![1]!)
        .sort();
      assert.deepEqual([...o.elements!].sort(), want, o.name);
    }
  });
}
