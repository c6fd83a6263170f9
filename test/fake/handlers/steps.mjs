// Fake handlers for the lab steps (issue 3): what kube-proxy programs in each node, in the
// real formats of the shared fixtures, changing with the mode kube-proxy runs:
//   iptables-save (KUBE-SVC/KUBE-SEP chains in iptables mode, the short match-set table in
//   ipvs mode, DOCKER_OUTPUT/DOCKER_POSTROUTING/KIND-MASQ-AGENT always), ipvsadm -Ln/-Sn,
//   ipset list, ip addr show kube-ipvs0, curl 127.0.0.1:10249/proxyMode, apt-get/dpkg,
//   docker cp, and proxylab's constant node scripts (inspection, apply, traffic, apt).
// Leftovers behave as in a real node: a mode switch leaves the other mode's objects until
// flush-nat removes them. kube-proxy runs dual-stack ("Creating dualStackProxier"), so the
// node also has an IPv6 nat table (ip6tables-save) with kube-proxy's base chains for its
// mode and no services (the kind cluster is IPv4 only).
// Knobs: FAKE_HOST_NO_IPVS=1 (kube-proxy in ipvs mode crash-loops: modules missing),
//   FAKE_KUBE_PROXY_CRASH=<mode> (kube-proxy crash-loops in that mode),
//   FAKE_PROXYMODE_STALE=1 (/proxyMode keeps answering the mode of the previous pod),
//   FAKE_APT_FAIL=<node> (apt-get fails inside that node).
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { list, getObj, matchesSelector } from '../lib/cluster.mjs';
import { words } from '../lib/words.mjs';
import { kubeHash, servicePorts } from '../lib/services.mjs';
import { parseKubectl, connect } from '../core/kubectl.mjs';

const VALID_SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'sh', 'dh', 'sed', 'nq', 'mh'];
const BUILTIN = ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'];
const DEB_VERSIONS = {
  ipvsadm: '1:1.31-1+b1',
  ipset: '7.17-1',
  conntrack: '1:1.4.7-1+b2',
  libipset13: '7.17-1',
};

function ext(state) {
  state.ext ??= {};
  state.ext.steps ??= { rr: {}, lastMode: {}, prevMode: {}, lastPod: {} };
  return state.ext.steps;
}

// ---------------------------------------------------------------------------------------
// Node datapath: nat table as chains of rule specs, ipsets, IPVS services, kube-ipvs0.

function dp(node) {
  const d = node.datapath;
  if (!d.nat) {
    const gw = '172.18.0.1';
    d.nat = {
      PREROUTING: [`-d ${gw}/32 -j DOCKER_OUTPUT`],
      INPUT: [],
      OUTPUT: [`-d ${gw}/32 -j DOCKER_OUTPUT`],
      POSTROUTING: [
        `-d ${gw}/32 -j DOCKER_POSTROUTING`,
        '-m addrtype ! --dst-type LOCAL -m comment --comment "kind-masq-agent: ensure nat POSTROUTING directs all non-LOCAL destination traffic to our custom KIND-MASQ-AGENT chain" -j KIND-MASQ-AGENT',
      ],
      DOCKER_OUTPUT: [
        `-d ${gw}/32 -p tcp -m tcp --dport 53 -j DNAT --to-destination 127.0.0.11:37619`,
        `-d ${gw}/32 -p udp -m udp --dport 53 -j DNAT --to-destination 127.0.0.11:55581`,
      ],
      DOCKER_POSTROUTING: [
        `-s 127.0.0.11/32 -p tcp -m tcp --sport 37619 -j SNAT --to-source ${gw}:53`,
        `-s 127.0.0.11/32 -p udp -m udp --sport 55581 -j SNAT --to-source ${gw}:53`,
      ],
      'KIND-MASQ-AGENT': [
        '-d 10.244.0.0/16 -m comment --comment "kind-masq-agent: local traffic is not subject to MASQUERADE" -j RETURN',
        '-m comment --comment "kind-masq-agent: outbound traffic is subject to MASQUERADE (must be last in chain)" -j MASQUERADE',
      ],
    };
    d.nat6 = { PREROUTING: [], INPUT: [], OUTPUT: [], POSTROUTING: [] };
    d.ipsets ??= {};
    d.ipvs ??= [];
    d.kubeIpvs0 ??= null;
  }
  return d;
}

function ensureChain(nat, name) {
  nat[name] ??= [];
}

