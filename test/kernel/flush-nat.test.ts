/**
 * flush-nat against real iptables (nft and legacy) in a network namespace this test creates:
 * a kube-proxy-shaped nat table from real fixture rules plus kind's DOCKER_OUTPUT,
 * DOCKER_POSTROUTING and KIND-MASQ-AGENT chains. The plan is computed from the real
 * inspection script's output and applied with the real one-command apply script; then
 * iptables-save before/after must show the leftovers gone and Docker/kind byte-identical.
 * The same for IPv6 (ip6tables of the same variant): kube-proxy runs dual-stack, so its
 * leftovers are there too, and the host's own IPv6 rule must stay.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { natTable, natTable6, IPVS_SETS, IPVS_SETS_6 } from '../unit/steps/nat-fixture.js';
import {
  APPLY_SCRIPT,
  INSPECT_SCRIPT,
  countPlan,
  isEmptyPlan,
  planFlush,
  renderApplyInput,
  snapshotFromInspect,
  type ProxyMode,
} from '../../src/steps/flushnat.js';

function why(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces and iptables)';
  for (const b of [
    'ip',
    'ipset',
    'iptables-nft-restore',
    'iptables-legacy-restore',
    'ip6tables-nft-restore',
    'ip6tables-legacy-restore',
  ]) {
    if (spawnSync('sh', ['-c', `command -v ${b}`]).status !== 0)
      return `${b} is not installed (apt-get install iptables ipset iproute2)`;
  }
  const probe = `proxylab-fnprobe-${process.pid}`;
  const r = spawnSync('ip', ['netns', 'add', probe]);
  if (r.status !== 0) return `cannot create a network namespace: ${r.stderr.toString().trim()}`;
  spawnSync('ip', ['netns', 'del', probe]);
  return undefined;
}

const skip = why();
if (skip) console.log(`# skipping flush-nat kernel tests: ${skip}`);

type Variant = 'nft' | 'legacy';

function withNs(variant: Variant, fn: (ex: (argv: string[], input?: string) => string) => void) {
  const ns = `proxylab-fn-${variant}-${process.pid}`;
  const bin = mkdtempSync(join(tmpdir(), 'proxylab-ipt-'));
  for (const t of [
    'iptables',
    'iptables-save',
    'iptables-restore',
    'ip6tables',
    'ip6tables-save',
    'ip6tables-restore',
  ]) {
    const name = t.replace(/^(ip6?tables)/, `$1-${variant}`);
    symlinkSync(existsSync(`/usr/sbin/${name}`) ? `/usr/sbin/${name}` : name, join(bin, t));
  }
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
    fn((argv, input) =>
      execFileSync('ip', ['netns', 'exec', ns, ...argv], {
        env,
        input: input ?? '',
        encoding: 'utf8',
      }),
    );
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
    rmSync(bin, { recursive: true, force: true });
  }
}

const strip = (save: string) =>
  save.split('\n').filter((l) => !l.startsWith('#') && l.trim() !== '');
const matching = (save: string, re: RegExp) => strip(save).filter((l) => re.test(l));

function scenario(variant: Variant, current: ProxyMode) {
  withNs(variant, (ex) => {
    for (const s of [...IPVS_SETS, ...IPVS_SETS_6]) ex(['ipset', 'create', ...s]);
    ex(['iptables-restore'], natTable({ iptablesMode: true, ipvsMode: true }));
    ex(['ip6tables-restore'], natTable6({ iptablesMode: true, ipvsMode: true }));
    const before = ex(['iptables-save', '-t', 'nat']);
    const before6 = ex(['ip6tables-save', '-t', 'nat']);
    assert.ok(matching(before, /KUBE-SVC-/).length > 0, 'fixture loaded');
    assert.ok(matching(before6, /KUBE-SVC-/).length > 0, 'IPv6 fixture loaded');

    const snap = snapshotFromInspect(ex(['sh', '-c', INSPECT_SCRIPT]));
    const plan = planFlush(current, snap);
    assert.ok(!isEmptyPlan(plan));
    ex(['sh', '-c', APPLY_SCRIPT], renderApplyInput(plan));
    const after = ex(['iptables-save', '-t', 'nat']);
    const after6 = ex(['ip6tables-save', '-t', 'nat']);
    assert.ok(
      plan.tables.some((t) => t.family === 'ipv6'),
      'the plan covers IPv6',
    );
    // the host's own IPv6 rule stays
    assert.deepEqual(matching(after6, /fd00:abcd::/), matching(before6, /fd00:abcd::/));
    assert.equal(matching(after6, /fd00:abcd::/).length, 1);

    // Docker's and kind's rules: byte-identical
    const dk = /DOCKER|KIND-/;
    assert.deepEqual(matching(after, dk), matching(before, dk));
    assert.ok(matching(before, dk).length >= 13);

    if (current === 'ipvs') {
      const leftovers = /KUBE-(SVC|SEP|SVL|EXT|FW|XLB)-|KUBE-NODEPORTS/;
      assert.deepEqual(matching(after, leftovers), []);
      assert.deepEqual(matching(after6, leftovers), []);
      // the ipvs-mode rules (what kube-proxy uses now) are untouched
      const ipvs = /match-set KUBE-|KUBE-NODE-PORT\b/;
      assert.deepEqual(matching(after, ipvs), matching(before, ipvs));
      assert.ok(matching(after, ipvs).length >= 5);
      assert.deepEqual(matching(after6, ipvs), matching(before6, ipvs));
      assert.ok(matching(after6, ipvs).length >= 4);
    } else {
      const leftovers = /match-set KUBE-|:KUBE-NODE-PORT |-j KUBE-NODE-PORT$/;
      assert.deepEqual(matching(after, leftovers), []);
      assert.deepEqual(matching(after6, leftovers), []);
      const ipt = /KUBE-(SVC|SEP|SVL|XLB)-|KUBE-NODEPORTS/;
      assert.deepEqual(matching(after, ipt), matching(before, ipt));
      assert.deepEqual(matching(after6, ipt), matching(before6, ipt));
      assert.deepEqual(
        ex(['ipset', 'list', '-n'])
          .split('\n')
          .filter((s) => s.startsWith('KUBE-')),
        [],
      );
      assert.equal(countPlan(plan).ipsets, 5, 'three IPv4 sets and two KUBE-6-* sets');
    }
    // every other line is unchanged too
    const other = (s: string) =>
      strip(s).filter(
        (l) => !/KUBE-(SVC|SEP|SVL|EXT|FW|XLB)-|KUBE-NODEPORTS|KUBE-NODE-PORT|match-set/.test(l),
      );
    assert.deepEqual(other(after), other(before));
    assert.deepEqual(other(after6), other(before6));
    // a second run finds nothing left
    assert.ok(
      isEmptyPlan(planFlush(current, snapshotFromInspect(ex(['sh', '-c', INSPECT_SCRIPT])))),
    );
  });
}

for (const variant of ['nft', 'legacy'] as const) {
  test(
    `iptables-${variant}: after iptables→ipvs the KUBE-SVC/SEP leftovers go, ipvs rules and DOCKER/KIND stay`,
    { skip },
    () => scenario(variant, 'ipvs'),
  );
  test(
    `iptables-${variant}: after ipvs→iptables the match-set rules and KUBE-* ipsets go, iptables rules and DOCKER/KIND stay`,
    { skip },
    () => scenario(variant, 'iptables'),
  );
}
