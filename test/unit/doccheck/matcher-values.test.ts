/**
 * "This value matters" (issue 15): counters are free in the matcher, so a lesson that IS a
 * counter (DR: OutPkts 0; NAT: OutPkts > 0; rr: 10/10/10) marks it `[=N]`, `[>N]`, `[<N]`.
 * The rows are ipvsadm -Ln --stats as the micro-VM printed them for labs/ipvs-by-hand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDiff, matchOutput } from '../../../src/doccheck/matcher.js';
import { proposeUpdate } from '../../../src/doccheck/update.js';
import { Bindings } from '../../../src/doccheck/bindings.js';

const HEAD = [
  'IP Virtual Server version 1.2.1 (size=4096)',
  'Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes',
  '  -> RemoteAddress:Port',
];
const stats = (rows: Array<[string, number, number, number, number, number]>) =>
  [
    ...HEAD,
    ...rows.map(
      ([addr, c, ip, op, ib, ob], i) =>
        `${i === 0 ? 'TCP  ' : '  -> '}${addr}`.padEnd(34) +
        [c, ip, op, ib, ob].map((n) => String(n).padStart(8)).join(' '),
    ),
  ].join('\n');

const DR_DOC = [
  ...HEAD,
  'TCP  10.96.0.10:80                      [=30]      192      [=0]    12414        0',
  '  -> 10.244.1.11:80                     [=10]       64      [=0]     4138        0',
  '  -> 10.244.1.12:80                     [=10]       65      [=0]     4190        0',
  '  -> 10.244.1.13:80                     [=10]       63      [=0]     4086        0',
].join('\n');

test('DR: OutPkts [=0] and Conns [=10] hold on the run that shows them', () => {
  const ok = stats([
    ['10.96.0.10:80', 30, 190, 0, 12000, 0],
    ['10.244.1.11:80', 10, 63, 0, 4000, 0],
    ['10.244.1.12:80', 10, 64, 0, 4100, 0],
    ['10.244.1.13:80', 10, 63, 0, 3900, 0],
  ]);
  const r = matchOutput(DR_DOC, ok, { kind: 'ipvsadm' });
  assert.equal(r.ok, true, formatDiff(r));
});

test('DR: replies through the director (OutPkts 208) fail, saying the value matters', () => {
  const bad = stats([
    ['10.96.0.10:80', 30, 190, 340, 12000, 30000],
    ['10.244.1.11:80', 10, 63, 30, 4000, 3000],
    ['10.244.1.12:80', 10, 64, 208, 4100, 20000],
    ['10.244.1.13:80', 10, 63, 102, 3900, 7000],
  ]);
  const r = matchOutput(DR_DOC, bad, { kind: 'ipvsadm' });
  assert.equal(r.ok, false);
  assert.match(formatDiff(r), /the doc says this value matters: 0, found 340/);
});

test('rr: 30 requests as 3 connections (Conns 3) fail the [=10] per server', () => {
  const bad = stats([
    ['10.96.0.10:80', 3, 190, 0, 12000, 0],
    ['10.244.1.11:80', 1, 63, 0, 4000, 0],
    ['10.244.1.12:80', 1, 64, 0, 4100, 0],
    ['10.244.1.13:80', 1, 63, 0, 3900, 0],
  ]);
  const r = matchOutput(DR_DOC, bad, { kind: 'ipvsadm' });
  assert.equal(r.ok, false);
  assert.match(formatDiff(r), /the doc says this value matters: (30|10), found (3|1)\b/);
});

test('NAT: OutPkts [>0] holds for any positive count (also 12K) and fails on 0', () => {
  const doc = [
    ...HEAD,
    'TCP  10.96.0.10:80                      60      377      [>0]    24464    30992',
    '  -> 10.244.1.11:80                     20      124      [>0]     8068    10348',
  ].join('\n');
  const run = (out: number | string) =>
    [
      ...HEAD,
      `TCP  10.96.0.10:80                      61      380      ${out}    24464    30992`,
      `  -> 10.244.1.11:80                     21      125      ${out}     8068    10348`,
    ].join('\n');
  assert.equal(matchOutput(doc, run(341), { kind: 'ipvsadm' }).ok, true);
  assert.equal(matchOutput(doc, run('12K'), { kind: 'ipvsadm' }).ok, true);
  const zero = matchOutput(doc, run(0), { kind: 'ipvsadm' });
  assert.equal(zero.ok, false);
  assert.match(formatDiff(zero), /the doc says this value matters: more than 0, found 0/);
});

test('unmarked counters stay free; a marker only matches a whole number', () => {
  assert.equal(matchOutput('web-1 [=10]', 'web-1 10', { kind: 'text' }).ok, true);
  assert.equal(matchOutput('web-1 [=10]', 'web-1 100', { kind: 'text' }).ok, false);
  assert.equal(matchOutput('web-1 [=0]', 'web-1 10', { kind: 'text' }).ok, false);
  assert.equal(matchOutput('took [<5] s', 'took 3 s', { kind: 'text' }).ok, true);
  assert.equal(matchOutput('took [<5] s', 'took 7 s', { kind: 'text' }).ok, false);
  assert.equal(matchOutput('[..][=0] left', 'x10 left', { kind: 'text' }).ok, false);
});

test('--update keeps a marked line that still holds', () => {
  const expected = 'web-1    [=10]\nweb-2    [=10]';
  const actual = 'web-1    10\nweb-2    11';
  const p = proposeUpdate({ expected, proposed: actual, actual, bindings: Bindings.empty() });
  assert.equal(p, 'web-1    [=10]\nweb-2    11');
});
