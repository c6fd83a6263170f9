/**
 * ipvsadm's layouts whose real-server rows have no Forward column: --persistent-conn and
 * --thresholds name their columns on the `Prot LocalAddress:Port` line and leave the
 * `  -> RemoteAddress:Port` line bare (ipvsadm.c, print_title and print_service_entry with
 * FMT_PERSISTENTCONN / FMT_THRESHOLDS: rows `  -> %-28s %-9u %-11u %-10u %-9u` and
 * `%-10u` ×4). Every row is read, in each layout and in real outputs re-listed that way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIpvsadm } from '../../../src/inspect/index.js';
import { modern, modernFiles, real, realFiles } from '../../helpers/fixtures.js';

const BANNER = 'IP Virtual Server version 1.2.1 (size=4096)';

/** A real `ipvsadm -Ln` re-printed in the --persistent-conn layout: same services and servers. */
function asPersistentConn(body: string): string | null {
  const out = [
    BANNER,
    'Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn',
    '  -> RemoteAddress:Port',
  ];
  let rows = 0;
  for (const l of body.split('\n')) {
    const rs = /^\s*->\s+(\S+)\s+[A-Z][a-z]+\s+(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(l);
    if (rs) {
      out.push(
        `  -> ${rs[1]!.padEnd(28)} ${rs[2]!.padEnd(9)} ${'0'.padEnd(11)} ${rs[3]!.padEnd(10)} ${rs[4]}`,
      );
      rows++;
    } else if (/^(?:TCP|UDP|SCTP)\s+\S+\s+[a-z]+/.test(l)) out.push(l.trimEnd());
  }
  return rows ? out.join('\n') : null;
}

test('--persistent-conn: weight, persistent, active and inactive connections of every row', () => {
  const r = parseIpvsadm(
    [
      BANNER,
      'Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn',
      '  -> RemoteAddress:Port',
      'TCP  10.96.0.10:53 rr persistent 10800',
      '  -> 10.244.0.2:53                 1         0           0          0',
      '  -> 10.244.0.4:53                 1         1           0          2',
      'UDP  [fd00:10:96::a]:53 rr',
      '  -> [fd00:10:244::3]:53           1         3           0          5',
    ].join('\n'),
  );
  assert.deepEqual(r.layouts, ['persistent-conn']);
  assert.deepEqual(r.skipped, []);
  assert.equal(r.services[0]!.persistent, 10800);
  assert.deepEqual(
    r.services.flatMap((s) =>
      s.realServers.map((x) => [
        x.address,
        x.weight,
        x.persistConn,
        x.activeConn,
        x.inActConn,
        x.forward,
      ]),
    ),
    [
      ['10.244.0.2', 1, 0, 0, 0, null],
      ['10.244.0.4', 1, 1, 0, 2, null],
      ['fd00:10:244::3', 1, 3, 0, 5, null],
    ],
  );
});

test('--thresholds: upper and lower thresholds of every row', () => {
  const r = parseIpvsadm(
    [
      BANNER,
      'Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn',
      '  -> RemoteAddress:Port',
      'TCP  10.96.0.1:443 rr',
      '  -> 172.18.0.2:6443               0          0          7          2',
      '  -> 172.18.0.3:6443               10000      100        0          0',
    ].join('\n'),
  );
  assert.deepEqual(r.layouts, ['thresholds']);
  assert.deepEqual(
    r.services[0]!.realServers.map((x) => [
      x.upperThreshold,
      x.lowerThreshold,
      x.activeConn,
      x.inActConn,
      x.weight,
    ]),
    [
      [0, 0, 7, 2, null],
      [10000, 100, 0, 0, null],
    ],
  );
});

test('four-number rows without their title: read, the two unnamed columns kept as they are', () => {
  const r = parseIpvsadm(
    [
      'TCP  10.96.0.10:53 rr',
      '  -> 10.244.0.2:53                 1         4           3          2',
    ].join('\n'),
  );
  const x = r.services[0]!.realServers[0]!;
  assert.deepEqual([x.activeConn, x.inActConn, x.weight, x.unnamedColumns], [3, 2, null, [1, 4]]);
  assert.deepEqual(r.skipped, []);
});

test('real -Ln outputs re-listed with --persistent-conn: every real server read, none skipped', () => {
  const files = [
    ...realFiles('ipvsadm').map((f) => real(f)),
    ...modernFiles('ipvsadm').map((f) => modern(f)),
  ];
  let checked = 0;
  for (const f of files) {
    const pc = asPersistentConn(f.body);
    if (!pc) continue;
    const want = pc.split('\n').filter((l) => /^\s*->\s+\S+\s+\d/.test(l)).length;
    const r = parseIpvsadm(pc);
    const got =
      r.services.reduce((n, s) => n + s.realServers.length, 0) + r.orphanRealServers.length;
    assert.equal(got, want, f.name);
    assert.deepEqual(r.skipped, [], f.name);
    for (const s of r.services)
      for (const x of s.realServers) assert.equal(x.persistConn, 0, f.name);
    checked++;
  }
  assert.ok(checked >= 5, `${checked} real outputs re-listed`);
});
