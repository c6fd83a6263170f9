/**
 * kube-proxy logs as they reach people: the IPVS deprecation in each wording kube-proxy has
 * used and as a Node event; logs wrapped by stern, logrus (k0s), journald, `--timestamps`;
 * klog's multi-line values; an IPv6-only cluster's crash. Messages are kube-proxy's own
 * (cmd/kube-proxy/app/server.go and server_linux.go, 1.35; the KEP-5495 wording as logged
 * by a later build, seen in a published lab transcript); the wrappers are applied to the
 * real v1.30.2 startup log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseKubeProxyLog, ipvsDeprecation } from '../../../src/inspect/kubeproxylog.js';
import { modern } from '../../helpers/fixtures.js';

const DEP_135 =
  "The ipvs proxier is now deprecated and may be removed in a future release. Please use 'nftables' instead.";
const DEP_KEP5495 =
  "The ipvs proxier has been deprecated and will be disabled by default in Kubernetes 1.40 and removed in Kubernetes 1.43. Migrate to the 'nftables' proxier instead.";

test('the IPVS deprecation is recognised in both wordings, with what each says', () => {
  for (const [msg, disabledIn, removedIn] of [
    [DEP_135, null, null],
    [DEP_KEP5495, '1.40', '1.43'],
  ] as const) {
    const l = parseKubeProxyLog(
      [
        'I0927 04:33:27.872797       1 server_linux.go:191] "Using ipvs Proxier"',
        `E0927 04:33:27.872809       1 server_linux.go:193] ${JSON.stringify(msg)}`,
      ].join('\n'),
    );
    assert.equal(l.mode, 'ipvs');
    assert.equal(l.deprecationWarning, true, msg);
    assert.deepEqual(l.deprecation, { message: msg, disabledIn, removedIn, use: 'nftables' });
    assert.equal(l.evidence.deprecationWarning!.line, 2);
  }
});

test('the IPVSDeprecation event, as kubectl get events and describe node print it', () => {
  const events = parseKubeProxyLog(
    [
      'LAST SEEN   TYPE      REASON            OBJECT              MESSAGE',
      `2m          Warning   IPVSDeprecation   node/kind-worker    ${DEP_KEP5495}`,
    ].join('\n'),
  );
  assert.equal(events.deprecationWarning, true);
  assert.equal(events.deprecation!.message, DEP_KEP5495);
  assert.equal(events.deprecation!.removedIn, '1.43');
  const describe = parseKubeProxyLog(
    `  Warning  IPVSDeprecation          3m    kube-proxy       ${DEP_135}`,
  );
  assert.equal(describe.deprecation!.message, DEP_135);
  // the reason alone still says it
  assert.equal(
    parseKubeProxyLog('Warning IPVSDeprecation node/kind-worker').deprecationWarning,
    true,
  );
});

test('other lines naming ipvs or a deprecation are not the IPVS deprecation', () => {
  for (const msg of [
    '"Using ipvs Proxier"',
    '"IPVS scheduler not specified, use rr by default"',
    '"The iptables proxier is deprecated"',
    'W1121 flag --cluster-cidr has been deprecated',
  ])
    assert.equal(ipvsDeprecation(msg), null, msg);
});

const startup = modern('kube-proxy-logs/01-v1.30.2-kubeadm-ipvs-dualstack-startup.txt').body;
const want = parseKubeProxyLog(startup);

function wrap(f: (line: string, i: number) => string): string {
  return startup
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(f)
    .join('\n');
}

test('the real startup log through stern, journald, logrus and --timestamps: same mode, version, scheduler', () => {
  assert.equal(want.mode, 'ipvs');
  assert.equal(want.version, 'v1.30.2');
  const wrappers: Record<string, [(l: string, i: number) => string, string | null]> = {
    stern: [(l) => `kube-proxy-7xk2p kube-proxy ${l}`, 'kube-proxy-7xk2p'],
    'stern --timestamps': [
      (l, i) =>
        `kube-proxy-7xk2p kube-proxy 2024-07-19T14:55:07.${String(i).padStart(9, '0')}Z ${l}`,
      'kube-proxy-7xk2p',
    ],
    'kubectl logs --timestamps': [(l) => `2024-07-19T14:55:07.072362000Z ${l}`, null],
    journald: [(l) => `Jul 19 14:55:07 node1 kube-proxy[812]: ${l}`, 'node1'],
    'journalctl -o short-iso': [
      (l) => `2024-07-19T14:55:07+0000 node1 kube-proxy[812]: ${l}`,
      'node1',
    ],
    'logrus (k0s)': [
      (l) =>
        `time="2024-07-19 14:55:07" level=info msg=${JSON.stringify(l)} component=kube-proxy stream=stderr`,
      null,
    ],
  };
  for (const [name, [f, source]] of Object.entries(wrappers)) {
    const l = parseKubeProxyLog(wrap(f));
    assert.equal(l.mode, 'ipvs', name);
    assert.equal(l.version, 'v1.30.2', name);
    assert.equal(l.defaultScheduler, 'rr', name);
    assert.equal(l.records, want.records, name);
    assert.deepEqual(
      l.sources.map((s) => s.source),
      source ? [source] : [],
      `${name}: one source, or none`,
    );
  }
});

test('an IPv6-only crash: the fatal error with its quoted family, through logrus and with klog multi-line values', () => {
  const crash = [
    'I1121 10:00:00.100000       1 server_linux.go:69] "Successfully retrieved node IP(s)" IPs=["fd00:10:1::3"]',
    'I1121 10:00:00.100100       1 server.go:254] "kube-proxy running in single-stack mode" ipFamily="IPv6"',
    'E1121 10:00:00.200000       1 run.go:72] "command failed" err="no support for primary IP family \\"IPv6\\""',
  ];
  const plain = parseKubeProxyLog(crash.join('\n'));
  assert.equal(plain.fatal, 'no support for primary IP family "IPv6"');
  assert.equal(plain.evidence.fatal!.line, 3);
  const logrus = parseKubeProxyLog(
    crash
      .map(
        (l) =>
          `time="2024-07-19 14:55:07" level=info msg=${JSON.stringify(l)} component=kube-proxy`,
      )
      .join('\n'),
  );
  assert.equal(logrus.fatal, 'no support for primary IP family "IPv6"');
  // klog writes a value holding newlines as `err=<`, tab-indented lines, ` >`
  const multi = parseKubeProxyLog(
    [
      '[pod/kube-proxy-v6x/kube-proxy] I1121 10:00:00.100000       1 server_linux.go:191] "Using ipvs Proxier"',
      '[pod/kube-proxy-v6x/kube-proxy] E1121 10:00:00.200000       1 run.go:72] "command failed" err=<',
      "[pod/kube-proxy-v6x/kube-proxy] \tcan't use the IPVS proxier: IPVS proxier will not be used because:",
      '[pod/kube-proxy-v6x/kube-proxy] \t  the kernel has no ip_vs module for [fd00:10:96::1]:443',
      '[pod/kube-proxy-v6x/kube-proxy]  >',
    ].join('\n'),
  );
  assert.equal(multi.mode, 'ipvs');
  assert.equal(
    multi.fatal,
    "can't use the IPVS proxier: IPVS proxier will not be used because:\nthe kernel has no ip_vs module for [fd00:10:96::1]:443",
  );
  assert.equal(multi.evidence.fatal!.line, 2);
  assert.equal(multi.sources[0]!.fatal, multi.fatal);
  // a ≤1.25 fallback on an IPv6 node still reads as a fallback
  const fb = parseKubeProxyLog(
    [
      "E0626 17:19:43.491383       1 server_others.go:127] Can't use the IPVS proxier: IPVS proxier will not be used because the following required kernel modules are not loaded: [ip_vs]",
      'I0626 17:19:43.491500       1 server_others.go:143] Using iptables Proxier.',
      'I0626 17:19:43.491600       1 server_others.go:150] Tearing down inactive rules. [fd00::1]',
    ].join('\n'),
  );
  assert.equal(fb.fallback, true);
  assert.equal(fb.mode, 'iptables');
});
