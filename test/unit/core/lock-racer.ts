/**
 * One contender for the cluster lock (test/unit/core/lock.test.ts starts many at once):
 * waits for the start signal (a file), tries to take the lock, holds it for a while, and
 * prints "won" or "lost: <why>".
 */
import { existsSync } from 'node:fs';
import { acquireLock } from '../../../src/steps/state.js';

const [go, holdMs] = [process.argv[2]!, Number(process.argv[3] ?? 1500)];
while (!existsSync(go)) await new Promise((r) => setTimeout(r, 2));
try {
  const lock = acquireLock(process.env, 'race', `racer ${process.pid}`);
  process.stdout.write('won\n');
  await new Promise((r) => setTimeout(r, holdMs));
  lock.release();
} catch (e) {
  process.stdout.write(`lost: ${(e as Error).message}\n`);
}
