/**
 * The cluster refuses the edited ConfigMap (an admission webhook, a policy): nothing changed,
 * and `mode` says exactly that, not "switch failed … restored" (issue 13).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newLab, cmYaml } from './steps-helpers.js';

test('a refused first replace: exit 1, "nothing changed", no restore claimed', async () => {
  const l = newLab({
    env: {
      FAKE_FAIL:
        'kubectl replace=1@1:Error from server (Forbidden): admission webhook "policy.example" denied the request',
    },
  });
  try {
    const before = cmYaml(l);
    const r = await l.cli(['mode', 'ipvs', '--keep-rules']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /refused the edited kube-proxy ConfigMap/);
    assert.match(r.stderr, /denied the request/);
    assert.match(r.stderr, /nothing changed: kube-proxy stays in iptables mode/);
    assert.doesNotMatch(r.stderr, /restor/);
    assert.equal(cmYaml(l), before);
    assert.equal(l.fake.callsMatching('kubectl', 'rollout', 'restart').length, 0);
  } finally {
    l.fake.cleanup();
  }
});
