#!/usr/bin/env node
// `npm run build`: the WebAssembly writers (wasm/*.ts → wasm/*.wasm, AssemblyScript) and the
// TypeScript (src → dist, tsc), the three compilers at once (each is single-threaded: on two
// cores the build takes the longest of them, ~10 s, not their sum). Exits with the first
// failure's code, after printing what each compiler said.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (name) => `${root}node_modules/.bin/${name}`;
const asc = (entry) => [
  bin('asc'),
  [`wasm/${entry}.ts`, '--outFile', `wasm/${entry}.wasm`, '-O3', '--runtime', 'stub', '--noAssert'],
];
const jobs = [asc('save'), asc('ipvs'), [bin('tsc'), ['-p', 'tsconfig.json']]];

const results = await Promise.all(
  jobs.map(
    ([cmd, args]) =>
      new Promise((resolve) => {
        const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
        let said = '';
        child.stdout.on('data', (d) => (said += d));
        child.stderr.on('data', (d) => (said += d));
        child.on('error', (e) => resolve({ code: 1, said: `${cmd}: ${e.message}\n` }));
        child.on('close', (code) => resolve({ code: code ?? 1, said }));
      }),
  ),
);
for (const r of results) if (r.said) process.stderr.write(r.said);
const failed = results.find((r) => r.code !== 0);
process.exit(failed ? failed.code : 0);
