/**
 * `proxylab status` against the fake toolchain: a missing cluster, a healthy ipvs lab with
 * the web sample and a failed last check, a node whose kube-proxy does not answer, and a
 * ConfigMap asking for a mode kube-proxy was not restarted into.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, runCli } from '../helpers/cli.js';
import { createFake, createFakeCluster, type Fake } from '../helpers/fake.js';

/** The real web sample manifest (what `proxylab web` applies). */
const WEB = readFileSync(join(ROOT, 'configs', 'manifests', 'web.yaml'), 'utf8');

function scene(f: Fake, opts: { web?: boolean; image?: string } = {}) {
  const r = createFakeCluster(f, { mode: 'ipvs', image: opts.image ?? 'v1.33.1' });
  assert.equal(r.code, 0, r.stderr);
  if (opts.web) {
    const a = f.tool('kubectl', ['--kubeconfig', f.kubeconfig, 'apply', '-f', '-'], WEB);
    assert.equal(a.code, 0, a.stderr);
  }
}

/** A last-check.json as `proxylab check` writes it (src/doccheck/result.ts), 2 steps failed. */
function lastCheck(stateDir: string) {
  mkdirSync(stateDir, { recursive: true });
  const step = (index: number, command: string, status: string) => ({
    index,
    line: index * 10,
    heading: `step ${index}`,
    command,
    status,
    attempts: 1,
    durationMs: 100,
    exitCode: 0,
    expectedExit: 0,
    expected: '',
    actual: '',
    renamed: [],
  });
  writeFileSync(
    join(stateDir, 'last-check.json'),
    JSON.stringify({
      version: 1,
      lab: 'labs/ipvs',
      file: 'labs/ipvs/README.md',
      title: 'IPVS',
      cluster: 'proxylab',
      kubeconfig: 'kubeconfig',
      startedAt: new Date(Date.now() - 300_000).toISOString(),
      finishedAt: new Date(Date.now() - 240_000).toISOString(),
      durationMs: 60_000,
      ok: false,
      counts: { total: 4, passed: 2, failed: 1, skipped: 0, errors: 1 },
      steps: [
        step(1, 'kubectl get nodes', 'passed'),
        step(2, 'ipvsadm -ln', 'failed'),
        step(3, 'ipset list KUBE-CLUSTER-IP', 'error'),
        step(4, 'ip addr show kube-ipvs0', 'passed'),
      ],
      bindings: [],
    }),
  );
}

async function status(f: Fake, extra: string[] = [], env: Record<string, string> = {}) {
  return runCli(['status', '--kubeconfig', f.kubeconfig, ...extra], {
    env: { ...f.env, PROXYLAB_STATE_DIR: join(f.dir, 'state'), ...env },
  });
}

test('status without a cluster says so, says what to run, and exits 1', async () => {
  const f = createFake();
  try {
    const r = await status(f);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^Cluster\s+proxylab: not found$/m);
    assert.match(r.stdout, /there is no cluster "proxylab": create it with `make up`/);
    assert.match(r.stdout, /^Last check\s+none yet/m);
    assert.equal(f.callsMatching('docker', 'exec').length, 0, 'no node to ask');
  } finally {
    f.cleanup();
  }
});

test('status of a healthy ipvs lab: version, mode per node (one docker exec each), web, last check', async () => {
  const f = createFake();
  try {
    scene(f, { web: true });
    lastCheck(join(f.dir, 'state'));
    const before = f.callsMatching('docker', 'exec').length;
    const r = await status(f);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(
      r.stdout,
      /^Cluster\s+proxylab: 3 nodes \(1 control plane, 2 workers\), 3\/3 Ready$/m,
    );
    assert.match(r.stdout, /^Kubernetes\s+v1\.33\.1$/m);
    assert.match(r.stdout, /^kube-proxy\s+configured: ipvs$/m);
    for (const n of ['proxylab-control-plane', 'proxylab-worker', 'proxylab-worker2'])
      assert.match(r.stdout, new RegExp(`✔ ${n}\\s+ipvs`));
    assert.match(
      r.stdout,
      /^Web sample\s+2\/2 pods ready; web ClusterIP 10\.96\.\d+\.\d+ 80\/tcp; web-nodeport NodePort 10\.96\.\d+\.\d+ 80:3\d{4}\/tcp$/m,
    );

    assert.match(
      r.stdout,
      /^Last check\s+✘ labs\/ipvs: 2\/4 steps passed, 2 failed \(4 min ago\)$/m,
    );
    assert.match(r.stdout, /✘ 2\. ipvsadm -ln/);
    assert.match(r.stdout, /✘ 3\. ipset list KUBE-CLUSTER-IP/);
    const execs = f.callsMatching('docker', 'exec').slice(before);
    assert.equal(execs.length, 3, 'one docker exec per node');
    assert.ok(execs.every((c) => c.argv.some((a) => a.endsWith(':10249/proxyMode'))));

    const j = await status(f, ['--json']);
    assert.equal(j.code, 0);
    const st = JSON.parse(j.stdout) as {
      exists: boolean;
      kubernetes: string;
      configuredMode: string;
      nodes: { name: string; proxyMode: string; ready: boolean }[];
      web: { ready: number };
      lastCheck: { failed: number };
    };
    assert.equal(st.exists, true);
    assert.equal(st.kubernetes, 'v1.33.1');
    assert.deepEqual(
      st.nodes.map((n) => [n.name, n.proxyMode, n.ready]),
      [
        ['proxylab-control-plane', 'ipvs', true],
        ['proxylab-worker', 'ipvs', true],
        ['proxylab-worker2', 'ipvs', true],
      ],
    );
    assert.equal(st.web.ready, 2);
    assert.equal(st.lastCheck.failed, 2);
  } finally {
    f.cleanup();
  }
});

