/**
 * Output forms (src/doccheck/forms.ts) on real outputs of each form: the matcher treats two
 * printings of the same thing as equal for that output kind only, and still tells apart
 * what really differs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { modern, real } from '../../helpers/fixtures.js';
import { canonicalLine } from '../../../src/doccheck/forms.js';
import { matchOutput } from '../../../src/doccheck/matcher.js';

const lines = (t: string) => t.split('\n');
const ok = (doc: string, actual: string, kind: Parameters<typeof canonicalLine>[0]) =>
  matchOutput(doc, actual, { kind }).ok;

// ------------------------------------------------------------------ iptables protocol column

/** What iptables 1.8.7/1.8.8/1.8.11 print for a rule 1.8.9/1.8.10 print with a number. */
const toNames = (t: string) =>
  t.replace(
    /(^|\s)(0|6|17)(\s+--)/gm,
    (_, a: string, n: string, b: string) => `${a}${{ '0': 'all', '6': 'tcp', '17': 'udp' }[n]}${b}`,
  );
/** And back: what 1.8.9/1.8.10 print with -n for a rule shown with a name. */
const toNumbers = (t: string) =>
  t.replace(
    /(^|\s)(all|tcp|udp)(\s+--)/gm,
    (_, a: string, n: string, b: string) => `${a}${{ all: '0', tcp: '6', udp: '17' }[n]}${b}`,
  );

test('iptables: numeric protocols (real 1.8.9/1.8.10 -n listing) equal their names', () => {
  const numeric = modern('iptables/01-kubeadm-v1.30.1-iptables-n-L-filter-numeric-prot.txt').body;
  assert.match(numeric, /^KUBE-NODEPORTS {2}0 {4}-- /m, 'the capture is of the numeric form');
  // each rule line's protocol column comes out as the name, nothing else changes
  for (const l of lines(numeric)) {
    const c = canonicalLine('iptables', l);
    assert.equal(c, toNames(l));
    assert.doesNotMatch(c, /(^|\s)(0|6|17)\s+--\s/);
  }
  assert.ok(ok(numeric, toNames(numeric), 'iptables'));
  assert.ok(ok(toNames(numeric), numeric, 'iptables'));
  // a real capture of the name form (iptables 1.8.7-era -nvL) against its numeric printing
  const named = real('iptables/09-ssup2-nvL-KUBE-SERVICES-iptables-mode.txt').body;
  assert.match(named, / tcp {2}-- /);
  for (const l of lines(named)) assert.equal(canonicalLine('iptables', l), l);
  assert.ok(ok(named, toNumbers(named), 'iptables'));
  // a real difference still differs: tcp is not udp, 6 is not 17
  const rule = lines(named).find((l) => / tcp {2}-- /.test(l))!;
  assert.equal(ok(rule, rule.replace(' tcp  -- ', ' 17   -- '), 'iptables'), false);
  assert.equal(ok(toNumbers(rule), rule.replace(' tcp  -- ', ' udp  -- '), 'iptables'), false);
  // only for iptables output: a text step keeps 0 and all apart
  assert.equal(ok('KUBE-NODEPORTS  0    --  x', 'KUBE-NODEPORTS  all  --  x', 'text'), false);
});

test('iptables: the numeric-protocol rule of a real -nvL listing with counters keeps its counters free', () => {
  const numeric = modern('iptables/07-submariner-kind-iptables-L-n-v-line-numbers-numeric-prot.txt')
    .body.split('\n')
    .filter((l) => /^\d+\s+\d+\s+\d+\s+\S+\s+(0|6|17)\s+--/.test(l));
  assert.ok(numeric.length > 0);
  for (const l of numeric) assert.match(canonicalLine('iptables', l), /\s(all|tcp|udp)\s+--/);
});

// ------------------------------------------------------------------ ipset header

