/** `mode --timeout` bounds reading the ConfigMap too, not only the rollout (issue 13). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newLab, cmYaml } from './steps-helpers.js';

test('mode --timeout 5: a ConfigMap read that hangs stops after 5 s, nothing changed', async () => {
  // the delay is the CLI's only (the test's own reads of the ConfigMap are not delayed)
  const l = newLab();
  try {
    const before = cmYaml(l);
    const r = await l.cli(['mode', 'ipvs', '--timeout', '5'], {
      FAKE_DELAY: 'kubectl get configmap kube-proxy=15000',
    });
    assert.notEqual(r.code, 0, r.stderr);
    assert.match(r.stderr, /get configmap kube-proxy -o yaml` timed out after 5 s/);
    assert.equal(cmYaml(l), before);
  } finally {
    l.fake.cleanup();
  }
});
