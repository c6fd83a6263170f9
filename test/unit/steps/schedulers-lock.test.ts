import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir, hostname } from 'node:os';
import { join } from 'node:path';
import { SCHEDULER_NAMES, validateScheduler } from '../../../src/steps/schedulers.js';
import {
  acquireLock,
  lockFile,
  saveBackup,
  listBackups,
  readBackup,
} from '../../../src/steps/state.js';
import { UsageError } from '../../../src/core/errors.js';

test('the 11 IPVS schedulers of the issue are accepted, a typo is a usage error with a suggestion', () => {
  assert.deepEqual(SCHEDULER_NAMES, [
    'rr',
    'wrr',
    'lc',
    'wlc',
    'lblc',
    'lblcr',
    'sh',
    'dh',
    'sed',
    'nq',
    'mh',
  ]);
  for (const s of SCHEDULER_NAMES) assert.equal(validateScheduler(s), s);
  assert.equal(validateScheduler('SH'), 'sh');
  assert.throws(
    () => validateScheduler('rrr'),
    (e: unknown) =>
      e instanceof UsageError && /did you mean rr/.test(e.hint ?? '') && e.exitCode === 2,
  );
  assert.throws(() => validateScheduler('roundrobin'), /not an IPVS scheduler/);
});

test('lock: a second holder is refused while the first is alive; re-entrant in one process; stale locks taken over', () => {
  const dir = mkdtempSync(join(tmpdir(), 'proxylab-lock-'));
  const env = { PROXYLAB_STATE_DIR: dir };
  try {
    const a = acquireLock(env, 'c1', 'mode ipvs');
    const inner = acquireLock(env, 'c1', 'mode ipvs'); // re-entrant (lab → mode)
    inner.release();
    assert.ok(existsSync(lockFile(env, 'c1')), 'inner release keeps the outer lock');
    // another live process (pid 1 always exists) holds c2
    writeFileSync(
      lockFile(env, 'c2'),
      JSON.stringify({ pid: 1, host: hostname(), command: 'mode iptables', since: 'x' }),
    );
    assert.throws(
      () => acquireLock(env, 'c2', 'web'),
      /another proxylab run \(pid 1, `proxylab mode iptables`/,
    );
    // a dead pid: stale, taken over with a note
    writeFileSync(
      lockFile(env, 'c3'),
      JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), command: 'mode', since: 'x' }),
    );
    const notes: string[] = [];
    const c = acquireLock(env, 'c3', 'web', (t) => notes.push(t));
    assert.match(notes.join(), /stale lock/);
    c.release();
    a.release();
    assert.ok(!existsSync(lockFile(env, 'c1')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('backups are written exactly, never overwritten, and listed per cluster', () => {
  const dir = mkdtempSync(join(tmpdir(), 'proxylab-bk-'));
  const env = { PROXYLAB_STATE_DIR: dir };
  try {
    const f1 = saveBackup(env, 'lab', 'a: 1\n  trailing  \n');
    const f2 = saveBackup(env, 'lab', 'b');
    saveBackup(env, 'lab2', 'c');
    assert.notEqual(f1, f2);
    assert.equal(readBackup(f1), 'a: 1\n  trailing  \n');
    // oldest first, also when both fell in one millisecond (f2 is then f1's name + -1)
    assert.deepEqual(listBackups(env, 'lab'), [f1, f2]);
    assert.equal(readdirSync(join(dir, 'backups')).length, 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
