/** The kubeconfig holds the cluster's admin key: 0600 every time `up` writes it (issue 13). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { newLab } from './steps-helpers.js';

test('up leaves the kubeconfig 0600 even when a 0644 one was there', async () => {
  const l = newLab();
  try {
    const down = await l.cli(['down']);
    assert.equal(down.code, 0, down.stderr);
    writeFileSync(l.fake.kubeconfig, 'apiVersion: v1\nkind: Config\n', { mode: 0o644 });
    assert.equal(statSync(l.fake.kubeconfig).mode & 0o777, 0o644);
    const up = await l.cli(['up']);
    assert.equal(up.code, 0, up.stderr);
    assert.equal((statSync(l.fake.kubeconfig).mode & 0o777).toString(8), '600');
  } finally {
    l.fake.cleanup();
  }
});
