/**
 * The byte-level writer of a plain iptables-save (iptables-json.ts) against the whole parse
 * (parseIptables + kubeProxyView, JSON.stringify'd): for rule lines built at random from
 * the words saveRule treats specially (options with and without values, negations, quotes in
 * every place, match-sets, probabilities, UTF-8, control characters) and for mutated real
 * saves, every view must be the same text, byte for byte, read whole or through a window of
 * a few bytes (a file read piece by piece); and what the writer does not take, it must not
 * write a byte of. Seeded, so a failure replays: the message names the seed and the line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ByteSource } from '../../../src/inspect/source.js';
import { plainSaveLayout, writePlainSave } from '../../../src/inspect/iptables-json.js';
import { writeSaveCompiled } from '../../../src/inspect/save/compiled.js';
import { sourceOf } from '../../../src/inspect/save/layout.js';
import { parseView, VIEWS } from '../../../src/inspect/views.js';
import { generateIptablesSave } from '../../../scripts/bench/parse.js';
import { mutate, prng } from '../../helpers/mutate.js';

/** A source that is not held whole: LineReader reads it through its window. */
function windowed(bytes: Buffer): ByteSource {
  return {
    read: (buf, off, len, pos) => bytes.copy(buf, off, pos, Math.min(bytes.length, pos + len)),
    whole: () => bytes,
  };
}

async function writeOf(
  input: string | Buffer | ByteSource,
  view: (typeof VIEWS)[number],
  window?: number,
  /** The JavaScript writer (iptables-json.ts) or the compiled one (wasm/save.ts). */
  engine: 'js' | 'compiled' = 'js',
): Promise<string | null> {
  const chunks: Buffer[] = [];
  const sink = (c: string | Uint8Array) => void chunks.push(Buffer.from(c));
  const took =
    engine === 'js'
      ? await writePlainSave(input, view, sink, window)
      : await writeSaveCompiled(sourceOf(input), view, sink);
  if (!took) {
    assert.equal(chunks.length, 0, 'wrote before giving up');
    return null;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** How many inputs the compiled writer took (it takes fewer than the JavaScript one: ASCII only…). */
const compiledTook = { count: 0 };

/**
 * Every view, up to five ways: the JavaScript writer on text, on bytes in place, on a file
 * through a small window (`jsOnly`: text alone, the other two being checked elsewhere); the
 * compiled writer (wasm/save.ts) on text, and on a file for the full view, when the input is
 * printable ASCII (it takes nothing else: a module instance per call is not free); or null
 * for all (the compiled writer may also leave to the JavaScript one what that one takes).
 */
async function sameAsWholeParse(
  text: string,
  what: string,
  rnd: () => number,
  jsWays: 1 | 3 = 3,
): Promise<boolean> {
  const taken = plainSaveLayout(text) !== null;
  const ascii = /^[\x20-\x7e\n]*$/.test(text);
  let compiled = 0;
  for (const view of VIEWS) {
    const bytes = Buffer.from(text, 'utf8');
    const outs = [await writeOf(text, view, undefined, 'js')];
    if (jsWays === 3)
      outs.push(
        await writeOf(bytes, view, undefined, 'js'),
        await writeOf(windowed(bytes), view, 1 + Math.floor(rnd() * 64), 'js'),
      );
    const byCompiled = ascii ? [await writeOf(text, view, undefined, 'compiled')] : [];
    if (ascii && view === 'full') {
      const fromFile = await writeOf(windowed(bytes), view, undefined, 'compiled');
      assert.equal(byCompiled[0], fromFile, `${what}: compiled, text or file`);
    }
    if (byCompiled[0] != null) compiled++;
    if (!taken) {
      for (const o of [...outs, ...byCompiled])
        assert.equal(o, null, `${what}: written though not plain (${view})`);
      continue;
    }
    const want = JSON.stringify(await parseView('iptables', text, view));
    for (const o of outs) assert.equal(o, want, `${what} (${view})`);
    for (const o of byCompiled)
      if (o !== null) assert.equal(o, want, `${what} (${view}, compiled)`);
  }
  // the compiled writer takes an input for every view or for none
  assert.ok(compiled === 0 || compiled === VIEWS.length, `${what}: compiled for ${compiled} views`);
  if (compiled) compiledTook.count++;
  return taken;
}

const OPTIONS = [
  '-s',
  '-d',
  '-p',
  '-i',
  '-o',
  '-m',
  '-j',
  '-g',
  '--source',
  '--destination',
  '--protocol',
  '--in-interface',
  '--out-interface',
  '--match',
  '--jump',
  '--goto',
  '--comment',
  '--match-set',
  '--probability',
  '--dport',
  '--destination-port',
  '--to-destination',
  '--mode',
  '--ctstate',
  '--mark',
  '-f',
  '--set-xmark',
  '--to-ports',
  '--random-fully',
];
const VALUES = [
  'tcp',
  'udp',
  '10.96.0.10/32',
  '!',
  '!x',
  'KUBE-SEP-ABC',
  'KUBE-SVC-XYZ',
  'KUBE-MARK-MASQ',
  'DNAT',
  'REJECT',
  'recent',
  'comment',
  'statistic',
  '0.5',
  '0.50000000000',
  '.25',
  '1e3',
  '7',
  '080',
  '10.244.1.2:80',
  '[fd00::1]:80',
  'KUBE-CLUSTER-IP',
  'dst,dst',
  '"ns/svc:http cluster IP"',
  '"ns/svc:p -> 10.244.0.3:80"',
  '"a b"',
  '""',
  '"-j"',
  '"!"',
  'x"y z"w',
  '"a""b"',
  'é',
  '"ü ö"',
  '\u0001',
  'a\u001fb',
  '\u007f',
  '-',
  '--',
  '"ns/svc has no endpoints"',
  '0x4000/0x4000',
];

/** The values the compiled writer takes (printable ASCII; quotes around whole words only). */
const ASCII_VALUES = VALUES.filter(
  (v) => /^[\x20-\x7e]*$/.test(v) && !/^[^"]+"|"[^"]*"[^"]|^"[^"]*$/.test(v),
);

