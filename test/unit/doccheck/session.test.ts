/**
 * The lab's bash session: state carries over like a terminal, stdout and stderr together,
 * exit codes, a step that ends the shell, a step that hangs, node= through `docker exec -i`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShellSession } from '../../../src/doccheck/session.js';
import { runLab } from '../../../src/doccheck/run.js';
import { parseLab } from '../../../src/doccheck/markdown.js';

function env(extraPath?: string): Record<string, string | undefined> {
  return {
    PATH: `${extraPath ? `${extraPath}:` : ''}${process.env.PATH ?? ''}`,
    HOME: process.env.HOME,
    LANG: 'C',
  };
}

test('variables, aliases and the directory carry over; stderr is captured with stdout', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'proxylab-session-'));
  const s = new ShellSession({ cwd: dir, env: env() });
  try {
    assert.equal(
      (await s.run('X=41; alias hi="echo hello"; mkdir sub; cd sub', { timeoutMs: 5000 })).exitCode,
      0,
    );
    const r = await s.run('echo $((X+1)); hi; pwd; echo oops >&2; false', { timeoutMs: 5000 });
    assert.equal(r.output, `42\nhello\n${join(dir, 'sub')}\noops\n`);
    assert.equal(r.exitCode, 1);
    // a command reading stdin gets nothing (not the session's own input)
    const c = await s.run('cat; echo after', { timeoutMs: 5000 });
    assert.equal(c.output, 'after\n');
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a step that exits the shell: its code is reported and the next step gets a new shell', async () => {
  const s = new ShellSession({ cwd: tmpdir(), env: env() });
  try {
    const r = await s.run('echo bye; exit 3', { timeoutMs: 5000 });
    assert.equal(r.exitCode, 3);
    assert.equal(r.shellEnded, true);
    assert.equal(r.output, 'bye\n');
    const n = await s.run('echo again', { timeoutMs: 5000 });
    assert.equal(n.output, 'again\n');
    assert.equal(n.exitCode, 0);
  } finally {
    await s.close();
  }
});

test('a step that hangs is killed at its timeout, with what it printed so far', async () => {
  const s = new ShellSession({ cwd: tmpdir(), env: env() });
  try {
    const r = await s.run('echo started; sleep 30', { timeoutMs: 800 });
    assert.equal(r.timedOut, true);
    assert.equal(r.exitCode, null);
    assert.equal(r.output, 'started\n');
    assert.equal((await s.run('echo next', { timeoutMs: 5000 })).output, 'next\n');
  } finally {
    await s.close();
  }
});

test('node=NAME runs the command through `docker exec -i NAME sh` with the command on stdin', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'proxylab-session-'));
  // a docker that records its argv and runs the script it is given locally
  writeFileSync(join(dir, 'docker'), `#!/bin/sh\necho "argv: $*"\nexec sh\n`);
  chmodSync(join(dir, 'docker'), 0o755);
  try {
    const doc = parseLab(
      '# t\n\n```console proxylab node=proxylab-worker\n$ echo "in $(echo node)"; echo "$1"\nargv: exec -i proxylab-worker sh\nin node\n\n```\n',
      't.md',
    );
    const res = await runLab(doc, {
      cwd: dir,
      env: env(dir),
      lab: 't',
      file: 't.md',
      cluster: 'c',
      kubeconfig: 'k',
    });
    assert.equal(res.steps[0]!.status, 'passed', res.steps[0]!.diffText ?? res.steps[0]!.reason);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('runLab: retry until the output settles; the exit code is checked; skip is reported', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'proxylab-session-'));
  try {
    const doc = parseLab(
      [
        '# t',
        '```console proxylab retry=5',
        '$ n=$(cat n 2>/dev/null || echo 0); echo $((n+1)) > n; echo "ready: $n"',
        'ready: 3',
        '```',
        '```console proxylab',
        '$ grep -c nothing n',
        '0',
        '```',
        '```console proxylab skip="needs a real kernel"',
        '$ ipvsadm -ln',
        '```',
      ].join('\n'),
      't.md',
    );
    const res = await runLab(doc, {
      cwd: dir,
      env: env(),
      lab: 't',
      file: 't.md',
      cluster: 'c',
      kubeconfig: 'k',
      backoffMs: 10,
    });
    assert.deepEqual(
      res.steps.map((s) => [s.status, s.attempts]),
      [
        ['passed', 4],
        ['failed', 1],
        ['skipped', 0],
      ],
    );
    assert.match(res.steps[1]!.reason!, /exit code 1, the doc expects 0/);
    assert.equal(res.ok, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
