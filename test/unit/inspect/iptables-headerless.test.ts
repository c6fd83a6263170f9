/**
 * `iptables -t nat -L -n -v | grep …`: the rule rows stay, the `Chain …` and `pkts bytes
 * target …` lines are gone. Rows are read by their shape and filed under the chain
 * "unknown", and the dump says so in `notes`; nothing is skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseIptables,
  UNKNOWN_CHAIN,
  type IptablesDump,
  type IptablesRule,
} from '../../../src/inspect/index.js';
import { modern, modernFiles, real } from '../../helpers/fixtures.js';

const rowsOnly = (body: string) =>
  body
    .split('\n')
    .filter((l) => !/^\s*(?:Chain\s|(?:num\s+)?(?:pkts\s+bytes\s+)?target\s+prot)/.test(l))
    .join('\n');

const rules = (d: IptablesDump): IptablesRule[] =>
  Object.values(d.tables).flatMap((t) => Object.values(t.chains).flatMap((c) => c.rules));

/** A rule's values, without where it was (line, raw text, which chain). */
const values = (r: IptablesRule) => [
  r.target,
  r.protocol,
  r.source,
  r.destination,
  r.inInterface,
  r.outInterface,
  r.comment,
  r.dnatTo,
  r.probability,
  r.dport,
  r.counters,
  r.matchSets,
];

const LISTINGS = [
  real('iptables/09-ssup2-nvL-KUBE-SERVICES-iptables-mode.txt'),
  real('iptables/10-ssup2-nvL-KUBE-SVC-3-endpoints.txt'),
  real('iptables/13-ssup2-nvL-ipvs-mode-KUBE-SERVICES-matchset.txt'),
  real('iptables/02-nL-KUBE-SERVICES-minimal.txt'),
  ...modernFiles('iptables')
    .map((f) => modern(f))
    .filter((f) => /^Chain /m.test(f.body)),
];

test("real -L listings with their Chain and header lines grep'd away: every row read, with the same values", () => {
  assert.ok(LISTINGS.length >= 6);
  for (const f of LISTINGS) {
    const full = parseIptables(f.body);
    const grepped = parseIptables(rowsOnly(f.body));
    assert.ok(full.ruleCount > 0, f.name);
    assert.equal(grepped.ruleCount, full.ruleCount, f.name);
    assert.deepEqual(rules(grepped).map(values), rules(full).map(values), f.name);
    assert.deepEqual(grepped.skipped, [], f.name);
    assert.deepEqual(grepped.formats, ['list']);
    assert.deepEqual(Object.keys(grepped.tables.unknown!.chains), [UNKNOWN_CHAIN], f.name);
    assert.match(grepped.notes[0]!, /without their "Chain …" line.*chain "unknown"/, f.name);
  }
});

test('a listing pasted from its header on, without the first Chain line: the first rows are kept, under "unknown"', () => {
  const f = modern('iptables/07-submariner-kind-iptables-L-n-v-line-numbers-numeric-prot.txt');
  const d = parseIptables(f.body);
  assert.deepEqual(d.skipped, []);
  const first = d.tables.unknown!.chains[UNKNOWN_CHAIN]!.rules;
  assert.deepEqual(
    first.map((r) => [r.target, r.comment]),
    [
      ['KUBE-MARK-MASQ', 'kube-system/kube-dns:metrics cluster IP'],
      ['KUBE-SEP-UDNZKJBLV34OAAWT', 'kube-system/kube-dns:metrics -> 10.131.0.2:9153'],
      ['KUBE-SEP-CCIDRBOGP46NCIZT', 'kube-system/kube-dns:metrics -> 10.131.0.4:9153'],
    ],
  );
  assert.equal(first[1]!.probability, 0.5);
  assert.match(d.notes[0]!, /^3 rule rows \(line 2 to 4\)/);
  // the chains the listing does name keep their rows
  assert.equal(d.tables.unknown!.chains['KUBE-SVC-NPX46M4PTMTKRN6Y']!.rules.length, 2);
});

test('every column set -L prints is told apart by shape: -n, -nv, --line-numbers, both', () => {
  const rows = [
    'KUBE-MARK-MASQ  all  --  !10.244.0.0/16  10.96.0.1  /* default/kubernetes:https cluster IP */ tcp dpt:443',
    '0     0 KUBE-SEP-X  all  --  *  *  0.0.0.0/0  0.0.0.0/0  /* a -> 10.244.1.2:80 */ statistic mode random probability 0.50000000000',
    '3    DNAT       tcp  --  0.0.0.0/0  0.0.0.0/0  /* a */ tcp to:10.244.1.2:80',
    '7    12K  18M KUBE-SVC-Y  tcp  --  *  *  0.0.0.0/0  10.96.0.10  /* kube-system/kube-dns:dns-tcp cluster IP */ tcp dpt:53',
  ];
  const d = parseIptables(rows.join('\n'));
  const got = d.tables.unknown!.chains[UNKNOWN_CHAIN]!.rules;
  assert.deepEqual(
    got.map((r) => [r.target, r.source, r.destination, r.counters]),
    [
      ['KUBE-MARK-MASQ', '!10.244.0.0/16', '10.96.0.1', null],
      ['KUBE-SEP-X', '0.0.0.0/0', '0.0.0.0/0', { packets: 0, bytes: 0 }],
      ['DNAT', '0.0.0.0/0', '0.0.0.0/0', null],
      ['KUBE-SVC-Y', '0.0.0.0/0', '10.96.0.10', { packets: 12_000, bytes: 18_000_000 }],
    ],
  );
  assert.equal(got[2]!.dnatTo, '10.244.1.2:80');
  assert.equal(got[3]!.dport, '53');
});

test('`column -t` output (every gap re-spaced, the Chain line too) is read', () => {
  const d = parseIptables(
    modern('iptables/08-kubespray-v1.30.4-ipvs-mode-nat-KUBE-SERVICES-127-RETURN-column-t.txt')
      .body,
  );
  const c = d.tables.unknown!.chains['KUBE-SERVICES']!;
  assert.equal(c.references, 2);
  assert.deepEqual(
    c.rules.map((r) => [r.target, r.source, r.matchSets.map((m) => m.name)]),
    [
      ['RETURN', '127.0.0.0/8', []],
      ['KUBE-MARK-MASQ', '!10.233.64.0/18', ['KUBE-CLUSTER-IP']],
      ['KUBE-NODE-PORT', '0.0.0.0/0', []],
      ['ACCEPT', '0.0.0.0/0', ['KUBE-CLUSTER-IP']],
    ],
  );
  assert.deepEqual(d.skipped, []);
});

test('text that only looks a little like rows is still refused', () => {
  for (const t of ['TCP  10.96.0.1:443 rr', 'hello world -- foo bar', 'ACCEPT all -- here there']) {
    assert.throws(() => parseIptables(t), /not iptables output/);
  }
});

test("an author's `#` line between rules is said to be skipped, iptables-save's own are not", () => {
  const d = parseIptables(
    [
      '# Generated by iptables-save v1.8.9 on Sat Nov 22 01:00:00 2026',
      '*nat',
      '# the service chain:',
      '-A KUBE-SERVICES -j KUBE-NODEPORTS',
      'COMMIT',
      '# Completed on Sat Nov 22 01:00:00 2026',
    ].join('\n'),
  );
  assert.deepEqual(d.skipped, [3]);
  assert.equal(d.ruleCount, 1);
});
