/**
 * `proxylab parse` reading and writing the ways a shell connects it: a file named, a file on
 * stdin (`< save.txt`, read where the parser asks), a pipe on stdin; stdout a file or a
 * pipe; and a reader that leaves early (`| head`), which ends the parse quietly with exit 0,
 * as `grep … | head` does. The JSON is the same text every way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateIptablesSave } from '../../scripts/bench/parse.js';
import { parseView } from '../../src/inspect/views.js';

const BIN = fileURLToPath(new URL('../../bin/proxylab.js', import.meta.url));

/** `sh -c script` with the CLI as "$P" and the save as "$F": its stdout, stderr and exit. */
function sh(script: string, file: string, dir: string) {
  const r = spawnSync('sh', ['-c', script], {
    cwd: dir,
    env: { ...process.env, P: `${process.execPath} ${BIN}`, F: file, NO_COLOR: '1', CI: 'true' },
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    timeout: 120_000,
  });
  return { stdout: r.stdout, stderr: r.stderr, code: r.status };
}

test('a file named, a file on stdin, a pipe on stdin; stdout a file or a pipe: the same JSON', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'proxylab-parse-io-'));
  try {
    // (enough Services that the kube-proxy view is many pieces written in one burst)
    const save = generateIptablesSave(1_500);
    const file = join(dir, 'save.txt');
    writeFileSync(file, save);
    const want = `${JSON.stringify(await parseView('iptables', save, 'full'))}\n`;
    const ways = {
      'file named, stdout a pipe': '$P parse iptables "$F" | cat',
      'file on stdin, stdout a file': '$P parse iptables < "$F" > out.json; cat out.json',
      'pipe on stdin, stdout a pipe': 'cat "$F" | $P parse iptables | cat',
      'file named, stdout a file': '$P parse iptables "$F" > out.json && cat out.json',
    };
    for (const [what, script] of Object.entries(ways)) {
      const r = sh(`set -e; ${script}`, file, dir);
      assert.equal(r.code, 0, `${what}: ${r.stderr}`);
      assert.equal(r.stderr, '', what);
      assert.ok(r.stdout === want, `${what}: ${r.stdout.length} bytes, want ${want.length}`);
    }
    // stdout a device that is not a terminal: written at once, nothing on stderr
    const dev = sh('$P parse iptables "$F" > /dev/null', file, dir);
    assert.equal(dev.code, 0);
    assert.equal(dev.stderr, '');
    // the kube-proxy view, from a file on stdin
    const kp = sh('$P parse iptables --view kube-proxy < "$F"', file, dir);
    assert.equal(kp.stdout, `${JSON.stringify(await parseView('iptables', save, 'kube-proxy'))}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('| head: the reader leaves early, the parse stops quietly with exit 0', () => {
  const dir = mkdtempSync(join(tmpdir(), 'proxylab-parse-io-'));
  try {
    const file = join(dir, 'save.txt');
    writeFileSync(file, generateIptablesSave(2_000));
    for (const kind of ['iptables', 'ipvsadm']) {
      // (an ipvsadm listing of the same size: the other streaming writer)
      const input = kind === 'iptables' ? file : join(dir, 'ipvs.txt');
      if (kind === 'ipvsadm')
        writeFileSync(
          input,
          `IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n${Array.from({ length: 20_000 }, (_, i) => `TCP  10.96.${i >> 8}.${i & 255}:80 rr\n  -> 10.244.0.2:80                Masq    1      0          0`).join('\n')}\n`,
        );
      // sh has no pipefail: the CLI's own status is printed beside it, on stderr
      const s = sh(
        `{ $P parse ${kind} "$F"; echo "cli=$?" >&2; } | head -c 100 > /dev/null`,
        input,
        dir,
      );
      assert.match(s.stderr, /cli=0\s*$/, `${kind}: ${s.stderr}`);
      assert.doesNotMatch(s.stderr, /internal error|EPIPE/, kind);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file that does not read the same in the second pass: a clear error, exit 2', async () => {
  const { writePlainSave } = await import('../../src/inspect/iptables-json.js');
  const { writeSaveCompiled } = await import('../../src/inspect/save/compiled.js');
  const first = Buffer.from(generateIptablesSave(3));
  const second = Buffer.from(first.toString().replace(/KUBE-SEP-/g, 'KUBE-SEQ-'));
  // the JavaScript writer through a window of 64 bytes, and the compiled one through its own
  for (const engine of ['js', 'compiled'] as const) {
    let reads = 0;
    let lastPos = -1;
    const source = {
      // the layout pass reads from 0 to the end, then the writer starts again from 0
      read(buf: Buffer, off: number, len: number, pos: number) {
        if (pos < lastPos) reads++;
        lastPos = pos;
        const src = reads === 0 ? first : second;
        return src.copy(buf, off, pos, Math.min(src.length, pos + len));
      },
      whole: () => first,
    };
    await assert.rejects(
      engine === 'js'
        ? writePlainSave(source, 'full', () => undefined, 64)
        : writeSaveCompiled(source, 'full', () => undefined),
      {
        name: 'ParseError',
        message: /the input changed while it was read/,
      },
    );
  }
});