/** Bring the node's datapath in line with what its kube-proxy (if running) programs. */
function sync(cluster, node) {
  const d = dp(node);
  const kp = node.datapath.kubeProxy;
  if (!kp || kp.healthy === false || crashReason(kp)) return;
  const nat = d.nat;
  const sps = servicePorts(cluster);
  const svcName = (sp) => `${sp.ns}/${sp.name}${sp.portName ? `:${sp.portName}` : ''}`;
  for (const c of ['KUBE-SERVICES', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ']) ensureChain(nat, c);
  const jump = (chain, spec) => {
    if (!nat[chain].includes(spec)) nat[chain].unshift(spec);
  };
  jump('PREROUTING', '-m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
  jump('OUTPUT', '-m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
  jump('POSTROUTING', '-m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING');
  nat['KUBE-MARK-MASQ'] = ['-j MARK --set-xmark 0x4000/0x4000'];
  const post = [
    '-m mark ! --mark 0x4000/0x4000 -j RETURN',
    '-j MARK --set-xmark 0x4000/0x0',
    '-m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
  ];
  if (kp.mode === 'iptables') {
    const wanted = new Set();
    const services = [];
    ensureChain(nat, 'KUBE-NODEPORTS');
    const nodeports = [];
    for (const sp of sps) {
      // a port without endpoints gets no KUBE-SVC chain (kube-proxy rejects its traffic in
      // the filter table instead, which the fake does not model)
      if (!sp.eps.length) continue;
      const svc = `KUBE-SVC-${kubeHash(16, `${svcName(sp)}/${sp.proto}`)}`;
      wanted.add(svc);
      services.push(
        `-d ${sp.vip}/32 -p ${sp.proto} -m comment --comment "${svcName(sp)} cluster IP" -m ${sp.proto} --dport ${sp.port} -j ${svc}`,
      );
      if (sp.nodePort)
        nodeports.push(
          `-p ${sp.proto} -m comment --comment "${svcName(sp)}" -m ${sp.proto} --dport ${sp.nodePort} -j ${svc}`,
        );
      const rules = [
        `! -s 10.244.0.0/16 -d ${sp.vip}/32 -p ${sp.proto} -m comment --comment "${svcName(sp)} cluster IP" -m ${sp.proto} --dport ${sp.port} -j KUBE-MARK-MASQ`,
      ];
      sp.eps.forEach((e, i) => {
        const sep = `KUBE-SEP-${kubeHash(16, `${svcName(sp)}/${sp.proto}/${e.ip}:${e.port}`)}`;
        wanted.add(sep);
        const left = sp.eps.length - i;
        const prob =
          left > 1 ? ` -m statistic --mode random --probability ${(1 / left).toFixed(11)}` : '';
        rules.push(`-m comment --comment "${svcName(sp)} -> ${e.ip}:${e.port}"${prob} -j ${sep}`);
        nat[sep] = [
          `-s ${e.ip}/32 -m comment --comment "${svcName(sp)}" -j KUBE-MARK-MASQ`,
          `-p ${sp.proto} -m comment --comment "${svcName(sp)}" -m ${sp.proto} -j DNAT --to-destination ${e.ip}:${e.port}`,
        ];
      });
      nat[svc] = rules;
    }
    services.push(
      '-m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
    );
    nat['KUBE-SERVICES'] = services;
    nat['KUBE-NODEPORTS'] = nodeports;
    nat['KUBE-POSTROUTING'] = post;
    // the iptables proxier deletes its own stale chains
    for (const c of Object.keys(nat))
      if (/^KUBE-(SVC|SEP)-/.test(c) && !wanted.has(c)) delete nat[c];
  } else if (kp.mode === 'ipvs') {
    nat['KUBE-SERVICES'] = [
      '! -s 10.244.0.0/16 -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ',
      '-m addrtype --dst-type LOCAL -j KUBE-NODE-PORT',
      '-m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT',
    ];
    nat['KUBE-NODE-PORT'] = [
      '-p tcp -m comment --comment "Kubernetes nodeport TCP port for masquerade purpose" -m set --match-set KUBE-NODE-PORT-TCP dst -j KUBE-MARK-MASQ',
    ];
    nat['KUBE-POSTROUTING'] = [
      '-m comment --comment "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose" -m set --match-set KUBE-LOOP-BACK dst,dst,src -j MASQUERADE',
      ...post,
    ];
    d.ipsets['KUBE-CLUSTER-IP'] = {
      type: 'hash:ip,port',
      members: sps.map((sp) => `${sp.vip},${sp.proto}:${sp.port}`),
    };
    d.ipsets['KUBE-NODE-PORT-TCP'] = {
      type: 'bitmap:port',
      header: 'range 0-65535',
      members: sps
        .filter((sp) => sp.nodePort && sp.proto === 'tcp')
        .map((sp) => String(sp.nodePort)),
    };
    // a set: two services with the same endpoint give one member
    d.ipsets['KUBE-LOOP-BACK'] = {
      type: 'hash:ip,port,ip',
      members: [
        ...new Set(
          sps.flatMap((sp) =>
            sp.eps
              .filter((e) => e.node === node.name)
              .map((e) => `${e.ip},${sp.proto}:${e.port},${e.ip}`),
          ),
        ),
      ],
    };
    const sched = kp.scheduler || 'rr';
    const vs = [];
    for (const sp of sps) {
      const rs = sp.eps.map((e) => ({ ip: e.ip, port: e.port }));
      vs.push({
        proto: sp.proto,
        addr: `${sp.vip}:${sp.port}`,
        sched,
        persistent: sp.affinity,
        rs,
      });
      if (sp.nodePort)
        vs.push({
          proto: sp.proto,
          addr: `${node.ip}:${sp.nodePort}`,
          sched,
          persistent: sp.affinity,
          rs,
        });
    }
    d.ipvs = vs;
    d.kubeIpvs0 = [...new Set(sps.map((sp) => sp.vip))];
  }
  syncIPv6((d.nat6 ??= { PREROUTING: [], INPUT: [], OUTPUT: [], POSTROUTING: [] }), kp.mode, post);
}

/** kube-proxy's IPv6 proxier in an IPv4-only cluster: its base chains, no services. */
function syncIPv6(nat, mode, post) {
  for (const c of ['KUBE-SERVICES', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ']) ensureChain(nat, c);
  const jump = (chain, spec) => {
    if (!nat[chain].includes(spec)) nat[chain].unshift(spec);
  };
  jump('PREROUTING', '-m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
  jump('OUTPUT', '-m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
  jump('POSTROUTING', '-m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING');
  nat['KUBE-MARK-MASQ'] = ['-j MARK --set-xmark 0x4000/0x4000'];
  if (mode === 'iptables') {
    nat['KUBE-NODEPORTS'] = [];
    nat['KUBE-SERVICES'] = [
      '-m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
    ];
    nat['KUBE-POSTROUTING'] = post;
  } else if (mode === 'ipvs') {
    nat['KUBE-NODE-PORT'] = [];
    nat['KUBE-SERVICES'] = [
      '-m addrtype --dst-type LOCAL -j KUBE-NODE-PORT',
      '-m set --match-set KUBE-6-CLUSTER-IP dst,dst -j ACCEPT',
    ];
    nat['KUBE-POSTROUTING'] = post;
  }
}

function crashReason(kp) {
  if (!kp) return null;
  if (process.env.FAKE_KUBE_PROXY_CRASH && process.env.FAKE_KUBE_PROXY_CRASH === kp.mode)
    return `can't use the ${kp.mode} proxier: FAKE_KUBE_PROXY_CRASH`;
  if (kp.mode === 'ipvs' && process.env.FAKE_HOST_NO_IPVS === '1')
    return "can't use the IPVS proxier: IPVS proxier will not be used because the following required kernel modules are not loaded: [ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh]";
  if (kp.mode === 'ipvs' && kp.scheduler && !VALID_SCHEDULERS.includes(kp.scheduler))
    return `can't use the IPVS proxier: failed to create IPVS service: invalid scheduler "${kp.scheduler}"`;
  return null;
}

/** After every kubectl change: kube-proxy pods that cannot start crash-loop; the rest sync. */
export function reconcile(state, cluster) {
  const e = ext(state);
  for (const node of cluster.nodes) {
    const kp = node.datapath.kubeProxy;
    if (!kp) continue;
    if (e.lastPod[node.name] !== kp.pod) {
      e.prevMode[node.name] = e.lastMode[node.name] ?? kp.mode;
      e.lastMode[node.name] = kp.mode;
      e.lastPod[node.name] = kp.pod;
    }
    const why = crashReason(kp);
    const pod = getObj(cluster, 'Pod', 'kube-system', kp.pod);
    if (why) {
      kp.healthy = false;
      kp.fatal = why;
      if (pod) {
        pod.status.containerStatuses = (
          pod.status.containerStatuses ?? [{ name: 'kube-proxy' }]
        ).map((s) => ({
          ...s,
          ready: false,
          started: false,
          restartCount: 4,
          state: {
            waiting: {
              reason: 'CrashLoopBackOff',
              message: 'back-off 1m20s restarting failed container=kube-proxy',
            },
          },
        }));
      }
    } else {
      kp.healthy = true;
      delete kp.fatal;
      sync(cluster, node);
    }
  }
}

/** A crash-looping kube-proxy logs why it exits (≥1.26: no fallback to iptables). */
export function podLogs(cluster, pod, node) {
  const kp = node?.datapath.kubeProxy;
  if (
    !pod.metadata.name.startsWith('kube-proxy-') ||
    !kp ||
    kp.pod !== pod.metadata.name ||
    !kp.fatal
  )
    return undefined;
  return [
    `I1121 10:00:01.000001       1 server_linux.go:66] "Using ${kp.mode} proxy"`,
    `E1121 10:00:01.000002       1 run.go:72] "command failed" err="${kp.fatal}"`,
  ];
}

// ---------------------------------------------------------------------------------------
// Rendering in the real formats.

/** `iptables-save [-t TABLE]` (`ip6tables-save` for ipv6): the nat table kube-proxy programs, and an empty filter table. */
function iptablesSave(node, family = 'ipv4', only = undefined) {
  const nat = family === 'ipv6' ? dp(node).nat6 : dp(node).nat;
  const now = 'Sat Nov 21 10:00:00 2026';
  const user = Object.keys(nat)
    .filter((c) => !BUILTIN.includes(c))
    .sort();
  const prog = family === 'ipv6' ? 'ip6tables-save' : 'iptables-save';
  const lines = [
    `# Generated by ${prog} v1.8.9 (nf_tables) on ${now}`,
    '*nat',
    ...BUILTIN.map((c) => `:${c} ACCEPT [0:0]`),
    ...user.map((c) => `:${c} - [0:0]`),
  ];
  for (const c of [...BUILTIN, ...user]) for (const r of nat[c] ?? []) lines.push(`-A ${c} ${r}`);
  lines.push('COMMIT', `# Completed on ${now}`);
  if (only === 'nat') return `${lines.join('\n')}\n`;
  if (only !== undefined && only !== 'filter') return '';
  if (only === 'filter') lines.length = 0;
  lines.push(
    `# Generated by ${prog} v1.8.9 (nf_tables) on ${now}`,
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    'COMMIT',
    `# Completed on ${now}`,
  );
  return `${lines.join('\n')}\n`;
}

function ipvsadmList(node, numeric = true) {
  const vs = dp(node).ipvs;
  const out = [
    'IP Virtual Server version 1.2.1 (size=4096)',
    'Prot LocalAddress:Port Scheduler Flags',
    '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
  ];
  for (const v of vs) {
    out.push(
      `${v.proto.toUpperCase()}  ${v.addr} ${v.sched}${v.persistent ? ` persistent ${v.persistent}` : ''}`,
    );
    for (const r of v.rs)
      out.push(`  -> ${`${r.ip}:${r.port}`.padEnd(28)} Masq    1      0          0`);
  }
  void numeric;
  return `${out.join('\n')}\n`;
}

function ipvsadmSave(node) {
  const out = [];
  for (const v of dp(node).ipvs) {
    const p = v.proto === 'udp' ? '-u' : '-t';
    out.push(`-A ${p} ${v.addr} -s ${v.sched}${v.persistent ? ` -p ${v.persistent}` : ''}`);
    for (const r of v.rs) out.push(`-a ${p} ${v.addr} -r ${r.ip}:${r.port} -m -w 1`);
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

/** /proc/net/ip_vs: addresses and ports in hex, as the kernel prints them. */
function procIpvs(node) {
  const hex = (ip, port) =>
    `${ip
      .split('.')
      .map((o) => Number(o).toString(16).toUpperCase().padStart(2, '0'))
      .join('')}:${Number(port).toString(16).toUpperCase().padStart(4, '0')}`;
  const lines = [
    'IP Virtual Server version 1.2.1 (size=4096)',
    'Prot LocalAddress:Port Scheduler Flags',
    '  -> RemoteAddress:Port Forward Weight ActiveConn InActConn',
  ];
  for (const v of dp(node).ipvs) {
    const [ip, port] = v.addr.split(':');
    lines.push(`${v.proto.toUpperCase()}  ${hex(ip, port)} ${v.sched}`);
    for (const r of v.rs) lines.push(`  -> ${hex(r.ip, r.port)}      Masq    1      0          0`);
  }
  return `${lines.join('\n')}\n`;
}

function ipsetList(node, only) {
  const sets = dp(node).ipsets;
  const names = Object.keys(sets).filter((n) => !only || n === only);
  return names
    .map((n) => {
      const s = sets[n];
      return [
        `Name: ${n}`,
        `Type: ${s.type}`,
        'Revision: 5',
        `Header: ${s.header ?? 'family inet hashsize 1024 maxelem 65536'}`,
        `Size in memory: ${200 + s.members.length * 64}`,
        'References: 1',
        `Number of entries: ${s.members.length}`,
        'Members:',
        ...s.members,
        '',
      ].join('\n');
    })
    .join('\n');
}

function ipAddrKubeIpvs0(node) {
  const ips = dp(node).kubeIpvs0;
  if (!ips) return null;
  // a locally administered unicast address, as the kernel gives a new dummy interface
  const raw = createHash('md5').update(node.name).digest();
  raw[0] = (raw[0] & 0xfe) | 0x02;
  const mac = [...raw.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
  const lines = [
    `7: kube-ipvs0: <BROADCAST,NOARP> mtu 1500 qdisc noop state DOWN group default`,
    `    link/ether ${mac} brd ff:ff:ff:ff:ff:ff`,
  ];
  for (const ip of ips)
    lines.push(
      `    inet ${ip}/32 brd ${ip} scope global kube-ipvs0`,
      '       valid_lft forever preferred_lft forever',
    );
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------
// Applying restore input (iptables-restore --noflush, ipvsadm -R, ipset restore).

function iptablesRestore(c, node, text, family = 'ipv4') {
  const nat = family === 'ipv6' ? dp(node).nat6 : dp(node).nat;
  let table = '';
  let n = 0;
  for (const line of text.split('\n')) {
    n++;
    if (!line || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      table = line.slice(1);
      continue;
    }
    if (line === 'COMMIT') continue;
    if (table !== 'nat') continue; // the fake models the nat table only
    const m = /^-([DFX]) (\S+)(?: (.*))?$/.exec(line);
    if (!m) c.fail(2, `iptables-restore: line ${n} failed`);
    const [, op, chain, spec] = m;
    if (!(chain in nat))
      c.fail(1, `iptables-restore: line ${n} failed: No chain/target/match by that name.`);
    if (op === 'D') {
      const want = words(spec).join('\u0000');
      const i = nat[chain].findIndex((r) => words(r).join('\u0000') === want);
      if (i < 0)
        c.fail(
          1,
          `iptables-restore: line ${n} failed: Bad rule (does a matching rule exist in that chain?).`,
        );
      nat[chain].splice(i, 1);
    } else if (op === 'F') nat[chain] = [];
    else {
      if (nat[chain].length) c.fail(1, `iptables-restore: line ${n} failed: Directory not empty.`);
      const used = Object.values(nat).some((rules) =>
        rules.some(
          (r) =>
            words(r).includes(chain) && /-[jg]$/.test(words(r)[words(r).indexOf(chain) - 1] ?? ''),
        ),
      );
      if (used) c.fail(1, `iptables-restore: line ${n} failed: Too many links.`);
      delete nat[chain];
    }
  }
}

function ipvsadmRestore(c, node, text) {
  const d = dp(node);
  for (const line of text.split('\n').filter(Boolean)) {
    const m = /^-D (-[tu]) (\S+)$/.exec(line);
    if (!m) c.fail(2, `ipvsadm: restore: unsupported line: ${line}`);
    const proto = m[1] === '-u' ? 'udp' : 'tcp';
    const i = d.ipvs.findIndex((v) => v.proto === proto && v.addr === m[2]);
    if (i < 0) c.fail(1, 'Memory allocation problem\nNo such service');
    d.ipvs.splice(i, 1);
  }
}

function ipsetRestore(c, node, text) {
  const d = dp(node);
  for (const line of text.split('\n').filter(Boolean)) {
    const m = /^destroy (\S+)$/.exec(line);
    if (!m) c.fail(1, `ipset v7.17: Error in line 1: unsupported command in the fake: ${line}`);
    if (!(m[1] in d.ipsets))
      c.fail(1, `ipset v7.17: Error in line 1: The set with the given name does not exist`);
    const used = Object.values(d.nat).some((rules) => rules.some((r) => words(r).includes(m[1])));
    if (used)
      c.fail(
        1,
        'ipset v7.17: Error in line 1: Set cannot be destroyed: it is in use by a kernel component',
      );
    delete d.ipsets[m[1]];
  }
}

// ---------------------------------------------------------------------------------------
// Traffic: who answers a request to a ClusterIP or NodePort, from inside a node.

function answer(c, cluster, node, url, e) {
  const kp = node.datapath.kubeProxy;
  if (!kp || kp.healthy === false) return null;
  const m = /^http:\/\/([\d.]+):(\d+)\/?/.exec(url);
  if (!m) return null;
  const [, host, portS] = m;
  const port = Number(portS);
  const sp = servicePorts(cluster).find(
    (s) =>
      (s.vip === host && s.port === port) ||
      (s.nodePort === port && cluster.nodes.some((n) => n.ip === host)),
  );
  if (!sp || !sp.eps.length) return null;
  const eps = sp.eps.filter((x) => x.pod);
  if (!eps.length) return null;
  const key = `${node.name}|${sp.ns}/${sp.name}:${sp.port}`;
  const hashPick = () =>
    eps[parseInt(createHash('md5').update(node.ip).digest('hex').slice(0, 8), 16) % eps.length];
  if (sp.affinity) return hashPick().pod;
  if (kp.mode === 'ipvs') {
    const s = kp.scheduler || 'rr';
    if (s === 'sh' || s === 'dh' || s === 'mh') return hashPick().pod;
    const i = e.rr[key] ?? 0;
    e.rr[key] = i + 1;
    return eps[i % eps.length].pod;
  }
  // iptables / nftables: random per connection (deterministic here)
  const i = e.rr[key] ?? 7;
  e.rr[key] = (i * 1103515245 + 12345) % 2147483648;
  return eps[Math.floor((e.rr[key] / 2147483648) * eps.length)].pod;
}

// ---------------------------------------------------------------------------------------

const isScript = (c, marker) =>
  c.argv[0] === 'sh' &&
  c.argv[1] === '-c' &&
  typeof c.argv[2] === 'string' &&
  c.argv[2].includes(marker);

/** Fail like `docker exec` does when the node image has no such program (kind's has no ipvsadm/ipset). */
function requireTool(c, tool) {
  if (!installed(c.node).has(tool))
    c.fail(
      127,
      `OCI runtime exec failed: exec failed: unable to start container process: exec: "${tool}": executable file not found in $PATH: unknown`,
    );
}

function installed(node) {
  return new Set(node.packages ?? []);
}

export const handlers = [
  {
    tool: 'kubectl',
    name: 'exec into a web pod: proxylab traffic --from pod',
    match: (c) =>
      parseKubectl(c.argv).pos[0] === 'exec' &&
      c.argv.some((a) => typeof a === 'string' && a.includes('proxylab:fail')),
    run(c) {
      const p = parseKubectl(c.argv);
      const cluster = connect(c, p);
      const ns = p.f('-n', '--namespace') ?? 'default';
      const target = p.pos[1] ?? '';
      const dep = getObj(cluster, 'Deployment', ns, target.replace(/^(deployment|deploy)\//, ''));
      if (!dep) c.fail(1, `Error from server (NotFound): deployments.apps "${target}" not found`);
      const pod = list(cluster, 'Pod', ns).find(
        (x) =>
          matchesSelector(x.metadata.labels, dep.spec.selector.matchLabels) &&
          x.status?.phase === 'Running',
      );
      if (!pod) c.fail(1, 'error: unable to upgrade connection: container not found ("nginx")');
      const node = cluster.nodes.find((n) => n.name === pod.spec.nodeName);
      const rest = c.argv.slice(c.argv.indexOf('--') + 1); // sh -c SCRIPT sh N URL
      const n = Number(rest[4]);
      const url = rest[5];
      sync(cluster, node);
      const e = ext(c.state);
      const out = [];
      for (let i = 0; i < n; i++) out.push(answer(c, cluster, node, url, e) ?? 'proxylab:fail');
      c.out(`${out.join('\n')}\n`);
      return 0;
    },
  },
  {
    tool: 'node',
    name: 'proxylab flush-nat inspection script',
    match: (c) => isScript(c, '### proxylab:iptables-save'),
    run(c) {
      sync(c.cluster, c.node);
      const pk = installed(c.node);
      let out = `### proxylab:iptables-save\n${iptablesSave(c.node)}`;
      out += `### proxylab:ip6tables-save\n${iptablesSave(c.node, 'ipv6')}`;
      if (pk.has('ipvsadm')) out += `### proxylab:ipvsadm\n${ipvsadmSave(c.node)}`;
      if (pk.has('ipset'))
        out += `### proxylab:ipset\n${Object.keys(dp(c.node).ipsets).join('\n')}${Object.keys(dp(c.node).ipsets).length ? '\n' : ''}`;
      if (dp(c.node).kubeIpvs0) out += '### proxylab:kube-ipvs0\n';
      c.out(`${out}### proxylab:end\n`);
      return 0;
    },
  },
  {
    tool: 'node',
    name: 'proxylab flush-nat apply script',
    match: (c) => isScript(c, 'iptables-restore --noflush'),
    run(c) {
      const sections = {};
      let cur = null;
      for (const l of c.stdin.split('\n')) {
        if (l.startsWith('### proxylab:')) {
          cur = l.slice(13);
          sections[cur] = '';
          continue;
        }
        if (cur) sections[cur] += `${l}\n`;
      }
      if (sections.iptables) iptablesRestore(c, c.node, sections.iptables);
      if (sections.ip6tables) iptablesRestore(c, c.node, sections.ip6tables, 'ipv6');
      if (sections.ipvsadm) ipvsadmRestore(c, c.node, sections.ipvsadm);
      if (sections.ipset) ipsetRestore(c, c.node, sections.ipset);
      if ('kube-ipvs0' in sections) dp(c.node).kubeIpvs0 = null;
      return 0;
    },
  },
  {
    tool: 'node',
    name: 'proxylab traffic loop',
    match: (c) => isScript(c, 'proxylab:fail'),
    run(c) {
      const n = Number(c.argv[4]);
      const url = c.argv[5];
      sync(c.cluster, c.node);
      const e = ext(c.state);
      const out = [];
      for (let i = 0; i < n; i++) out.push(answer(c, c.cluster, c.node, url, e) ?? 'proxylab:fail');
      c.out(`${out.join('\n')}\n`);
      return 0;
    },
  },
  {
    tool: 'node',
    name: 'proxylab apt script',
    match: (c) => isScript(c, 'apt-get install'),
    run(c) {
      if (process.env.FAKE_APT_FAIL === c.node.name) {
        c.out('Reading package lists...\n');
        c.fail(
          100,
          "E: Failed to fetch http://deb.debian.org/debian/pool/main/i/ipvsadm/ipvsadm_1.31-1+b1_amd64.deb  Temporary failure resolving 'deb.debian.org'\nE: Unable to fetch some archives, maybe run apt-get update or try with --fix-missing?",
        );
      }
      const pkgs = c.argv.slice(4);
      c.node.packages = [...new Set([...(c.node.packages ?? []), ...pkgs])];
      c.node.files['/var/cache/proxylab-debs'] = [
        ...pkgs,
        ...(pkgs.includes('ipset') ? ['libipset13'] : []),
      ]
        .map((p) => `${p}_${DEB_VERSIONS[p] ?? '1.0-1'}_amd64.deb`.replace(/:/g, '%3a'))
        .join('\n');
      c.out(pkgs.map((p) => `Setting up ${p} (${DEB_VERSIONS[p] ?? '1.0-1'}) ...\n`).join(''));
      return 0;
    },
  },
  {
    tool: 'node',
    name: 'dpkg-query -W',
    match: (c) => c.argv[0] === 'dpkg-query',
    run(c) {
      const pk = installed(c.node);
      const wanted = c.argv
        .slice(1)
        .filter((a, i, all) => !a.startsWith('-') && all[i - 1] !== '-f');
      let code = 0;
      for (const p of wanted) {
        if (pk.has(p)) c.out(`install ok installed ${p}\n`);
        else {
          c.err(`dpkg-query: no packages found matching ${p}\n`);
          code = 1;
        }
      }
      return code;
    },
  },
  {
    tool: 'node',
    name: 'dpkg -i',
    match: (c) => c.argv[0] === 'dpkg' && c.argv[1] === '-i',
    run(c) {
      const staged = (c.node.files['/tmp/proxylab-debs'] ?? '').split('\n').filter(Boolean);
      for (const f of c.argv.slice(2)) {
        const base = f.split('/').pop();
        if (!staged.includes(base))
          c.fail(1, `dpkg: error: cannot access archive '${f}': No such file or directory`);
        const pkg = base.split('_')[0];
        c.node.packages = [...new Set([...(c.node.packages ?? []), pkg])];
        c.out(`Setting up ${pkg} ...\n`);
      }
      return 0;
    },
  },
  { tool: 'node', name: 'mkdir', match: (c) => c.argv[0] === 'mkdir', run: () => 0 },
  {
    tool: 'node',
    name: 'curl /proxyMode',
    match: (c) => c.argv[0] === 'curl' && c.argv.some((a) => a.includes('10249/proxyMode')),
    run(c) {
      const kp = c.node.datapath.kubeProxy;
      if (!kp || kp.healthy === false) c.fail(7, '');
      const e = ext(c.state);
      const mode =
        process.env.FAKE_PROXYMODE_STALE === '1' ? (e.prevMode[c.node.name] ?? kp.mode) : kp.mode;
      c.out(mode);
      return 0;
    },
  },
  {
    tool: 'node',
    name: 'ipvsadm',
    match: (c) => c.argv[0] === 'ipvsadm',
    run(c) {
      requireTool(c, 'ipvsadm');
      sync(c.cluster, c.node);
      const a = c.argv.slice(1).join(' ');
      if (/-S/.test(a)) c.out(ipvsadmSave(c.node));
      else c.out(ipvsadmList(c.node));
      return 0;
    },
  },
  {
    tool: 'node',
    name: 'iptables-save',
    match: (c) => c.argv[0] === 'iptables-save' || c.argv[0] === 'ip6tables-save',
    run(c) {
      sync(c.cluster, c.node);
      const t = c.argv.indexOf('-t');
      c.out(
        iptablesSave(
          c.node,
          c.argv[0] === 'ip6tables-save' ? 'ipv6' : 'ipv4',
          t > 0 ? c.argv[t + 1] : undefined,
        ),
      );
      return 0;
    },
  },
  {
    tool: 'node',
    name: 'cat /proc/net/ip_vs',
    match: (c) => c.argv[0] === 'cat' && c.argv[1] === '/proc/net/ip_vs',
    run(c) {
      sync(c.cluster, c.node);
      c.out(procIpvs(c.node));
      return 0;
    },
  },
  {
    tool: 'node',
    name: 'ipset list',
    match: (c) => c.argv[0] === 'ipset',
    run(c) {
      requireTool(c, 'ipset');
      sync(c.cluster, c.node);
      const args = c.argv.slice(1);
      if (args.includes('-n'))
        c.out(
          Object.keys(dp(c.node).ipsets)
            .map((n) => `${n}\n`)
            .join(''),
        );
      else {
        const name = args.find((x) => !x.startsWith('-') && x !== 'list');
        if (name && !(name in dp(c.node).ipsets))
          c.fail(1, `ipset v7.17: The set with the given name does not exist`);
        c.out(ipsetList(c.node, name));
      }
      return 0;
    },
  },
  {
    tool: 'node',
    name: 'ip addr/link show kube-ipvs0',
    match: (c) => c.argv[0] === 'ip' && c.argv.includes('kube-ipvs0'),
    run(c) {
      sync(c.cluster, c.node);
      const t = ipAddrKubeIpvs0(c.node);
      if (!t) c.fail(1, 'Device "kube-ipvs0" does not exist.');
      c.out(
        c.argv.includes('link')
          ? t
              .split('\n')
              .slice(0, 2)
              .join('\n')
              .replace('group default', 'mode DEFAULT group default') + '\n'
          : t,
      );
      return 0;
    },
  },
  {
    tool: 'docker',
    name: 'cp (node-tools .deb cache)',
    match: (c) => c.argv[0] === 'cp',
    run(c) {
      const [src, dst] = c.argv.slice(1).filter((a) => !a.startsWith('-'));
      const nodeOf = (s) => {
        const i = s.indexOf(':');
        if (i <= 0 || s.startsWith('/')) return null;
        const name = s.slice(0, i);
        for (const cl of Object.values(c.state.clusters)) {
          const n = cl.nodes.find((x) => x.name === name);
          if (n) return { node: n, path: s.slice(i + 1) };
        }
        c.fail(1, `Error response from daemon: No such container: ${name}`);
      };
      const from = nodeOf(src);
      const to = nodeOf(dst);
      if (from && !to) {
        const debs = (from.node.files[from.path.replace(/\/\.$/, '')] ?? '')
          .split('\n')
          .filter(Boolean);
        mkdirSync(dst, { recursive: true });
        for (const d of debs) writeFileSync(join(dst, d), `fake deb ${d}\n`);
        return 0;
      }
      if (to && !from) {
        const dir = src.replace(/\/\.$/, '');
        const debs = readdirSync(dir).filter((f) => f.endsWith('.deb'));
        to.node.files[to.path] = debs.join('\n');
        return 0;
      }
      c.fail(
        1,
        'fake docker cp: copying between two containers or two host paths is not supported',
      );
    },
  },
];
