/**
 * The repository stands on its own: every real output the tests read is inside
 * test/fixtures/ with its source header, and no test source names a path outside the
 * repository (the shared folder beside it, an absolute /work path, an override variable).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from '../helpers/cli.js';
import { MODERN_OUTPUTS, REAL_OUTPUTS, splitFixture } from '../helpers/fixtures.js';

function walk(dir: string, keep: (name: string) => boolean): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'fixtures' ? [] : walk(p, keep);
    return keep(name) ? [p] : [];
  });
}

// Spelled in pieces so this file does not match itself.
const OUTSIDE = [
  ['/work', '/'],
  ['../', 'shared'],
  ["'..', ", "'shared'"],
  ['PROXYLAB_', 'SHARED'],
  ['shared/', 'fixtures'],
].map((p) => p.join(''));

test('no test source reads outside the repository', () => {
  const sources = [
    ...walk(join(ROOT, 'test'), (n) => /\.(ts|mjs|js|sh)$/.test(n)),
    ...walk(join(ROOT, 'scripts'), (n) => /\.(ts|mjs|js|sh)$/.test(n)),
  ];
  assert.ok(sources.length > 50, `found only ${sources.length} test sources`);
  const hits: string[] = [];
  for (const f of sources) {
    const lines = readFileSync(f, 'utf8').split('\n');
    lines.forEach((l, i) => {
      for (const o of OUTSIDE) if (l.includes(o)) hits.push(`${relative(ROOT, f)}:${i + 1}: ${o}`);
    });
  }
  assert.deepEqual(hits, []);
});

test('the outside-path check finds what it looks for', () => {
  const sample = `const FIX = '${OUTSIDE[0]}shared/x';\nconst D = join(ROOT, ${OUTSIDE[2]});`;
  assert.ok(OUTSIDE.filter((o) => sample.includes(o)).length >= 2);
});

for (const [label, root, min] of [
  ['real-outputs', REAL_OUTPUTS, 40],
  ['real-outputs-modern', MODERN_OUTPUTS, 38],
] as const) {
  test(`test/fixtures/${label}: INDEX.md and every file with its source header`, () => {
    assert.ok(existsSync(join(root, 'INDEX.md')), 'INDEX.md kept beside the outputs');
    const files = walk(root, (n) => n.endsWith('.txt'));
    assert.ok(files.length >= min, `${files.length} files, expected at least ${min}`);
    for (const f of files) {
      const fx = splitFixture(readFileSync(f, 'utf8'), relative(root, f));
      assert.ok(Object.keys(fx.header).length >= 3, `${fx.name}: a source header`);
      assert.ok(fx.body.trim().length > 0, `${fx.name}: an output below the header`);
      // INDEX.md names each file it describes
      const index = readFileSync(join(root, 'INDEX.md'), 'utf8');
      assert.ok(
        index.includes(
          fx.name
            .split('/')
            .pop()!
            .replace(/\.txt$/, ''),
        ) || index.includes(fx.name),
        `${fx.name} in INDEX.md`,
      );
    }
  });
}
