#!/usr/bin/env node
// Entry point. Runs the compiled CLI from dist/; in a checkout without a build
// (or with PROXYLAB_DEV=1) it runs the TypeScript sources through tsx instead.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = `${root}dist/cli.js`;
if (process.env.PROXYLAB_DEV !== '1' && existsSync(built)) {
  await import(pathToFileURL(built).href);
} else {
  try {
    const { register } = await import('tsx/esm/api');
    register();
  } catch {
    process.stderr.write('proxylab: no build found. Run `npm ci && npm run build` in ' + root + '\n');
    process.exit(2);
  }
  await import(pathToFileURL(`${root}src/cli.ts`).href);
}
