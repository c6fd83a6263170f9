/**
 * labs/ipvs end to end against the fake toolchain: the doc as shipped is green; a copy
 * whose values are renamed stays green with a consistent renaming over the whole run; a
 * deliberately broken fake answer turns exactly that step red with a useful diff.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labRun } from './check-helpers.js';
import { ROOT } from '../helpers/cli.js';
import { hasXmllint, validateJUnit } from '../helpers/junit.js';
import { parseXml } from '../helpers/xml.js';
import { parseLab } from '../../src/doccheck/markdown.js';
import type { CheckResult } from '../../src/doccheck/result.js';

const LAB = join(ROOT, 'labs', 'ipvs', 'README.md');

test('proxylab check labs/ipvs is green on the fake toolchain (JUnit, JSON result)', async () => {
  const r = labRun();
  try {
    const junit = join(r.lab.fake.dir, 'results', 'ipvs.xml');
    const res = await r.cli(['check', 'labs/ipvs', '--junit', junit]);
    const steps = parseLab(readFileSync(LAB, 'utf8')).steps.length;
    assert.equal(res.code, 0, res.stderr.slice(-4000));
    assert.match(res.stderr, new RegExp(`labs/ipvs/README\\.md: ${steps} passed, 0 failed`));
    // the result the status command and the HTML report read
    const last = JSON.parse(
      readFileSync(join(r.env.PROXYLAB_STATE_DIR!, 'last-check.json'), 'utf8'),
    ) as CheckResult;
    assert.equal(last.ok, true);
    assert.equal(last.counts.passed, steps);
    assert.equal(last.steps.length, steps);
    assert.ok(last.steps.every((s) => s.status === 'passed'));
    // the eventually-consistent steps and the session: aliases defined in a setup block work later
    assert.ok(last.steps.some((s) => s.command === 'ipv' && s.status === 'passed'));
    // JUnit: one testcase per step, no failure, valid against the schema
    const xml = readFileSync(junit, 'utf8');
    const suite = parseXml(xml).children.find((c) => c.name === 'testsuite')!;
    assert.equal(suite.children.filter((c) => c.name === 'testcase').length, steps);
    assert.equal(suite.attrs.failures, '0');
    if (hasXmllint) assert.equal(validateJUnit(xml), '');
  } finally {
    r.lab.fake.cleanup();
  }
});

test('from a cluster `make lab MODE=ipvs` built: renamed doc values match consistently; a broken ipvsadm answer turns exactly that step red', async () => {
  // kind created the cluster in ipvs mode and the web sample is there, as `proxylab lab --mode ipvs` leaves it
  const r = labRun({
    mode: 'ipvs',
    env: {
      FAKE_LAB_BREAK: 'proxylab-worker ipvsadm -ln=TCP  10.96.0.1:443 rr=>TCP  10.96.0.1:443 wrr',
    },
  });
  const dir = mkdtempSync(join(tmpdir(), 'proxylab-lab-'));
  try {
    const web = await r.cli(['web']);
    assert.equal(web.code, 0, web.stderr);
    // the same lab as another cluster would have written it: other ClusterIP, pod IP, hash, NodePort, MAC
    const renames: Array<[RegExp, string]> = [
      [/(?<![\d.])10\.96\.156\.45(?![\d])/g, '10.96.200.7'],
      [/(?<![\d.])10\.244\.1\.3(?![\d])/g, '10.244.1.77'],
      [/vwmd9d7wvl/g, '5c9f8d6b47'],
      [/31139/g, '30999'],
      [/fe:23:dd:24:32:19/g, '02:42:ac:12:00:03'],
    ];
    let text = readFileSync(LAB, 'utf8');
    for (const [re, to] of renames) {
      assert.match(text, re, `the lab shows ${re}`);
      text = text.replace(re, to);
    }
    const copy = join(dir, 'README.md');
    writeFileSync(copy, text);
    const res = await r.cli(['check', copy, '--json']);
    assert.equal(res.code, 1, res.stderr.slice(-3000));
    const result = JSON.parse(res.stdout) as CheckResult;
    const failed = result.steps.filter((s) => s.status !== 'passed');
    const firstIpv = parseLab(text).steps.find((s) => s.command === 'ipv')!;
    assert.deepEqual(
      failed.map((s) => s.index),
      [firstIpv.index],
      failed.map((s) => `${s.index} ${s.command}: ${s.reason}\n${s.diffText ?? ''}`).join('\n'),
    );
    const bad = failed[0]!;
    assert.match(bad.reason!, /scheduler rr ≠ wrr/);
    assert.match(
      bad.diffText!,
      /- TCP {2}10\.96\.0\.1:443 rr\n\+ TCP {2}10\.96\.0\.1:443 wrr\n {4}↑ doc line \d+: scheduler rr ≠ wrr/,
    );
    assert.match(bad.diffText!, /compared as a set/);
    const docLine = Number(/doc line (\d+)/.exec(bad.reason!)![1]);
    assert.equal(text.split('\n')[docLine - 1], 'TCP  10.96.0.1:443 rr');
    // one renaming over the whole run
    const b = (doc: string) => result.bindings.find((x) => x.doc === doc)?.actual;
    const k = (args: string[]) => r.lab.kubectl(args).stdout.trim();
    const pods = JSON.parse(k(['get', 'pods', '-l', 'app=web', '-o', 'json'])) as {
      items: Array<{
        metadata: { name: string };
        spec: { nodeName: string };
        status: { podIP: string };
      }>;
    };
    const onWorker = pods.items.find((p) => p.spec.nodeName === 'proxylab-worker')!;
    const podOnWorker = [onWorker.metadata.name, onWorker.status.podIP];
    assert.equal(b('10.96.200.7'), k(['get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}']));
    assert.equal(b('10.244.1.77'), podOnWorker[1]);
    assert.equal(b('5c9f8d6b47'), /^web-([a-z0-9]+)-/.exec(podOnWorker[0]!)?.[1]);
    assert.equal(
      b('30999'),
      k(['get', 'svc', 'web-nodeport', '-o', 'jsonpath={.spec.ports[0].nodePort}']),
    );
    // every other step passed, including those that show the renamed values
    assert.equal(result.counts.passed, result.steps.length - 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    r.lab.fake.cleanup();
  }
});

test('check: bad arguments are usage errors (exit 2) with a hint', async () => {
  const r = labRun();
  try {
    const none = await r.cli(['check', 'labs/no-such-lab']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no lab "labs\/no-such-lab"/);
    assert.match(none.stderr, /→ give a folder with a README\.md/);
    const step = await r.cli(['check', 'labs/ipvs', '--step', '999']);
    assert.equal(step.code, 2);
    assert.match(step.stderr, /--step 999: the lab has steps 1 to \d+/);
    const list = await r.cli(['check', 'labs/ipvs', '--list']);
    assert.equal(list.code, 0);
    assert.match(list.stdout, /labs\/ipvs\/README\.md:\d+ {2}make ipvs/);
    assert.ok(!existsSync(join(r.env.PROXYLAB_STATE_DIR!, 'last-check.json')), 'nothing ran');
    // --step runs that step and the setup steps before it (the aliases), nothing else
    const doc = parseLab(readFileSync(LAB, 'utf8'));
    const pre = doc.steps.find((s) => s.command === 'ipt PREROUTING')!;
    const one = await r.cli(['check', 'labs/ipvs', '--step', String(pre.index), '--json']);
    assert.equal(one.code, 0, one.stderr.slice(-2000));
    const res = JSON.parse(one.stdout) as CheckResult;
    const setup = doc.steps
      .filter((s) => s.options.setup && s.index < pre.index)
      .map((s) => s.index);
    assert.ok(setup.length >= 3);
    assert.deepEqual(
      res.steps.map((s) => s.index),
      [...setup, pre.index],
    );
    assert.deepEqual(res.selected, [pre.index]);
  } finally {
    r.lab.fake.cleanup();
  }
});
