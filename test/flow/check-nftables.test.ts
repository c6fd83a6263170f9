/**
 * labs/nftables end to end against the fake toolchain, and the `--update` round trip:
 * a fake answer changes (as a new Kubernetes version would change an output), `--update`
 * rewrites exactly that step's expected output in a copy of the lab, and checking the copy
 * again against the same cluster is all ✔.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labRun } from './check-helpers.js';
import { ROOT } from '../helpers/cli.js';
import { parseLab } from '../../src/doccheck/markdown.js';
import type { CheckResult } from '../../src/doccheck/result.js';

const LAB = join(ROOT, 'labs', 'nftables', 'README.md');

// `check labs/nftables` green on every pinned version: test/flow/matrix-1.3x.test.ts

test('--update rewrites only the step whose output changed; checking again is all ✔', async () => {
  // the NodePort map's comment changes, as it could in a new kube-proxy release
  const r = labRun({
    env: {
      FAKE_LAB_BREAK:
        'proxylab-worker nft list map ip kube-proxy service-nodeports=comment "NodePort traffic"=>comment "NodePort traffic (new wording)"',
    },
  });
  const dir = mkdtempSync(join(tmpdir(), 'proxylab-lab-'));
  try {
    const copy = join(dir, 'README.md');
    // the author left part of the map's type open: --update must keep that `[..]`
    const open = '\t\ttype inet_proto [..] : verdict';
    const original = readFileSync(LAB, 'utf8').replace(
      '\t\ttype inet_proto . inet_service : verdict',
      open,
    );
    assert.ok(original.includes(open));
    writeFileSync(copy, original);
    const target = parseLab(original).steps.find((s) => s.command.includes('service-nodeports'))!;

    const first = await r.cli(['check', copy, '--update', '--json']);
    assert.equal(
      first.code,
      0,
      `--update fixes the doc, so it succeeds\n${first.stderr.slice(-3000)}`,
    );
    const r1 = JSON.parse(first.stdout) as CheckResult;
    assert.deepEqual(r1.updated, [target.index]);
    assert.equal(r1.steps.find((s) => s.index === target.index)?.status, 'failed');
    assert.match(
      r1.steps.find((s) => s.index === target.index)!.reason!,
      /"NodePort traffic" ≠ "NodePort traffic|traffic"/,
    );

    // only that step's expected output changed in the doc
    const updated = readFileSync(copy, 'utf8');
    const a = original.split('\n');
    const b = updated.split('\n');
    assert.equal(b.length, a.length);
    const changed = a.map((l, i) => (l === b[i] ? -1 : i + 1)).filter((i) => i > 0);
    assert.equal(changed.length, 1, `changed doc lines: ${changed.join(', ')}`);
    assert.ok(changed[0]! >= target.expectedRange.start && changed[0]! < target.expectedRange.end);
    assert.match(b[changed[0]! - 1]!, /comment "NodePort traffic \(new wording\)"/);
    assert.ok(b.includes(open), 'the `[..]` line the author wrote is still there');

    // the same cluster, the same answers: the updated doc is all ✔
    const second = await r.cli(['check', copy, '--json']);
    assert.equal(second.code, 0, second.stderr.slice(-3000));
    const r2 = JSON.parse(second.stdout) as CheckResult;
    assert.ok(
      r2.steps.every((s) => s.status === 'passed'),
      r2.steps
        .filter((s) => s.status !== 'passed')
        .map((s) => `${s.index}: ${s.reason}`)
        .join('\n'),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
    r.lab.fake.cleanup();
  }
});
