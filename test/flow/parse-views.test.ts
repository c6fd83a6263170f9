/**
 * `proxylab parse` output as scripts read it: compact JSON on a pipe (indented with
 * --pretty), and --view full|rules|kube-proxy|summary on real outputs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.js';
import { modern, real } from '../helpers/fixtures.js';
import { PARSERS } from '../../src/inspect/index.js';

const NFT = modern('nft/02-kubeadm-v1.32.1-nft-a-list-table-kube-proxy-with-handles.txt').body;
const IPT = real('iptables/10-ssup2-nvL-KUBE-SVC-3-endpoints.txt').body;

test('on a pipe the JSON is one line; --pretty indents it; both are the parse', async () => {
  const compact = await runCli(['parse', 'nft', '-'], { input: NFT });
  assert.equal(compact.code, 0, compact.stderr);
  assert.equal(compact.stdout.trimEnd().split('\n').length, 1);
  assert.deepEqual(JSON.parse(compact.stdout), JSON.parse(JSON.stringify(PARSERS.nft(NFT))));
  const pretty = await runCli(['parse', 'nft', '--pretty', '-'], { input: NFT });
  assert.equal(pretty.stdout, `${JSON.stringify(PARSERS.nft(NFT), null, 2)}\n`);
});

test('--view kube-proxy, rules and summary on real nft and iptables outputs', async () => {
  const kp = JSON.parse(
    (await runCli(['parse', 'nft', '--view', 'kube-proxy', '-'], { input: NFT })).stdout,
  ) as {
    kubeProxy: { services: unknown[] };
    tables?: unknown;
  };
  assert.equal(kp.kubeProxy.services.length, 12);
  assert.equal(kp.tables, undefined);
  const sum = JSON.parse(
    (await runCli(['parse', 'nft', '--view', 'summary', '-'], { input: NFT })).stdout,
  ) as {
    tables: { name: string; sets: Record<string, number> }[];
    kubeProxy: { services: number };
  };
  assert.equal(sum.tables[0]!.name, 'kube-proxy');
  assert.equal(sum.tables[0]!.sets['service-ips'], 12);
  assert.equal(sum.kubeProxy.services, 12);
  const rules = JSON.parse(
    (await runCli(['parse', 'iptables', '--view', 'rules', '-'], { input: IPT })).stdout,
  ) as {
    tables: Record<string, unknown>;
    kubeProxy?: unknown;
  };
  assert.ok(rules.tables);
  assert.equal(rules.kubeProxy, undefined);
  const isum = JSON.parse(
    (await runCli(['parse', 'iptables', '--view', 'summary', '-'], { input: IPT })).stdout,
  ) as {
    ruleCount: number;
    kubeProxy: { endpoints: number };
  };
  assert.equal(isum.ruleCount, PARSERS.iptables(IPT).ruleCount);
  assert.equal(isum.kubeProxy.endpoints, 3);
});

test('a view the kind does not have, or no such view: exit 2 with the views it has', async () => {
  const r = await runCli(['parse', 'ipset', '--view', 'rules', '-'], {
    input: 'Name: X\nType: hash:ip\n',
  });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /ipset has no "rules" view/);
  assert.match(r.stderr, /full/);
  const u = await runCli(['parse', 'iptables', '--view', 'everything', '-'], { input: IPT });
  assert.equal(u.code, 2);
  assert.match(u.stderr, /unknown view "everything"/);
  assert.equal(u.stdout, '');
});

test('a device is refused before reading (it would never end)', async () => {
  const r = await runCli(['parse', 'ipvsadm', '/dev/zero'], { timeoutMs: 30_000 });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /it is a device/);
  assert.equal(r.stdout, '');
});
