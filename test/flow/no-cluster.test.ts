/**
 * Without a cluster, every command that works on one stops at once with one line naming
 * what was looked at (kind's cluster list, the kubeconfig) and what to do — before any
 * kubectl or docker exec, before the host's modules, and without advice for another step.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createFake, createFakeCluster, type Fake } from '../helpers/fake.js';
import { runCli } from '../helpers/cli.js';
import { fakeKernel } from './steps-helpers.js';

const COMMANDS: string[][] = [
  ['flush-nat'],
  ['flush-nat', '--dry-run'],
  ['mode', 'ipvs'],
  ['mode', 'nftables'],
  ['mode', 'iptables'],
  ['web'],
  ['traffic'],
  ['scheduler', 'sh'],
  ['node-tools'],
];

function setup(f: Fake): NodeJS.ProcessEnv {
  return {
    ...f.env,
    PROXYLAB_STATE_DIR: join(f.dir, 'proxylab-state'),
    // a host kernel without IPVS, like this machine: `mode ipvs` would otherwise stop at the
    // modules and advise `mode nftables`
    ...fakeKernel(join(f.dir, 'kernel'), { loaded: [] }),
  };
}

async function cli(f: Fake, env: NodeJS.ProcessEnv, args: string[]) {
  return runCli(['--kubeconfig', f.kubeconfig, ...args], { env, timeoutMs: 60_000 });
}

/** Every call after the cluster check: none may reach kubectl or a node. */
function afterLook(f: Fake) {
  return f.calls().filter((c) => !(c.tool === 'kind' && c.argv.join(' ') === 'get clusters'));
}

test('no cluster at all: each command says so, exit 1, and calls nothing but `kind get clusters`', async () => {
  const f = createFake();
  try {
    const env = setup(f);
    for (const args of COMMANDS) {
      const r = await cli(f, env, args);
      const what = `proxylab ${args.join(' ')}`;
      assert.equal(r.code, 1, `${what}: ${r.stderr}`);
      const first = r.stderr.split('\n').find((l) => l.trim()) ?? '';
      assert.match(
        first,
        /^✘ no cluster "proxylab" \(kind get clusters: none; no kubeconfig at \S+kubeconfig\): run make up$/,
        what,
      );
      assert.doesNotMatch(r.stderr, /nftables|kubectl|stat |no such file/i, what);
      assert.equal(r.stdout, '', what);
      assert.deepEqual(afterLook(f), [], `${what} called more than kind get clusters`);
    }
    assert.equal(f.callsMatching('kind', 'get', 'clusters').length, COMMANDS.length);
    assert.equal(f.callsMatching('kubectl').length, 0);
  } finally {
    f.cleanup();
  }
});

test('another cluster exists: names it and how to pick it', async () => {
  const f = createFake();
  try {
    const env = setup(f);
    assert.equal(createFakeCluster(f, { name: 'other' }).code, 0);
    const r = await cli(f, env, ['web']);
    assert.equal(r.code, 1, r.stderr);
    // the kubeconfig is there (kind wrote other's), the cluster asked for is not
    assert.match(
      r.stderr,
      /✘ no cluster "proxylab" \(kind get clusters: other; kubeconfig \S+ is there\): run make up\n {2}→ or pick one of those with --cluster NAME/,
    );
    assert.equal(f.callsMatching('kubectl').length, 0);
  } finally {
    f.cleanup();
  }
});

test('the cluster exists but its kubeconfig was removed: says `make up` writes it again', async () => {
  const f = createFake();
  try {
    const env = setup(f);
    assert.equal(createFakeCluster(f).code, 0);
    const r = await runCli(['--kubeconfig', join(f.dir, 'gone.yaml'), 'traffic'], { env });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /✘ cluster "proxylab" exists but has no kubeconfig at \S+gone\.yaml: run make up\n {2}→ `make up` reuses the cluster and writes its kubeconfig again/,
    );
    assert.equal(f.callsMatching('kubectl').length, 0);
  } finally {
    f.cleanup();
  }
});

test('the Docker engine is down: says kind could not list clusters and why', async () => {
  const f = createFake({ env: { FAKE_DOCKER_DOWN: '1' } });
  try {
    const env = setup(f);
    const r = await cli(f, env, ['flush-nat']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /✘ no cluster "proxylab" found \(the Docker engine is not running \(the docker client cannot reach it\); no kubeconfig at \S+\): run make up/,
    );
    assert.equal(f.callsMatching('kubectl').length, 0);
  } finally {
    f.cleanup();
  }
});

test('with the cluster there, the check lets the command run (web deploys)', async () => {
  const f = createFake();
  try {
    const env = setup(f);
    assert.equal(createFakeCluster(f, { mode: 'iptables', image: 'v1.35.0' }).code, 0);
    const r = await cli(f, env, ['web']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /deployment\.apps\/web created/);
  } finally {
    f.cleanup();
  }
});
