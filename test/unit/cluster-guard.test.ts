/** The "is there a cluster?" verdict and its one line, for each thing that can be missing. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lookForCluster, missingCluster, shownPath } from '../../src/cluster/guard.js';
import { CommandError, UserError } from '../../src/core/errors.js';

const base = { cluster: 'proxylab', kubeconfig: '/home/me/proxylab/kubeconfig' };

test('the message names what was looked at and the make command for that cluster', () => {
  const cwd = '/home/me/proxylab';
  assert.equal(shownPath('/home/me/proxylab/kubeconfig', cwd), './kubeconfig');
  assert.equal(shownPath('/tmp/kc', cwd), '/tmp/kc');
  const none = missingCluster({ ...base, kubeconfigExists: false, clusters: [] }, cwd);
  assert.equal(
    none?.message,
    'no cluster "proxylab" (kind get clusters: none; no kubeconfig at ./kubeconfig): run make up',
  );
  assert.equal(none?.exitCode, 1);
  const other = missingCluster(
    { ...base, cluster: 'lab2', kubeconfigExists: true, clusters: ['proxylab'] },
    cwd,
  );
  assert.equal(
    other?.message,
    'no cluster "lab2" (kind get clusters: proxylab; kubeconfig ./kubeconfig is there): run make up CLUSTER=lab2',
  );
  assert.match(other?.hint ?? '', /--cluster NAME/);
  assert.equal(
    missingCluster({ ...base, kubeconfigExists: false, clusters: ['proxylab'] }, cwd)?.message,
    'cluster "proxylab" exists but has no kubeconfig at ./kubeconfig: run make up',
  );
  assert.equal(
    missingCluster({ ...base, kubeconfigExists: true, clusters: ['proxylab'] }, cwd),
    undefined,
  );
});

test('kind missing or failing: said in the line, never thrown raw; Ctrl-C still stops', async () => {
  const spawnFail = new CommandError({
    argv: ['kind', 'get', 'clusters'],
    exitCode: null,
    signal: null,
    stdout: '',
    stderr: '',
    durationMs: 1,
    timedOut: false,
    timeoutMs: null,
    spawnError: 'ENOENT',
  });
  const look = await lookForCluster(base, () => Promise.reject(spawnFail));
  assert.equal(look.clusters, undefined);
  assert.match(
    missingCluster(look)!.message,
    /^no cluster "proxylab" found \(kind is not installed \(run `proxylab tools`\); no kubeconfig at .*\): run make up$/,
  );
  const failed = new CommandError({
    argv: ['kind', 'get', 'clusters'],
    exitCode: 1,
    signal: null,
    stdout: '',
    stderr: 'ERROR: failed to list clusters: command "docker ps -a" failed\nCommand Output: boom',
    durationMs: 1,
    timedOut: false,
    timeoutMs: null,
    spawnError: null,
  });
  const l2 = await lookForCluster(base, () => Promise.reject(failed));
  assert.equal(
    l2.lookError,
    '`kind get clusters` failed: ERROR: failed to list clusters: command "docker ps -a" failed',
  );
  await assert.rejects(
    lookForCluster(base, () =>
      Promise.reject(new UserError('interrupted by Ctrl-C', undefined, 130)),
    ),
    /interrupted/,
  );
});
