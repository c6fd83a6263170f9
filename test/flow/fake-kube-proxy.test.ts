/**
 * The fake toolchain tells the truth about kube-proxy 1.35 on kind v0.31 (issue 16): what
 * each mode programs on a node and how the node's tools print it. Every expectation below
 * names the source it comes from (kube-proxy's or kind's source at the pinned versions, the
 * real programs run here, or a real capture); each failed on the fake before issue 16.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { newLab, type Lab } from './steps-helpers.js';

let ipvs: Lab;
const exec = (lab: Lab, node: string, argv: string[]) =>
  lab.fake.tool('docker', ['exec', node, ...argv]);

before(async () => {
  ipvs = newLab({ mode: 'ipvs' });
  const web = await ipvs.cli(['web']);
  assert.equal(web.code, 0, web.stderr);
  // kind's node image has neither ipvsadm nor ipset: install them the way node-tools does
  for (const n of ['proxylab-control-plane', 'proxylab-worker', 'proxylab-worker2'])
    exec(ipvs, n, ['sh', '-c', 'apt-get install -y "$@"', 'sh', 'ipvsadm', 'ipset']);
});
after(() => ipvs?.fake.cleanup());

function chainRules(save: string, chain: string): string[] {
  return save.split('\n').filter((l) => l.startsWith(`-A ${chain} `));
}

function table(save: string, name: string): string {
  const at = save.indexOf(`*${name}\n`);
  assert.ok(at >= 0, `*${name} in:\n${save}`);
  return save.slice(at, save.indexOf('COMMIT', at));
}

test('IPVS mode: nat and filter tables as the 1.35 proxier writes them (proxier.go writeIptablesRules)', () => {
  const save = exec(ipvs, 'proxylab-worker', ['iptables-save']).stdout;
  const nat = table(save, 'nat');
  const filter = table(save, 'filter');
  // since 1.26 KUBE-SERVICES starts by dismissing localhost
  assert.deepEqual(chainRules(nat, 'KUBE-SERVICES'), [
    '-A KUBE-SERVICES -s 127.0.0.0/8 -j RETURN',
    '-A KUBE-SERVICES ! -s 10.244.0.0/16 -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ',
    '-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT',
    '-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT',
  ]);
  assert.deepEqual(chainRules(nat, 'KUBE-LOAD-BALANCER'), [
    '-A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ',
  ]);
  // iptablesChains: the filter-table chains, printed sorted after the built-ins
  assert.deepEqual(
    filter.split('\n').filter((l) => l.startsWith(':')),
    [
      ':INPUT ACCEPT [0:0]',
      ':FORWARD ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':KUBE-FORWARD - [0:0]',
      ':KUBE-IPVS-FILTER - [0:0]',
      ':KUBE-IPVS-OUT-FILTER - [0:0]',
      ':KUBE-NODE-PORT - [0:0]',
      ':KUBE-PROXY-FIREWALL - [0:0]',
      ':KUBE-SOURCE-RANGES-FIREWALL - [0:0]',
    ],
  );
  // iptablesJumpChain, each prepended: the last ensured is first
  assert.deepEqual(chainRules(filter, 'INPUT'), [
    '-A INPUT -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-FILTER',
    '-A INPUT -m comment --comment "kube-proxy firewall rules" -j KUBE-PROXY-FIREWALL',
    '-A INPUT -m comment --comment "kubernetes health check rules" -j KUBE-NODE-PORT',
  ]);
  assert.deepEqual(chainRules(filter, 'FORWARD'), [
    '-A FORWARD -m comment --comment "kube-proxy firewall rules" -j KUBE-PROXY-FIREWALL',
    '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
  ]);
  assert.equal(
    chainRules(filter, 'KUBE-IPVS-FILTER').at(-1),
    '-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT --reject-with icmp-port-unreachable',
  );
  // the real iptables-nft-save prints filter before nat
  assert.ok(save.indexOf('*filter') < save.indexOf('*nat'));
  // the IPv6 proxier: ::1 dismissed, no ClusterIP rules (no IPv6 services), KUBE-6- sets
  const save6 = exec(ipvs, 'proxylab-worker', ['ip6tables-save']).stdout;
  assert.deepEqual(chainRules(table(save6, 'nat'), 'KUBE-SERVICES'), [
    '-A KUBE-SERVICES -s ::1/128 -j RETURN',
    '-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT',
  ]);
  assert.match(
    table(save6, 'filter'),
    /--match-set KUBE-6-IPVS-IPS dst -j REJECT --reject-with icmp6-port-unreachable/,
  );
});

test('IPVS NodePorts: on every node address but loopback and kube-ipvs0, incl. the kindnet ptp gateway', () => {
  const np = ipvs
    .kubectl(['get', 'svc', 'web-nodeport', '-o', 'jsonpath={.spec.ports[0].nodePort}'])
    .stdout.trim();
  const pods = JSON.parse(ipvs.kubectl(['get', 'pods', '-A', '-o', 'json']).stdout) as {
    items: Array<{ spec: { nodeName: string; hostNetwork?: boolean }; status: { podIP: string } }>;
  };
  for (const [i, node] of [
    'proxylab-control-plane',
    'proxylab-worker',
    'proxylab-worker2',
  ].entries()) {
    const out = exec(ipvs, node, ['ipvsadm', '-Ln']).stdout;
    const addrs = [...out.matchAll(new RegExp(`^TCP  ([\\d.]+):${np} rr$`, 'gm'))]
      .map((m) => m[1])
      .sort();
    const hasPods = pods.items.some(
      (p) =>
        p.spec.nodeName === node && !p.spec.hostNetwork && p.status.podIP.startsWith('10.244.'),
    );
    assert.ok(hasPods, `${node} runs a pod on the pod network`);
    // eth0 (172.18.0.N) and the ptp gateway 10.244.N.1 (real capture ipvsadm/04); no 127.0.0.1 since 1.22
    assert.deepEqual(addrs, [`10.244.${i}.1`, `172.18.0.${i + 2}`], `${node}:\n${out}`);
    assert.doesNotMatch(out, /127\.0\.0\.1:/);
  }
  // ipvsadm sorts: protocol, then address as a wrapping 32-bit difference (172.18.x before
  // 10.x), then port (libipvs ipvs_cmp_services; H2's conformance run in the micro-VM)
  const vs = exec(ipvs, 'proxylab-worker', ['ipvsadm', '-Ln'])
    .stdout.split('\n')
    .filter((l) => /^(TCP|UDP) /.test(l));
  assert.match(vs[0]!, /^TCP {2}172\.18\.0\.3:/);
  assert.match(vs.at(-1)!, /^UDP {2}10\.96\.0\.10:53 /);
});

test('ipset list as ipset 7.17 prints on a ≥6.1 kernel; kube-ipvs0 without brd, as a DOWN dummy device', () => {
  const cip = exec(ipvs, 'proxylab-worker', ['ipset', 'list', 'KUBE-CLUSTER-IP']).stdout;
  assert.match(
    cip,
    /^Type: hash:ip,port\nRevision: 7\nHeader: family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x[0-9a-f]{8}\n/m,
  );
  // nat KUBE-SERVICES twice and filter KUBE-IPVS-FILTER once (real capture ipset/03: References: 3)
  assert.match(cip, /^References: 3$/m);
  const lb = exec(ipvs, 'proxylab-worker', ['ipset', 'list', 'KUBE-LOOP-BACK']).stdout;
  assert.match(lb, /^Type: hash:ip,port,ip\nRevision: 6\n/m);
  const np = exec(ipvs, 'proxylab-worker', ['ipset', 'list', 'KUBE-NODE-PORT-TCP']).stdout;
  assert.match(
    np,
    /^Type: bitmap:port\nRevision: 3\nHeader: range 0-65535\nSize in memory: 8264\n/m,
  );
  const names = exec(ipvs, 'proxylab-worker', ['ipset', 'list', '-n'])
    .stdout.split('\n')
    .filter(Boolean);
  // every set of ipsetInfo, for both families; IPv6 names cut to 31 characters
  assert.equal(names.length, 34);
  assert.ok(names.includes('KUBE-6-LOAD-BALANCER-SOURCE-CID'));
  assert.ok(names.every((n) => n.length <= 31));
  const addr = exec(ipvs, 'proxylab-worker', ['ip', 'addr', 'show', 'kube-ipvs0']).stdout;
  assert.match(
    addr,
    /^\d+: kube-ipvs0: <BROADCAST,NOARP> mtu 1500 qdisc noop state DOWN group default qlen 1000\n/,
  );
  assert.match(addr, /^ {4}inet 10\.96\.0\.1\/32 scope global kube-ipvs0$/m);
  assert.doesNotMatch(addr, /brd 10\./);
});

test('iptables 1.8.9 -nvL prints protocol numbers (checked with the real iptables here)', () => {
  const out = exec(ipvs, 'proxylab-worker', [
    'iptables',
    '-t',
    'nat',
    '-nvL',
    'KUBE-NODE-PORT',
  ]).stdout;
  assert.match(out, / KUBE-MARK-MASQ {2}6 {4}-- /);
  const svc = exec(ipvs, 'proxylab-worker', [
    'iptables',
    '-t',
    'nat',
    '-nvL',
    'KUBE-SERVICES',
  ]).stdout;
  assert.match(
    svc,
    /^ {4}0 {5}0 RETURN {5}0 {4}-- {2}\* {6}\* {7}127\.0\.0\.0\/8 {10}0\.0\.0\.0\/0 {11}$/m,
  );
  const bad = exec(ipvs, 'proxylab-worker', ['iptables', '-t', 'nat', '-nvL', 'NOPE']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /chain `NOPE' in table `nat' is incompatible, use 'nft' tool\./);
});

test('kube-proxy 1.35 logs in IPVS mode; the IPVSDeprecation Event; kubectl logs ds/ names its pod on stderr', () => {
  const r = ipvs.fake.tool('kubectl', [
    '--kubeconfig',
    ipvs.fake.kubeconfig,
    '-n',
    'kube-system',
    'logs',
    'ds/kube-proxy',
  ]);
  assert.match(r.stderr, /^Found 3 pods, using pod\/kube-proxy-[a-z0-9]{5}\n$/);
  assert.doesNotMatch(r.stdout, /Found 3 pods/);
  const lines = r.stdout.split('\n');
  const using = lines.findIndex((l) => l.endsWith('"Using ipvs Proxier"'));
  assert.ok(using > 0 && lines[using]!.startsWith('I'));
  assert.match(
    lines[using + 1]!,
    /^E\d{4} .*"The ipvs proxier is now deprecated and may be removed in a future release\. Please use 'nftables' instead\."$/,
  );
  assert.ok(
    lines.some((l) =>
      l.endsWith('"kube-proxy running in dual-stack mode" primary ipFamily="IPv4"'),
    ),
  );
  // kind always sets the mode, so platformApplyDefaults never logs "Using … proxy"
  assert.doesNotMatch(r.stdout, /"Using \w+ proxy"/);
  const ev = ipvs.kubectl(['get', 'events']).stdout;
  assert.match(
    ev,
    /Warning {3}IPVSDeprecation {3}node\/proxylab-worker +The ipvs proxier is now deprecated/,
  );
});

test('a new kind cluster: ConfigMap mode iptables (kind writes it), /proxyMode without a newline', () => {
  const lab = newLab({ mode: 'iptables' });
  try {
    const conf = lab.kubectl([
      '-n',
      'kube-system',
      'get',
      'configmap',
      'kube-proxy',
      '-o',
      'jsonpath={.data.config\\.conf}',
    ]).stdout;
    assert.match(conf, /^mode: iptables$/m);
    const pm = exec(lab, 'proxylab-worker', ['curl', '-s', 'http://127.0.0.1:10249/proxyMode']);
    assert.equal(pm.stdout, 'iptables');
    const logs = lab.kubectl(['-n', 'kube-system', 'logs', 'ds/kube-proxy']).stdout;
    assert.doesNotMatch(logs, /"Using iptables proxy"/);
    assert.match(logs, /"Using iptables Proxier"/);
  } finally {
    lab.fake.cleanup();
  }
});

for (const [k8s, masq] of [
  ['v1.35.0', 'ip daddr 10.96.0.1 ip saddr != 10.244.0.0/16 jump mark-for-masquerade'],
  [
    'v1.33.1',
    'ip daddr 10.96.0.1 tcp dport 443 ip saddr != 10.244.0.0/16 jump mark-for-masquerade',
  ],
] as const)
  test(`nftables mode on ${k8s}: masquerade rule (PR #131492 in 1.34), NodePorts through @nodeport-ips`, () => {
    const lab = newLab({ mode: 'nftables', k8s });
    try {
      const t = exec(lab, 'proxylab-worker', ['nft', 'list', 'table', 'ip', 'kube-proxy']).stdout;
      const svc = /\tchain service-[A-Z2-7]{8}-default\/kubernetes\/tcp\/https \{\n([^}]*)\}/.exec(
        t,
      );
      assert.ok(svc, t);
      assert.equal(svc[1]!.split('\n')[0], `\t\t${masq}`);
      // one endpoint still goes through numgen (real capture nft/02, v1.32.1)
      assert.match(svc[1]!, /\t\tnumgen random mod 1 vmap \{ 0 : goto endpoint-/);
      assert.match(
        t,
        /\t\tip daddr @nodeport-ips meta l4proto \. th dport vmap @service-nodeports\n/,
      );
      assert.doesNotMatch(t, /fib daddr type local/);
      assert.match(
        t,
        /\tset nodeport-ips \{\n\t\ttype ipv4_addr\n\t\tcomment "IPs that accept NodePort traffic"\n\t\telements = \{ 172\.18\.0\.3 \}\n/,
      );
      assert.match(
        t,
        /\tchain nat-output \{\n\t\ttype nat hook output priority -100; policy accept;\n\t\tjump services\n/,
      );
      // nft 1.0.6: no blank line after the table comment (real capture nft/02)
      assert.match(
        t,
        /^table ip kube-proxy \{\n\tcomment "rules for kube-proxy"\n\tset cluster-ips \{\n/,
      );
      // both families' tables exist and list
      assert.match(
        exec(lab, 'proxylab-worker', ['nft', 'list', 'tables']).stdout,
        /^table ip6 kube-proxy$/m,
      );
      const t6 = exec(lab, 'proxylab-worker', ['nft', 'list', 'table', 'ip6', 'kube-proxy']);
      assert.equal(t6.code, 0, t6.stderr);
      assert.match(t6.stdout, /\t\tip6 daddr \. meta l4proto \. th dport vmap @service-ips\n/);
      // platformCleanup: kube-proxy in nftables mode leaves no KUBE- chains in iptables
      assert.doesNotMatch(exec(lab, 'proxylab-worker', ['iptables-save']).stdout, /KUBE-/);
    } finally {
      lab.fake.cleanup();
    }
  });

test('iptables mode: NodePorts through KUBE-EXT chains, statistic probabilities as iptables prints them', async () => {
  const lab = newLab({ mode: 'iptables' });
  try {
    const web = await lab.cli(['web']);
    assert.equal(web.code, 0, web.stderr);
    const save = exec(lab, 'proxylab-worker', ['iptables-save', '-t', 'nat']).stdout;
    const np = lab
      .kubectl(['get', 'svc', 'web-nodeport', '-o', 'jsonpath={.spec.ports[0].nodePort}'])
      .stdout.trim();
    const ext = new RegExp(
      `^-A KUBE-NODEPORTS -p tcp -m comment --comment "default/web-nodeport:http" -m tcp --dport ${np} -j (KUBE-EXT-[A-Z2-7]{16})$`,
      'm',
    ).exec(save);
    assert.ok(ext, save);
    // localhostNodePorts (default true): the 127.0.0.0/8 rule with nfacct (real capture iptables/03)
    assert.match(
      save,
      new RegExp(
        `^-A KUBE-NODEPORTS -d 127\\.0\\.0\\.0/8 -p tcp -m comment --comment "default/web-nodeport:http" -m tcp --dport ${np} -m nfacct --nfacct-name  localhost_nps_accepted_pkts -j ${ext[1]}$`,
        'm',
      ),
    );
    assert.deepEqual(chainRules(save, ext[1]!), [
      `-A ${ext[1]} -m comment --comment "masquerade traffic for default/web-nodeport:http external destinations" -j KUBE-MARK-MASQ`,
      `-A ${ext[1]} -j ${ext[1]!.replace('EXT', 'SVC')}`,
    ]);
  } finally {
    lab.fake.cleanup();
  }
});

test('iptables statistic probability: kube-proxy writes %0.10f, iptables prints the 2^31 fixed point back', async () => {
  // @ts-expect-error the fake is plain JavaScript
  const { probability } = await import('../fake/model/iptables.mjs');
  // real capture iptables/06: 3 endpoints → 0.33333333349, then 0.50000000000
  assert.equal(probability(3), '0.33333333349');
  assert.equal(probability(2), '0.50000000000');
});
