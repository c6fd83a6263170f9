import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseKubeProxyLog,
  parseProxyMode,
  ParseError,
  type KubeProxyLog,
} from '../../../src/inspect/index.js';
import { real, realFiles, seed, seedFiles } from '../../helpers/fixtures.js';

const contract = (l: KubeProxyLog) => ({
  mode: l.mode,
  fallback: l.fallback,
  fatal: l.fatal,
  deprecationWarning: l.deprecationWarning,
  version: l.version,
});

test('the shared kube-proxy logs: mode and version', () => {
  const files = realFiles('kube-proxy-logs');
  assert.deepEqual(files, [
    'kube-proxy-logs/01-v1.28.15-iptables-structured.txt',
    'kube-proxy-logs/02-v1.15-binary-iptables-single-line.txt',
  ]);
  const a = parseKubeProxyLog(real(files[0]!).body);
  assert.deepEqual(contract(a), {
    mode: 'iptables',
    fallback: false,
    fatal: null,
    deprecationWarning: false,
    version: 'v1.28.15',
  });
  assert.equal(a.evidence.mode!.line, 7, 'the last mode line ("Using iptables Proxier") decides');
  assert.equal(a.records, 21);
  const b = parseKubeProxyLog(real(files[1]!).body);
  assert.deepEqual(contract(b), {
    mode: 'iptables',
    fallback: false,
    fatal: null,
    deprecationWarning: false,
    version: null,
  });
});

const SEEDS: Record<
  string,
  Partial<ReturnType<typeof contract>> & { extra?: (l: KubeProxyLog) => void }
> = {
  '000-kube-proxy-log-ipvs-v1.15.txt': {
    mode: 'ipvs',
    version: 'v1.15.5',
    extra: (l) => assert.equal(l.defaultScheduler, 'rr'),
  },
  '000-kube-proxy-log-iptables-v1.15.txt': { mode: 'iptables', version: 'v1.15.5' },
  '001-kube-proxy-log-cant-use-ipvs.txt': { mode: null, fallback: true, fatal: null },
  '002-kube-proxy-log-ipvs-fenced.txt': {
    mode: 'ipvs',
    version: null,
    extra: (l) => assert.equal(l.records, 4),
  },
  '004-kube-proxy-log-iptables-assumed.txt': {
    mode: 'iptables',
    extra: (l) => assert.equal(l.modeDefaulted, true),
  },
  '004-kube-proxy-log-ipvs-structured.txt': { mode: 'ipvs', fallback: false },
};

test('every kube-proxy log block in the seeds', () => {
  const files = seedFiles('kube-proxy-log');
  assert.equal(files.length, Object.keys(SEEDS).length);
  for (const f of files) {
    const want = SEEDS[f];
    assert.ok(want, `${f}: no assertions`);
    const l = parseKubeProxyLog(seed(f).body);
    const { extra, ...fields } = want;
    for (const [k, v] of Object.entries(fields))
      assert.deepEqual(contract(l)[k as keyof ReturnType<typeof contract>], v, `${f}: ${k}`);
    extra?.(l);
  }
});

test('≥1.26 fatal, 1.35 deprecation, nftables and a v1.8–1.25 fallback with the iptables line after it', () => {
  const fatal = parseKubeProxyLog(
    [
      'I1121 10:00:00.100000       1 server_linux.go:66] "Using ipvs Proxier"',
      'E1121 10:00:00.200000       1 proxier.go:596] "Can\'t read the ipvs" err="could not get IPVS services: operation not permitted"',
      'E1121 10:00:00.300000       1 run.go:72] "command failed" err="can\'t use the IPVS proxier: could not get IPVS services: operation not permitted"',
    ].join('\n'),
  );
  assert.equal(
    fatal.fatal,
    "can't use the IPVS proxier: could not get IPVS services: operation not permitted",
  );
  assert.equal(fatal.fallback, false);
  assert.equal(fatal.evidence.fatal!.line, 3);
  const dep = parseKubeProxyLog(
    [
      'I1121 10:00:00.100000       1 server_linux.go:66] "Using ipvs Proxier"',
      'E1121 10:00:00.100100       1 server_linux.go:70] "The ipvs proxier is now deprecated and may be removed in a future release. Please use \'nftables\' instead."',
      'I1121 10:00:00.200000       1 server.go:529] "Version info" version="v1.35.0"',
    ].join('\n'),
  );
  assert.deepEqual(contract(dep), {
    mode: 'ipvs',
    fallback: false,
    fatal: null,
    deprecationWarning: true,
    version: 'v1.35.0',
  });
  const nft = parseKubeProxyLog(
    'I1121 10:00:00.1       1 server_linux.go:78] "Using nftables Proxier"\n',
  );
  assert.equal(nft.mode, 'nftables');
  const fb = parseKubeProxyLog(
    [
      "E0626 17:19:43.491383       1 server_others.go:127] Can't use the IPVS proxier: IPVS proxier will not be used because the following required kernel modules are not loaded: [ip_vs]",
      'I0626 17:19:43.491500       1 server_others.go:143] Using iptables Proxier.',
    ].join('\n'),
  );
  assert.deepEqual(contract(fb), {
    mode: 'iptables',
    fallback: true,
    fatal: null,
    deprecationWarning: false,
    version: null,
  });
});

test('pod-name prefixes (kubectl --prefix, stern) and journald prefixes give per-pod results', () => {
  const l = parseKubeProxyLog(
    [
      '[pod/kube-proxy-7xk2p/kube-proxy] I1121 10:00:00.100000       1 server_linux.go:66] "Using ipvs Proxier"',
      'kube-proxy-q9z8d kube-proxy I1121 10:00:00.100000       1 server_linux.go:66] "Using iptables proxy"',
      'Nov 21 10:00:00 node1 kube-proxy[1234]: I1121 10:00:00.100000    1234 server.go:529] "Version info" version="v1.33.1"',
    ].join('\n'),
  );
  assert.deepEqual(
    l.sources.map((s) => [s.source, s.mode]),
    [
      ['kube-proxy-7xk2p', 'ipvs'],
      ['kube-proxy-q9z8d', 'iptables'],
      ['node1', null],
    ],
  );
  assert.deepEqual(l.modesSeen, ['ipvs', 'iptables']);
  assert.equal(l.version, 'v1.33.1');
});

test('JSON logging format', () => {
  const l = parseKubeProxyLog(
    '{"ts":1700000000000.1,"caller":"app/server_linux.go:66","msg":"Using ipvs Proxier","v":0}\n',
  );
  assert.equal(l.mode, 'ipvs');
});

test('not kube-proxy logs is refused; /proxyMode answers', () => {
  for (const t of ['', 'hello', 'TCP  10.96.0.1:443 rr']) {
    assert.throws(
      () => parseKubeProxyLog(t),
      (e: unknown) => e instanceof ParseError && e.format === 'kube-proxy-log',
    );
  }
  assert.deepEqual(parseProxyMode('ipvs'), { mode: 'ipvs' });
  assert.deepEqual(parseProxyMode('iptables\n'), { mode: 'iptables' });
  assert.throws(() => parseProxyMode('404 page not found'), ParseError);
});
