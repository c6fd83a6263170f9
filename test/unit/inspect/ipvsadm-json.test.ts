/**
 * `proxylab parse ipvsadm` writes a plain `ipvsadm -Ln` while reading it
 * (writePlainIpvsList): the text must be, byte for byte, JSON.stringify of what parseIpvsadm
 * (or its summary view) gives, and anything else must take the whole-parse path. Checked on
 * every real ipvsadm output in the fixtures as they are, and on plain listings built from
 * their rows (banner and titles as ipvsadm.c print_title writes them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPlainIpvsList, writePlainIpvsList } from '../../../src/inspect/ipvsadm.js';
import { parseView, writeView } from '../../../src/inspect/views.js';
import { modern, modernFiles, real, realFiles } from '../../helpers/fixtures.js';
import { generateIpvsadm } from '../../../scripts/bench/parse.js';

const pieceText = (c: string | Uint8Array) =>
  typeof c === 'string' ? c : Buffer.from(c).toString();

async function written(text: string, view: 'full' | 'summary'): Promise<string> {
  const chunks: string[] = [];
  await writeView('ipvsadm', text, view, {}, (c) => void chunks.push(pieceText(c)), 0);
  return chunks.join('');
}

const expected = async (text: string, view: 'full' | 'summary') =>
  JSON.stringify(await parseView('ipvsadm', text, view));

const BODIES = [
  ...realFiles('ipvsadm').map((f) => [f, real(f).body] as const),
  ...modernFiles('ipvsadm').map((f) => [f, modern(f).body] as const),
];

const HEAD = [
  'IP Virtual Server version 1.2.1 (size=4096)',
  'Prot LocalAddress:Port Scheduler Flags',
  '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
];

/** The service and real-server rows of a real output under the -Ln banner and titles. */
function asPlainList(body: string): string | null {
  const rows = body
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => /^(?:TCP|UDP|SCTP|FWM) +\S+ +[a-z]/.test(l) || /^ {2}-> \d/.test(l))
    .filter((l) => !/[#$%]/.test(l));
  return rows.some((l) => !l.startsWith(' ')) ? [...HEAD, ...rows, ''].join('\n') : null;
}

test('every real ipvsadm output: full and summary written are JSON.stringify of the whole parse', async () => {
  let plain = 0;
  for (const [f, body] of BODIES) {
    if (isPlainIpvsList(body)) plain++;
    for (const view of ['full', 'summary'] as const)
      assert.equal(await written(body, view), await expected(body, view), `${f} ${view}`);
  }
  // the -Ln listings without annotations or prompts take the streaming path as they are
  assert.ok(plain >= 4, `${plain} real outputs read as plain -Ln`);
});

test('plain -Ln listings of real rows take the streaming path, byte-identical', async () => {
  const built = BODIES.map(([f, b]) => [f, asPlainList(b)] as const).filter(
    (x): x is readonly [string, string] => x[1] !== null,
  );
  assert.ok(built.length >= 10, `${built.length} listings`);
  for (const [f, text] of built) {
    assert.ok(isPlainIpvsList(text), f);
    for (const view of ['full', 'summary'] as const) {
      const chunks: string[] = [];
      assert.equal(
        await writePlainIpvsList(text, view, (c) => void chunks.push(pieceText(c))),
        true,
      );
      assert.equal(chunks.join(''), await expected(text, view), `${f} ${view}`);
    }
  }
  // all the rows of all of them in one listing, and the bench's generated one
  const all = [...HEAD, ...built.flatMap(([, t]) => t.split('\n').slice(3)).filter(Boolean), ''];
  for (const text of [all.join('\n'), generateIpvsadm(300)])
    for (const view of ['full', 'summary'] as const) {
      assert.ok(isPlainIpvsList(text));
      assert.equal(await written(text, view), await expected(text, view), view);
    }
});

test('rows parseIpvsadm skips or files as orphans are written where it puts them', async () => {
  const text = [
    ...HEAD,
    '  -> 10.244.1.5:8080              Masq    1      0          0', // before any service: orphan
    'TCP  10.96.0.1:443 rr',
    '  -> 172.18.0.3:6443              Masq    1      3          0   ', // trailing blanks
    '  -> 172.18.0.4:6443              Masq    x      0          0', // not a number: skipped
    '',
    'TCP  :443 rr', // no address: skipped, its rows go to the service before
    '  -> 172.18.0.5:6443              Masq    1      0          0',
    'UDP  [fd00:10:96::a]:53 rr persistent 10800 mask 128 ops',
    '  -> [fd00:10:244:1::3]:53        Masq    1      0          0',
    'FWM  100 wrr',
    '',
  ].join('\n');
  assert.ok(isPlainIpvsList(text));
  for (const view of ['full', 'summary'] as const)
    assert.equal(await written(text, view), await expected(text, view), view);
  const out = JSON.parse(await written(text, 'full')) as {
    skipped: number[];
    orphanRealServers: unknown[];
  };
  assert.ok(out.skipped.length >= 2);
  assert.equal(out.orphanRealServers.length, 1);
  // no service at all: no layout, as parseIpvsadm says
  const none = [...HEAD, '  -> 10.244.1.5:8080              Masq    1      0          0', ''].join(
    '\n',
  );
  assert.ok(isPlainIpvsList(none));
  assert.equal(await written(none, 'full'), await expected(none, 'full'));
});

test('anything but a plain -Ln takes the whole-parse path, with the same output', async () => {
  const base = asPlainList(real('ipvsadm/20-hwchiu-fresh-kubeadm-ipvs.txt').body)!;
  const variants: Record<string, string> = {
    'no banner': base.split('\n').slice(1).join('\n'),
    'the --stats title': base.replace(
      'Prot LocalAddress:Port Scheduler Flags',
      'Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes',
    ),
    'a service row of counters': base.replace(/\nTCP .*/, '\nTCP  10.96.0.1:443 1 2 3 4 5'),
    'a connection row': `${base}TCP 14:52  ESTABLISHED 10.0.0.1:5 10.96.0.1:443 10.244.0.3:6443\n`,
    'an annotation': base.replace(/\n(TCP .*)/, '\n$1   # the API server'),
    'a section marker': `>>> node-1\n${base}`,
    'a second banner': `${base}${HEAD[0]}\n`,
    'CRLF line ends': base.replace(/\n/g, '\r\n'),
    'indented as in markdown': base.replace(/^/gm, '    '),
    'a prompt line': `$ ipvsadm -Ln\n${base}`,
    'a save line': `${base}-A -t 10.96.0.1:443 -s rr\n`,
    // each inside an otherwise plain row, so that only the character refuses it
    '>> inside a row': base.replace(/\n(TCP .*)/, '\n$1 >> node-2'),
    '==> inside a row': base.replace(/\n(TCP .*)/, '\n$1 ==> node-2'),
    'a prompt glyph inside a row': base.replace(/\n(TCP .*)/, '\n$1 ❯'),
    'a tab inside a row': base.replace(/\n(TCP  \S+) /, '\n$1\t'),
    '% inside a row': base.replace(/\n(TCP .*)/, '\n$1 %'),
    'the real-server title again': base.replace(/\n(TCP .*)/, '\n$1\n  -> RemoteAddress:Port'),
  };
  for (const [what, text] of Object.entries(variants)) {
    assert.notEqual(text, base, what);
    assert.equal(isPlainIpvsList(text), false, what);
    assert.equal(await writePlainIpvsList(text, 'full', () => undefined), false, what);
    for (const view of ['full', 'summary'] as const)
      assert.equal(await written(text, view), await expected(text, view), `${what} ${view}`);
  }
});
