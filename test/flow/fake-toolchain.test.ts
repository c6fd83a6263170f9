/**
 * The fake toolchain itself: formats checked against the real outputs in the shared
 * fixtures, state kept across calls, concurrency safety, faults. proxylab's flow tests
 * rely on all of this.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { parse as parseYaml } from 'yaml';
import { createFake, createFakeCluster, FAKE_BIN, type Fake } from '../helpers/fake.js';
import { REAL_OUTPUTS } from '../helpers/fixtures.js';

const FIXTURES = REAL_OUTPUTS;

function withFake(opts: Parameters<typeof createFake>[0], fn: (f: Fake) => Promise<void> | void) {
  return async () => {
    const f = createFake(opts);
    try {
      await fn(f);
    } finally {
      f.cleanup();
    }
  };
}

function createCluster(f: Fake, name = 'proxylab', extra: string[] = []) {
  return createFakeCluster(f, { name, mode: 'ipvs', extraArgs: extra });
}

/** Every key path of a YAML document, e.g. "ipvs.scheduler". */
function keyPaths(v: unknown, prefix = ''): string[] {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return [prefix];
  return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) =>
    keyPaths(x, prefix ? `${prefix}.${k}` : k),
  );
}

test(
  'kind create makes a 3-node cluster that kind, docker and kubectl all see',
  withFake({}, (f) => {
    const r = createCluster(f);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^Creating cluster "proxylab" \.\.\.$/m);
    assert.match(r.stderr, / ✓ Preparing nodes 📦 📦 📦/);
    assert.equal(f.tool('kind', ['get', 'clusters']).stdout, 'proxylab\n');
    assert.equal(
      f.tool('kind', ['get', 'nodes', '--name', 'proxylab']).stdout,
      'proxylab-control-plane\nproxylab-worker\nproxylab-worker2\n',
    );
    const ps = f.tool('docker', [
      'ps',
      '--filter',
      'label=io.x-k8s.kind.cluster=proxylab',
      '--format',
      '{{.Names}}',
    ]);
    assert.equal(ps.stdout.split('\n').filter(Boolean).length, 3);
    const nodes = f.tool('kubectl', ['--kubeconfig', f.kubeconfig, 'get', 'nodes']);
    assert.equal(nodes.code, 0, nodes.stderr);
    const lines = nodes.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^NAME +STATUS +ROLES +AGE +VERSION$/);
    assert.match(lines[1]!, /^proxylab-control-plane +Ready +control-plane +\d+s +v1\.33\.1$/);
    assert.match(lines[2]!, /^proxylab-worker +Ready +<none> +\d+s +v1\.33\.1$/);
  }),
);

