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
  const kids = Array.from({ length: N }, () =>
    spawn(process.execPath, ['--import', 'tsx', RACER, go, '2500'], {
      env: { ...process.env, PROXYLAB_STATE_DIR: state },
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  const results = kids.map(
    (k) =>
      new Promise<string>((resolve) => {
        let out = '';
        k.stdout.on('data', (b: Buffer) => (out += b.toString()));
        k.on('close', () => resolve(out.trim()));
      }),
  );
  // every contender is up and polling for the start signal: give it, all at once
  await new Promise((r) => setTimeout(r, 4000));
  writeFileSync(go, '');
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
