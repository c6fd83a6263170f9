/**
 * JUnit XML: well-formed, and valid against the common JUnit schema CI systems read
 * (the layout of Jenkins' junit schema: testsuites > testsuite > properties, testcase,
 * system-out, system-err; testcase holds skipped | error | failure and system-out). The
 * schema facts are written below; xmllint (Debian's libxml2-utils) validates when present.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toJUnit, xmlEscape } from '../../../src/doccheck/junit.js';
import type { CheckResult, StepResult } from '../../../src/doccheck/result.js';
import { countSteps } from '../../../src/doccheck/result.js';
import { parseXml } from '../../helpers/xml.js';
import { hasXmllint, validateJUnit } from '../../helpers/junit.js';

function step(over: Partial<StepResult>): StepResult {
  return {
    index: 1,
    line: 10,
    heading: 'The virtual servers',
    command: 'docker exec proxylab-worker ipvsadm -ln',
    status: 'passed',
    attempts: 1,
    durationMs: 120,
    exitCode: 0,
    expectedExit: 0,
    expected: 'TCP  10.96.0.1:443 rr',
    actual: 'TCP  10.96.0.1:443 rr',
    renamed: [],
    ...over,
  };
}

function result(steps: StepResult[]): CheckResult {
  return {
    version: 1,
    lab: 'labs/ipvs',
    file: 'labs/ipvs/README.md',
    title: 'Lab',
    cluster: 'proxylab',
    kubeconfig: '/tmp/kubeconfig',
    startedAt: '2026-11-21T22:00:00.123Z',
    finishedAt: '2026-11-21T22:01:00.000Z',
    durationMs: 60_000,
    ok: steps.every((s) => s.status === 'passed' || s.status === 'skipped'),
    counts: countSteps(steps),
    steps,
    bindings: [],
  };
}

const SAMPLE = result([
  step({}),
  step({
    index: 2,
    status: 'failed',
    reason: 'doc line 12: scheduler rr ≠ sh',
    actual: 'TCP  10.96.0.1:443 sh\n\u001b[31mcolour\u001b[0m & <b> "quotes" \u0007bell',
    diffText:
      '- TCP  10.96.0.1:443 rr\n+ TCP  10.96.0.1:443 sh\n    ↑ doc line 12: scheduler rr ≠ sh',
  }),
  step({
    index: 3,
    status: 'error',
    reason: 'the command did not finish within 300 s',
    exitCode: null,
  }),
  step({ index: 4, status: 'skipped', reason: 'needs a kernel with IPVS' }),
]);

test('JUnit: well-formed, counts and one testcase per step with failure/error/skipped', () => {
  const xml = toJUnit([SAMPLE], 'ci-runner');
  const root = parseXml(xml);
  assert.equal(root.name, 'testsuites');
  assert.equal(root.attrs.tests, '4');
  assert.equal(root.attrs.failures, '1');
  assert.equal(root.attrs.errors, '1');
  assert.equal(root.attrs.skipped, '1');
  const suite = root.children.find((c) => c.name === 'testsuite')!;
  assert.equal(suite.attrs.name, 'labs/ipvs');
  assert.equal(suite.attrs.timestamp, '2026-11-21T22:00:00');
  const cases = suite.children.filter((c) => c.name === 'testcase');
  assert.equal(cases.length, 4);
  assert.deepEqual(
    cases.map((c) => c.children.map((x) => x.name).filter((n) => n !== 'system-out')),
    [[], ['failure'], ['error'], ['skipped']],
  );
  const failure = cases[1]!.children.find((c) => c.name === 'failure')!;
  assert.equal(failure.attrs.message, 'doc line 12: scheduler rr ≠ sh');
  assert.match(failure.text, /scheduler rr ≠ sh/);
  // control characters and colour codes are dropped, markup escaped
  const out = cases[1]!.children.find((c) => c.name === 'system-out')!;
  assert.equal(out.text, 'TCP  10.96.0.1:443 sh\ncolour & <b> "quotes" bell');
  assert.equal(cases[1]!.attrs.line, '10');
});

test(
  'JUnit validates against the JUnit schema (xmllint)',
  { skip: hasXmllint ? false : 'xmllint not installed (apt-get install libxml2-utils)' },
  () => {
    assert.equal(validateJUnit(toJUnit([SAMPLE])), '');
    assert.equal(validateJUnit(toJUnit([result([])])), '');
    // the schema is not a rubber stamp: a testcase without a name is refused
    const bad = toJUnit([SAMPLE]).replace(/<testcase name="[^"]*"/, '<testcase');
    assert.notEqual(validateJUnit(bad), '');
  },
);

test('xmlEscape escapes markup and drops characters XML forbids', () => {
  assert.equal(
    xmlEscape(`a&b<c>"d"'e'\u0000\u001b[1mf`),
    'a&amp;b&lt;c&gt;&quot;d&quot;&apos;e&apos;f',
  );
});
