/** ConfigMap backups are pruned: the newest few per cluster stay, other clusters' untouched. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KEEP_BACKUPS, listBackups, saveBackup } from '../../../src/steps/state.js';

test('saving a backup keeps only the newest per cluster', () => {
  const dir = mkdtempSync(join(tmpdir(), 'proxylab-backups-'));
  const env = { PROXYLAB_STATE_DIR: dir };
  try {
    const a = Array.from({ length: KEEP_BACKUPS + 5 }, (_, i) => saveBackup(env, 'a', `a${i}\n`));
    const b = [saveBackup(env, 'b', 'b0\n'), saveBackup(env, 'b', 'b1\n')];
    const kept = listBackups(env, 'a');
    assert.equal(kept.length, KEEP_BACKUPS);
    assert.deepEqual(
      kept.map((f) => readFileSync(f, 'utf8')),
      a.slice(5).map((_, i) => `a${i + 5}\n`),
    );
    assert.deepEqual(listBackups(env, 'b'), b);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
