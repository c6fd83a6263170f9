/**
 * `proxylab check` reads what a lab says it needs (src/doccheck/requires.ts) and stops at
 * once, before any step, when this machine does not have it: no cluster for labs/ipvs, no
 * way to run labs/ipvs-by-hand; and it says nothing about what a lab does not use.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { createFake } from '../helpers/fake.js';

test('check labs/ipvs without a cluster: one line, exit 1, no step run and no tool called', async () => {
  const f = createFake();
  try {
    const r = await runCli(['--kubeconfig', f.kubeconfig, 'check', 'labs/ipvs'], {
      env: { ...f.env, PROXYLAB_STATE_DIR: join(f.dir, 'state') },
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr.split('\n')[0] ?? '',
      /^✘ no cluster "proxylab" \(no kubeconfig at \S+kubeconfig\): run make up$/,
    );
    assert.doesNotMatch(r.stdout + r.stderr, /step 1|passed|failed/);
    assert.deepEqual(f.calls(), [], 'no docker, kind or kubectl call');
  } finally {
    f.cleanup();
  }
});

test(
  'check labs/ipvs-by-hand where it cannot run: says what it needs and what is missing, not a word about a kubeconfig',
  { skip: existsSync('/proc/net/ip_vs') ? 'this kernel has IPVS: the lab would run' : false },
  async () => {
    const f = createFake(); // PATH: the fake tools and node only (no QEMU, no modprobe)
    try {
      const r = await runCli(['check', 'labs/ipvs-by-hand'], {
        env: { ...f.env, PROXYLAB_STATE_DIR: join(f.dir, 'state') },
      });
      assert.equal(r.code, 1, r.stderr);
      const want =
        process.getuid?.() === 0
          ? /^✘ labs\/ipvs-by-hand needs root \+ IPVS in this kernel, or the bare lab's micro-VM: this kernel has no IPVS \(no \/proc\/net\/ip_vs, and `modprobe ip_vs` did not load it\); qemu-system-x86_64 is not installed$/
          : /^✘ labs\/ipvs-by-hand needs root \+ IPVS in this kernel, or the bare lab's micro-VM: not root; .*qemu-system-x86_64 is not installed$/;
      assert.match(r.stderr.split('\n')[0] ?? '', want);
      assert.doesNotMatch(r.stdout + r.stderr, /kubeconfig/i);
      assert.deepEqual(f.calls(), []);
    } finally {
      f.cleanup();
    }
  },
);

test('a lab whose needs line names an unknown need: exit 2 with the doc line', async () => {
  const f = createFake();
  try {
    const dir = join(f.dir, 'lab');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'README.md'),
      '# lab\n\n<!-- proxylab needs: cluster + kvm -->\n\n```console proxylab\n$ true\n```\n',
    );
    const r = await runCli(['check', dir], { env: f.env });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /README\.md:3: unknown need "kvm" \(known: cluster, root, /);
  } finally {
    f.cleanup();
  }
});
