/**
 * Inputs on which a parser used to take quadratic time (issue 13): each is sized so that the
 * old code ran for minutes (a 4,000-element map took 7.6 s and time grew with the square;
 * 80,000 quoted words 2.4 s; 32,000 `# ` 9.5 s), while linear code needs about a second.
 * No timed assertion: each case runs in a process of its own under a generous bound (a
 * hang guard), and the test checks that everything in the input was read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { stripAnnotation } from '../../../src/inspect/index.js';

const CASES = fileURLToPath(new URL('./linear-cases.ts', import.meta.url));
const BOUND_MS = 90_000;

function run(name: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', CASES, name],
      { timeout: BOUND_MS, maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        if (err)
          reject(
            new Error(
              err.killed
                ? `${name}: still running after ${BOUND_MS / 1000} s (quadratic time?)`
                : `${name}: ${stderr || err.message}`,
            ),
          );
        else resolve(JSON.parse(stdout));
      },
    );
  });
}

test('nft: a service-ips map of 20,000 elements, one per line as nft wraps them', async () => {
  assert.deepEqual(await run('nftMap'), {
    elements: 20_000,
    last: '10.0.78.31 . tcp . 80 : goto service-AAAA19999-ns/s19999/tcp/http',
    services: 20_000,
    skipped: 0,
  });
});

test('iptables: 320,000 quoted comments on one rule line', async () => {
  assert.deepEqual(await run('iptablesQuoted'), {
    matches: 320_001,
    comment: 'last "one"',
    target: 'ACCEPT',
  });
});

test('the annotation stripper: 64,000 `# ` on one line', async () => {
  assert.deepEqual(await run('annotations'), {
    // single spaces before each `#` and no non-ASCII text: not an annotation, kept whole
    keptWhole: true,
    // the first `#` after two spaces starts one, however many follow
    afterTwoSpaces: '-A X -j ACCEPT',
    // a non-ASCII note at the end marks the first `#` after a blank as its start
    nonAsciiNote: '-A X -j ACCEPT',
    target: 'ACCEPT',
  });
});

test('the annotation stripper leaves `#` inside quotes alone', () => {
  assert.equal(
    stripAnnotation('-A X -m comment --comment "a  # b" -j Y  # note'),
    '-A X -m comment --comment "a  # b" -j Y',
  );
  assert.equal(stripAnnotation('a\t# b'), 'a');
  assert.equal(stripAnnotation('a # b'), 'a # b');
});
