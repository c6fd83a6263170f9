/**
 * `proxylab tools` downloads: a file served on 127.0.0.1 is installed only when its sha256
 * matches the pinned table (or, with no pinned entry, the release's checksum file); a
 * tampered file is refused and never made executable; offline is a clear error; a system
 * binary of the pinned version is linked, not downloaded.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
  lstatSync,
  readlinkSync,
  mkdirSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import {
  ensureTool,
  sha256,
  parseKindVersion,
  parseKubectlVersion,
} from '../../../src/cluster/tools.js';
import type { VersionsTable } from '../../../src/config/versions.js';
import { UserError } from '../../../src/core/errors.js';
import { runCli } from '../../helpers/cli.js';

const GOOD = '#!/bin/sh\necho "kind v0.31.0 go1.25.5 linux/amd64"\n';
const TAMPERED = '#!/bin/sh\necho "kind v0.31.0 go1.25.5 linux/amd64"\necho pwned >&2\n';
const served = new Map<string, string>();
const requests: string[] = [];
let server: Server;
let base = '';

before(async () => {
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const body = served.get(req.url ?? '');
    if (body === undefined) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

const KIND_PATH = '/github.com/kubernetes-sigs/kind/releases/download/v0.31.0/kind-linux-amd64';

function table(pinned: Record<string, string>): VersionsTable {
  return {
    kind: {
      version: 'v0.31.0',
      url: 'https://github.com/kubernetes-sigs/kind/releases/download/{version}/kind-{os}-{arch}',
      checksumUrl:
        'https://github.com/kubernetes-sigs/kind/releases/download/{version}/kind-{os}-{arch}.sha256sum',
      sha256: pinned,
    },
    kubectl: {
      version: 'v1.35.0',
      url: 'https://dl.k8s.io/release/{version}/bin/{os}/{arch}/kubectl',
      checksumUrl: 'https://dl.k8s.io/release/{version}/bin/{os}/{arch}/kubectl.sha256',
      sha256: {},
    },
    default: '1.35',
    images: {
      '1.35':
        'kindest/node:v1.35.0@sha256:452d707d4862f52530247495d180205e029056831160e22870e37e3f6c1ac31f',
    },
  };
}

function scratch(): { dir: string; env: NodeJS.ProcessEnv; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'proxylab-tools-'));
  const empty = join(dir, 'empty-path');
  mkdirSync(empty);
  return {
    dir,
    env: { PATH: empty, PROXYLAB_BIN_DIR: join(dir, 'bin'), PROXYLAB_DOWNLOAD_BASE: base },
    done: () => rmSync(dir, { recursive: true, force: true }),
  };
}

test('a download whose sha256 matches the pinned table is installed and runs', async () => {
  const s = scratch();
  try {
    served.set(KIND_PATH, GOOD);
    const r = await ensureTool('kind', {
      env: s.env,
      table: table({ 'linux-amd64': sha256(Buffer.from(GOOD)) }),
      os: 'linux',
      arch: 'amd64',
    });
    assert.equal(r.action, 'downloaded');
    assert.equal(r.verified, 'pinned');
    assert.equal(r.sha256, sha256(Buffer.from(GOOD)));
    assert.equal(r.source, `${base}${KIND_PATH}`);
    assert.ok(existsSync(join(s.dir, 'bin', 'kind')));
    // a second run finds it in place
    const again = await ensureTool('kind', {
      env: s.env,
      table: table({ 'linux-amd64': sha256(Buffer.from(GOOD)) }),
      os: 'linux',
      arch: 'amd64',
    });
    assert.equal(again.action, 'present');
  } finally {
    s.done();
  }
});

test('a tampered download is refused before it is made executable, and nothing is left behind', async () => {
  const s = scratch();
  try {
    served.set(KIND_PATH, TAMPERED);
    const pinned = sha256(Buffer.from(GOOD));
    await assert.rejects(
      ensureTool('kind', {
        env: s.env,
        table: table({ 'linux-amd64': pinned }),
        os: 'linux',
        arch: 'amd64',
      }),
      (e: unknown) =>
        e instanceof UserError &&
        e.message.includes(`its sha256 is ${sha256(Buffer.from(TAMPERED))}, expected ${pinned}`) &&
        /discarded/.test(e.message),
    );
    assert.deepEqual(readdirSync(join(s.dir, 'bin')), []);
  } finally {
    s.done();
  }
});

test("no pinned checksum for the platform: verified against the release's checksum file, and said so", async () => {
  const s = scratch();
  try {
    served.set(KIND_PATH, GOOD);
    served.set(`${KIND_PATH}.sha256sum`, `${sha256(Buffer.from(GOOD))}  kind-linux-amd64\n`);
    const r = await ensureTool('kind', {
      env: s.env,
      table: table({}),
      os: 'linux',
      arch: 'amd64',
    });
    assert.equal(r.verified, 'release-checksum-file');
    assert.ok(requests.includes(`${KIND_PATH}.sha256sum`));
    // the checksum file disagreeing with the binary is refused too
    rmSync(join(s.dir, 'bin', 'kind'));
    served.set(
      `${KIND_PATH}.sha256sum`,
      `${sha256(Buffer.from('something else'))}  kind-linux-amd64\n`,
    );
    await assert.rejects(
      ensureTool('kind', { env: s.env, table: table({}), os: 'linux', arch: 'amd64' }),
      /from the release's checksum file/,
    );
    assert.equal(existsSync(join(s.dir, 'bin', 'kind')), false);
  } finally {
    s.done();
  }
});

test('offline: a clear error naming the host, with what to do', async () => {
  const s = scratch();
  try {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await assert.rejects(
      ensureTool('kind', {
        env: { ...s.env, PROXYLAB_DOWNLOAD_BASE: `http://127.0.0.1:${port}` },
        table: table({}),
        os: 'linux',
        arch: 'amd64',
      }),
      (e: unknown) =>
        e instanceof UserError &&
        /could not download kind v0\.31\.0 from 127\.0\.0\.1:\d+ \(ECONNREFUSED\): this machine looks offline/.test(
          e.message,
        ) &&
        /put it on PATH/.test(e.hint ?? ''),
    );
    served.delete(KIND_PATH);
    await assert.rejects(
      ensureTool('kind', { env: s.env, table: table({}), os: 'linux', arch: 'amd64' }),
      /answered HTTP 404/,
    );
  } finally {
    s.done();
  }
});

test('a system binary of the pinned version is linked, not downloaded', async () => {
  const s = scratch();
  try {
    const sys = join(s.dir, 'usr-bin');
    mkdirSync(sys);
    writeFileSync(join(sys, 'kind'), GOOD, { mode: 0o755 });
    const before = requests.length;
    const r = await ensureTool('kind', {
      env: { ...s.env, PATH: sys },
      table: table({}),
      os: 'linux',
      arch: 'amd64',
    });
    assert.equal(r.action, 'linked');
    assert.equal(requests.length, before, 'no download');
    assert.ok(lstatSync(join(s.dir, 'bin', 'kind')).isSymbolicLink());
    assert.equal(readlinkSync(join(s.dir, 'bin', 'kind')), join(sys, 'kind'));
  } finally {
    s.done();
  }
});

test("version parsing of the real tools' output", () => {
  assert.equal(parseKindVersion('kind v0.31.0 go1.25.5 linux/amd64\n'), 'v0.31.0');
  assert.equal(parseKindVersion('kind version 0.20.0\n'), 'v0.20.0');
  assert.equal(
    parseKubectlVersion('{"clientVersion":{"gitVersion":"v1.32.4-dispatcher"}}'),
    'v1.32.4',
  );
  assert.equal(
    parseKubectlVersion('Client Version: v1.35.0\nKustomize Version: v5.7.1\n'),
    'v1.35.0',
  );
});

test('proxylab tools through the CLI: download verified against the pinned table, said so', async () => {
  const s = scratch();
  try {
    served.set(KIND_PATH, GOOD);
    const vfile = join(s.dir, 'versions.yaml');
    const { stringify } = await import('yaml');
    writeFileSync(vfile, stringify(table({ 'linux-amd64': sha256(Buffer.from(GOOD)) })));
    const r = await runCli(['tools', '--only', 'kind'], {
      env: {
        ...s.env,
        PATH: `${process.execPath.replace(/\/[^/]+$/, '')}:/bin`,
        PROXYLAB_VERSIONS_FILE: vfile,
      },
    });
    if (process.arch !== 'x64' || process.platform !== 'linux') return; // the served asset is linux-amd64
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /✔ kind v0\.31\.0: downloaded to .*bin\/kind; sha256 verified against the pinned checksum in configs\/versions\.yaml/,
    );
    served.set(KIND_PATH, TAMPERED);
    rmSync(join(s.dir, 'bin', 'kind'));
    const bad = await runCli(['tools', '--only', 'kind'], {
      env: {
        ...s.env,
        PATH: `${process.execPath.replace(/\/[^/]+$/, '')}:/bin`,
        PROXYLAB_VERSIONS_FILE: vfile,
      },
    });
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /✘ refusing kind v0\.31\.0: its sha256 is [0-9a-f]{64}, expected [0-9a-f]{64}/,
    );
  } finally {
    s.done();
  }
});
