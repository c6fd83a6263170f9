import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { loadWebObjects, renderWeb, validateWebOptions, webNames } from '../../../src/steps/web.js';
import {
  tally,
  trafficTable,
  validateTraffic,
  TRAFFIC_SCRIPT,
  FAIL_MARK,
} from '../../../src/steps/traffic.js';

test('web: the manifest gives the names traffic uses; replicas and affinity are rendered, affinity None clears the config', () => {
  const objs = loadWebObjects();
  assert.deepEqual(webNames(objs), {
    deployment: 'web',
    clusterIP: 'web',
    nodePort: 'web-nodeport',
  });
  const y = renderWeb(objs, {
    replicas: 3,
    affinity: 'ClientIP',
    affinityTimeoutS: 60,
    namespace: 'lab',
  });
  const docs = parseAllDocuments(y).map(
    (d) =>
      d.toJS() as { kind: string; metadata: { namespace: string }; spec: Record<string, unknown> },
  );
  assert.equal(docs.length, 3);
  assert.ok(docs.every((d) => d.metadata.namespace === 'lab'));
  assert.equal(docs.find((d) => d.kind === 'Deployment')!.spec.replicas, 3);
  for (const s of docs.filter((d) => d.kind === 'Service')) {
    assert.equal(s.spec.sessionAffinity, 'ClientIP');
    assert.deepEqual(s.spec.sessionAffinityConfig, { clientIP: { timeoutSeconds: 60 } });
  }
  const none = parseAllDocuments(
    renderWeb(objs, { replicas: 2, affinity: 'None', namespace: 'default' }),
  ).map((d) => d.toJS() as { kind: string; spec: Record<string, unknown> });
  for (const s of none.filter((d) => d.kind === 'Service')) {
    assert.equal(s.spec.sessionAffinity, 'None');
    assert.equal(s.spec.sessionAffinityConfig, undefined);
  }
});

test('web options: defaults, ClientIP spelled any case, bad values are usage errors', () => {
  assert.deepEqual(validateWebOptions({}), { replicas: 2, affinity: 'None' });
  assert.deepEqual(validateWebOptions({ affinity: 'clientip', affinityTimeout: '30' }), {
    replicas: 2,
    affinity: 'ClientIP',
    affinityTimeoutS: 30,
  });
  assert.throws(() => validateWebOptions({ replicas: '-1' }), /--replicas must be/);
  assert.throws(() => validateWebOptions({ affinityTimeout: '30' }), /needs --affinity ClientIP/);
  assert.throws(() => validateWebOptions({ affinity: 'sticky' }), /ClientIP or None/);
});

test('traffic: answers tallied per pod (zero counts kept), failures and strangers counted apart', () => {
  const pods = [
    { pod: 'web-7d9c-aaaaa', node: 'w1' },
    { pod: 'web-7d9c-bbbbb', node: 'w2' },
    { pod: 'web-7d9c-ccccc' },
  ];
  const r = tally(
    [
      'web-7d9c-aaaaa',
      'web-7d9c-bbbbb',
      'web-7d9c-aaaaa',
      FAIL_MARK,
      'proxylab:empty',
      '<html>',
      '',
    ],
    pods,
  );
  assert.deepEqual(
    r.perPod.map((p) => p.count),
    [2, 1, 0],
  );
  assert.equal(r.failures, 2);
  assert.deepEqual(r.other, { '<html>': 1 });
  const t = trafficTable({ url: 'http://10.96.0.5:80/', from: 'node w1', requests: 7, ...r }).join(
    '\n',
  );
  assert.match(t, /^web-7d9c-ccccc\s+0$/m);
  assert.match(t, /^failed\s+2$/m);
  assert.deepEqual(validateTraffic({}), { from: 'node', to: 'clusterip', n: 20 });
  assert.throws(() => validateTraffic({ from: 'host' }), /not reachable from the host/);
  assert.throws(() => validateTraffic({ n: '0' }), /-n must be/);
  // count and URL are arguments of the script, never part of it
  assert.doesNotMatch(TRAFFIC_SCRIPT, /10\.96|http:/);
});
