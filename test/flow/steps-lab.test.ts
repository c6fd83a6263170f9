/**
 * Issue 16 §3: `proxylab lab --mode M` (what `make lab MODE=M` runs) ends in M. The lab docs
 * visit other modes (labs/ipvs and labs/nftables end with `make iptables`); the lab puts
 * kube-proxy back, so `proxylab status` afterwards shows M on every node.
 *
 * `check labs/M` reads labs/M/README.md from the working directory first, so the lab runs
 * here from a directory holding a short stand-in doc that, like the real ones, ends with
 * `make iptables` (the real docs take minutes on the fake; check-*.test.ts run them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labRun } from './check-helpers.js';
import { spawn } from 'node:child_process';
import { ROOT, type CliResult } from '../helpers/cli.js';

/** The CLI as runCli runs it, from another working directory (tsx found by its own URL). */
function cliIn(cwd: string, args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), join(ROOT, 'src', 'cli.ts'), ...args],
      {
        cwd,
        env: { ...process.env, NO_COLOR: '1', CI: 'true', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}
import type { CheckResult } from '../../src/doccheck/result.js';

const NODES = ['proxylab-control-plane', 'proxylab-worker', 'proxylab-worker2'];

for (const mode of ['ipvs', 'nftables'] as const) {
  test(`lab --mode ${mode}: the lab doc ends with \`make iptables\`, the lab still ends in ${mode}; status says ${mode} on every node`, async () => {
    const r = labRun();
    const cwd = mkdtempSync(join(tmpdir(), 'proxylab-labdoc-'));
    try {
      mkdirSync(join(cwd, 'labs', mode), { recursive: true });
      writeFileSync(
        join(cwd, 'labs', mode, 'README.md'),
        [
          '# stand-in',
          '',
          '```console proxylab',
          '$ make iptables >/dev/null 2>&1; echo $?',
          '0',
          '```',
          '',
        ].join('\n'),
      );
      const lab = await cliIn(
        cwd,
        ['--kubeconfig', r.lab.fake.kubeconfig, 'lab', '--mode', mode],
        r.env,
      );
      // the premise: the doc's own `make iptables` step ran and switched the cluster away
      const last = JSON.parse(
        readFileSync(join(r.env.PROXYLAB_STATE_DIR!, 'last-check.json'), 'utf8'),
      ) as CheckResult;
      const away = last.steps.filter((s) => s.command.startsWith('make iptables'));
      assert.ok(away.length >= 1, `labs/${mode} has a \`make iptables\` step`);
      assert.equal(away.at(-1)!.exitCode, 0, away.at(-1)!.actual);
      assert.match(
        lab.stdout + lab.stderr,
        new RegExp(`left kube-proxy in iptables mode: back to ${mode}, the mode asked for`),
      );
      const st = await r.cli(['status', '--json']);
      assert.equal(st.code, 0, st.stderr);
      const s = JSON.parse(st.stdout) as {
        configuredMode: string;
        nodes: { name: string; proxyMode: string }[];
      };
      assert.deepEqual(
        s.nodes.map((n) => [n.name, n.proxyMode]),
        NODES.map((n) => [n, mode]),
      );
      assert.equal(s.configuredMode, mode);
      // the lab's own result is what the check said: the return to the mode does not hide it
      assert.equal(lab.code, last.ok ? 0 : 1, lab.stderr.slice(-3000));
    } finally {
      r.lab.fake.cleanup();
      rmSync(cwd, { recursive: true, force: true });
    }
  });
}
