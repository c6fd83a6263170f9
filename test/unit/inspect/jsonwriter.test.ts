/** The streaming JSON writer prints exactly what JSON.stringify prints, compact and indented. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeJson, writeJsonTo } from '../../../src/inspect/jsonwriter.js';
import { ByteOut } from '../../../src/inspect/byteout.js';
import { PARSERS, PARSE_KINDS, ParseError } from '../../../src/inspect/index.js';
import { modern, modernFiles, real, realFiles } from '../../helpers/fixtures.js';

function written(v: unknown, indent: number, chunks: string[] = []): string {
  writeJson(v, (c) => chunks.push(c), indent);
  return chunks.join('');
}

test('edge values: empty containers, undefined, functions, toJSON, deep nesting', () => {
  const values: unknown[] = [
    1,
    'a"b',
    null,
    [],
    {},
    [undefined, () => 1, 2],
    { a: undefined, b: () => 1, c: [[[[[[[[{ d: [] }]]]]]]]], e: {} },
    { t: new Date(0) },
    { '\n': '\u2028' },
  ];
  for (const indent of [0, 2])
    for (const v of values)
      assert.equal(written(v, indent), JSON.stringify(v, null, indent || undefined));
});

test('every real output, parsed by each parser that reads it: the same text as JSON.stringify', () => {
  const bodies = [
    ...['ipvsadm', 'iptables', 'ipset', 'kube-ipvs0', 'kube-proxy-logs'].flatMap((d) =>
      realFiles(d).map((f) => real(f).body),
    ),
    ...['ipvsadm', 'iptables', 'ipset', 'kube-ipvs0', 'kube-proxy-logs', 'nft'].flatMap((d) =>
      modernFiles(d).map((f) => modern(f).body),
    ),
  ];
  let n = 0;
  for (const body of bodies)
    for (const kind of PARSE_KINDS) {
      let data: unknown;
      try {
        data = PARSERS[kind](body);
      } catch (e) {
        assert.ok(e instanceof ParseError);
        continue;
      }
      for (const indent of [0, 2])
        assert.equal(written(data, indent), JSON.stringify(data, null, indent || undefined));
      n++;
    }
  assert.ok(n > 40, `${n} parses compared`);
});

test('a large value is written in chunks, none of them the whole text', () => {
  const big = { rules: Array.from({ length: 20_000 }, (_, i) => ({ i, raw: `-A X -j Y${i}` })) };
  const chunks: string[] = [];
  const text = written(big, 0, chunks);
  assert.equal(text, JSON.stringify(big));
  assert.ok(chunks.length > 5);
  assert.ok(Math.max(...chunks.map((c) => c.length)) < text.length / 4);
});

test('writeJsonTo waits for a sink that is behind before the next piece, and writes the same text', async () => {
  const body = real('iptables/17-hwchiu-2018-save-grep-nodeport.txt').body;
  const big = {
    parses: Array.from({ length: 200 }, () => PARSERS.iptables(body)),
    rules: Array.from({ length: 20_000 }, (_, i) => ({ i, raw: `-A X -j Y${i}` })),
  };
  for (const indent of [0, 2]) {
    const chunks: string[] = [];
    let pending = 0;
    let most = 0;
    await writeJsonTo(
      big,
      (c) => {
        chunks.push(typeof c === 'string' ? c : Buffer.from(c).toString());
        most = Math.max(most, ++pending);
        return new Promise<void>((resolve) =>
          setImmediate(() => {
            pending--;
            resolve();
          }),
        );
      },
      indent,
    );
    assert.equal(chunks.join(''), JSON.stringify(big, null, indent || undefined));
    assert.ok(chunks.length > 5);
    assert.equal(most, 1, 'one piece at a time');
  }
});

test('ByteOut: UTF-8 pieces of at most 64 KiB, whole characters, a long string whole, in order', async () => {
  // real text: a rule with a non-ASCII comment as a paste may carry, many times, and one
  // string longer than a piece
  const line = `${real('iptables/17-hwchiu-2018-save-grep-nodeport.txt').body.split('\n')[0]} « naïve — 東京 » 😀`;
  const parts = [
    ...Array.from({ length: 3_000 }, (_, i) => `${line} ${i}\n`),
    'x'.repeat(100_000),
    'end',
  ];
  const pieces: Uint8Array[] = [];
  const memories = new Set<ArrayBufferLike>();
  let waits = 0;
  const w = new ByteOut((c) => {
    // a piece is the writer's again once the promise resolves (JsonSink): kept as a copy
    pieces.push(Buffer.from(c));
    if (typeof c !== 'string') memories.add(c.buffer);
    return new Promise<void>((resolve) => setImmediate(() => (waits++, resolve())));
  });
  for (const p of parts) {
    w.json(p);
    if (w.pending) await w.settle();
  }
  await w.flush();
  assert.equal(Buffer.concat(pieces).toString(), parts.join(''));
  // every piece decodes on its own: no character is cut between two pieces
  assert.equal(pieces.map((p) => Buffer.from(p).toString()).join(''), parts.join(''));
  assert.ok(pieces.length > 3);
  assert.ok(pieces.every((p) => p.length <= 1 << 16 || p.length === 100_000));
  assert.equal(waits, pieces.length);
  // the buffers handed back are filled again: two of them (and one made for the long
  // string), not one per piece
  assert.ok(memories.size <= 3, `${memories.size} buffers for ${pieces.length} pieces`);
});

test('ByteOut: a sink done with a piece when its call returns gets the same buffer again', () => {
  const memories = new Set<ArrayBufferLike>();
  let text = '';
  const w = new ByteOut((c) => {
    if (typeof c !== 'string') memories.add(c.buffer);
    text += Buffer.from(c).toString();
  });
  const parts = Array.from({ length: 5_000 }, (_, i) => `{"rule":${i},"raw":"-A X -j RETURN"},`);
  for (const p of parts) w.json(p);
  void w.flush();
  assert.equal(text, parts.join(''));
  assert.equal(memories.size, 1);
});

test('jsonPieces: the pieces join to JSON.stringify, and a large container is not stringified whole', async () => {
  const { jsonPieces } = await import('../../../src/inspect/jsonwriter.js');
  const big = Array.from({ length: 2_000 }, (_, i) => ({
    name: `svc-${i}`,
    note: i % 3 ? undefined : 'ü "q"',
    fn: () => i,
    list: [i, undefined, null, () => 0],
    when: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
  }));
  for (const v of [big, { services: big, count: 2, skip: undefined }, [], {}, 'x', 3, null]) {
    const pieces: string[] = [];
    jsonPieces(v, (p) => pieces.push(p));
    assert.equal(pieces.join(''), JSON.stringify(v));
    if (v === big) assert.ok(pieces.length > 2_000, `${pieces.length} pieces`);
  }
  const none: string[] = [];
  jsonPieces(undefined, (p) => none.push(p));
  assert.deepEqual(none, []);
});
