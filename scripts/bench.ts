/**
 * `npm run bench`: runs every benchmark module in scripts/bench/ and prints its figures.
 * Each module exports `bench(log)` (or a default function) and reports ratios against a
 * baseline measured in the same run — never absolute timings asserted in tests.
 *   npm run bench            all modules
 *   npm run bench -- parse   only scripts/bench/parse.ts
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cpus, totalmem, release } from 'node:os';

type BenchFn = (log: (line: string) => void) => Promise<unknown> | unknown;

const dir = fileURLToPath(new URL('./bench/', import.meta.url));
const only = process.argv.slice(2);
const names = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && !f.startsWith('_'))
  .map((f) => f.replace(/\.ts$/, ''))
  .filter((n) => only.length === 0 || only.includes(n))
  .sort();

const log = (line: string) => process.stdout.write(`${line}\n`);
log(
  `proxylab bench — node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, kernel ${release()}`,
);
if (!names.length) {
  log(
    only.length
      ? `no benchmark named ${only.join(', ')} in scripts/bench/`
      : 'no benchmarks found in scripts/bench/',
  );
  process.exit(only.length ? 2 : 0);
}
let failed = 0;
for (const name of names) {
  log(`\n== ${name} ==`);
  try {
    const mod = (await import(pathToFileURL(`${dir}${name}.ts`).href)) as Record<string, unknown>;
    const fn = (mod.bench ?? mod.default ?? mod.run) as BenchFn | undefined;
    if (typeof fn !== 'function') {
      log(`(scripts/bench/${name}.ts exports no bench function)`);
      failed++;
      continue;
    }
    const result = await fn(log);
    if (result && typeof result === 'object') log(JSON.stringify(result, null, 2));
  } catch (e) {
    failed++;
    log(`✘ ${name}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
process.exit(failed ? 1 : 0);