test('ipset: Revision 5 without bucketsize (older kernel) equals Revision 6 with bucketsize/initval (≥ 5.11)', () => {
  const head = (t: string) => lines(t).slice(0, 7).join('\n'); // Name … Number of entries
  const old = head(real('ipset/03-hwchiu-KUBE-CLUSTER-IP.txt').body);
  const now = head(
    modern('ipset/03-kubespray-v1.30.4-kernel-5.15-ipset-list-KUBE-CLUSTER-IP-rev6-annotated.txt')
      .body,
  );
  assert.match(old, /^Revision: 5$/m);
  assert.match(old, /^Header: family inet hashsize 1024 maxelem 65536$/m);
  assert.match(now, /^Revision: 6$/m);
  assert.match(now, /bucketsize 12 initval 0x[0-9a-f]+$/m);
  assert.ok(ok(old, now, 'ipset'));
  assert.ok(ok(now, old, 'ipset'));
  // a doc that writes the seed as a wildcard (labs/ipvs: `initval 0x[..]`) still matches
  const wild = now.replace(/initval 0x[0-9a-f]+/, 'initval 0x[..]');
  assert.notEqual(wild, now);
  assert.ok(ok(wild, now, 'ipset'));
  assert.ok(ok(wild, old, 'ipset'));
  // what the header really says still counts: another hashsize or family differs
  assert.equal(ok(old, now.replace('hashsize 1024', 'hashsize 4096'), 'ipset'), false);
  assert.equal(ok(old, now.replace('family inet ', 'family inet6 '), 'ipset'), false);
  assert.equal(ok(old, now.replace('Type: hash:ip,port', 'Type: hash:ip'), 'ipset'), false);
});

// ------------------------------------------------------------------ kube-ipvs0

/** kube-ipvs0's link line and its first `count` addresses (with their valid_lft lines). */
function ipvs0(t: string, count: number): string {
  const ls = lines(t);
  const at = ls.findIndex((l) => /^\d+: kube-ipvs0:/.test(l));
  return ls.slice(at, at + 2 + 2 * count).join('\n');
}

test('ip-addr: kube-ipvs0 addresses with `brd <same address>` (older kube-proxy) equal those without', () => {
  const old = ipvs0(real('kube-ipvs0/03-hwchiu-ip-addr-show-dev.txt').body, 3);
  const now = ipvs0(modern('kube-ipvs0/01-minikube-ip-addr-show-kube-ipvs0.txt').body, 3);
  assert.match(old, /inet 10\.96\.0\.10\/32 brd 10\.96\.0\.10 scope global kube-ipvs0/);
  assert.doesNotMatch(now, / brd 10\./);
  assert.ok(ok(old, now, 'ip-addr'));
  assert.ok(ok(now, old, 'ip-addr'));
  // a broadcast address that is not the address itself is real: kept
  const eth0 = '    inet 172.18.0.2/16 brd 172.18.255.255 scope global eth0';
  assert.equal(canonicalLine('ip-addr', eth0), eth0);
  assert.equal(ok(eth0, '    inet 172.18.0.2/16 scope global eth0', 'ip-addr'), false);
});

test('ip-addr: the link line with `qlen 1000` (Debian 12 iproute2, old iproute) equals the one without', () => {
  // real-outputs/kube-ipvs0/01: an older iproute printing qlen on kube-ipvs0's link line
  const withQlen = lines(real('kube-ipvs0/01-kep265-ip-addr-old-iproute.txt').body).find((l) =>
    /kube-ipvs0: </.test(l),
  )!;
  assert.match(withQlen, / qlen 1000$/);
  assert.equal(canonicalLine('ip-addr', withQlen), withQlen.replace(/ qlen 1000$/, ''));
  // real-outputs-modern/kube-ipvs0/01 (minikube): no qlen, a trailing space after "group default"
  const without = ipvs0(modern('kube-ipvs0/01-minikube-ip-addr-show-kube-ipvs0.txt').body, 3);
  assert.match(lines(without)[0]!, /group default $/);
  // the same link as Debian 12's iproute2 6.1 prints it on a kind node (the kernel-tier
  // conformance test, /tmp/notes D4: "... state DOWN group default qlen 1000")
  const debian = without.replace(/group default $/m, 'group default qlen 1000');
  assert.ok(ok(without, debian, 'ip-addr'));
  assert.ok(ok(debian, without, 'ip-addr'));
  // a different state is still a difference
  assert.equal(ok(without, debian.replace('state DOWN', 'state UNKNOWN'), 'ip-addr'), false);
});
