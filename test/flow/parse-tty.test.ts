/**
 * `proxylab parse ipvsadm` with a terminal on stdin, as a user pastes into it: a tmux pane
 * is the terminal (a tmux server of its own, on its own socket, killed at the end). The
 * CLI says "paste the output, then Ctrl-D" on stderr, reads to EOF and prints the JSON; a
 * Ctrl-C while it waits exits 130.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/cli.js';
import { real } from '../helpers/fixtures.js';

const haveTmux = spawnSync('tmux', ['-V']).status === 0;

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * A tmux server of its own running `bash -c script` in one pane; the script runs the CLI in
 * the terminal's foreground process group (so it gets the terminal's Ctrl-C) and then prints
 * `EXIT=<status>`. tmux's own #{pane_dead_status} is not used: tmux 3.3a leaves it empty when
 * the pane's process read the terminal to EOF before exiting (reproduced with a bare
 * `node -e` reading stdin), which made the paste test time out. bash, unlike a plain sh, waits
 * out a Ctrl-C its child handles and goes on, so the line is printed after a 130 too.
 * Killed by `close()`.
 */
function pane(script: string) {
  const socket = `proxylab-test-${process.pid}-${Date.now()}`;
  const tmux = (...args: string[]) =>
    execFileSync('tmux', ['-L', socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  tmux(
    'start-server',
    ';',
    'set-option',
    '-g',
    'remain-on-exit',
    'on',
    ';',
    'new-session',
    '-d',
    '-x',
    '200',
    '-y',
    '50',
    'bash',
    '-c',
    `${script}; echo "EXIT=$?"`,
  );
  return {
    screen: () => tmux('capture-pane', '-p', '-J', '-S', '-200'),
    keys: (...k: string[]) => tmux('send-keys', '-t', '0', ...k),
    /** Type text as a paste would, line by line. */
    type: (text: string) => {
      for (const line of text.split('\n')) {
        if (line) tmux('send-keys', '-t', '0', '-l', line);
        tmux('send-keys', '-t', '0', 'Enter');
      }
    },
    /** The CLI's exit status once it has exited (the `EXIT=` line), else null. */
    status: (): number | null => {
      const m = /^EXIT=(\d+)$/m.exec(tmux('capture-pane', '-p', '-J', '-S', '-200'));
      return m ? Number(m[1]) : null;
    },
    close: () => spawnSync('tmux', ['-L', socket, 'kill-server']),
  };
}

async function until(what: string, ok: () => boolean, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (ok()) return;
    await sleep(100);
  }
  assert.fail(`timed out waiting for ${what}`);
}

test(
  'a terminal on stdin: the prompt on stderr, the paste read to Ctrl-D, JSON out',
  { skip: !haveTmux && 'tmux not installed' },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'proxylab-tty-'));
    const out = join(dir, 'out.json');
    const cli = `${process.execPath} ${ROOT}bin/proxylab.js`;
    const p = pane(`cd ${ROOT} && NO_COLOR=1 ${cli} parse ipvsadm > ${out}`);
    try {
      await until('the paste prompt', () => p.screen().includes('paste the output, then Ctrl-D'));
      const body = real('ipvsadm/20-hwchiu-fresh-kubeadm-ipvs.txt').body.trimEnd();
      p.type(body);
      // Ctrl-D once the last line is echoed; on a loaded machine a Ctrl-D can reach the
      // terminal before the lines typed ahead of it are read, so it is pressed again (an
      // extra EOF at the start of a line is harmless) until the CLI exits
      const last = body.split('\n').pop()!.trim();
      await until('the paste echoed', () => p.screen().includes(last));
      for (let i = 0; i < 6 && p.status() === null; i++) {
        p.keys('C-d');
        const t = Date.now();
        while (Date.now() - t < 10_000 && p.status() === null) await sleep(100);
      }
      await until('the exit', () => p.status() !== null, 10_000);
      assert.equal(p.status(), 0, `exit ${p.status()}: ${p.screen()}`);
      const j = JSON.parse(readFileSync(out, 'utf8')) as { services: { realServers: unknown[] }[] };
      assert.equal(j.services.length, 4);
      assert.equal(j.services[3]!.realServers.length, 2);
    } finally {
      p.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'Ctrl-C while waiting for the paste exits 130',
  { skip: !haveTmux && 'tmux not installed' },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'proxylab-tty-'));
    const cli = `${process.execPath} ${ROOT}bin/proxylab.js`;
    const p = pane(`cd ${ROOT} && NO_COLOR=1 ${cli} parse nft > /dev/null`);
    try {
      await until('the paste prompt', () => p.screen().includes('paste the output, then Ctrl-D'));
      p.keys('C-c');
      await until('the exit', () => p.status() !== null);
      assert.equal(p.status(), 130, `exit ${p.status()}: ${p.screen()}`);
      assert.match(p.screen(), /interrupted/);
    } finally {
      p.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
