/**
 * The IPVS modules step (issue 16, issue 12): checked and loaded through a kind node, in the
 * Docker engine's kernel; this machine's modprobe last and only when this machine is the
 * engine's; `sudo -n` when not root; and never run for a mode that needs no IPVS.
 * The fake engine kernel: test/fake/handlers/modules.mjs (nodes run kernel 6.1.0-40-amd64;
 * the fake host kernel of steps-helpers is 6.1.0-27-amd64 unless a test says otherwise).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { newLab, cmYaml, nodeExec, type Lab } from './steps-helpers.js';

function withLab(opts: Parameters<typeof newLab>[0], fn: (l: Lab) => Promise<void>) {
  return async () => {
    const l = newLab(opts);
    try {
      await fn(l);
    } finally {
      l.fake.cleanup();
    }
  };
}

const ENGINE = '6.1.0-40-amd64';
const IPVS = ['ip_vs', 'ip_vs_rr', 'ip_vs_wrr', 'ip_vs_sh'];
const nodeModprobes = (l: Lab) =>
  l.fake.callsMatching('docker', 'exec').filter((c) => c.argv.includes('modprobe'));
const hostModprobes = (l: Lab) =>
  existsSync(l.modprobeLog) ? readFileSync(l.modprobeLog, 'utf8') : '';

test(
  "make ipvs: the modules are loaded through a node into the engine's kernel, never with this machine's modprobe; a re-run has nothing to load",
  withLab({}, async (l) => {
    const r = await l.cli(['mode', 'ipvs', '--scheduler', 'rr']);
    assert.equal(r.code, 0, r.stderr);
    const mp = nodeModprobes(l);
    assert.equal(mp.length, 1);
    assert.deepEqual(mp[0]!.argv.slice(mp[0]!.argv.indexOf('proxylab-control-plane')), [
      'proxylab-control-plane',
      'modprobe',
      '-a',
      '--',
      ...IPVS,
    ]);
    assert.match(
      r.stderr,
      new RegExp(
        `IPVS kernel modules via proxylab-control-plane \\(the Docker engine's kernel ${ENGINE.replace(/\./g, '\\.')}`,
      ),
    );
    assert.equal(hostModprobes(l), '');
    const proc = nodeExec(l, 'proxylab-worker2', ['cat', '/proc/modules']);
    for (const m of IPVS) assert.match(proc, new RegExp(`^${m} `, 'm'));
    const again = await l.cli(['modules', '--json']);
    assert.equal(again.code, 0, again.stderr);
    const j = JSON.parse(again.stdout) as { loaded: string[]; statuses: { state: string }[] };
    assert.deepEqual(j.loaded, []);
    assert.ok(j.statuses.every((s) => s.state === 'loaded'));
    assert.equal(nodeModprobes(l).length, 1);
  }),
);

test(
  "an engine whose kernel lacks a module (Docker Desktop): exit 1 naming the engine's kernel, no host modprobe, cluster untouched",
  withLab({ env: { FAKE_ENGINE_MODULES_MISSING: 'ip_vs_sh' } }, async (l) => {
    const before = cmYaml(l);
    const r = await l.cli(['mode', 'ipvs']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /the Docker engine's kernel \(6\.1\.0-40-amd64\) has no ip_vs_sh module: kube-proxy's IPVS mode cannot run on this engine \(the Docker engine runs kernel 6\.1\.0-40-amd64, this machine 6\.1\.0-27-amd64/,
    );
    assert.match(r.stderr, /proxylab mode nftables/);
    assert.equal(hostModprobes(l), '');
    assert.equal(cmYaml(l), before);
    assert.equal(l.fake.callsMatching('kubectl', 'replace').length, 0);
  }),
);

test(
  "the node cannot load them but this machine is the engine: this machine's modprobe, last; --persist writes modules-load.d",
  withLab(
    {
      env: { FAKE_ENGINE_NO_MODULE_TREE: '1' },
      kernel: { release: ENGINE, loaded: ['nf_conntrack'], loadable: [...IPVS, 'ip_vs_lc'] },
    },
    async (l) => {
      const r = await l.cli(['modules', '--scheduler', 'lc', '--persist']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(nodeModprobes(l).length, 1, 'the node first');
      assert.equal(
        hostModprobes(l),
        IPVS.concat('ip_vs_lc')
          .map((m) => `-- ${m}\n`)
          .join(''),
      );
      const conf = readFileSync(join(l.env.PROXYLAB_MODULES_LOAD_D!, 'proxylab-ipvs.conf'), 'utf8');
      assert.match(conf, /^ip_vs\nip_vs_rr\nip_vs_wrr\nip_vs_sh\nip_vs_lc\nnf_conntrack\n$/m);
    },
  ),
);

test(
  'the same kernel release on a remote DOCKER_HOST: no host fallback, exit 1 saying where to load them',
  withLab(
    {
      env: { FAKE_ENGINE_NO_MODULE_TREE: '1', DOCKER_HOST: 'tcp://192.0.2.10:2376' },
      kernel: { release: ENGINE, loaded: ['nf_conntrack'], loadable: IPVS },
    },
    async (l) => {
      const r = await l.cli(['modules']);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /the Docker engine is remote \(DOCKER_HOST=tcp:\/\/192\.0\.2\.10:2376\)/,
      );
      assert.equal(hostModprobes(l), '');
    },
  ),
);

test(
  'not root and sudo wants a password: sudo -n fails at once, exit 1 with the exact commands; cluster untouched',
  withLab(
    {
      env: { FAKE_ENGINE_NO_MODULE_TREE: '1', PROXYLAB_ASSUME_NOT_ROOT: '1' },
      kernel: { release: ENGINE, loaded: ['nf_conntrack'], loadable: IPVS },
    },
    async (l) => {
      // sudo -n with no cached credentials: sudo 1.9 (Debian 12) says this and exits 1
      const sudoLog = join(l.fake.dir, 'sudo.log');
      writeFileSync(
        join(l.fake.dir, 'hostbin', 'sudo'),
        `#!/bin/sh\necho "$*" >> ${sudoLog}\necho "sudo: a password is required" >&2\nexit 1\n`,
      );
      chmodSync(join(l.fake.dir, 'hostbin', 'sudo'), 0o755);
      const before = cmYaml(l);
      const r = await l.cli(['mode', 'ipvs']);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /could not load ip_vs, ip_vs_rr, ip_vs_wrr, ip_vs_sh \(not root, and sudo asks for a password\)/,
      );
      assert.match(r.stderr, /sudo modprobe -- ip_vs\n\s+sudo modprobe -- ip_vs_rr/);
      assert.match(readFileSync(sudoLog, 'utf8'), /^-n modprobe -- ip_vs$/m);
      assert.equal(cmYaml(l), before);
      assert.equal(l.fake.callsMatching('kubectl', 'replace').length, 0);
    },
  ),
);

for (const mode of ['nftables', 'iptables'] as const) {
  test(
    `make ${mode} on an engine without IPVS and a host modprobe that fails: no module step at all, the switch succeeds`,
    withLab(
      {
        mode: mode === 'iptables' ? 'nftables' : 'iptables',
        env: { FAKE_ENGINE_NO_MODULE_TREE: '1' },
        modprobe: 'denied',
      },
      async (l) => {
        const r = await l.cli(['mode', mode]);
        assert.equal(r.code, 0, r.stderr);
        assert.doesNotMatch(r.stderr, /IPVS kernel modules/);
        assert.equal(nodeModprobes(l).length, 0);
        assert.equal(hostModprobes(l), '');
      },
    ),
  );
}
