/**
 * One contender for the cluster lock (test/unit/core/lock.test.ts starts many at once):
 * says it is up (a file `<ready>.<pid>`), waits for the start signal (a file), tries to take
 * the lock, prints "won" or "lost: <why>"; a winner holds the lock until the test says it
 * is done (another file), so a contender that the machine's load makes late still finds it
 * held.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { acquireLock } from '../../../src/steps/state.js';

const [ready, go, done] = [process.argv[2]!, process.argv[3]!, process.argv[4]!];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
writeFileSync(`${ready}.${process.pid}`, '');
while (!existsSync(go)) await sleep(2);
try {
  const lock = acquireLock(process.env, 'race', `racer ${process.pid}`);
  process.stdout.write('won\n');
  for (let t = 0; t < 120_000 && !existsSync(done); t += 20) await sleep(20);
  lock.release();
} catch (e) {
  process.stdout.write(`lost: ${(e as Error).message}\n`);
}
