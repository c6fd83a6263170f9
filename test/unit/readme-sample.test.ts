/**
 * The README's `make lab` sample (scripts/readme-sample.ts): what the comparison sets aside
 * (clock times, durations) and what it keeps (counts, names, every other word), and the
 * excerpt rule applied to a run. The run itself is compared in test/flow/matrix-1.35.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { README, excerpt, normalize, readmeBlock, withBlock } from '../../scripts/readme-sample.js';

test('normalize sets aside clock times and durations only', () => {
  assert.equal(
    normalize(
      '[COMPLETED] [10:18:11] step 1 · make iptables [0.5s]\n✔ 41 passed, 0 failed in 31.7 s',
    ),
    '[COMPLETED] [hh:mm:ss] step 1 · make iptables [t]\n✔ 41 passed, 0 failed in N s',
  );
  assert.notEqual(normalize('✔ 41 passed, 0 failed'), normalize('✔ 39 passed, 0 failed'));
  assert.notEqual(normalize('scheduler rr'), normalize('scheduler wrr'));
  assert.notEqual(normalize('kube-proxy mode ipvs'), normalize('kube-proxy mode iptables'));
});

test('excerpt keeps the run up to its third step, "...", then the summary onwards', () => {
  const run = [
    'cluster proxylab: created',
    '[STARTED] step 1 · make iptables',
    '[COMPLETED] step 1 · make iptables [0.5s]',
    '[COMPLETED] step 2 · kubectl get pods [0.1s]',
    '[COMPLETED] step 3 · make ipvs [2.0s]',
    '[COMPLETED] step 4 · ipvsadm -ln [0.3s]',
    '[COMPLETED] step 5 · ipset list [0.3s]',
    '✔ 5 passed, 0 failed in 3.2 s',
    'report: .proxylab/last-check.json',
  ].join('\n');
  assert.equal(
    excerpt(run),
    [
      'cluster proxylab: created',
      '[COMPLETED] step 1 · make iptables [0.5s]',
      '[COMPLETED] step 2 · kubectl get pods [0.1s]',
      '[COMPLETED] step 3 · make ipvs [2.0s]',
      '...',
      '✔ 5 passed, 0 failed in 3.2 s',
      'report: .proxylab/last-check.json',
    ].join('\n'),
  );
});

test('the README has one sample block, and writing it back is lossless', () => {
  const readme = readFileSync(README, 'utf8');
  const block = readmeBlock(readme);
  assert.ok(block, 'README.md has the sample block between its markers');
  assert.match(block, /passed, 0 failed/, 'the sample shows a green check');
  assert.equal(withBlock(readme, block), readme);
  assert.notEqual(withBlock(readme, `${block}\nextra`), readme);
});
