/**
 * `proxylab` from a clone, the three ways the README gives: `./proxylab` in the checkout,
 * that file linked into a folder on PATH, and `npm link` (a global bin link to
 * bin/proxylab.js through lib/node_modules/proxylab → the checkout). Each must find its
 * checkout from anywhere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT } from '../helpers/cli.js';

const VERSION = (
  JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
).version;
const NODE_DIR = dirname(process.execPath);

function run(cmd: string, args: string[], o: { cwd: string; path: string }) {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: o.path };
  delete env.PROXYLAB_ROOT; // the launcher must find the checkout by itself
  return spawnSync(cmd, args, { cwd: o.cwd, env, encoding: 'utf8' });
}

test('./proxylab in the checkout runs the CLI', () => {
  const r = run('./proxylab', ['--version'], { cwd: ROOT, path: `${NODE_DIR}:/usr/bin:/bin` });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), VERSION);
  const h = run('./proxylab', ['--help'], { cwd: ROOT, path: `${NODE_DIR}:/usr/bin:/bin` });
  assert.equal(h.status, 0, h.stderr);
  assert.match(h.stdout, /check/);
});

test('linked into a folder on PATH, or installed by npm link: `proxylab` works from any folder', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'proxylab-launch-'));
  try {
    const own = join(tmp, 'own-bin');
    mkdirSync(own);
    symlinkSync(join(ROOT, 'proxylab'), join(own, 'proxylab'));
    let r = run('proxylab', ['--version'], { cwd: tmp, path: `${own}:${NODE_DIR}:/usr/bin:/bin` });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), VERSION);

    // what `npm link` makes: <prefix>/lib/node_modules/proxylab → checkout,
    // <prefix>/bin/proxylab → ../lib/node_modules/proxylab/bin/proxylab.js (package.json "bin")
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    assert.equal(pkg.bin.proxylab, 'bin/proxylab.js');
    mkdirSync(join(tmp, 'prefix', 'lib', 'node_modules'), { recursive: true });
    mkdirSync(join(tmp, 'prefix', 'bin'));
    symlinkSync(ROOT, join(tmp, 'prefix', 'lib', 'node_modules', 'proxylab'));
    symlinkSync(
      '../lib/node_modules/proxylab/bin/proxylab.js',
      join(tmp, 'prefix', 'bin', 'proxylab'),
    );
    r = run('proxylab', ['--version'], {
      cwd: tmp,
      path: `${join(tmp, 'prefix', 'bin')}:${NODE_DIR}:/usr/bin:/bin`,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), VERSION);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('without node on PATH: says so (and how under sudo) instead of a shell error', () => {
  const r = run(join(ROOT, 'proxylab'), ['--version'], { cwd: tmpdir(), path: '/nonexistent' });
  assert.equal(r.status, 127);
  assert.match(r.stderr, /^proxylab: node \(version 20 or later\) is not on PATH/);
  const s = spawnSync(join(ROOT, 'proxylab'), ['scale', '--bare'], {
    env: { PATH: '/nonexistent', SUDO_USER: 'me' },
    encoding: 'utf8',
  });
  assert.equal(s.status, 127);
  assert.match(
    s.stderr,
    /not on root's PATH under sudo; run: sudo env "PATH=\$PATH" \S+proxylab scale --bare/,
  );
});