function ruleLine(rnd: () => number, chain: string, values = VALUES): string {
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const words = ['-A', chain];
  const n = Math.floor(rnd() * 9);
  for (let i = 0; i < n; i++) {
    const r = rnd();
    if (r < 0.15) words.push('!');
    words.push(pick(OPTIONS));
    const count = rnd() < 0.15 ? 0 : rnd() < 0.8 ? 1 : 2;
    for (let k = 0; k < count; k++) words.push(pick(values));
  }
  return words.join(rnd() < 0.1 ? '  ' : ' ');
}

function save(lines: string[], chains: string[]): string {
  return [
    '# Generated by iptables-save v1.8.9 on Sat Nov 22 01:00:00 2026',
    '*nat',
    ...chains.map((c, i) => `:${c} ${i < 2 ? 'ACCEPT' : '-'} [${i}:${i * 60}]`),
    ...lines,
    'COMMIT',
    '# Completed on Sat Nov 22 01:00:00 2026',
    '',
  ].join('\n');
}

test('random rule lines: every view is the whole parse, byte for byte', async () => {
  const seeds = 300;
  let taken = 0;
  for (let seed = 1; seed <= seeds; seed++) {
    const rnd = prng(seed);
    const chains = ['PREROUTING', 'OUTPUT', 'KUBE-SERVICES', 'KUBE-SVC-XYZ', 'KUBE-SEP-ABC', 'X'];
    const lines: string[] = [];
    for (const c of chains) {
      const k = Math.floor(rnd() * 4);
      for (let i = 0; i < k; i++) lines.push(ruleLine(rnd, c));
    }
    if (await sameAsWholeParse(save(lines, chains), `seed ${seed}:\n${lines.join('\n')}`, rnd))
      taken++;
  }
  // many must take the byte path, or this would test the fallback only (a line that ends in
  // a byte outside ASCII, as `-m é` does, is refused by design); and many the compiled one
  assert.ok(taken > seeds * 0.25, `${taken} of ${seeds} read as plain`);
});

