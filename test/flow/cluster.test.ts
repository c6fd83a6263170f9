/**
 * up / down / doctor through the real CLI entry point, against the fake toolchain: first
 * runs, re-runs (idempotency) and every fault (Docker down, kind failing midway, nodes never
 * Ready, a hanging kubectl, a tool missing).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, type CliResult } from '../helpers/cli.js';
import { createFake, type Fake, type FakeOptions } from '../helpers/fake.js';

interface Lab {
  fake: Fake;
  state: string;
  cli(args: string[], extraEnv?: Record<string, string>): Promise<CliResult>;
}

function lab(opts: FakeOptions, fn: (l: Lab) => Promise<void>) {
  return async () => {
    const fake = createFake(opts);
    const state = join(fake.dir, 'proxylab-state');
    const l: Lab = {
      fake,
      state,
      cli: (args, extraEnv = {}) =>
        runCli(['--kubeconfig', fake.kubeconfig, ...args], {
          env: { ...fake.env, PROXYLAB_STATE_DIR: state, ...extraEnv },
          timeoutMs: 90_000,
        }),
    };
    try {
      await fn(l);
    } finally {
      fake.cleanup();
    }
  };
}

/** A host where IPVS is built in and the inotify limits are high. */
function goodHost(dir: string): Record<string, string> {
  const proc = join(dir, 'proc');
  const mods = join(dir, 'modules');
  mkdirSync(join(proc, 'sys/fs/inotify'), { recursive: true });
  writeFileSync(join(proc, 'sys/fs/inotify/max_user_watches'), '524288\n');
  writeFileSync(join(proc, 'sys/fs/inotify/max_user_instances'), '512\n');
  writeFileSync(
    join(proc, 'modules'),
    'nf_conntrack 176128 3 nf_nat,xt_conntrack,ip_vs, Live 0x0000000000000000\n',
  );
  mkdirSync(join(mods, '6.1.0-test'), { recursive: true });
  writeFileSync(
    join(mods, '6.1.0-test/modules.builtin'),
    [
      'kernel/net/netfilter/ipvs/ip_vs.ko',
      'kernel/net/netfilter/ipvs/ip_vs_rr.ko',
      'kernel/net/netfilter/ipvs/ip_vs_wrr.ko',
      'kernel/net/netfilter/ipvs/ip_vs_sh.ko',
      '',
    ].join('\n'),
  );
  return {
    PROXYLAB_PROC_ROOT: proc,
    PROXYLAB_MODULES_ROOT: mods,
    PROXYLAB_KERNEL_RELEASE: '6.1.0-test',
  };
}