test(
  'the kube-proxy ConfigMap has every key of the real v1.34 one, with the mode from the kind config',
  withFake({}, (f) => {
    createCluster(f);
    const real = readFileSync(
      join(FIXTURES, 'kubectl/27-v1.34-get-cm-kube-proxy-yaml-complete.txt'),
      'utf8',
    ).split('# ---\n')[1]!;
    const realCm = parseYaml(real) as { data: Record<string, string> };
    const r = f.tool('kubectl', [
      '--kubeconfig',
      f.kubeconfig,
      '-n',
      'kube-system',
      'get',
      'cm',
      'kube-proxy',
      '-o',
      'yaml',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const cm = parseYaml(r.stdout) as { data: Record<string, string>; metadata: { name: string } };
    assert.equal(cm.metadata.name, 'kube-proxy');
    const realConf = parseYaml(realCm.data['config.conf']!) as Record<string, unknown>;
    const conf = parseYaml(cm.data['config.conf']!) as Record<string, unknown>;
    assert.deepEqual(keyPaths(conf).sort(), keyPaths(realConf).sort());
    assert.equal(conf.mode, 'ipvs');
    assert.equal(conf.clusterCIDR, '10.244.0.0/16');
    assert.deepEqual(
      keyPaths(parseYaml(cm.data['kubeconfig.conf']!)).sort(),
      keyPaths(parseYaml(realCm.data['kubeconfig.conf']!)).sort(),
    );
  }),
);

test(
  'kubectl get pod -o wide uses the column set of a real kind cluster',
  withFake({}, (f) => {
    createCluster(f);
    const real = readFileSync(
      join(FIXTURES, 'kubectl/07-kep2086-get-po-wide-kind.txt'),
      'utf8',
    ).split('# ---\n')[1]!;
    const realHead = real
      .split('\n')[0]!
      .trim()
      .split(/\s{2,}/);
    const r = f.tool('kubectl', [
      '--kubeconfig',
      f.kubeconfig,
      '-n',
      'kube-system',
      'get',
      'pods',
      '-o',
      'wide',
      '-l',
      'k8s-app=kube-proxy',
    ]);
    const lines = r.stdout.trimEnd().split('\n');
    assert.deepEqual(lines[0]!.trim().split(/\s{2,}/), realHead);
    assert.equal(lines.length, 4, r.stdout);
    for (const l of lines.slice(1))
      assert.match(
        l,
        /^kube-proxy-[a-z0-9]{5} +1\/1 +Running +0 +\d+s +172\.18\.0\.\d +proxylab-(control-plane|worker2?) +<none> +<none>$/,
      );
  }),
);

test(
  'rollout restart replaces kube-proxy pods and they pick up a changed ConfigMap',
  withFake({}, (f) => {
    createCluster(f);
    const kc = ['--kubeconfig', f.kubeconfig];
    const before = f.state().clusters.proxylab!.nodes.map((n) => n.datapath.kubeProxy!.pod);
    const cm = JSON.parse(
      f.tool('kubectl', [...kc, '-n', 'kube-system', 'get', 'cm', 'kube-proxy', '-o', 'json'])
        .stdout,
    ) as { data: Record<string, string> };
    cm.data['config.conf'] = cm.data['config.conf']!.replace(/^mode: .*$/m, 'mode: nftables');
    const applied = f.tool('kubectl', [...kc, 'apply', '-f', '-'], JSON.stringify(cm));
    assert.equal(applied.stdout, 'configmap/kube-proxy configured\n', applied.stderr);
    // The running pods still use the old mode until they restart.
    assert.deepEqual(
      f.state().clusters.proxylab!.nodes.map((n) => n.datapath.kubeProxy!.mode),
      ['ipvs', 'ipvs', 'ipvs'],
    );
    assert.equal(
      f.tool('kubectl', [...kc, '-n', 'kube-system', 'rollout', 'restart', 'ds/kube-proxy']).stdout,
      'daemonset.apps/kube-proxy restarted\n',
    );
    assert.equal(
      f.tool('kubectl', [...kc, '-n', 'kube-system', 'rollout', 'status', 'ds/kube-proxy']).stdout,
      'daemon set "kube-proxy" successfully rolled out\n',
    );
    const after = f.state().clusters.proxylab!.nodes;
    assert.deepEqual(
      after.map((n) => n.datapath.kubeProxy!.mode),
      ['nftables', 'nftables', 'nftables'],
    );
    for (const [i, n] of after.entries()) assert.notEqual(n.datapath.kubeProxy!.pod, before[i]);
    const logs = f.tool('kubectl', [
      ...kc,
      '-n',
      'kube-system',
      'logs',
      '-l',
      'k8s-app=kube-proxy',
    ]);
    assert.match(
      logs.stdout,
      /^I\d{4} \d\d:\d\d:\d\d\.\d{6} {7}1 server_linux\.go:\d+\] "Using nftables Proxier"$/m,
    );
  }),
);

test(
  'apply creates a deployment whose pods back a service; re-apply says unchanged',
  withFake({}, (f) => {
    createCluster(f);
    const kc = ['--kubeconfig', f.kubeconfig];
    const manifest = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: nginx, image: nginx:1.27}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80}]}
