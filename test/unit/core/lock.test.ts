/**
 * The cluster lock is taken atomically (issue 13): many processes that start at the same
 * instant, with no lock or with a stale one, and exactly one of them holds it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostname } from 'node:os';

const RACER = fileURLToPath(new URL('./lock-racer.ts', import.meta.url));
const N = 10;

async function race(stale: boolean): Promise<{ results: string[]; state: string }> {
  const state = mkdtempSync(join(tmpdir(), 'proxylab-lock-'));
  const go = join(state, 'go');
  if (stale) {
    mkdirSync(join(state, 'locks'), { recursive: true });
    // a pid that is not running: the lock is stale and every contender may take it over
    writeFileSync(
      join(state, 'locks', 'race.lock'),
      `${JSON.stringify({ pid: 2 ** 22 + 7, host: hostname(), command: 'mode ipvs', since: '2026-01-01T00:00:00Z' })}\n`,
    );
  }
  const ready = join(state, 'ready');
  const done = join(state, 'done');
  const kids = Array.from({ length: N }, () =>
    spawn(process.execPath, ['--import', 'tsx', RACER, ready, go, done], {
      env: { ...process.env, PROXYLAB_STATE_DIR: state },
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  let finished = 0;
  const results = kids.map(
    (k) =>
      new Promise<string>((resolve) => {
        let out = '';
        k.stdout.on('data', (b: Buffer) => (out += b.toString()));
        k.on('close', () => {
          finished++;
          resolve(out.trim());
        });
      }),
  );
  // every contender is up and polling for the start signal (however loaded the machine is):
  // give it, all at once
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const up = () => readdirSync(state).filter((f) => f.startsWith('ready.')).length;
  for (let t = 0; t < 90_000 && up() < N; t += 50) await sleep(50);
  assert.equal(up(), N, 'every contender started');
  writeFileSync(go, '');
  // the winner holds the lock until every loser has answered (or 30 s: then two won)
  for (let t = 0; t < 30_000 && finished < N - 1; t += 50) await sleep(50);
  writeFileSync(done, '');
  return { results: await Promise.all(results), state };
}

for (const stale of [false, true])
  test(
    `${N} processes start at the same instant${stale ? ' over a stale lock' : ''}: exactly one holds the lock`,
    { timeout: 120_000 },
    async () => {
      const { results, state } = await race(stale);
      try {
        const won = results.filter((r) => r === 'won');
        const lost = results.filter((r) => r.startsWith('lost: '));
        assert.equal(won.length, 1, results.join('\n'));
        assert.equal(lost.length, N - 1, results.join('\n'));
        for (const l of lost)
          assert.match(l, /another proxylab run \(pid \d+, `proxylab racer \d+`/);
        // nothing left behind: no lock, no temporary files
        assert.deepEqual(readdirSync(join(state, 'locks')), []);
      } finally {
        rmSync(state, { recursive: true, force: true });
      }
    },
  );