test(
  'up creates 1 control plane + 2 workers with the pinned image and mode; a re-run reuses it',
  lab({}, async ({ fake, cli }) => {
    const r = await cli(
      ['up', '--mode', 'ipvs', '--k8s', '1.33', '--scheduler', 'sh'],
      goodHost(fake.dir),
    );
    assert.match(
      r.stderr,
      /Host kernel IPVS support: ip_vs builtin, ip_vs_rr builtin, ip_vs_wrr builtin, ip_vs_sh builtin, nf_conntrack loaded/,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /cluster "proxylab" is up: Kubernetes v1\.33\.7, 3 nodes Ready, kube-proxy mode ipvs/,
    );
    const create = fake.callsMatching('kind', 'create', 'cluster');
    assert.equal(create.length, 1);
    const argv = create[0]!.argv;
    assert.equal(
      argv[argv.indexOf('--image') + 1],
      'kindest/node:v1.33.7@sha256:d26ef333bdb2cbe9862a0f7c3803ecc7b4303d8cea8e814b481b09949d353040',
    );
    assert.equal(argv[argv.indexOf('--kubeconfig') + 1], fake.kubeconfig);
    const cl = fake.state().clusters.proxylab!;
    assert.deepEqual(
      cl.nodes.map((n) => `${n.name}/${n.role}`),
      ['proxylab-control-plane/control-plane', 'proxylab-worker/worker', 'proxylab-worker2/worker'],
    );
    // the mode and the scheduler reached kube-proxy through kind's config
    for (const n of cl.nodes)
      assert.deepEqual(
        [n.datapath.kubeProxy!.mode, n.datapath.kubeProxy!.scheduler],
        ['ipvs', 'sh'],
      );
    assert.ok(existsSync(fake.kubeconfig));
    // every kubectl call named the kubeconfig
    for (const c of fake.calls().filter((x) => x.tool === 'kubectl'))
      assert.ok(c.argv.includes('--kubeconfig'), c.argv.join(' '));

    const again = await cli(['up']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(
      again.stdout,
      /already exists: reused it \(Kubernetes v1\.33\.7, 3 nodes, kube-proxy mode ipvs\)/,
    );
    assert.equal(fake.callsMatching('kind', 'create').length, 1, 'not created twice');

    const other = await cli(['up', '--mode', 'iptables']);
    assert.equal(other.code, 0);
    assert.match(
      other.stderr,
      /runs kube-proxy in ipvs mode, not iptables: switch with `proxylab mode iptables`/,
    );
    assert.equal(fake.callsMatching('kind', 'create').length, 1);
  }),
);

test(
  'up --mode ipvs on a host without IPVS refuses before creating anything',
  lab({}, async ({ fake, cli }) => {
    const nowhere = join(fake.dir, 'nowhere');
    const r = await cli(['up', '--mode', 'ipvs'], {
      PROXYLAB_PROC_ROOT: nowhere,
      PROXYLAB_MODULES_ROOT: nowhere,
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /✘ kube-proxy in ipvs mode needs the IPVS modules of this host's kernel, and ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh are not available/,
    );
    assert.match(
      r.stderr,
      /→ see `proxylab doctor` for the fix, or use `proxylab up --mode iptables`/,
    );
    assert.equal(fake.callsMatching('kind', 'create').length, 0);
  }),
);

test(
  'up with the Docker engine down fails before kind runs, saying so with a fix',
  lab({ env: { FAKE_DOCKER_DOWN: '1' } }, async ({ fake, cli }) => {
    const r = await cli(['up']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /✘ the Docker engine is not running/);
    assert.match(r.stderr, /→ start it/);
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
    assert.equal(fake.callsMatching('kind', 'create').length, 0);
  }),
);

test(
  'a kind create failing midway is cleaned up: containers and kubeconfig gone, reason shown',
  lab({ env: { FAKE_KIND_CREATE_FAIL: 'kubeadm' } }, async ({ fake, cli }) => {
    const r = await cli(['up']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /creating cluster "proxylab" failed: ERROR: failed to create cluster: failed to init node with kubeadm/,
    );
    assert.match(r.stderr, /partly created cluster was deleted/);
    assert.equal(fake.callsMatching('kind', 'delete', 'cluster', '--name', 'proxylab').length, 1);
    assert.deepEqual(fake.state().clusters, {});
    assert.equal(existsSync(fake.kubeconfig), false);
  }),
);

test(
  'nodes that never become Ready: up gives up after the stated limit and deletes the cluster',
  lab({ env: { FAKE_NODES_NOT_READY: '1' } }, async ({ fake, cli }) => {
    const r = await cli(['up', '--timeout', '2']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /gave up after 2 s waiting for 3 nodes of "proxylab" to be Ready/);
    assert.match(r.stderr, /waiting ≤ 2 s for 3 nodes/);
    assert.deepEqual(fake.state().clusters, {});
  }),
);

test(
  'a hanging kubectl is killed at the limit, not waited for',
  lab({ env: { FAKE_HANG: 'kubectl get nodes', FAKE_HANG_MAX_MS: '20000' } }, async ({ cli }) => {
    const t0 = Date.now();
    const r = await cli(['up', '--timeout', '2']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /gave up after 2 s waiting for 3 nodes.*timed out after 2 s/s);
    assert.ok(Date.now() - t0 < 15_000, 'the 20 s hang was cut short');
  }),
);

test(
  'bad options exit 2 listing every problem, and nothing is created',
  lab({}, async ({ fake, cli }) => {
    const r = await cli(['up', '--k8s', '1.20', '--mode', 'ipvsx', '--nodes', '0']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /3 problems/);
    assert.match(
      r.stderr,
      /--k8s: no kind node image is pinned for 1\.20; pinned: 1\.31, 1\.32, 1\.33, 1\.34, 1\.35/,
    );
    assert.match(r.stderr, /--mode: "ipvsx" is not a kube-proxy mode/);
    assert.match(r.stderr, /--nodes: "0" must be a whole number from 1 to 10/);
    assert.equal(fake.calls().length, 0);
  }),
);

test(
  'down removes cluster and kubeconfig; a second down has nothing to do',
  lab({}, async ({ fake, cli }) => {
    assert.equal((await cli(['up'])).code, 0);
    const d = await cli(['down']);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /deleted "proxylab" and removed/);
    assert.deepEqual(fake.state().clusters, {});
    assert.equal(existsSync(fake.kubeconfig), false);
    const d2 = await cli(['down']);
    assert.equal(d2.code, 0);
    assert.match(d2.stdout, /nothing to delete: no cluster "proxylab"/);
  }),
);

test(
  'down with Docker down still removes the kubeconfig and says what it could not do',
  lab({}, async ({ fake, cli }) => {
    assert.equal((await cli(['up'])).code, 0);
    const d = await cli(['down'], { FAKE_DOCKER_DOWN: '1' });
    assert.equal(d.code, 1);
    assert.match(
      d.stderr,
      /Docker engine is not running: the docker client cannot connect.*removed .*kubeconfig/,
    );
    assert.equal(existsSync(fake.kubeconfig), false);
  }),
);

test(
  'down --all removes every proxylab cluster, their kubeconfigs and locks — nothing else',
  lab({}, async ({ fake, state, cli }) => {
    const kcB = join(fake.dir, 'kc-b');
    assert.equal((await cli(['up'])).code, 0);
    assert.equal(
      (
        await runCli(['--kubeconfig', kcB, '--cluster', 'lab-b', 'up', '--nodes', '1'], {
          env: { ...fake.env, PROXYLAB_STATE_DIR: state },
        })
      ).code,
      0,
    );
    // someone else's kind cluster, and files proxylab must keep
    const foreignKc = join(fake.dir, 'kc-foreign');
    assert.equal(
      fake.tool('kind', ['create', 'cluster', '--name', 'someone-else', '--kubeconfig', foreignKc])
        .code,
      0,
    );
    mkdirSync(join(state, 'locks'), { recursive: true });
    writeFileSync(join(state, 'locks', 'stale.lock'), '{}');
    mkdirSync(join(state, 'backups'), { recursive: true });
    writeFileSync(join(state, 'backups', 'proxylab-2026.yaml'), 'keep me');
    const d = await cli(['down', '--all']);
    assert.equal(d.code, 0, d.stderr);
    assert.deepEqual(Object.keys(fake.state().clusters), ['someone-else']);
    assert.equal(existsSync(fake.kubeconfig), false);
    assert.equal(existsSync(kcB), false);
    assert.equal(existsSync(foreignKc), true);
    assert.deepEqual(readdirSync(join(state, 'locks')), []);
    assert.deepEqual(readdirSync(join(state, 'backups')), ['proxylab-2026.yaml']);
  }),
);

test(
  'doctor: all ✔ on a good host (exit 0); each missing piece is a ✘ with a fix (exit 1)',
  lab({}, async ({ fake, cli }) => {
    const host = goodHost(fake.dir);
    const ok = await cli(['doctor'], host);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    for (const t of ['Docker engine', 'kind', 'kubectl', 'IPVS kernel support', 'inotify limits'])
      assert.match(ok.stdout, new RegExp(`^✔ ${t} `, 'm'), t);
    assert.match(ok.stdout, /✔ Docker engine +Docker Engine 28\.2\.2/);
    assert.match(ok.stdout, /✔ kind +v0\.31\.0/);

    const down = await cli(['doctor'], { ...host, FAKE_DOCKER_DOWN: '1' });
    assert.equal(down.code, 1);
    assert.match(down.stdout, /^✘ Docker engine +Docker engine is not running/m);
    assert.match(down.stdout, /fix: start the engine/);

    const noIpvs = await cli(['doctor', '--json'], {
      ...host,
      PROXYLAB_MODULES_ROOT: join(fake.dir, 'nowhere'),
      PROXYLAB_PROC_ROOT: join(fake.dir, 'nowhere'),
    });
    assert.equal(noIpvs.code, 1);
    const j = JSON.parse(noIpvs.stdout) as {
      ok: boolean;
      checks: Array<{ id: string; ok: boolean; detail: string; fix?: string }>;
    };
    assert.equal(j.ok, false);
    const ipvs = j.checks.find((c) => c.id === 'ipvs')!;
    assert.equal(ipvs.ok, false);
    assert.match(
      ipvs.detail,
      /^IPVS is not available: ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh nf_conntrack are not built in, not loaded and not loadable/,
    );
    assert.ok(ipvs.fix);

    const oldKind = await cli(['doctor'], { ...host, FAKE_KIND_VERSION: 'v0.20.0' });
    assert.equal(oldKind.code, 1);
    assert.match(oldKind.stdout, /✘ kind +v0\.20\.0 .*pinned: v0\.31\.0/);
  }),
);

test(
  'doctor: IPVS loadable as .ko.xz counts; kind missing from PATH is a ✘',
  lab({ omit: ['kind'] }, async ({ fake, cli }) => {
    const host = goodHost(fake.dir);
    const kdir = join(host.PROXYLAB_MODULES_ROOT!, '6.1.0-test');
    writeFileSync(join(kdir, 'modules.builtin'), '');
    mkdirSync(join(kdir, 'kernel/net/netfilter/ipvs'), { recursive: true });
    for (const m of ['ip_vs', 'ip_vs_rr', 'ip_vs_wrr', 'ip_vs_sh'])
      writeFileSync(join(kdir, 'kernel/net/netfilter/ipvs', `${m}.ko.xz`), '');
    const r = await cli(['doctor'], host);
    assert.equal(r.code, 1);
    assert.match(
      r.stdout,
      /✔ IPVS kernel support +IPVS is available \(loaded: nf_conntrack; loadable: ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh\)/,
    );
    assert.match(
      r.stdout,
      /✘ kind +kind is not installed \(pinned: v0\.31\.0\)\n +fix: run `proxylab tools`/,
    );
  }),
);

test(
  'Ctrl-C during kind create: the child is stopped, what was made is deleted, exit 130',
  lab(
    { env: { FAKE_HANG: 'kind create cluster', FAKE_HANG_MAX_MS: '20000' } },
    async ({ fake, state }) => {
      const { spawn } = await import('node:child_process');
      const { ROOT, CLI } = await import('../helpers/cli.js');
      const child = spawn(process.execPath, [...CLI, '--kubeconfig', fake.kubeconfig, 'up'], {
        cwd: ROOT,
        env: { ...fake.env, PROXYLAB_STATE_DIR: state, CI: 'true', NO_COLOR: '1' },
      });
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      // wait until kind create is running, then press Ctrl-C (up to 90 s: on a loaded
      // machine the engine check before it takes seconds, and an early Ctrl-C tests another path)
      for (let i = 0; i < 900 && !/Create cluster "proxylab"/.test(stderr); i++)
        await new Promise((r) => setTimeout(r, 100));
      assert.match(stderr, /Create cluster "proxylab"/, 'kind create never started');
      await new Promise((r) => setTimeout(r, 500));
      child.kill('SIGINT');
      const code = await new Promise<number | null>((r) => child.on('close', r));
      assert.equal(code, 130, stderr);
      assert.match(
        stderr,
        /interrupted while creating cluster "proxylab": what was created has been deleted/,
      );
      assert.equal(fake.callsMatching('kind', 'delete', 'cluster', '--name', 'proxylab').length, 1);
      assert.equal(existsSync(fake.kubeconfig), false);
    },
  ),
);

test(
  'no docker client at all: up and doctor say so',
  lab({ omit: ['docker'] }, async ({ cli }) => {
    const r = await cli(['up']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /✘ the Docker engine is not usable: the docker client is not installed/);
    const d = await cli(['doctor']);
    assert.equal(d.code, 1);
    assert.match(
      d.stdout,
      /✘ Docker engine +the docker client is not installed\n +fix: install Docker Engine/,
    );
  }),
);

test(
  'up finds a half-made cluster left by an interrupted create: says so and how to recreate',
  lab({}, async ({ fake, cli }) => {
    const left = fake.tool('kind', [
      'create',
      'cluster',
      '--name',
      'proxylab',
      '--kubeconfig',
      join(fake.dir, 'x'),
    ]);
    assert.equal(left.code, 0);
    // make it half-made: containers exist, kubeadm never finished
    const st = fake.state();
    st.clusters.proxylab!.status = 'creating';
    writeFileSync(join(fake.dir, 'state.json'), JSON.stringify(st));
    const r = await cli(['up']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /✘ cluster "proxylab" exists but is not usable \(ERROR: could not locate any control plane nodes/,
    );
    assert.match(r.stderr, /→ recreate it: `proxylab down`, then `proxylab up`/);
    assert.equal(fake.callsMatching('kind', 'create').length, 1);
  }),
);

test(
  'up on an existing cluster whose kubeconfig was deleted writes it again',
  lab({}, async ({ fake, cli }) => {
    assert.equal((await cli(['up'])).code, 0);
    const { rmSync, readFileSync } = await import('node:fs');
    rmSync(fake.kubeconfig);
    const r = await cli(['up']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(readFileSync(fake.kubeconfig, 'utf8'), /current-context: kind-proxylab/);
    assert.equal(fake.callsMatching('kind', 'get', 'kubeconfig', '--name', 'proxylab').length, 1);
  }),
);

test(
  "down keeps a kubeconfig that still holds other clusters (only kind's context is taken out)",
  lab({}, async ({ fake, cli }) => {
    const { readFileSync } = await import('node:fs');
    assert.equal(
      fake.tool('kind', ['create', 'cluster', '--name', 'other', '--kubeconfig', fake.kubeconfig])
        .code,
      0,
    );
    assert.equal((await cli(['up'])).code, 0);
    assert.match(readFileSync(fake.kubeconfig, 'utf8'), /current-context: kind-proxylab/);
    const d = await cli(['down']);
    assert.equal(d.code, 0, d.stderr);
    assert.equal(existsSync(fake.kubeconfig), true);
    const text = readFileSync(fake.kubeconfig, 'utf8');
    assert.match(text, /name: kind-other/);
    assert.doesNotMatch(text, /kind-proxylab/);
    const k = fake.tool('kubectl', [
      '--kubeconfig',
      fake.kubeconfig,
      '--context',
      'kind-other',
      'get',
      'nodes',
    ]);
    assert.equal(k.code, 0, k.stderr);
  }),
);

test(
  'up on a machine whose ./.bin is empty: the pinned kind and kubectl from PATH are linked into it first, then used',
  lab({}, async ({ fake, cli }) => {
    const bin = join(fake.dir, 'project-bin');
    const env = { ...goodHost(fake.dir), PROXYLAB_TOOLS: '', PROXYLAB_BIN_DIR: bin };
    const r = await cli(['up', '--mode', 'iptables'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /kind and kubectl: kind v0\.31\.0 reused from \S+; kubectl v1\.35\.0 reused from \S+/,
    );
    assert.ok(existsSync(join(bin, 'kind')) && existsSync(join(bin, 'kubectl')));
    // a second run finds them in place
    const again = await cli(['up', '--mode', 'iptables'], env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /kind and kubectl: already in \.\/\.bin/);
    // the wrong version on PATH is not linked: a download is attempted (and fails offline, naming the tool)
    const fake2 = createFake({ env: { FAKE_KIND_VERSION: 'v0.20.0' } });
    try {
      const r2 = await runCli(['--kubeconfig', fake2.kubeconfig, 'up'], {
        env: {
          ...fake2.env,
          ...goodHost(fake2.dir),
          PROXYLAB_TOOLS: '',
          PROXYLAB_BIN_DIR: join(fake2.dir, 'bin2'),
          PROXYLAB_STATE_DIR: join(fake2.dir, 'st'),
          PROXYLAB_DOWNLOAD_BASE: 'http://127.0.0.1:9/',
        },
        timeoutMs: 90_000,
      });
      assert.equal(r2.code, 1, r2.stderr);
      assert.match(r2.stderr, /kind/);
      assert.equal(fake2.callsMatching('kind', 'create', 'cluster').length, 0);
    } finally {
      fake2.cleanup();
    }
  }),
);
