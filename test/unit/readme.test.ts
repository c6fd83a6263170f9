/**
 * The README tells the truth about the commands and settings: every `proxylab <command>` it
 * names exists, the `./proxylab` it gives runs, every environment variable proxylab reads
 * is in its Settings table (and nothing there is made up), every make target it names exists.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accessSync, constants, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/cli.js';
import { registry } from '../../src/commands/registry.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : /\.(ts|js|mjs)$/.test(n) ? [p] : [];
  });
}

/** Environment variables the shipped code reads (src/, bin/), not the benchmarks' own. */
function envRead(): Set<string> {
  const names = new Set<string>();
  for (const f of [...sources(join(ROOT, 'src')), ...sources(join(ROOT, 'bin'))]) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/\benv\.([A-Z][A-Z0-9_]+)\b|\benv\[['"]([A-Z][A-Z0-9_]+)['"]\]/g))
      names.add(m[1] ?? m[2]!);
  }
  names.delete('PATH'); // where programs are found, not a proxylab setting
  return names;
}

function settingsSection(): string {
  const start = README.indexOf('\n## Settings');
  assert.ok(start >= 0, 'README has a Settings section');
  const end = README.indexOf('\n## ', start + 5);
  return README.slice(start, end < 0 ? undefined : end);
}

test('every environment variable proxylab reads is documented in the README, and only those', () => {
  const read = envRead();
  assert.ok(read.has('PROXYLAB_VM_ACCEL') && read.has('PROXYLAB_CLUSTER'), [...read].join(' '));
  const section = settingsSection();
  const missing = [...read].filter((v) => !section.includes(`\`${v}`));
  assert.deepEqual(missing, [], 'read by src/ or bin/ but not in README § Settings');
  const documented = [...section.matchAll(/`([A-Z][A-Z0-9_]{2,})(?:=\w+)?`/g)].map((m) => m[1]!);
  const makeVars = ['MODE', 'K8S', 'SCHEDULER', 'CLUSTER', 'ARGS'];
  const unknown = documented.filter((v) => !read.has(v) && !makeVars.includes(v) && v !== 'PATH');
  assert.deepEqual(unknown, [], 'in README § Settings but read nowhere');
});

test('every `proxylab <command>` the README names is a command, and ./proxylab is there to run', () => {
  const names = new Set(registry.map((e) => e.name));
  // commands as typed: in code spans and in the lines of code blocks
  const code = [
    ...[...README.matchAll(/^```[^\n]*\n([\s\S]*?)^```/gm)].map((m) => m[1]!),
    ...[...README.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!),
  ].join('\n');
  const used = [
    ...code.matchAll(/(?:^|\| |\$ )(?:sudo (?:env \S+ )?)?(?:\.\/)?proxylab ([a-z][a-z-]*)/gm),
  ].map((m) => m[1]!);
  assert.ok(used.length >= 5, `README names ${used.length} proxylab commands`);
  assert.deepEqual(
    [...new Set(used.filter((u) => !names.has(u)))],
    [],
    'README names commands proxylab does not have',
  );
  accessSync(join(ROOT, 'proxylab'), constants.X_OK);
  assert.match(README, /`\.\/proxylab/);
  assert.match(README, /npm link/);
});

test('every `make <target>` the README names is in the Makefile', () => {
  const makefile = readFileSync(join(ROOT, 'Makefile'), 'utf8');
  const targets = new Set([...makefile.matchAll(/^([a-z][a-z-]*):/gm)].map((m) => m[1]!));
  const used = [...README.matchAll(/`make ([a-z][a-z-]*)/g)].map((m) => m[1]!);
  assert.ok(used.length >= 10);
  assert.deepEqual([...new Set(used.filter((u) => !targets.has(u)))], []);
});
