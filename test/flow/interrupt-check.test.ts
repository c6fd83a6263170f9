/**
 * Ctrl-C during `proxylab check` (issue 13): exit 130 with a message, the results so far in
 * last-check.json, and the step's own programs given the interrupt first, so a nested
 * proxylab run (a `make ipvs` inside a step) restores what it was changing and lets go of
 * the lock before anything is killed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { labRun, type LabRun } from './check-helpers.js';
import { cmYaml } from './steps-helpers.js';
import type { CheckResult } from '../../src/doccheck/result.js';
import { interruptWhen } from '../helpers/interrupt.js';

/** A lab doc in the fake's folder: one block per command. */
function writeDoc(r: LabRun, name: string, blocks: Array<[string, string]>): string {
  const dir = join(r.lab.fake.dir, 'labs', name);
  mkdirSync(dir, { recursive: true });
  const body = blocks
    .map(
      ([cmd, out], i) => `## Step ${i + 1}\n\n\`\`\`console proxylab\n$ ${cmd}\n${out}\n\`\`\`\n`,
    )
    .join('\n');
  const file = join(dir, 'README.md');
  writeFileSync(file, `# Interrupt me\n\n${body}`);
  return file;
}

test('Ctrl-C with steps left: exit 130, a message, and last-check.json with the steps not run', async () => {
  const r = labRun();
  try {
    const mark = join(r.lab.fake.dir, 'step2-started');
    const file = writeDoc(r, 'slow', [
      ['echo one', 'one'],
      [`touch ${mark}; sleep 60; echo two`, 'two'],
      ['echo three', 'three'],
      ['echo four', 'four'],
      ['echo five', 'five'],
    ]);
    const { code, signal, out } = await interruptWhen(
      { kubeconfig: r.lab.fake.kubeconfig, env: r.env },
      ['check', file],
      () => existsSync(mark),
    );
    assert.equal(signal, null, out);
    assert.equal(code, 130, out);
    assert.match(out, /interrupted by Ctrl-C/);
    assert.match(out, /step 2/);
    const last = JSON.parse(
      readFileSync(join(r.env.PROXYLAB_STATE_DIR!, 'last-check.json'), 'utf8'),
    ) as CheckResult & { interrupted?: boolean };
    assert.equal(last.ok, false);
    assert.equal(last.interrupted, true);
    assert.equal(last.steps.find((s) => s.index === 1)?.status, 'passed');
    for (const i of [3, 4, 5]) {
      const s = last.steps.find((x) => x.index === i);
      assert.equal(s?.status, 'skipped', `step ${i}: ${JSON.stringify(s)}`);
      assert.match(s?.reason ?? '', /not run/);
    }
  } finally {
    r.lab.fake.cleanup();
  }
});

test('Ctrl-C while a step runs `make ipvs`: the nested run restores the ConfigMap and frees the lock; exit 130', async () => {
  const r = labRun({ env: { FAKE_DELAY: 'kubectl rollout status=4000' } });
  try {
    const before = cmYaml(r.lab);
    const file = writeDoc(r, 'nested', [
      ['make ipvs', '...'],
      ['echo after', 'after'],
      ['echo later', 'later'],
    ]);
    const { code, out } = await interruptWhen(
      { kubeconfig: r.lab.fake.kubeconfig, env: r.env },
      ['check', file],
      () => r.lab.fake.callsMatching('kubectl', 'rollout', 'status').length >= 1,
    );
    assert.equal(code, 130, out);
    assert.match(out, /interrupted by Ctrl-C/);
    const strip = (y: string) => y.replace(/^\s*resourceVersion:.*$/m, '');
    assert.equal(strip(cmYaml(r.lab)), strip(before), 'the nested mode switch was rolled back');
    assert.ok(
      !existsSync(join(r.env.PROXYLAB_STATE_DIR!, 'locks', 'proxylab.lock')),
      'the nested run released the lock',
    );
  } finally {
    r.lab.fake.cleanup();
  }
});
