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
 * A tmux server of its own running `sh -c script` in one pane (the script `exec`s the CLI,
 * so the CLI is the pane's process and gets the terminal's Ctrl-C); the pane stays after
 * it exits so its exit status can be read. Killed by `close()`.
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
    'sh',
    '-c',
    script,
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
    /** The CLI's exit status once it has exited, else null. */
    status: (): number | null => {
      const [dead, code] = tmux(
        'display-message',
        '-p',
        '-t',
        '0',
        '#{pane_dead} #{pane_dead_status}',
      )
        .trim()
        .split(' ');
      // tmux can flag the pane dead a moment before it has the status: wait for both
      return dead === '1' && code !== undefined && /^\d+$/.test(code) ? Number(code) : null;
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
    const p = pane(`cd ${ROOT} && NO_COLOR=1 exec ${cli} parse ipvsadm > ${out}`);
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
    const p = pane(`cd ${ROOT} && NO_COLOR=1 exec ${cli} parse nft > /dev/null`);
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
