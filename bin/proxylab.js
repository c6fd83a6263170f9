#!/usr/bin/env node
// Entry point. Runs the compiled CLI from dist/. In a checkout whose build is missing or
// older than its sources (or with PROXYLAB_DEV=1) it runs the TypeScript sources through
// tsx instead, so a stale build never runs old code.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = `${root}dist/cli.js`;

function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    const t = e.isDirectory() ? newestSource(p) : e.name.endsWith('.ts') ? statSync(p).mtimeMs : 0;
    if (t > newest) newest = t;
  }
  return newest;
}

function buildIsCurrent() {
  if (!existsSync(built)) return false;
  if (!existsSync(`${root}src`)) return true; // installed package: dist only
  return statSync(built).mtimeMs >= newestSource(`${root}src`);
}

if (process.env.PROXYLAB_DEV !== '1' && buildIsCurrent()) {
  await import(pathToFileURL(built).href);
} else {
  try {
    const { register } = await import('tsx/esm/api');
    register();
  } catch {
    process.stderr.write(
      `proxylab: no current build found. Run \`npm ci && npm run build\` in ${root}\n`,
    );
    process.exit(2);
  }
  await import(pathToFileURL(`${root}src/cli.ts`).href);
}
