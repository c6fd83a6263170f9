#!/usr/bin/env node
// Runs the test tiers with node's test runner (TypeScript through tsx).
//   node scripts/test.mjs            unit + flow + kernel
//   node scripts/test.mjs unit flow  only those tiers
// Extra arguments after `--` go to node --test (e.g. --test-name-pattern).
import { readFileSync, readdirSync, statSync } from 'node:fs';
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
const sorted = chosen
  .flatMap((t) => {
    try {
      return walk(join(root, 'test', t));
    } catch {
      console.error(`no such test tier: ${t}`);
      process.exit(2);
    }
  })
  .sort((a, b) => tierRank(a) - tierRank(b) || (a < b ? -1 : a > b ? 1 : 0));
// The kernel files that boot the micro-VM for a long while (`@micro-vm-long` in their first
// lines) are spread over the run rather than started together: QEMU emulates the guest's CPU
// (TCG), and two guests at once on two cores took each three to four times as long (the
// by-hand lab: 27 s alone, 125 s beside the conformance VM). The first builds the VM image.
const long = sorted.filter((f) =>
  readFileSync(f, 'utf8').slice(0, 3000).includes('@micro-vm-long'),
);
const rest = sorted.filter((f) => !long.includes(f));
const files = [];
for (let k = 0, r = 0; k <= long.length; k++) {
  const upto = k === long.length ? rest.length : Math.round((rest.length * k) / (long.length + 1));
  while (r < upto) files.push(rest[r++]);
  if (k < long.length) files.push(long[k]);
}
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