`;
    const file = join(f.dir, 'web.yaml');
    writeFileSync(file, manifest);
    assert.equal(
      f.tool('kubectl', [...kc, 'apply', '-f', file]).stdout,
      'deployment.apps/web created\nservice/web created\n',
    );
    assert.equal(
      f.tool('kubectl', [...kc, 'apply', '-f', file]).stdout,
      'deployment.apps/web unchanged\nservice/web unchanged\n',
    );
    const pods = JSON.parse(
      f.tool('kubectl', [...kc, 'get', 'pods', '-l', 'app=web', '-o', 'json']).stdout,
    ) as {
      items: Array<{
        metadata: { name: string };
        status: { podIP: string };
        spec: { nodeName: string };
      }>;
    };
    assert.equal(pods.items.length, 2);
    for (const p of pods.items) {
      assert.match(p.metadata.name, /^web-[a-z0-9]{10}-[a-z0-9]{5}$/);
      assert.match(p.spec.nodeName, /worker/);
    }
    const ep = f
      .tool('kubectl', [...kc, 'get', 'ep', 'web', '-o', 'jsonpath={.subsets[*].addresses[*].ip}'])
      .stdout.split(' ')
      .sort();
    assert.deepEqual(ep, pods.items.map((p) => p.status.podIP).sort());
    const svc = f.tool('kubectl', [...kc, 'get', 'svc', 'web']).stdout.split('\n')[1]!;
    assert.match(svc, /^web +ClusterIP +10\.96\.\d+\.\d+ +<none> +80\/TCP +\d+s$/);
  }),
);

test(
  'parallel invocations lose no update (lock + atomic rename)',
  withFake({}, async (f) => {
    createCluster(f);
    const run = (i: number) =>
      new Promise<number>((resolve) => {
        const doc = JSON.stringify({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `cm-${i}`, namespace: 'default' },
          data: { i: String(i) },
        });
        const c = spawn(
          join(FAKE_BIN, 'kubectl'),
          ['--kubeconfig', f.kubeconfig, 'apply', '-f', '-'],
          { env: f.env },
        );
        c.stdin.end(doc);
        c.on('close', (code) => resolve(code ?? 1));
      });
    const codes = await Promise.all(Array.from({ length: 12 }, (_, i) => run(i)));
    assert.deepEqual(codes, Array(12).fill(0));
    const names = f
      .tool('kubectl', ['--kubeconfig', f.kubeconfig, 'get', 'cm', '-o', 'name'])
      .stdout.trim()
      .split('\n');
    for (let i = 0; i < 12; i++) assert.ok(names.includes(`configmap/cm-${i}`), `cm-${i} missing`);
    assert.equal(f.callsMatching('kubectl', 'apply').length, 12);
  }),
);

test(
  'docker engine down: the real client message, for docker, kind and kubectl',
  withFake({ env: { FAKE_DOCKER_DOWN: '1' } }, (f) => {
    const info = f.tool('docker', ['info']);
    assert.equal(info.code, 1);
    assert.match(
      info.stderr,
      /^Cannot connect to the Docker daemon at unix:\/\/\/var\/run\/docker\.sock\. Is the docker daemon running\?$/m,
    );
    assert.match(f.tool('docker', ['version']).stdout, /^Client:/);
    const k = createCluster(f);
    assert.equal(k.code, 1);
    assert.match(k.stderr, /failed to list nodes.*\n.*Cannot connect to the Docker daemon/);
  }),
);

test(
  'kind create failing midway leaves its node containers behind',
  withFake({ env: { FAKE_KIND_CREATE_FAIL: 'kubeadm' } }, (f) => {
    const r = createCluster(f);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ERROR: failed to create cluster: failed to init node with kubeadm/);
    assert.equal(
      f.tool('docker', ['ps', '-a', '--format', '{{.Names}}']).stdout.split('\n').filter(Boolean)
        .length,
      3,
    );
    assert.equal(f.tool('kind', ['get', 'clusters']).stdout, 'proxylab\n');
    const del = f.tool('kind', ['delete', 'cluster', '--name', 'proxylab']);
    assert.match(
      del.stderr,
      /Deleted nodes: \["proxylab-control-plane" "proxylab-worker" "proxylab-worker2"\]/,
    );
    assert.equal(f.tool('kind', ['get', 'clusters']).stderr, 'No kind clusters found.\n');
  }),
);

test(
  'FAKE_FAIL fails matching calls (a limited number of times), FAKE_HANG hangs boundedly',
  withFake(
    {
      env: {
        FAKE_FAIL: 'docker exec ipvsadm=2@1:boom\\nline2',
        FAKE_HANG: 'kind get nodes',
        FAKE_HANG_MAX_MS: '300',
      },
    },
    (f) => {
      createCluster(f);
      const a = f.tool('docker', ['exec', 'proxylab-worker', 'ipvsadm', '-ln']);
      assert.deepEqual([a.code, a.stderr], [2, 'boom\nline2\n']);
      const b = f.tool('docker', ['exec', 'proxylab-worker', 'ipvsadm', '-ln']);
      assert.equal(b.code, 127, 'second call reaches the simulator: no ipvsadm in a kind node');
      assert.match(b.stderr, /exec: "ipvsadm": executable file not found in \$PATH/);
      const h = f.tool('kind', ['get', 'nodes', '--name', 'proxylab']);
      assert.equal(h.code, 124);
      const call = f.callsMatching('kind', 'get', 'nodes')[0]!;
      assert.ok(call.ms >= 300, `hang lasted ${call.ms} ms`);
    },
  ),
);

test(
  'kubectl without --kubeconfig is refused (proxylab must never use ~/.kube/config)',
  withFake({}, (f) => {
    createCluster(f);
    const r = f.tool('kubectl', ['get', 'nodes']);
    assert.equal(r.code, 70);
    assert.match(r.stderr, /no --kubeconfig/);
  }),
);
