/**
 * Test data: the shared real outputs (`../shared/fixtures/real-outputs/` beside the repo,
 * as CI checks it out; PROXYLAB_SHARED overrides) and the seed output blocks copied into
 * `test/fixtures/seeds/`. Every file starts with `# ` header lines naming its source, ended
 * by a `# ---` line; `loadFixture` returns the header fields and the output below them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ROOT } from './cli.js';

export const SHARED_DIR = resolve(process.env.PROXYLAB_SHARED ?? join(ROOT, '..', 'shared'));
export const REAL_OUTPUTS = join(SHARED_DIR, 'fixtures', 'real-outputs');
export const SEED_FIXTURES = join(ROOT, 'test', 'fixtures', 'seeds');

export interface Fixture {
  /** Path relative to its fixture root, e.g. `ipvsadm/01-....txt`. */
  name: string;
  header: Record<string, string>;
  /** The output exactly as recorded, header removed. */
  body: string;
}

/** Split a fixture file into its `# key: value` header and the body after `# ---`. */
export function splitFixture(text: string, name = '(text)'): Fixture {
  const lines = text.split('\n');
  const end = lines.findIndex((l) => l === '# ---');
  if (end < 0) throw new Error(`${name}: no "# ---" line ending the header`);
  const header: Record<string, string> = {};
  for (const l of lines.slice(0, end)) {
    const m = /^# ([\w-]+): ?(.*)$/.exec(l);
    if (m) header[m[1]!] = m[2]!;
  }
  return { name, header, body: lines.slice(end + 1).join('\n') };
}

export function loadFixture(root: string, name: string): Fixture {
  return splitFixture(readFileSync(join(root, name), 'utf8'), name);
}

/** A shared real output, e.g. `real('ipvsadm/20-hwchiu-fresh-kubeadm-ipvs.txt')`. */
export function real(name: string): Fixture {
  return loadFixture(REAL_OUTPUTS, name);
}

/** A seed output block, e.g. `seed('001-ipvsadm-ln-kind-web.txt')`. */
export function seed(name: string): Fixture {
  return loadFixture(SEED_FIXTURES, name);
}

/** File names (relative) of the shared real outputs in one folder, sorted. */
export function realFiles(dir: string): string[] {
  const d = join(REAL_OUTPUTS, dir);
  return existsSync(d)
    ? readdirSync(d)
        .filter((f) => f.endsWith('.txt'))
        .sort()
        .map((f) => `${dir}/${f}`)
    : [];
}

/** Seed fixture file names whose header says `kind: <kind>`. */
export function seedFiles(kind?: string): string[] {
  return readdirSync(SEED_FIXTURES)
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .filter((f) => kind === undefined || seed(f).header.kind === kind);
}

export const sharedAvailable = existsSync(REAL_OUTPUTS);
