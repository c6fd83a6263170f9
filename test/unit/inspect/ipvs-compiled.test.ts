/**
 * The compiled writer of a plain `ipvsadm -Ln` (wasm/ipvs.ts) against the JavaScript one
 * (writePlainIpvsList) and the whole parse: where it takes an input, the same text byte for
 * byte, in both views; where it does not, nothing written. On the real outputs in the
 * fixtures (as they are, and their rows under the -Ln banner), on rows built at random from
 * the words the parse treats specially, and on mutated listings. Seeded: a failure names
 * its seed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compiledIpvsWriter, writeIpvsCompiled } from '../../../src/inspect/ipvs-compiled.js';
import { isPlainIpvsList } from '../../../src/inspect/ipvsadm.js';
import { bufferSource, type ByteSource } from '../../../src/inspect/source.js';
import { parseView } from '../../../src/inspect/views.js';
import { modern, modernFiles, real, realFiles } from '../../helpers/fixtures.js';
import { mutate, prng } from '../../helpers/mutate.js';
import { generateIpvsadm } from '../../../scripts/bench/parse.js';

const VIEWS = ['full', 'summary'] as const;

const HEAD = [
  'IP Virtual Server version 1.2.1 (size=4096)',
  'Prot LocalAddress:Port Scheduler Flags',
  '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
];

/** A source not held whole: the module reads it through `fill`, as it reads a file. */
function fileLike(bytes: Buffer): ByteSource {
  return {
    read: (buf, off, len, pos) => bytes.copy(buf, off, pos, Math.min(bytes.length, pos + len)),
    whole: () => bytes,
  };
}