test('status names the node whose kube-proxy does not answer, and exits 1', async () => {
  const f = createFake();
  try {
    scene(f);
    // kube-proxy on proxylab-worker2 stops answering (crash-looping)
    const file = join(f.dir, 'state.json');
    const state = JSON.parse(readFileSync(file, 'utf8')) as {
      clusters: Record<
        string,
        { nodes: { name: string; datapath: { kubeProxy?: { healthy: boolean } } }[] }
      >;
    };
    state.clusters.proxylab!.nodes.find(
      (n) => n.name === 'proxylab-worker2',
    )!.datapath.kubeProxy!.healthy = false;
    writeFileSync(file, JSON.stringify(state));
    const r = await status(f);
    assert.equal(r.code, 1);
    assert.match(
      r.stdout,
      /✘ proxylab-worker2\s+\?\s+kube-proxy does not answer on 127\.0\.0\.1:10249/,
    );
    assert.match(r.stdout, /✔ proxylab-worker\s+ipvs/);
    assert.match(r.stdout, /^Web sample\s+not deployed \(`make web`\)$/m);
    assert.doesNotMatch(r.stdout, /deprecated/, 'Kubernetes 1.33: ipvs mode is not deprecated yet');
    assert.match(
      r.stdout,
      /To look at:\n(?:.*\n)*  → proxylab-worker2: kube-proxy does not answer/,
    );
  } finally {
    f.cleanup();
  }
});

test('status notices a ConfigMap that asks for another mode than kube-proxy runs', async () => {
  const f = createFake();
  try {
    scene(f);
    // edit the ConfigMap to nftables without restarting kube-proxy
    const cm = f.tool('kubectl', [
      '--kubeconfig',
      f.kubeconfig,
      '-n',
      'kube-system',
      'get',
      'configmap',
      'kube-proxy',
      '-o',
      'json',
    ]);
    assert.equal(cm.code, 0, cm.stderr);
    const obj = JSON.parse(cm.stdout) as { data: Record<string, string> };
    obj.data['config.conf'] = obj.data['config.conf']!.replace(/^mode: .*$/m, 'mode: nftables');
    const rep = f.tool(
      'kubectl',
      ['--kubeconfig', f.kubeconfig, 'replace', '-f', '-'],
      JSON.stringify(obj),
    );
    assert.equal(rep.code, 0, rep.stderr);
    const r = await status(f);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^kube-proxy\s+configured: nftables$/m);
    assert.match(
      r.stdout,
      /✘ proxylab-worker\s+ipvs\s+runs ipvs but the ConfigMap asks for nftables: restart kube-proxy/,
    );
  } finally {
    f.cleanup();
  }
});

test('status on Kubernetes 1.35 in ipvs mode notes the deprecation, without calling it a problem', async () => {
  const f = createFake();
  try {
    scene(f, { web: true, image: 'v1.35.0' });
    const r = await status(f);
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /^Kubernetes\s+v1\.35\.0$/m);
    assert.match(r.stdout, /note: ipvs mode is deprecated since Kubernetes 1\.35/);
    assert.doesNotMatch(r.stdout, /To look at:/);
  } finally {
    f.cleanup();
  }
});

test('status without kind says what to install, in one sentence', async () => {
  const f = createFake({ omit: ['kind'] });
  try {
    const r = await status(f);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^✘ kind is not installed \(neither in \.\/\.bin nor on PATH\)$/m);
    assert.match(r.stderr, /→ run `make tools`/);
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
  } finally {
    f.cleanup();
  }
});
