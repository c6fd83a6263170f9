/**
 * Ctrl-C in the commands that only run programs (issue 13): `web`, `node-tools`, `down`
 * and `lab`'s web step exit 130 with a sentence saying what is in place, never a raw
 * "killed by SIGINT" or "killed by abort".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { CLI, ROOT } from '../helpers/cli.js';
import { newLab } from './steps-helpers.js';
import { interruptWhen } from '../helpers/interrupt.js';

const cases: Array<{ name: string; args: string[]; delay: string; ready: RegExp }> = [
  {
    name: 'web',
    args: ['web'],
    delay: 'kubectl rollout status=5000',
    ready: /waiting ≤ \d+ s for deployment\/web/,
  },
  { name: 'node-tools', args: ['node-tools'], delay: 'docker exec=5000', ready: /STARTED/ },
  { name: 'down', args: ['down'], delay: 'kind delete=5000', ready: /Delete cluster "proxylab"/ },
];

for (const c of cases)
  test(`Ctrl-C in ${c.name}: exit 130 and a sentence, not "killed by SIGINT"`, async () => {
    const l = newLab({ env: { FAKE_DELAY: c.delay } });
    try {
      const { code, out } = await interruptWhen(
        { kubeconfig: l.fake.kubeconfig, env: l.env },
        c.args,
        (o) => c.ready.test(o),
        {
          delayMs: 300,
        },
      );
      assert.equal(code, 130, out);
      assert.doesNotMatch(out, /killed by/);
      assert.match(out, /interrupted by Ctrl-C/);
      // said once, not once per node or per retry
      assert.ok((out.match(/interrupted by Ctrl-C/g) ?? []).length <= 2, out);
    } finally {
      l.fake.cleanup();
    }
  });

test('a second Ctrl-C during a mode switch exits at once and says what is in place and where the backup is', async () => {
  const l = newLab({ env: { FAKE_DELAY: 'kubectl rollout status=5000' } });
  try {
    const child = spawn(
      process.execPath,
      [...CLI, '--kubeconfig', l.fake.kubeconfig, 'mode', 'nftables', '--keep-rules'],
      {
        cwd: ROOT,
        env: { ...l.env, NO_COLOR: '1', CI: 'true' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const tick = setInterval(() => {
        if (!/backed up the kube-proxy ConfigMap to/.test(out)) return;
        clearInterval(tick);
        setTimeout(() => child.kill('SIGINT'), 300);
        setTimeout(() => child.kill('SIGINT'), 900);
      }, 50);
      child.on('close', (c) => {
        clearInterval(tick);
        resolve(c);
      });
    });
    assert.equal(code, 130, out);
    assert.match(out, /interrupted by Ctrl-C again: stopped at once/);
    const backup = /backed up the kube-proxy ConfigMap to (\S+)/.exec(out)![1]!;
    assert.match(
      out,
      new RegExp(`iptables one is backed up in ${backup.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
    );
    assert.match(
      out,
      new RegExp(`kubectl --kubeconfig ${l.fake.kubeconfig} -n kube-system replace -f`),
    );
  } finally {
    l.fake.cleanup();
  }
});
