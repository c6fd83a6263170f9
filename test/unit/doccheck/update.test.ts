/**
 * `check --update` keeps the author's wildcards: on real outputs (a kube-proxy log and an
 * ipvsadm listing from the shared fixtures), a doc written with `...` and `[..]` is updated
 * from a changed output; the wildcards that still hold stay, the changed lines are
 * rewritten, and the updated text matches the new output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { real } from '../../helpers/fixtures.js';
import { matchOutput, splitLines } from '../../../src/doccheck/matcher.js';
import { Bindings } from '../../../src/doccheck/bindings.js';
import { keepEllipses, keepInlineWildcards, proposeUpdate } from '../../../src/doccheck/update.js';
import { toDocNames } from '../../../src/doccheck/run.js';

test('kube-proxy log: `...` and a `[..]` line survive --update; the changed line is rewritten', () => {
  const log = splitLines(real('kube-proxy-logs/01-v1.28.15-iptables-structured.txt').body);
  const proxier = log.findIndex((l) => l.includes('"Using iptables Proxier"'));
  const version = log.findIndex((l) => l.includes('"Version info"'));
  assert.ok(proxier > 0 && version > proxier);
  // The doc: the first line, `...`, the proxier line with its source location left open,
  // `...`, the version line, `...`.
  const doc = [
    log[0]!,
    '...',
    log[proxier]!.replace(/server_others\.go:\d+\]/, '[..]'),
    '...',
    log[version]!,
    '...',
  ];
  assert.ok(matchOutput(doc.join('\n'), log.join('\n')).ok, 'the doc passes on the real log');
  // A newer kube-proxy: another version, the proxier line moved to another file.
  const newer = log.map((l, i) =>
    i === version
      ? l.replace('v1.28.15', 'v1.29.4')
      : i === proxier
        ? l.replace('server_others.go:152]', 'server_linux.go:180]')
        : l,
  );
  const actual = newer.join('\n');
  assert.ok(!matchOutput(doc.join('\n'), actual).ok, 'the doc fails on the new log');
  const b = Bindings.empty();
  const updated = proposeUpdate({
    expected: doc.join('\n'),
    proposed: toDocNames(actual, b),
    actual,
    bindings: b,
  });
  const lines = splitLines(updated);
  assert.deepEqual(lines[1], '...');
  assert.ok(lines.includes(doc[2]!), 'the [..] line is kept as the author wrote it');
  assert.ok(
    lines.some((l) => l.includes('version="v1.29.4"')),
    'the changed line is rewritten',
  );
  assert.equal(lines.filter((l) => l === '...').length, 3, 'every ... kept');
  assert.ok(lines.length < 10, `folded, not the whole log (${lines.length} lines)`);
  assert.ok(matchOutput(updated, actual).ok, 'the updated doc passes on the new output');
});

test('ipvsadm: a `[..]` real-server line stays when the scheduler changes', () => {
  const text = splitLines(real('ipvsadm/02-opsnull-v1.10-persistent-10800.txt').body);
  const rs = text.findIndex((l) => /^\s+->\s+\d/.test(l));
  assert.ok(rs > 0);
  const doc = [...text];
  doc[rs] = doc[rs]!.replace(/Masq.*$/, 'Masq    [..]');
  const actual = text.map((l) => l.replace(/ rr /, ' wrr ').replace(/ rr$/, ' wrr')).join('\n');
  assert.notEqual(actual, text.join('\n'), 'the fixture has an rr service');
  const b = Bindings.empty();
  const updated = proposeUpdate({
    expected: doc.join('\n'),
    proposed: toDocNames(actual, b),
    actual,
    bindings: b,
    kind: 'ipvsadm',
  });
  assert.ok(splitLines(updated).includes(doc[rs]!), updated);
  assert.match(updated, / wrr/);
  assert.ok(matchOutput(updated, actual, { kind: 'ipvsadm' }).ok);
});

test('wildcards that no longer hold are dropped, and the result always matches', () => {
  // `[..]` whose fixed part changed: the line is rewritten from the output
  assert.deepEqual(keepInlineWildcards(['mode: [..] (ipvs)'], ['mode: fast (nftables)']), [
    'mode: fast (nftables)',
  ]);
  // `...` whose neighbours are gone: the lines stay written out
  assert.deepEqual(keepEllipses(['a', '...', 'z'], ['b', 'c', 'd']), ['b', 'c', 'd']);
  // `...` at the start and the end fold what they stood for
  assert.deepEqual(keepEllipses(['...', 'm', '...'], ['a', 'b', 'm', 'y', 'z']), [
    '...',
    'm',
    '...',
  ]);
  // `...` standing for nothing stays
  assert.deepEqual(keepEllipses(['a', '...', 'b'], ['a', 'b']), ['a', '...', 'b']);
  // no wildcards: the plain output
  const b = Bindings.empty();
  assert.equal(
    proposeUpdate({ expected: 'x 1', proposed: 'x 2', actual: 'x 2', bindings: b }),
    'x 2',
  );
});
