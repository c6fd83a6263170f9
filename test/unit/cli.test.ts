import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.js';
import { registry } from '../../src/commands/registry.js';

test('proxylab --help lists every command, grouped', async () => {
  const r = await runCli(['--help']);
  assert.equal(r.code, 0);
  for (const e of registry) assert.match(r.stdout, new RegExp(`^  ${e.name} `, 'm'), e.name);
  assert.match(r.stdout, /^Setup:/m);
  assert.match(r.stdout, /^Cleanup:/m);
});

test('proxylab --version prints the package version', async () => {
  const r = await runCli(['--version']);
  assert.equal(r.code, 0);
  assert.match(r.stdout.trim(), /^\d+\.\d+\.\d+$/);
});

test('an unknown command exits 2 with a hint, no stack trace', async () => {
  const r = await runCli(['dcotor']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown command "dcotor"/);
  assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
});

test('every registered command loads and has help', async () => {
  for (const e of registry) {
    const mod = await e.load();
    assert.equal(mod.default.name, e.name, `${e.name}: module name`);
    assert.ok(mod.default.usage.startsWith(`proxylab ${e.name}`), `${e.name}: usage`);
  }
});

test('a tool that is not installed is named with how to get it, not a stack trace', async () => {
  const { mkdtempSync, symlinkSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const bin = mkdtempSync(join(tmpdir(), 'proxylab-nokind-'));
  try {
    symlinkSync(process.execPath, join(bin, 'node'));
    const r = await runCli(['inspect'], {
      env: { PATH: bin, PROXYLAB_TOOLS: 'path', PROXYLAB_BIN_DIR: join(bin, 'none') },
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /kind: command not found/);
    assert.match(
      r.stderr,
      /→ run `make tools` \(or `proxylab tools`\) to put the pinned kind in \.\/\.bin/,
    );
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
});