test('random rule lines of printable ASCII: the compiled writer takes them, and writes the whole parse', async () => {
  const seeds = 200;
  compiledTook.count = 0;
  let taken = 0;
  for (let seed = 1; seed <= seeds; seed++) {
    const rnd = prng(5000 + seed);
    const chains = ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-SVC-XYZ', 'KUBE-SEP-ABC', 'X'];
    const lines: string[] = [];
    for (const c of chains) {
      const k = Math.floor(rnd() * 5);
      for (let i = 0; i < k; i++) lines.push(ruleLine(rnd, c, ASCII_VALUES));
    }
    const text = save(lines, chains);
    if (await sameAsWholeParse(text, `seed ${5000 + seed}:\n${lines.join('\n')}`, rnd, 1)) taken++;
  }
  // every save the JavaScript writer takes here, the compiled one takes too
  assert.ok(taken > seeds * 0.25, `${taken} of ${seeds} read as plain`);
  assert.equal(compiledTook.count, taken, `${compiledTook.count} of ${taken} compiled`);
});

test('mutated saves: the same text as the whole parse, or nothing written', async () => {
  const base = generateIptablesSave(12);
  let taken = 0;
  compiledTook.count = 0;
  const rounds = 150;
  for (let seed = 1; seed <= rounds; seed++) {
    const rnd = prng(1000 + seed);
    if (await sameAsWholeParse(mutate(base, rnd), `mutation seed ${1000 + seed}`, rnd)) taken++;
  }
  assert.ok(taken > 0 && taken < rounds, `${taken} of ${rounds} read as plain`);
  assert.ok(compiledTook.count > 0, `${compiledTook.count} of ${rounds} compiled`);
});

test('a file read through a window: lines longer than the window, a save without a last newline', async () => {
  const long = `-A X -m comment --comment "${'y'.repeat(5000)}" -j RETURN`;
  const text = save([long, '-A X -j DROP'], ['X']).replace(/\n$/, '');
  const rnd = prng(7);
  assert.ok(await sameAsWholeParse(text, 'long line', rnd));
  for (const w of [1, 2, 3, 17, 4096]) {
    const want = JSON.stringify(await parseView('iptables', text, 'full'));
    assert.equal(await writeOf(windowed(Buffer.from(text)), 'full', w), want, `window ${w}`);
  }
});

test('what the byte path refuses: invalid UTF-8, a Unicode blank at a line end, quotes in a chain name', async () => {
  const ok = save(['-A X -j RETURN'], ['X']);
  assert.ok(plainSaveLayout(ok));
  const cases: Record<string, string | Buffer> = {
    'invalid UTF-8': Buffer.concat([Buffer.from(ok.replace('RETURN', 'RET')), Buffer.from([0xff])]),
    'NBSP at a line end': ok.replace('-j RETURN', '-j RETURN\u00a0'),
    'quote in a declared chain': save(['-A X -j RETURN'], ['X', 'Y"Z']),
    backslash: ok.replace('RETURN', 'RE\\TURN'),
    tab: ok.replace('-j RETURN', '-j\tRETURN'),
  };
  for (const [what, input] of Object.entries(cases)) {
    assert.equal(plainSaveLayout(input), null, what);
    assert.equal(await writeOf(input, 'full'), null, what);
  }
});

test('chain counters and line numbers as JSON.stringify writes the numbers parseIptables reads', async () => {
  const counters = [
    '0:0',
    '9:10',
    '007:0100',
    '2147483647:2147483648',
    '4294967296:18446744073709551615',
  ];
  const text = [
    '*filter',
    ...counters.map((c, i) => `:C${i} ${i ? '-' : 'ACCEPT'} [${c}]`),
    ...Array.from({ length: 12 }, () => ''),
    '-A C4 -j RETURN',
    'COMMIT',
  ].join('\n');
  assert.ok(await sameAsWholeParse(text, 'counters', prng(3)));
});
