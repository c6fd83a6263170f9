/**
 * Issue 17: the fake answers as the Kubernetes version of the node image (kind v0.31.0's
 * 1.31, 1.33 and 1.35), with the differences that exist between them. Each expectation
 * names its source (test/fake/model/k8s-versions.mjs holds the same facts with theirs).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createFake, createFakeCluster } from '../helpers/fake.js';

const IMAGES = { '1.31': 'v1.31.14', '1.33': 'v1.33.7', '1.35': 'v1.35.0' } as const;

function cluster(v: keyof typeof IMAGES, mode: string) {
  const fake = createFake();
  const r = createFakeCluster(fake, { mode, image: IMAGES[v] });
  assert.equal(r.code, 0, r.stderr);
  const kubectl = (args: string[]) =>
    fake.tool('kubectl', ['--kubeconfig', fake.kubeconfig, ...args]);
  return { fake, kubectl };
}

/** The messages of kube-proxy's start-up log, klog headers cut (file:line kept apart). */
function messages(log: string): Array<[string, string]> {
  return log
    .split('\n')
    .map((l) => /^[IEW]\d{4} [\d:.]+ +\d+ ([\w.]+:\d+)\] (.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => [m[1]!, m[2]!]);
}

for (const v of Object.keys(IMAGES) as Array<keyof typeof IMAGES>) {
  test(`kube-proxy ${v} in ipvs mode: start-up lines, deprecation and its Node event as ${v} writes them`, () => {
    const { fake, kubectl } = cluster(v, 'ipvs');
    try {
      const log = kubectl(['-n', 'kube-system', 'logs', 'ds/kube-proxy']);
      assert.equal(log.code, 0, log.stderr);
      const msgs = messages(log.stdout);
      const text = msgs.map((m) => m[1]);
      const minor = Number(v.split('.')[1]);
      // 1.33+: node IPs after the node informer cache syncs (real v1.34.5 / v1.36.1 logs);
      // 1.31–1.32: "Successfully retrieved node IP(s)" (real v1.32.13 log, kube-proxy-logs/08)
      if (minor >= 33) {
        assert.ok(
          text.some((t) => t.startsWith('"Successfully retrieved NodeIPs" NodeIPs=["172.18.0.')),
        );
        assert.ok(text.includes('"Caches are synced" controller="node informer cache"'));
        assert.ok(!text.some((t) => t.startsWith('"Successfully retrieved node IP(s)"')));
      } else {
        assert.ok(
          text.some((t) => t.startsWith('"Successfully retrieved node IP(s)" IPs=["172.18.0.')),
        );
        assert.ok(!text.some((t) => t.includes('node informer cache')));
      }
      const using = text.indexOf('"Using ipvs Proxier"');
      assert.ok(using >= 0, log.stdout);
      const deprecation =
        '"The ipvs proxier is now deprecated and may be removed in a future release. Please use \'nftables\' instead."';
      // the deprecation (Error level, right after "Using ipvs Proxier") only from 1.35 (KEP-5495)
      if (minor >= 35) {
        assert.equal(text[using + 1], deprecation);
        assert.match(log.stdout, /^E\d{4} .*The ipvs proxier is now deprecated/m);
      } else assert.ok(!text.includes(deprecation), log.stdout);
      assert.ok(text.includes(`"Version info" version="${IMAGES[v]}"`));
      const events = kubectl(['get', 'events', '-o', 'json']);
      const reasons = (JSON.parse(events.stdout) as { items: Array<{ reason: string }> }).items.map(
        (e) => e.reason,
      );
      assert.equal(reasons.filter((r) => r === 'IPVSDeprecation').length, minor >= 35 ? 3 : 0);
    } finally {
      fake.cleanup();
    }
  });
}

test('every version: the same Debian 12 base (kind v0.31.0 base image), kubelet of the image; kubectl v1.35.0 warns about the skew on 1.31 and 1.33 only', () => {
  for (const v of Object.keys(IMAGES) as Array<keyof typeof IMAGES>) {
    const { fake, kubectl } = cluster(v, 'iptables');
    try {
      const nodes = JSON.parse(kubectl(['get', 'nodes', '-o', 'json']).stdout) as {
        items: Array<{ status: { nodeInfo: Record<string, string> } }>;
      };
      for (const n of nodes.items) {
        assert.equal(n.status.nodeInfo.kubeletVersion, IMAGES[v]);
        assert.equal(n.status.nodeInfo.osImage, 'Debian GNU/Linux 12 (bookworm)');
        assert.equal(n.status.nodeInfo.containerRuntimeVersion, 'containerd://2.2.0');
      }
      const ver = kubectl(['version']);
      assert.equal(ver.code, 0);
      assert.match(
        ver.stdout,
        new RegExp(`^Server Version: ${IMAGES[v].replace(/\./g, '\\.')}$`, 'm'),
      );
      const minor = Number(v.split('.')[1]);
      if (minor < 34)
        assert.equal(
          ver.stderr,
          `WARNING: version difference between client (1.35) and server (1.${minor}) exceeds the supported minor version skew of +/-1\n`,
        );
      else assert.equal(ver.stderr, '');
    } finally {
      fake.cleanup();
    }
  }
});

test('the node tools answer --version as Debian 12 packages print them; ipset and ipvsadm only once installed', () => {
  const { fake } = cluster('1.35', 'iptables');
  try {
    const v = (t: string) => fake.tool('docker', ['exec', 'proxylab-worker', t, '--version']);
    // kind's node image: iptables and nft (run here, Debian 12: the same packages)
    assert.equal(v('iptables').stdout, 'iptables v1.8.9 (nf_tables)\n');
    assert.equal(v('nft').stdout, 'nftables v1.0.6 (Lester Gooch #5)\n');
    for (const t of ['ipset', 'ipvsadm']) {
      const r = v(t);
      assert.equal(r.code, 127);
      assert.match(r.stderr, new RegExp(`exec: "${t}": executable file not found`));
    }
    fake.tool('docker', [
      'exec',
      'proxylab-worker',
      'sh',
      '-c',
      'apt-get install -y "$@"',
      'sh',
      'ipvsadm',
      'ipset',
    ]);
    assert.equal(v('ipset').stdout, 'ipset v7.17, protocol version: 7\n');
    // bookworm's ipvsadm 1.31-1+b1: its binary's format string with the kernel's IPVS 1.2.1
    assert.equal(
      v('ipvsadm').stdout,
      'ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)\n',
    );
  } finally {
    fake.cleanup();
  }
});