async function compiled(src: ByteSource, view: (typeof VIEWS)[number]): Promise<string | null> {
  const chunks: Buffer[] = [];
  const took = await writeIpvsCompiled(src, view, (c) => void chunks.push(Buffer.from(c)));
  if (!took) {
    assert.equal(chunks.length, 0, 'wrote before giving up');
    return null;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Both views, held (and read as a file): the whole parse's JSON, or null (not taken) for all. */
async function sameAsWholeParse(text: string, what: string): Promise<boolean> {
  let took = 0;
  for (const view of VIEWS) {
    const bytes = Buffer.from(text, 'utf8');
    // held, and (the full view) read as a file: a module instance per call is not free
    const outs = [await compiled(bufferSource(bytes), view)];
    if (view === 'full') {
      outs.push(await compiled(fileLike(bytes), view));
      assert.equal(outs[0], outs[1], `${what}: held or read`);
    }
    if (outs[0] === null) continue;
    took++;
    // it takes only what the JavaScript writer takes
    assert.ok(isPlainIpvsList(text), `${what}: taken, though not a plain -Ln`);
    const want = JSON.stringify(await parseView('ipvsadm', text, view));
    for (const o of outs) assert.equal(o, want, `${what} (${view})`);
  }
  assert.ok(took === 0 || took === VIEWS.length, `${what}: taken for ${took} views`);
  return took > 0;
}

const BODIES = [
  ...realFiles('ipvsadm').map((f) => [f, real(f).body] as const),
  ...modernFiles('ipvsadm').map((f) => [f, modern(f).body] as const),
];

test('the module is built (npm run build), and takes the real -Ln listings', async () => {
  assert.ok(compiledIpvsWriter(), 'wasm/ipvs.wasm is built and current (npm run build)');
  let took = 0;
  for (const [f, body] of BODIES) if (await sameAsWholeParse(body, f)) took++;
  // the rows of every real output under the banner, as a node prints them
  const rows = BODIES.flatMap(([, b]) =>
    b
      .split('\n')
      .map((l) => l.trimEnd())
      // (the rows of --stats and --rate listings have no Forward column: not -Ln rows)
      .filter((l) => /^(?:TCP|UDP|SCTP) +\S+ +[a-z]/.test(l) || /^ {2}-> [\d[]\S* +[A-Z]/.test(l))
      .filter((l) => !/[#$%]/.test(l)),
  );
  const firstService = rows.findIndex((l) => !l.startsWith(' '));
  const all = [...HEAD, ...rows.slice(firstService), ''].join('\n');
  assert.ok(await sameAsWholeParse(all, 'every real row'), 'every real row in one listing');
  assert.ok(await sameAsWholeParse(generateIpvsadm(300), 'generated'), 'the bench listing');
  assert.ok(took >= 3, `${took} real outputs taken as they are`);
});

test('what it leaves to the JavaScript writer: rows that writer skips or files as orphans, FWM, other columns', async () => {
  const service = 'TCP  10.96.0.1:443 rr';
  const rs = '  -> 172.18.0.3:6443              Masq    1      3          0';
  const cases: Record<string, string[]> = {
    'an orphan real server': [rs, service, rs],
    'a skipped row': [service, rs.replace('1      3', 'x      3')],
    'a firewall mark': ['FWM  100 wrr', rs],
    'a host name': ['TCP  kubernetes:443 rr', rs],
    'a port name': ['TCP  10.96.0.1:https rr', rs],
    '--persistent-conn columns': [
      service,
      '  -> 172.18.0.3:6443              1      0      3      0',
    ],
    'a scheduler with a capital': ['TCP  10.96.0.1:443 Rr', rs],
    'a byte outside ASCII': [service, `${rs} é`],
  };
  for (const [what, rows] of Object.entries(cases)) {
    const text = [...HEAD, ...rows, ''].join('\n');
    assert.equal(await sameAsWholeParse(text, what), false, what);
  }
});

/** Words a row is built from: those of a node's -Ln (most of the time), and others. */
const ADDRESSES = [
  '10.96.0.1:443',
  '[fd00:10:96::a]:53',
  '0.0.0.0:30080',
  '255.255.255.255:1',
  '10.0.0.1:0080',
];
const BAD_ADDRESSES = [
  '256.1.1.1:80',
  '01.2.3.4:80',
  '10.0.0.1:',
  ':80',
  '[fd00::1]80',
  '[]:80',
  'fd00::1:80',
  '10.0.0.1:99999999999999999',
  '1.2.3:80',
  'host:80',
];
const FLAGS = [
  'persistent',
  '10800',
  'mask',
  '255.255.255.255',
  'ops',
  'pe',
  'sip',
  'x',
  '7',
  'mh-fallback',
  'persistent',
];
const SCHEDULERS = ['rr', 'wrr', 'sh', 'mh'];
const FORWARDS = ['Masq', 'Route', 'Tunnel', 'Local'];
const BAD_FORWARDS = ['masq', 'M', 'X1'];
const NUMBERS = ['0', '1', '007', '12', '4294967296'];
const BAD_NUMBERS = ['x', '-1'];

test('rows built at random: the whole parse, byte for byte, or not taken', async () => {
  let took = 0;
  const seeds = 200;
  for (let seed = 1; seed <= seeds; seed++) {
    const rnd = prng(seed);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
    /** A word of `good`, or now and then one of `bad`. */
    const word = (good: readonly string[], bad: readonly string[]) =>
      rnd() < 0.04 ? pick(bad) : pick(good);
    const rows: string[] = [];
    const n = 1 + Math.floor(rnd() * 5);
    for (let s = 0; s < n; s++) {
      const flags = Array.from({ length: Math.floor(rnd() * 5) }, () => pick(FLAGS));
      const proto = pick(['TCP  ', 'UDP  ', 'SCTP ']);
      rows.push(
        `${proto}${word(ADDRESSES, BAD_ADDRESSES)} ${pick(SCHEDULERS)} ${flags.join(' ')}`.trimEnd(),
      );
      const k = Math.floor(rnd() * 4);
      for (let r = 0; r < k; r++) {
        const nums = Array.from({ length: 3 }, () => word(NUMBERS, BAD_NUMBERS));
        rows.push(
          `  -> ${word(ADDRESSES, BAD_ADDRESSES)}`.padEnd(rnd() < 0.5 ? 34 : 8) +
            ` ${word(FORWARDS, BAD_FORWARDS)}    ${nums.join('      ')}${rnd() < 0.2 ? '  ' : ''}`,
        );
      }
      if (rnd() < 0.2) rows.push('');
    }
    const text = [...HEAD, ...rows, ''].join('\n');
    if (await sameAsWholeParse(text, `seed ${seed}:\n${rows.join('\n')}`)) took++;
  }
  assert.ok(took > seeds * 0.3 && took < seeds, `${took} of ${seeds} taken`);
});

test('mutated listings: the whole parse, byte for byte, or not taken', async () => {
  const base = generateIpvsadm(12);
  let took = 0;
  const rounds = 150;
  for (let seed = 1; seed <= rounds; seed++) {
    const rnd = prng(3000 + seed);
    if (await sameAsWholeParse(mutate(base, rnd), `mutation seed ${3000 + seed}`)) took++;
  }
  assert.ok(took > 0 && took < rounds, `${took} of ${rounds} taken`);
});
