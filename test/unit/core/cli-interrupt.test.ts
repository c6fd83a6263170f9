/**
 * Ctrl-C always exits 130 (issue 13), also when it lands while a command is finishing its
 * work — between two programs it runs, or after the last — so nothing fails and the command
 * returns normally. Found by the flow test "Ctrl-C in down" on a loaded machine: `down` got
 * the signal before it started `kind delete`, finished cleanly and exited 0.
 * Made deterministic here: the terminal's SIGINT is delivered (process.emit, which runs
 * proxylab's handler as the real signal does) when the command prints its first line (a
 * warning on stderr, while it runs).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../../src/cli.js';

async function runWithCtrlCAtOutput(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const o = process.stdout.write.bind(process.stdout);
  const e = process.stderr.write.bind(process.stderr);
  let sent = false;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    err.push(String(chunk));
    if (!sent) {
      sent = true;
      process.emit('SIGINT', 'SIGINT');
    }
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await main(argv, { ...process.env, NO_COLOR: '1', CI: 'true' });
    return { code, out: out.join(''), err: err.join(''), sent };
  } finally {
    process.stdout.write = o;
    process.stderr.write = e;
  }
}

test('a Ctrl-C while the command runs, which it finishes anyway: exit 130, and it says its work is in place', async () => {
  const r = await runWithCtrlCAtOutput(['config', 'kubeadm', '--k8s', '1.35', '--mode', 'ipvs']);
  assert.ok(r.sent, 'the command printed a line while it ran');
  assert.match(r.out, /mode: ipvs/, 'the command did its work');
  assert.equal(r.code, 130, r.err);
  assert.match(r.err, /interrupted by Ctrl-C during `proxylab config`, after it had done its work/);
});

test('no Ctrl-C: the same command exits 0', async () => {
  const code = await main(['config', 'kubeadm', '--k8s', '1.35', '--mode', 'ipvs', '--quiet'], {
    ...process.env,
    NO_COLOR: '1',
    CI: 'true',
  });
  assert.equal(code, 0);
});
