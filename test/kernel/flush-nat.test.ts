/**
 * flush-nat against real iptables (nft and legacy) in a network namespace this test creates:
 * a kube-proxy-shaped nat table from real fixture rules plus kind's DOCKER_OUTPUT,
 * DOCKER_POSTROUTING and KIND-MASQ-AGENT chains. The plan is computed from the real
 * inspection script's output and applied with the real one-command apply script; then
 * iptables-save before/after must show the leftovers gone and Docker/kind byte-identical.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { natTable, IPVS_SETS } from '../unit/steps/nat-fixture.js';
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
  for (const b of ['ip', 'ipset', 'iptables-nft-restore', 'iptables-legacy-restore']) {
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
  for (const t of ['iptables', 'iptables-save', 'iptables-restore']) {
    const target = `/usr/sbin/${t.replace('iptables', `iptables-${variant}`)}`;
    symlinkSync(
      existsSync(target) ? target : t.replace('iptables', `iptables-${variant}`),
      join(bin, t),
    );
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
    for (const s of IPVS_SETS) ex(['ipset', 'create', ...s]);
    ex(['iptables-restore'], natTable({ iptablesMode: true, ipvsMode: true }));
    const before = ex(['iptables-save', '-t', 'nat']);
    assert.ok(matching(before, /KUBE-SVC-/).length > 0, 'fixture loaded');

    const snap = snapshotFromInspect(ex(['sh', '-c', INSPECT_SCRIPT]));
    const plan = planFlush(current, snap);
    assert.ok(!isEmptyPlan(plan));
    ex(['sh', '-c', APPLY_SCRIPT], renderApplyInput(plan));
    const after = ex(['iptables-save', '-t', 'nat']);

    // Docker's and kind's rules: byte-identical
    const dk = /DOCKER|KIND-/;
    assert.deepEqual(matching(after, dk), matching(before, dk));
    assert.ok(matching(before, dk).length >= 13);

    if (current === 'ipvs') {
      assert.deepEqual(matching(after, /KUBE-(SVC|SEP|SVL|EXT|FW|XLB)-|KUBE-NODEPORTS/), []);
      // the ipvs-mode rules (what kube-proxy uses now) are untouched
      const ipvs = /match-set KUBE-|KUBE-NODE-PORT\b/;
      assert.deepEqual(matching(after, ipvs), matching(before, ipvs));
      assert.ok(matching(after, ipvs).length >= 5);
    } else {
      assert.deepEqual(matching(after, /match-set KUBE-|:KUBE-NODE-PORT |-j KUBE-NODE-PORT$/), []);
      const ipt = /KUBE-(SVC|SEP|SVL|XLB)-|KUBE-NODEPORTS/;
      assert.deepEqual(matching(after, ipt), matching(before, ipt));
      assert.deepEqual(
        ex(['ipset', 'list', '-n'])
          .split('\n')
          .filter((s) => s.startsWith('KUBE-')),
        [],
      );
      assert.equal(countPlan(plan).ipsets, 3);
    }
    // every other line is unchanged too
    const other = (s: string) =>
      strip(s).filter(
        (l) => !/KUBE-(SVC|SEP|SVL|EXT|FW|XLB)-|KUBE-NODEPORTS|KUBE-NODE-PORT|match-set/.test(l),
      );
    assert.deepEqual(other(after), other(before));
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
