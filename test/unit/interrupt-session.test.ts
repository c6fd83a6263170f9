/**
 * scripts/interrupt-session.ts's judgement of a rerun: "green up to where it was
 * interrupted". Lines as the lab printed them in a run of the session (make test, 2026-12-06).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { greenUntilInterrupted } from '../../scripts/interrupt-session.js';

const ok = '[COMPLETED] [14:40:15] kube-proxy → nftables [2.1s]';

test('a step killed by the Ctrl-C itself, printed before "⚠ interrupted", is the cut, not a failure', () => {
  const out = [
    ok,
    '[STARTED] [14:40:17] web sample (2 pods, ClusterIP + NodePort)',
    '[FAILED] [14:40:17] `kubectl --kubeconfig /tmp/proxylab-fake-8Ksjpw/kubeconfig apply -f -` was killed by SIGINT after 0.1 s',
    '',
    '⚠ interrupted by Ctrl-C: finishing cleanly (press Ctrl-C again to quit at once)',
  ].join('\n');
  assert.deepEqual(greenUntilInterrupted(out), { ok: true });
});

test('a step that failed for another reason before the interrupt is a failure', () => {
  const out = [
    ok,
    '[FAILED] [14:33:47] step 30 · make inspect: exit code 2, the doc expects 0',
    '[STARTED] [14:33:47] step 31 · make traffic',
    '',
    '⚠ interrupted by Ctrl-C: finishing cleanly (press Ctrl-C again to quit at once)',
  ].join('\n');
  const g = greenUntilInterrupted(out);
  assert.equal(g.ok, false);
  assert.match(g.note!, /step 30 · make inspect/);
});

test('a failure after the interrupt line does not count; a run with no failure is green', () => {
  const out = `${ok}\n\n⚠ interrupted by Ctrl-C: finishing cleanly\n[FAILED] [14:40:18] web sample: killed`;
  assert.deepEqual(greenUntilInterrupted(out), { ok: true });
  assert.deepEqual(greenUntilInterrupted(ok), { ok: true });
});
