/**
 * Mutated real outputs never crash or hang a parser: each call returns typed data or
 * throws ParseError. Seeded PRNG and a fixed number of rounds, so a failure replays.
 * The per-call bound (2 s, far above the ~1 ms a call takes) only detects a hang.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PARSERS, PARSE_KINDS, ParseError } from '../../../src/inspect/index.js';
import { modern, modernFiles, real, realFiles, seed, seedFiles } from '../../helpers/fixtures.js';
import { mutate, prng } from '../../helpers/mutate.js';

const modernBodies = [
  'ipvsadm',
  'iptables',
  'ipset',
  'kube-ipvs0',
  'kube-proxy-logs',
  'nft',
].flatMap((d) => modernFiles(d).map((f) => modern(f).body));

/** The shapes people paste real outputs in (issue 14): grep'd -L rows, indented, `# `-prefixed. */
const pastedBodies = modernBodies.flatMap((b) => [
  b
    .split('\n')
    .filter((l) => !/^\s*(?:Chain\s|(?:num\s+)?(?:pkts\s+bytes\s+)?target\s+prot)/.test(l))
    .join('\n'),
  b.replace(/^/gm, '    '),
  b.replace(/^/gm, '# '),
]);

const corpus = [
  ...['ipvsadm', 'iptables', 'ipset', 'kube-ipvs0', 'kube-proxy-logs'].flatMap((d) =>
    realFiles(d).map((f) => real(f).body),
  ),
  ...seedFiles().map((f) => seed(f).body),
  ...modernBodies,
  ...pastedBodies,
];

test(
  'mutated real outputs: every parser returns data or a ParseError, never anything else',
  { timeout: 120_000 },
  () => {
    assert.ok(corpus.length >= 60, `corpus has ${corpus.length} outputs`);
    const rnd = prng(20261121);
    const ROUNDS = 25;
    let parsed = 0;
    let refused = 0;
    for (const [n, text] of corpus.entries()) {
      for (let r = 0; r < ROUNDS; r++) {
        const m = mutate(text, rnd);
        for (const kind of PARSE_KINDS) {
          const t0 = performance.now();
          try {
            const out = PARSERS[kind](m) as unknown;
            assert.equal(typeof out, 'object');
            JSON.stringify(out);
            parsed++;
          } catch (e) {
            if (!(e instanceof ParseError)) {
              assert.fail(
                `${kind} threw ${String(e)} on corpus #${n} round ${r}:\n${m.slice(0, 400)}`,
              );
            }
            assert.ok(!e.reason.includes('\n'), 'the reason is one line');
            refused++;
          }
          const ms = performance.now() - t0;
          assert.ok(
            ms < 2000,
            `${kind} took ${ms.toFixed(0)} ms on corpus #${n} round ${r} (hang?)`,
          );
        }
      }
    }
    // Both outcomes happen: the fuzzing reaches the parsers' refusal and their success paths.
    assert.ok(parsed > 1000 && refused > 1000, `parsed ${parsed}, refused ${refused}`);
  },
);

test('random bytes and pathological inputs', () => {
  const rnd = prng(7);
  const inputs = [
    '\u0000'.repeat(1000),
    ' '.repeat(100_000),
    '-A '.repeat(10_000),
    'Chain X (policy ACCEPT)\n' + 'target prot opt source destination\n' + '0x4000 '.repeat(5000),
    '"'.repeat(10_000),
    'TCP  ' + ':'.repeat(20_000) + ' rr',
    '[' + '1,'.repeat(10_000),
    Array.from({ length: 2000 }, () => String.fromCharCode(Math.floor(rnd() * 0x3000))).join(''),
  ];
  for (const text of inputs) {
    for (const kind of PARSE_KINDS) {
      const t0 = performance.now();
      try {
        PARSERS[kind](text);
      } catch (e) {
        assert.ok(e instanceof ParseError, `${kind}: ${String(e)}`);
      }
      assert.ok(performance.now() - t0 < 2000, `${kind} hung on a pathological input`);
    }
  }
});

test('mutated node snapshots: readNode returns a snapshot or a ParseError, joins and findings never throw', async () => {
  const { ipvsNode, iptablesNode, cluster } = await import('./datapath-fixture.js');
  const { readNode } = await import('../../../src/inspect/snapshot.js');
  const { joinSnapshot } = await import('../../../src/inspect/join.js');
  const { findings } = await import('../../../src/inspect/findings.js');
  const { renderSvg } = await import('../../../src/inspect/svg.js');
  const rnd = prng(42);
  const c = cluster();
  const bases = [ipvsNode(), iptablesNode(['10.244.1.6', '10.244.2.4'])];
  let ok = 0;
  for (let r = 0; r < 150; r++) {
    const text = mutate(bases[r % 2]!, rnd);
    try {
      const snap = readNode('n', text);
      const s = joinSnapshot('proxylab', [snap], c.services, c.endpoints, c.configMap);
      renderSvg(s, findings(s));
      ok++;
    } catch (e) {
      assert.ok(e instanceof ParseError, String(e));
    }
  }
  assert.ok(ok > 100, `${ok} of 150 mutated snapshots still read`);
});
