/**
 * The matcher against what a user can paste or write (issue 13): many `[..]` on long
 * lines, 1,000-line expected outputs, and a comparison that must stop when asked.
 * No timings are asserted: inputs that took hours (or overflowed the stack) with a
 * backtracking matcher must simply finish, each test with a generous timeout as a guard.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchOutput, matchOutputAsync, MatchTimeout } from '../../../src/doccheck/matcher.js';
import { matchLine } from '../../../src/doccheck/search.js';
import { Bindings } from '../../../src/doccheck/bindings.js';
import { lexLine } from '../../../src/doccheck/tokens.js';

const GUARD = { timeout: 60_000 };

test('many [..] against a long line that does not match: answered, not backtracked', GUARD, () => {
  // 8 wildcards over 3,000 characters: a backtracking matcher tries ~3000^8 alignments
  const expected = '[..]a[..]a[..]a[..]a[..]a[..]a[..]a[..]aZ';
  const actual = `${'a'.repeat(3000)}Y`;
  const r = matchOutput(expected, actual, { kind: 'text' });
  assert.equal(r.ok, false);
  assert.equal(matchOutput(expected, `${'a'.repeat(3000)}Z`, { kind: 'text' }).ok, true);
});

test('[..] between literals on a 20,000-character line finds the one alignment', GUARD, () => {
  const actual = `${'x '.repeat(10_000)}needle ${'y '.repeat(100)}end`;
  assert.equal(matchOutput('[..]x [..]needle [..]y end', actual, { kind: 'text' }).ok, true);
  assert.equal(matchOutput('[..]x [..]needle [..]z end', actual, { kind: 'text' }).ok, false);
});

test('[..] alignments that leave the same renamings are one outcome', () => {
  // `[..]` can stop at any of 200 places; each leaves the IP bound the same way
  const e = lexLine('[..] [..] from 10.0.0.1 [..]', { wildcards: true });
  const a = lexLine(`${'w '.repeat(200)}from 10.9.9.9 ${'z '.repeat(200)}`);
  const b = matchLine(e, a, Bindings.empty());
  assert.ok(b);
  assert.equal(b.lookup('ip', '10.0.0.1'), '10.9.9.9');
});

test('a 1,000-line expected output with [..] on every line: no stack overflow', GUARD, () => {
  const n = 1000;
  const actual = Array.from(
    { length: n },
    (_, i) => `line ${i} from 10.1.${i >> 8}.${i & 255} says hello`,
  ).join('\n');
  const expected = Array.from(
    { length: n },
    (_, i) => `line ${i} from 10.2.${i >> 8}.${i & 255} [..] hello`,
  ).join('\n');
  const r = matchOutput(expected, actual, { kind: 'text' });
  assert.equal(r.ok, true, r.notes.join('\n'));
  assert.equal(r.bindings.lookup('ip', '10.2.3.231'), '10.1.3.231');
  // and one changed line deep down is found and explained
  const bad = actual.replace('line 777 from', 'line 777 to');
  const f = matchOutput(expected, bad, { kind: 'text' });
  assert.equal(f.ok, false);
  const changed = f.diff.filter((d) => d.op !== 'same');
  assert.ok(
    changed.some((d) => d.expected?.line === 778 || d.actual?.line === 778),
    JSON.stringify(changed.slice(0, 3)),
  );
});

test('1,000 "..." lines do not overflow the stack either', GUARD, () => {
  const expected = Array.from({ length: 1000 }, (_, i) => `...\nrow ${i}`).join('\n');
  const actual = Array.from({ length: 1000 }, (_, i) => `noise\nrow ${i}`).join('\n');
  assert.equal(matchOutput(expected, actual, { kind: 'text' }).ok, true);
});

/** A comparison that takes many slices: 2,000 lines, each with wildcards and an address. */
function big(): { expected: string; actual: string } {
  const n = 2000;
  return {
    actual: Array.from(
      { length: n },
      (_, i) => `${'w '.repeat(60)}10.1.${i >> 8}.${i & 255} x`,
    ).join('\n'),
    expected: Array.from({ length: n }, (_, i) => `[..] [..]10.2.${i >> 8}.${i & 255} x`).join(
      '\n',
    ),
  };
}

test(
  'matchOutputAsync gives the event loop turns while it compares, and gets the same answer',
  GUARD,
  async () => {
    const { expected, actual } = big();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const r = await matchOutputAsync(expected, actual, { kind: 'text', slice: 200 });
    clearInterval(timer);
    assert.equal(r.ok, true);
    assert.ok(ticks > 0, 'no timer ran while comparing');
    assert.equal(r.bindings.lookup('ip', '10.2.7.200'), '10.1.7.200');
  },
);

test('matchOutputAsync stops when its signal is aborted mid-way', GUARD, async () => {
  const { expected, actual } = big();
  const ac = new AbortController();
  setImmediate(() => ac.abort(new Error('interrupted (SIGINT)')));
  await assert.rejects(
    matchOutputAsync(expected, actual, { kind: 'text', signal: ac.signal, slice: 50 }),
    /interrupted \(SIGINT\)/,
  );
});

test('matchOutputAsync stops at its deadline with MatchTimeout', GUARD, async () => {
  const { expected, actual } = big();
  await assert.rejects(
    matchOutputAsync(expected, actual, { kind: 'text', deadline: Date.now() - 1, slice: 50 }),
    (e: unknown) => e instanceof MatchTimeout && /did not finish within/.test(e.message),
  );
});
