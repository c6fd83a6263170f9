/**
 * The lab's shell under `make lab` / `make smoke`: the environment a real GNU make gives its
 * recipes must not reach the lab's steps (issue 16, issue 12 reason 3), and a step's stderr
 * is part of its output, where the terminal shows it (issue 16: `Found 3 pods, ...`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labShellEnv, ShellSession } from '../../src/doccheck/session.js';
import { parseLab } from '../../src/doccheck/markdown.js';
import { runLab } from '../../src/doccheck/run.js';

const hasMake = spawnSync('make', ['--version']).status === 0;

/** The environment a recipe of `make <target> MODE=nftables K8S=1.33 ARGS=--x` really gets. */
function recipeEnv(dir: string): Record<string, string> {
  writeFileSync(
    join(dir, 'Makefile'),
    'MODE ?= ipvs\nK8S ?=\nARGS ?=\nCLUSTER ?= proxylab\ndump:\n\t@env -0 > env.dump\n',
  );
  const r = spawnSync('make', ['-s', 'dump', 'MODE=nftables', 'K8S=1.33', 'ARGS=--x'], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, CLUSTER: 'from-the-outer-make' },
  });
  assert.equal(r.status, 0, String(r.stderr));
  const env: Record<string, string> = {};
  for (const kv of readFileSync(join(dir, 'env.dump'), 'utf8').split('\0')) {
    const i = kv.indexOf('=');
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  // the premise: make really hands these on (GNU make 4.3)
  assert.equal(env.MAKELEVEL, '1');
  assert.match(env.MAKEFLAGS ?? '', /MODE=nftables/);
  assert.equal(env.MODE, 'nftables');
  return env;
}

test(
  'a step `make …` in the lab shell under a real make: no "make[1]: Entering directory", no MODE/K8S/ARGS from the outer command line',
  { skip: hasMake ? false : 'GNU make is not installed' },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'proxylab-labshell-'));
    try {
      const env = { ...recipeEnv(dir), PROXYLAB_CLUSTER: 'lab1', BASH_ENV: join(dir, 'rc') };
      writeFileSync(join(dir, 'rc'), 'echo sourced-bash-env\n');
      writeFileSync(
        join(dir, 'inner.mk'),
        'MODE ?= ipvs\nshow:\n\t@echo "MODE=$(MODE) K8S=$(K8S) ARGS=$(ARGS) CLUSTER=$(CLUSTER)"\n',
      );
      const s = new ShellSession({ cwd: dir, env });
      try {
        const r = await s.run('make -f inner.mk show', { timeoutMs: 20_000 });
        assert.equal(r.exitCode, 0, r.output);
        assert.equal(r.output, 'MODE=ipvs K8S= ARGS= CLUSTER=lab1\n');
        const e = await s.run(
          "env | grep -E '^(MAKE[A-Z_]*|MFLAGS|GNUMAKEFLAGS|MODE|K8S|SCHEDULER|ARGS|BASH_ENV)=' | sort; echo end",
          { timeoutMs: 5000 },
        );
        assert.equal(e.output, 'end\n');
      } finally {
        await s.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('labShellEnv: drops make, Makefile and bash start-up variables, keeps the rest', () => {
  const out = labShellEnv({
    PATH: '/bin',
    KUBECONFIG: '/k',
    MAKEFLAGS: 'w',
    MAKELEVEL: '1',
    MFLAGS: '-w',
    MAKE_TERMOUT: '/dev/pts/1',
    MAKE_TERMERR: '/dev/pts/1',
    MODE: 'ipvs',
    K8S: '1.33',
    SCHEDULER: 'sh',
    ARGS: '--json',
    CLUSTER: 'stale',
    BASH_ENV: '/x',
    FAKE_STATE: '/s',
  });
  assert.deepEqual(out, { PATH: '/bin', KUBECONFIG: '/k', FAKE_STATE: '/s' });
  assert.equal(labShellEnv({ PROXYLAB_CLUSTER: 'c2', CLUSTER: 'x' }).CLUSTER, 'c2');
});

test('stderr is part of a step: `kubectl logs ds/… | grep` shows kubectl\'s "Found 3 pods" line first, and the doc must show it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'proxylab-labshell-'));
  try {
    // a kubectl that behaves like the real one for `logs ds/NAME`: the banner on stderr
    // (kubectl v1.35 logs.go prints it when a DaemonSet has several pods), the log on stdout
    writeFileSync(
      join(dir, 'kubectl'),
      [
        '#!/bin/sh',
        'echo "Found 3 pods, using pod/kube-proxy-7xk2p" >&2',
        'echo \'I1206 10:01:02.000001       1 server_linux.go:253] "Using ipvs Proxier"\'',
        'echo \'I1206 10:01:02.000002       1 server.go:516] "Version info" version="v1.35.0"\'',
        '',
      ].join('\n'),
    );
    chmodSync(join(dir, 'kubectl'), 0o755);
    const step = (expected: string[]) =>
      parseLab(
        [
          '# t',
          '```console proxylab',
          "$ kubectl -n kube-system logs ds/kube-proxy | grep 'Proxier'",
          ...expected,
          '```',
        ].join('\n'),
        't.md',
      );
    const opts = {
      cwd: dir,
      env: { PATH: `${dir}:${process.env.PATH ?? ''}`, HOME: process.env.HOME },
      lab: 't',
      file: 't.md',
      cluster: 'c',
      kubeconfig: 'k',
    };
    const withBanner = await runLab(
      step([
        'Found 3 pods, using pod/kube-proxy-7xk2p',
        'I1206 10:01:02.000001       1 server_linux.go:253] "Using ipvs Proxier"',
      ]),
      opts,
    );
    assert.equal(
      withBanner.steps[0]!.status,
      'passed',
      withBanner.steps[0]!.diffText ?? withBanner.steps[0]!.reason,
    );
    assert.match(withBanner.steps[0]!.actual, /^Found 3 pods, using pod\/kube-proxy-7xk2p\nI1206/);
    const without = await runLab(
      step(['I1206 10:01:02.000001       1 server_linux.go:253] "Using ipvs Proxier"']),
      opts,
    );
    assert.equal(without.steps[0]!.status, 'failed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
