/**
 * The fake toolchain's server (test/fake/server.mjs) answers exactly what a fake tool in a
 * process of its own answers: the same stdout, stderr and exit code for the same calls on the
 * same state, stdin included, faults included; calls that sleep are handed back and still
 * hang as before; with the server gone, the tools still answer (in processes of their own).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createFake, kindConfig, type Fake, type FakeTool } from '../helpers/fake.js';

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

async function listening(f: Fake) {
  for (let i = 0; i < 300 && !existsSync(join(f.dir, 'fake.sock')); i++) await sleep(50);
  assert.ok(existsSync(join(f.dir, 'fake.sock')), 'the server listens on $FAKE_STATE/fake.sock');
}

/** The same scene on a fake with and without its server: every answer must be equal. */
const SCENE: Array<[FakeTool, string[], string?]> = [
  ['kind', ['get', 'clusters']],
  [
    'kind',
    [
      'create',
      'cluster',
      '--name',
      'proxylab',
      '--config',
      '-',
      '--image',
      'kindest/node:v1.35.0@sha256:0000',
      '--kubeconfig',
      'KC',
    ],
    kindConfig(),
  ],
  ['kubectl', ['--kubeconfig', 'KC', 'get', 'nodes', '-o', 'wide']],
  [
    'kubectl',
    ['--kubeconfig', 'KC', 'apply', '-f', '-'],
    'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: lab\n',
  ],
  ['kubectl', ['--kubeconfig', 'KC', 'get', 'ns', 'lab', '-o', 'name']],
  ['kubectl', ['--kubeconfig', 'KC', 'get', 'pods', '-n', 'nowhere', 'nosuchpod']],
  ['docker', ['exec', 'proxylab-worker', 'iptables-save', '-t', 'nat']],
  ['docker', ['exec', 'proxylab-worker', 'no-such-command']],
  ['docker', ['ps', '--format', '{{.Names}}']],
];

function play(f: Fake) {
  return SCENE.map(([tool, args, input]) => {
    const r = f.tool(
      tool,
      args.map((a) => (a === 'KC' ? f.kubeconfig : a)),
      input,
    );
    // the kubeconfig path is the only thing that differs between the two fakes
    const clean = (s: string) => s.split(f.dir).join('$FAKE_STATE');
    return {
      call: `${tool} ${args.join(' ')}`,
      code: r.code,
      stdout: clean(r.stdout),
      stderr: clean(r.stderr),
    };
  });
}

test('the server answers what a process of its own answers (stdin, errors, state)', async () => {
  const alone = createFake({ server: false, env: { FAKE_NOW: '2026-12-06T10:00:00Z' } });
  const served = createFake({ env: { FAKE_NOW: '2026-12-06T10:00:00Z' } });
  try {
    await listening(served);
    const a = play(alone);
    const b = play(served);
    assert.deepEqual(b, a);
    // not vacuous: the scene made a cluster, read stdin and failed where it should
    assert.equal(a[1]!.code, 0, a[1]!.stderr);
    assert.match(a[4]!.stdout, /namespace\/lab/);
    assert.notEqual(a[5]!.code, 0);
    assert.equal(a[7]!.code, 127);
    // both logged every call; the server answered every one of its fake's, none of the other's
    assert.deepEqual(
      served.calls().map((c) => c.via),
      SCENE.map(() => 'server'),
    );
    assert.deepEqual(
      alone.calls().map((c) => c.via),
      SCENE.map(() => undefined),
    );
    assert.ok(!existsSync(join(alone.dir, 'fake.sock')));
  } finally {
    alone.cleanup();
    served.cleanup();
  }
});

test('faults through the server: FAKE_FAIL counts its uses, FAKE_HANG still hangs (handed back)', async () => {
  const f = createFake({
    env: {
      FAKE_FAIL: 'kind get clusters=3@1:boom',
      FAKE_HANG: 'kubectl version',
      FAKE_HANG_MAX_MS: '1500',
    },
  });
  try {
    await listening(f);
    const first = f.tool('kind', ['get', 'clusters']);
    assert.deepEqual([first.code, first.stderr], [3, 'boom\n']);
    const second = f.tool('kind', ['get', 'clusters']);
    assert.equal(second.code, 0, 'the fault was used up');
    assert.deepEqual(
      f.calls().map((c) => c.via),
      ['server', 'server'],
      'the server answered, fault and all',
    );
    const t = Date.now();
    const hung = f.tool('kubectl', ['version']);
    assert.equal(hung.code, 124);
    assert.match(hung.stderr, /hung \(FAKE_HANG\)/);
    assert.ok(Date.now() - t >= 1400, 'the hang lasted its FAKE_HANG_MAX_MS');
    assert.equal(
      f.calls().at(-1)!.via,
      undefined,
      'the hang was handed back to a process of its own',
    );
  } finally {
    f.cleanup();
  }
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('with the server killed the tools still answer (alone); a server leaves with its dir', async () => {
  const f = createFake();
  try {
    await listening(f);
    assert.ok(f.serverPid && alive(f.serverPid));
    process.kill(f.serverPid, 'SIGKILL');
    await sleep(200);
    // the socket file is left behind, nobody listens on it: the client runs the call alone
    assert.ok(existsSync(join(f.dir, 'fake.sock')));
    const r = f.tool('kind', ['get', 'clusters']);
    assert.deepEqual([r.code, r.stderr], [0, 'No kind clusters found.\n']);
    assert.deepEqual(
      f.calls().map((c) => c.via),
      [undefined],
      'answered by a process of its own',
    );
  } finally {
    f.cleanup();
  }
  const g = createFake();
  await listening(g);
  const pid = g.serverPid!;
  assert.ok(alive(pid));
  rmSync(g.dir, { recursive: true, force: true }); // not cleanup(): the server must see it alone
  for (let i = 0; i < 40 && alive(pid); i++) await sleep(100);
  assert.ok(!alive(pid), 'the server exited once its dir was removed');
});
