/**
 * `proxylab match EXPECTED ACTUAL [--as KIND]`: the contract other checks rely on.
 * Exit 0 when it matches, 1 with the diff when not, 2 for unreadable input or a bad kind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../helpers/cli.js';
import { REAL_OUTPUTS, real } from '../../helpers/fixtures.js';

function files(): { dir: string; put(name: string, text: string): string; done(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'proxylab-match-'));
  return {
    dir,
    put: (name, text) => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    },
    done: () => rmSync(dir, { recursive: true, force: true }),
  };
}

test('a recorded fixture (with its "# ---" header) matches a renamed, reordered copy: exit 0', async () => {
  const f = files();
  try {
    const fixture = join(REAL_OUTPUTS, 'ipvsadm/20-hwchiu-fresh-kubeadm-ipvs.txt');
    const body = real('ipvsadm/20-hwchiu-fresh-kubeadm-ipvs.txt').body.trimEnd();
    const lines = body
      .replace(/10\.244\.0\.2/g, '10.244.7.9')
      .replace(/10\.96\.0\.10/g, '10.96.0.53')
      .split('\n');
    // move the UDP service (3 lines) first
    const actual = f.put(
      'actual.txt',
      [...lines.slice(0, 3), ...lines.slice(11), ...lines.slice(3, 11)].join('\n'),
    );
    const r = await runCli(['match', fixture, actual]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /✔ matches \(ipvsadm, compared as a set\); renamed: /);
    assert.match(r.stdout, /10\.96\.0\.10 → 10\.96\.0\.53/);
  } finally {
    f.done();
  }
});

test('a changed scheduler: exit 1 and a diff naming the line and the reason', async () => {
  const f = files();
  try {
    const body = real('ipvsadm/20-hwchiu-fresh-kubeadm-ipvs.txt').body;
    const exp = f.put('expected.txt', body);
    const act = f.put(
      'actual.txt',
      body.replace('TCP  10.96.0.10:9153 rr', 'TCP  10.96.0.10:9153 lc'),
    );
    const r = await runCli(['match', exp, act]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /✘ does not match \(ipvsadm\)/);
    assert.match(
      r.stdout,
      /- TCP {2}10\.96\.0\.10:9153 rr\n\+ TCP {2}10\.96\.0\.10:9153 lc\n {4}↑ expected line 9: scheduler rr ≠ lc/,
    );
    const j = await runCli(['match', exp, act, '--json']);
    assert.equal(j.code, 1);
    const out = JSON.parse(j.stdout) as {
      ok: boolean;
      kind: string;
      diff: Array<{ op: string; expected?: { line: number }; why?: string[] }>;
    };
    assert.equal(out.ok, false);
    assert.equal(out.kind, 'ipvsadm');
    const changed = out.diff.find((d) => d.op === 'changed')!;
    assert.equal(changed.expected!.line, 9);
    assert.deepEqual(changed.why, ['scheduler rr ≠ lc']);
  } finally {
    f.done();
  }
});

test('reads ACTUAL from stdin with -', async () => {
  const f = files();
  try {
    const exp = f.put(
      'expected.txt',
      'NAME   TYPE        CLUSTER-IP      EXTERNAL-IP   PORT(S)   AGE\nweb    ClusterIP   10.96.119.228   <none>        80/TCP    92s\n',
    );
    const r = await runCli(['match', exp, '-'], {
      input:
        'NAME   TYPE        CLUSTER-IP     EXTERNAL-IP   PORT(S)   AGE\nweb    ClusterIP   10.96.45.3     <none>        80/TCP    3d9h\n',
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /10\.96\.119\.228 → 10\.96\.45\.3/);
  } finally {
    f.done();
  }
});

test('--as names the kind; an actual output of another kind does not match', async () => {
  const f = files();
  try {
    const exp = f.put('expected.txt', real('ipvsadm/20-hwchiu-fresh-kubeadm-ipvs.txt').body);
    const act = f.put('actual.txt', real('ipset/03-hwchiu-KUBE-CLUSTER-IP.txt').body);
    const r = await runCli(['match', exp, act, '--as', 'ipvsadm']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /note: the output is not ipvsadm output/);
  } finally {
    f.done();
  }
});

test('unreadable input or an unknown kind: exit 2 with a hint, no stack trace', async () => {
  const f = files();
  try {
    const exp = f.put('expected.txt', 'x\n');
    for (const [args, re] of [
      [
        ['match', join(f.dir, 'missing.txt'), exp],
        /cannot read EXPECTED .*missing\.txt: no such file/,
      ],
      [['match', exp, f.dir], /cannot read ACTUAL .*: it is a folder/],
      [['match', exp, exp, '--as', 'ipvs'], /--as ipvs: unknown output kind/],
      [['match', exp], /missing argument/],
      [['match', '-', '-'], /only one of the two inputs can be stdin/],
    ] as Array<[string[], RegExp]>) {
      const r = await runCli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.match(r.stderr, /→ /);
      assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
    }
  } finally {
    f.done();
  }
});
