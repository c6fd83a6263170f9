/**
 * Config rendering and validation per Kubernetes version, and every kind of bad input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { loadVersions } from '../../../src/config/versions.js';
import { resolveOptions, type RawOptions } from '../../../src/config/options.js';
import { renderKubeadm, kubeadmApiVersion } from '../../../src/config/kubeadm.js';
import { renderKind } from '../../../src/config/kind.js';
import { checkConfigText } from '../../../src/config/validate.js';
import { ConfigError } from '../../../src/config/problems.js';
import { SCHEDULER_NAMES } from '../../../src/steps/schedulers.js';
import { ROOT } from '../../helpers/cli.js';

const table = loadVersions({ PROXYLAB_VERSIONS_FILE: join(ROOT, 'configs/versions.yaml') });
const forConfig = (raw: RawOptions) =>
  resolveOptions(raw, { table, requireImage: false, defaultMode: 'ipvs' });
const forUp = (raw: RawOptions) => resolveOptions(raw, { table, requireImage: true });

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    assert.equal(e.exitCode, 2);
    return e.problems.map((p) => `${p.at}: ${p.message}`);
  }
  assert.fail('expected a ConfigError');
}

test('kubeadm config per version: v1beta3 up to 1.30, v1beta4 from 1.31; parses; mode and scheduler set', () => {
  for (let minor = 27; minor <= 37; minor++) {
    const { options } = forConfig({ k8s: `1.${minor}`, mode: 'ipvs', scheduler: 'wrr' });
    const docs = parseAllDocuments(renderKubeadm(options, table)).map(
      (d) => d.toJS() as Record<string, unknown>,
    );
    assert.equal(docs.length, 2);
    const [cc, kp] = docs as [Record<string, unknown>, Record<string, unknown>];
    assert.equal(
      cc.apiVersion,
      minor >= 31 ? 'kubeadm.k8s.io/v1beta4' : 'kubeadm.k8s.io/v1beta3',
      `1.${minor}`,
    );
    assert.equal(cc.kind, 'ClusterConfiguration');
    assert.match(String(cc.kubernetesVersion), new RegExp(`^v1\\.${minor}\\.\\d+$`));
    assert.deepEqual(kp, {
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      mode: 'ipvs',
      ipvs: { scheduler: 'wrr' },
    });
    // what we render passes our own strict check for that version
    assert.deepEqual(checkConfigText(renderKubeadm(options, table), minor).problems, []);
  }
  assert.equal(kubeadmApiVersion(35), 'kubeadm.k8s.io/v1beta4');
});

test('pinned versions render the pinned patch release', () => {
  const { options } = forConfig({ k8s: '1.33', mode: 'ipvs', scheduler: 'rr' });
  const cc = parseAllDocuments(renderKubeadm(options, table))[0]!.toJS() as {
    kubernetesVersion: string;
  };
  assert.equal(cc.kubernetesVersion, 'v1.33.7');
});

test('every valid scheduler is accepted; a typo lists all eleven', () => {
  for (const s of SCHEDULER_NAMES)
    assert.equal(forConfig({ mode: 'ipvs', scheduler: s }).options.scheduler, s);
  const p = problemsOf(() => forConfig({ k8s: '1.33', mode: 'ipvs', scheduler: 'rrr' }));
  assert.deepEqual(p, [
    '--scheduler: "rrr" is not an IPVS scheduler; valid: rr wrr lc wlc lblc lblcr sh dh sed nq mh',
  ]);
});

test('nftables before 1.31 is refused; from 1.31 on it renders', () => {
  assert.deepEqual(
    problemsOf(() => forConfig({ k8s: '1.30', mode: 'nftables' })),
    [
      '--mode: nftables mode needs Kubernetes 1.31 or newer (asked for 1.30); use --mode iptables or ipvs, or --k8s 1.31+',
    ],
  );
  const { options } = forConfig({ k8s: '1.31', mode: 'nftables' });
  assert.equal(
    (parseAllDocuments(renderKubeadm(options, table))[1]!.toJS() as { mode: string }).mode,
    'nftables',
  );
});

test('several bad inputs at once: one error listing every problem', () => {
  const p = problemsOf(() =>
    forConfig({ k8s: 'latest', mode: 'userspace', scheduler: 'fast', nodes: 'three' }),
  );
  assert.equal(p.length, 4, p.join('\n'));
  assert.match(p[0]!, /^--k8s: "latest" is not a Kubernetes version/);
  assert.match(
    p[1]!,
    /^--mode: "userspace" is not a kube-proxy mode; valid: iptables, ipvs, nftables/,
  );
  assert.match(p[2]!, /^--scheduler: "fast" is not an IPVS scheduler/);
  assert.match(p[3]!, /^--nodes: "three" must be a whole number/);
  assert.deepEqual(
    problemsOf(() => forConfig({ mode: 'iptables', scheduler: 'rr' })),
    ['--scheduler: a scheduler applies only to --mode ipvs (mode is iptables)'],
  );
  assert.match(
    problemsOf(() => forConfig({ k8s: '1.12' }))[0]!,
    /1\.12 is outside what proxylab renders \(1\.27 to 1\.37\)/,
  );
});

test('up needs a pinned image for the version; IPVS from 1.35 on warns about the deprecation', () => {
  assert.match(
    problemsOf(() => forUp({ k8s: '1.29' }))[0]!,
    /no kind node image is pinned for 1\.29; pinned: 1\.31, 1\.32, 1\.33, 1\.34, 1\.35/,
  );
  const { warnings } = forUp({ k8s: '1.35', mode: 'ipvs' });
  assert.match(warnings[0]!, /IPVS mode is deprecated since Kubernetes 1\.35/);
  assert.deepEqual(forUp({ k8s: '1.34', mode: 'ipvs' }).warnings, []);
});

test('kind config: nodes, kubeProxyMode, and the scheduler as a KubeProxyConfiguration patch', () => {
  const { options } = forConfig({ k8s: '1.33', mode: 'ipvs', scheduler: 'sh', nodes: '4' });
  const doc = parse(renderKind(options)) as {
    kind: string;
    apiVersion: string;
    networking: { kubeProxyMode: string };
    nodes: Array<{ role: string }>;
    kubeadmConfigPatches: string[];
  };
  assert.equal(doc.apiVersion, 'kind.x-k8s.io/v1alpha4');
  assert.equal(doc.networking.kubeProxyMode, 'ipvs');
  assert.deepEqual(
    doc.nodes.map((n) => n.role),
    ['control-plane', 'worker', 'worker', 'worker'],
  );
  assert.deepEqual(parse(doc.kubeadmConfigPatches[0]!), {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    ipvs: { scheduler: 'sh' },
  });
  assert.deepEqual(checkConfigText(renderKind(options), 33).problems, []);
  const plain = parse(renderKind(forConfig({ mode: 'iptables' }).options)) as Record<
    string,
    unknown
  >;
  assert.equal(plain.kubeadmConfigPatches, undefined);
});

test('the committed configs are valid for the versions they name', () => {
  for (const f of ['configs/kubeadm-config-ipvs-mode.yaml', 'configs/kind/cluster.yaml']) {
    const r = checkConfigText(readFileSync(join(ROOT, f), 'utf8'), 35);
    assert.deepEqual(r.problems, [], f);
  }
  const kind = parse(readFileSync(join(ROOT, 'configs/kind/cluster.yaml'), 'utf8')) as {
    nodes: Array<{ role: string }>;
  };
  assert.deepEqual(
    kind.nodes.map((n) => n.role),
    ['control-plane', 'worker', 'worker'],
  );
  const kubeadm = parseAllDocuments(
    readFileSync(join(ROOT, 'configs/kubeadm-config-ipvs-mode.yaml'), 'utf8'),
  ).map((d) => d.toJS() as { kind: string; mode?: string });
  assert.equal(kubeadm.find((d) => d.kind === 'KubeProxyConfiguration')?.mode, 'ipvs');
});

test('strict parsing: unknown keys, removed or wrong apiVersion, bad mode/scheduler/duration — all listed', () => {
  const text = `apiVersion: kubeadm.k8s.io/v1beta2
kind: ClusterConfiguration
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.33.1
networkin: {podSubnet: 10.244.0.0/16}
---
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: ipvss
ipvs:
  scheduler: rrr
  syncPeriod: 30 seconds
  schedular: rr
---
apiVersion: v1
kind: ConfigMap
`;
  const { problems } = checkConfigText(text, 33);
  const lines = problems.map((p) => `${p.at}: ${p.message}`);
  assert.deepEqual(lines, [
    'document 1 (ClusterConfiguration).apiVersion: kubeadm.k8s.io/v1beta2 was removed from kubeadm (v1beta2 in 1.27); use kubeadm.k8s.io/v1beta4 (Kubernetes 1.31+) or v1beta3 (up to 1.35)',
    'document 2 (ClusterConfiguration).networkin: unknown key (did you mean "networking"?)',
    'document 3 (KubeProxyConfiguration).mode: "ipvss" is not a proxy mode; valid: iptables, ipvs, nftables (or "" for the default, iptables)',
    'document 3 (KubeProxyConfiguration).ipvs.schedular: unknown key (did you mean "scheduler"?)',
    'document 3 (KubeProxyConfiguration).ipvs.syncPeriod: "30 seconds" is not a duration like 30s, 1m or 0s',
    'document 3 (KubeProxyConfiguration).ipvs.scheduler: "rrr" is not an IPVS scheduler; valid: rr wrr lc wlc lblc lblcr sh dh sed nq mh',
    `document 4 (ConfigMap): unsupported apiVersion/kind "v1" / "ConfigMap"; proxylab checks: kubeadm.k8s.io/v1beta3 or v1beta4: ClusterConfiguration, InitConfiguration, JoinConfiguration; kubeproxy.config.k8s.io/v1alpha1: KubeProxyConfiguration; kind.x-k8s.io/v1alpha4: Cluster`,
  ]);
});

test('kubeadm API version vs Kubernetes version: v1beta3 refused from 1.36, v1beta4 before 1.31', () => {
  const doc = (api: string) => `apiVersion: ${api}\nkind: ClusterConfiguration\n`;
  assert.deepEqual(checkConfigText(doc('kubeadm.k8s.io/v1beta3'), 35).problems, []);
  assert.match(
    checkConfigText(doc('kubeadm.k8s.io/v1beta3'), 36).problems[0]!.message,
    /Kubernetes 1\.36 does not accept kubeadm\.k8s\.io\/v1beta3; use kubeadm\.k8s\.io\/v1beta4/,
  );
  assert.match(
    checkConfigText(doc('kubeadm.k8s.io/v1beta4'), 30).problems[0]!.message,
    /Kubernetes 1\.30 does not accept kubeadm\.k8s\.io\/v1beta4; use kubeadm\.k8s\.io\/v1beta3/,
  );
  // v1beta4-only keys are unknown in v1beta3
  assert.match(
    checkConfigText(
      'apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nproxy: {disabled: true}\n',
    ).problems[0]!.at,
    /\.proxy$/,
  );
});

test('kind files: bad kubeProxyMode, roles, patches; nftables in kind before 1.31', () => {
  const text = `kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking:
  kubeProxyMode: nftables
  podSubnett: 10.0.0.0/16
nodes:
- role: master
kubeadmConfigPatches:
- |
  kind: KubeProxyConfiguration
  ipvs:
    scheduler: round-robin
`;
  const lines = checkConfigText(text, 30).problems.map((p) => `${p.at}: ${p.message}`);
  assert.deepEqual(lines, [
    'document (Cluster).networking.podSubnett: unknown key (did you mean "podSubnet"?)',
    'document (Cluster).networking.kubeProxyMode: nftables needs Kubernetes 1.31 or newer (checking for 1.30)',
    'document (Cluster).nodes[0].role: "master" must be control-plane or worker',
    'document (Cluster).nodes: needs at least one control-plane node',
    'document (Cluster).kubeadmConfigPatches[0].ipvs.scheduler: "round-robin" is not an IPVS scheduler; valid: rr wrr lc wlc lblc lblcr sh dh sed nq mh',
  ]);
  assert.match(
    checkConfigText(
      'kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnetworking: {kubeProxyMode: ipvs2}\n',
    ).problems[0]!.message,
    /kind accepts iptables, ipvs, nftables, none/,
  );
  assert.match(checkConfigText('not: [valid').problems[0]!.message, /not valid YAML/);
  assert.match(checkConfigText('').problems[0]!.message, /no YAML documents/);
});
