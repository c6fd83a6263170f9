/**
 * The VM image build lock: two builds at once emptied each other's scratch folder (make bare
 * beside the kernel tests). One holder at a time, a waiter says whom it waits for, a lock
 * whose process is gone is taken over, and Ctrl-C while waiting exits 130.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { buildLock } from '../../src/bare/vm/image.js';
import { UserError } from '../../src/core/errors.js';

function scratch(): { dir: string; lock: string; done(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'proxylab-buildlock-'));
  return { dir, lock: join(dir, 'build.lock'), done: () => rmSync(dir, { recursive: true }) };
}

test('a second build waits until the first releases the lock, and says so', async () => {
  const s = scratch();
  try {
    const order: string[] = [];
    const logs: string[] = [];
    const release1 = await buildLock((l) => logs.push(l), undefined, s.lock);
    order.push('first holds');
    const second = buildLock((l) => logs.push(l), undefined, s.lock).then((rel) => {
      order.push('second holds');
      return rel;
    });
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(
      order,
      ['first holds'],
      'the second must not hold the lock while the first does',
    );
    assert.match(
      logs.join('\n'),
      new RegExp(`waiting for another VM image build \\(pid ${process.pid}\\)`),
    );
    order.push('first releases');
    await release1();
    const release2 = await second;
    assert.deepEqual(order, ['first holds', 'first releases', 'second holds']);
    await release2();
    assert.equal(existsSync(s.lock), false);
  } finally {
    s.done();
  }
});

test('a lock left by a process that is gone is taken over at once', async () => {
  const s = scratch();
  try {
    // a pid that surely ran and ended: a child that has exited
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    mkdirSync(s.lock);
    writeFileSync(join(s.lock, 'pid'), gone.stdout.toString());
    const logs: string[] = [];
    const release = await buildLock((l) => logs.push(l), undefined, s.lock);
    assert.deepEqual(logs, []);
    await release();
  } finally {
    s.done();
  }
});

test('Ctrl-C while waiting: exit code 130, nothing built', async () => {
  const s = scratch();
  try {
    const release = await buildLock(() => {}, undefined, s.lock);
    const ac = new AbortController();
    const waiting = buildLock(() => {}, ac.signal, s.lock);
    setTimeout(() => ac.abort(), 300);
    await assert.rejects(waiting, (e: unknown) => e instanceof UserError && e.exitCode === 130);
    await release();
  } finally {
    s.done();
  }
});
