/**
 * Test data, all inside the repository: real outputs captured by others
 * (`test/fixtures/real-outputs/`, 2017–2023, and `test/fixtures/real-outputs-modern/`,
 * 2023–2026, each copied byte for byte with its INDEX.md) and the seed output blocks
 * (`test/fixtures/seeds/`). Every file starts with `# ` header lines naming its source, ended
 * by a `# ---` line; `loadFixture` returns the header fields and the output below them.
 * No test reads outside the repository (test/unit/fixtures-in-repo.test.ts checks that).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './cli.js';

export const FIXTURES_DIR = join(ROOT, 'test', 'fixtures');
export const REAL_OUTPUTS = join(FIXTURES_DIR, 'real-outputs');
export const MODERN_OUTPUTS = join(FIXTURES_DIR, 'real-outputs-modern');
export const SEED_FIXTURES = join(FIXTURES_DIR, 'seeds');

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

/** A real output (2017–2023), e.g. `real('ipvsadm/20-hwchiu-fresh-kubeadm-ipvs.txt')`. */
export function real(name: string): Fixture {
  return loadFixture(REAL_OUTPUTS, name);
}

/** A modern real output (2023–2026), e.g. `modern('nft/01-k3s-….txt')`. */
export function modern(name: string): Fixture {
  return loadFixture(MODERN_OUTPUTS, name);
}

/** A seed output block, e.g. `seed('001-ipvsadm-ln-kind-web.txt')`. */
export function seed(name: string): Fixture {
  return loadFixture(SEED_FIXTURES, name);
}

function txtFiles(root: string, dir: string): string[] {
  return readdirSync(join(root, dir))
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .map((f) => `${dir}/${f}`);
}

/** File names (relative) of the real outputs in one folder, sorted. */
export function realFiles(dir: string): string[] {
  return txtFiles(REAL_OUTPUTS, dir);
}

/** File names (relative) of the modern real outputs in one folder, sorted. */
export function modernFiles(dir: string): string[] {
  return txtFiles(MODERN_OUTPUTS, dir);
}

/** Seed fixture file names whose header says `kind: <kind>`. */
export function seedFiles(kind?: string): string[] {
  return readdirSync(SEED_FIXTURES)
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .filter((f) => kind === undefined || seed(f).header.kind === kind);
}
