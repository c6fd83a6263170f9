#!/usr/bin/env node
// Runs the test tiers with node's test runner (TypeScript through tsx).
//   node scripts/test.mjs            unit + flow + kernel
//   node scripts/test.mjs unit flow  only those tiers
// Extra arguments after `--` go to node --test (e.g. --test-name-pattern).
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const tiers = (dash >= 0 ? argv.slice(0, dash) : argv).filter(Boolean);
const extra = dash >= 0 ? argv.slice(dash + 1) : [];
const chosen = tiers.length ? tiers : ['unit', 'flow', 'kernel'];

function walk(dir) {
  let out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(walk(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

// The kernel tier first: its micro-VM files are the longest (one runs ~2 minutes). Started
// last (alphabetical order), they ran alone at the end while the other slots had nothing
// left; started first, the other tiers fill the slots around them.
const TIER_ORDER = ['kernel', 'flow', 'unit'];
const tierRank = (f) => {
  const i = TIER_ORDER.indexOf(relative(join(root, 'test'), f).split('/')[0]);
  return i < 0 ? TIER_ORDER.length : i;
};
const files = chosen
  .flatMap((t) => {
    try {
      return walk(join(root, 'test', t));
    } catch {
      console.error(`no such test tier: ${t}`);
      process.exit(2);
    }
  })
  .sort((a, b) => tierRank(a) - tierRank(b) || (a < b ? -1 : a > b ? 1 : 0));
if (!files.length) {
  console.error(`no test files in ${chosen.join(', ')}`);
  process.exit(1);
}
console.log(`running ${files.length} test files (${chosen.join(', ')})`);
const r = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    // three files at a time on two cores: many flow tests wait (a fake hang, a timeout, a
    // VM boot) as much as they compute, and a third file fills that time
    `--test-concurrency=${process.env.PROXYLAB_TEST_CONCURRENCY || 3}`,
    '--test-reporter=spec',
    ...extra,
    ...files.map((f) => relative(root, f)),
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, PROXYLAB_ROOT: root } },
);
process.exit(r.status ?? 1);
