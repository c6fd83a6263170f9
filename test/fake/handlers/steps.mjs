// Fake handlers for the lab steps (issue 3): each node's datapath state, kept in line with
// what its kube-proxy programs (the model layer, model/*.mjs) and printed by the renderers
// (render/*.mjs): iptables-save / ip6tables-save (filter and nat), ipvsadm -Ln/-Sn,
// /proc/net/ip_vs, ipset list, ip addr/link show kube-ipvs0, curl 127.0.0.1:10249/proxyMode,
// apt-get/dpkg, docker cp, and proxylab's constant node scripts (inspection, apply, traffic,
// apt). kind's own rules (DOCKER_OUTPUT/DOCKER_POSTROUTING/KIND-MASQ-AGENT) are always there.
// Leftovers behave as in a real node: switching between iptables and ipvs mode leaves the
// other mode's objects until flush-nat removes them; a kube-proxy starting in nftables mode
// removes them itself (platformCleanup). kube-proxy runs dual-stack, so the node also has
// IPv6 tables with kube-proxy's base chains for its mode and no services (the kind cluster
// is IPv4 only).
// Knobs: FAKE_HOST_NO_IPVS=1 (kube-proxy in ipvs mode crash-loops: no IPVS in the kernel),
//   FAKE_KUBE_PROXY_CRASH=<mode> (kube-proxy crash-loops in that mode),
//   FAKE_PROXYMODE_STALE=1 (/proxyMode keeps answering the mode of the previous pod),
//   FAKE_APT_FAIL=<node> (apt-get fails inside that node).
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { list, getObj, matchesSelector } from '../lib/cluster.mjs';
import { words } from '../lib/words.mjs';
import { servicePorts } from '../lib/services.mjs';
import { parseKubectl, connect } from '../core/kubectl.mjs';
import { ipvsProxier } from '../model/ipvs.mjs';
import { iptablesProxier } from '../model/iptables.mjs';
import { nodePortAddresses } from '../model/node.mjs';
import { iptablesSave as renderSave } from '../render/iptables.mjs';
import { ipsetList as renderIpset } from '../render/ipset.mjs';
import {
  ipvsadmList,
  ipvsadmSave as renderIpvsSave,
  procIpvs as renderProcIpvs,
} from '../render/ipvsadm.mjs';
import { kubeIpvs0 } from '../render/ipaddr.mjs';

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
  d.filter ??= { INPUT: [], FORWARD: [], OUTPUT: [] };
  d.filter6 ??= { INPUT: [], FORWARD: [], OUTPUT: [] };
  return d;
}

/** The node's tables of one family: { filter, nat }. */
export function tablesOf(node, family = 'ipv4') {
  const d = dp(node);
  return family === 'ipv6' ? { filter: d.filter6, nat: d.nat6 } : { filter: d.filter, nat: d.nat };
}

/** Bring the node's datapath in line with what its kube-proxy (if running) programs. */
function sync(cluster, node) {
  const d = dp(node);
  const kp = node.datapath.kubeProxy;
  if (!kp || kp.healthy === false || crashReason(kp)) return;
  const sps = servicePorts(cluster);
  if (kp.mode === 'iptables') {
    // model/iptables.mjs for IPv4; the IPv6 proxier of the dual-stack meta-proxier has no
    // services in this IPv4 cluster; each deletes its own stale chains
    const clusterCIDR = cluster.podSubnet ?? '10.244.0.0/16';
    applyIptables(d.nat, iptablesProxier({ sps, clusterCIDR }));
    applyIptables(d.nat6, iptablesProxier({ sps: [], clusterCIDR: '' }));
  } else if (kp.mode === 'ipvs') {
    // model/ipvs.mjs: the IPv4 proxier of the dual-stack meta-proxier, then its IPv6 twin
    // (no IPv6 services in this IPv4 kind cluster, kind's podSubnet has no IPv6 CIDR)
    const v4 = ipvsProxier({
      sps,
      node,
      nodeIPs: nodePortAddresses(cluster, node),
      clusterCIDR: cluster.podSubnet ?? '10.244.0.0/16',
      scheduler: kp.scheduler,
    });
    const v6 = ipvsProxier({
      sps: [],
      node,
      nodeIPs: [],
      clusterCIDR: '',
      scheduler: kp.scheduler,
      family: 'ipv6',
    });
    applyProxier(d, 'ipv4', v4);
    applyProxier(d, 'ipv6', v6);
    for (const [n, set] of Object.entries(v4.ipsets)) d.ipsets[n] = { ...set, family: 'inet' };
    for (const [n, set] of Object.entries(v6.ipsets)) d.ipsets[n] = { ...set, family: 'inet6' };
    d.ipvs = v4.ipvs;
    d.kubeIpvs0 = v4.bind;
  } else if (kp.mode === 'nftables') {
    // platformCleanup (cmd/kube-proxy/app/server_linux.go): a kube-proxy starting in nftables
    // mode runs iptables.CleanupLeftovers and ipvs.CleanupLeftovers for both families: the
    // jumps, the KUBE-* chains of both proxiers, the IPVS services, kube-ipvs0 and the ipsets
    for (const t of [d.nat, d.filter, d.nat6, d.filter6]) cleanupKube(t);
    d.ipvs = [];
    d.kubeIpvs0 = null;
    for (const n of Object.keys(d.ipsets)) if (n.startsWith('KUBE-')) delete d.ipsets[n];
  }
}

/** The iptables proxier's nat chains in one family's table, its jumps prepended (EnsureRule Prepend). */
function applyIptables(nat, { chains, owned }) {
  for (const c of Object.keys(nat)) if (owned.test(c) && !(c in chains)) delete nat[c];
  Object.assign(nat, chains);
  for (const [from, to, text] of [
    ['OUTPUT', 'KUBE-SERVICES', 'kubernetes service portals'],
    ['PREROUTING', 'KUBE-SERVICES', 'kubernetes service portals'],
    ['POSTROUTING', 'KUBE-POSTROUTING', 'kubernetes postrouting rules'],
  ]) {
    const spec = `-m comment --comment "${text}" -j ${to}`;
    nat[from] ??= [];
    if (!nat[from].includes(spec)) nat[from].unshift(spec);
  }
}

/** Remove kube-proxy's chains (KUBE-*, not kubelet's canaries) and the rules jumping to them. */
function cleanupKube(chains) {
  const mine = (c) => c.startsWith('KUBE-') && !/^KUBE-(KUBELET-CANARY|IPTABLES-HINT)$/.test(c);
  for (const c of Object.keys(chains))
    if (mine(c) && !BUILTIN.includes(c) && !['FORWARD'].includes(c)) delete chains[c];
  for (const [c, rules] of Object.entries(chains))
    chains[c] = rules.filter((r) => {
      const w = words(r);
      const j = w.indexOf('-j');
      return !(j >= 0 && mine(w[j + 1] ?? ''));
    });
}

/** Write one family's proxier output into the node's tables: its chains, and its jumps prepended to the built-ins. */
function applyProxier(d, family, out) {
  const t =
    family === 'ipv6' ? { nat: d.nat6, filter: d.filter6 } : { nat: d.nat, filter: d.filter };
  for (const table of ['nat', 'filter'])
    for (const [c, rules] of Object.entries(out[table])) t[table][c] = [...rules];
  for (const [table, from, to, text] of out.jumps) {
    const spec = `-m comment --comment "${text}" -j ${to}`;
    t[table][from] ??= [];
    if (!t[table][from].includes(spec)) t[table][from].unshift(spec);
  }
}

function crashReason(kp) {
  if (!kp) return null;
  if (process.env.FAKE_KUBE_PROXY_CRASH && process.env.FAKE_KUBE_PROXY_CRASH === kp.mode)
    return `can't use the ${kp.mode} proxier: FAKE_KUBE_PROXY_CRASH`;
  // CanUseIPVSProxier (pkg/proxy/ipvs/proxier.go, 1.27+) no longer checks modules: it adds a
  // dummy virtual server with the scheduler; without IPVS in the kernel netlink fails
  if (kp.mode === 'ipvs' && process.env.FAKE_HOST_NO_IPVS === '1')
    return "can't use the IPVS proxier: Ipvs not supported by the kernel";
  // an unknown scheduler: the dummy VS fails with ENOENT (real-outputs-modern/kube-proxy-logs/02)
  if (kp.mode === 'ipvs' && kp.scheduler && !VALID_SCHEDULERS.includes(kp.scheduler))
    return "can't use the IPVS proxier: no such file or directory";
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
  // the real ≥1.26 crash: no "Using … proxy" line (kind sets the mode), the dummy-VS error for
  // a bad scheduler, then "Error running ProxyServer" and "command failed"
  // (real-outputs-modern/kube-proxy-logs/02)
  const lines = [];
  if (kp.mode === 'ipvs' && /no such file/.test(kp.fatal))
    lines.push(
      `E1121 10:00:01.000001       1 proxier.go:634] "Could not create dummy VS" err="no such file or directory" scheduler="${kp.scheduler}"`,
    );
  lines.push(
    `E1121 10:00:01.000002       1 server.go:558] "Error running ProxyServer" err="${kp.fatal}"`,
    `E1121 10:00:01.000003       1 run.go:72] "command failed" err="${kp.fatal}"`,
  );
  return lines;
}

// ---------------------------------------------------------------------------------------
// Rendering in the real formats.

/** `iptables-save [-t TABLE]` (`ip6tables-save` for ipv6): render/iptables.mjs over the node's tables. */
function iptablesSave(node, family = 'ipv4', only = undefined) {
  return renderSave(tablesOf(node, family), { family, only });
}

const ipvsadmSave = (node) => renderIpvsSave(dp(node).ipvs);

/** `ipset list [NAME]`: render/ipset.mjs; references counted over both families' tables. */
function ipsetList(node, only) {
  return renderIpset(dp(node).ipsets, {
    only,
    kernel: node.kernel,
    seed: node.name,
    tables: [tablesOf(node, 'ipv4'), tablesOf(node, 'ipv6')],
  });
}

function ipAddrKubeIpvs0(node, link = false) {
  const ips = dp(node).kubeIpvs0;
  if (!ips) return null;
  return kubeIpvs0(node.name, ips, { link });
}

// ---------------------------------------------------------------------------------------
// Applying restore input (iptables-restore --noflush, ipvsadm -R, ipset restore).

function iptablesRestore(c, node, text, family = 'ipv4') {
  const tables = tablesOf(node, family);
  let nat = null;
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
    nat = tables[table]; // the fake models the filter and nat tables
    if (!nat) continue;
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
    const used = [tablesOf(node, 'ipv4'), tablesOf(node, 'ipv6')].some((t) =>
      Object.values(t).some((chains) =>
        Object.values(chains).some((rules) => rules.some((r) => words(r).includes(m[1]))),
      ),
    );
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
      else c.out(ipvsadmList(dp(c.node).ipvs));
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
      c.out(renderProcIpvs(dp(c.node).ipvs));
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
      const t = ipAddrKubeIpvs0(c.node, c.argv.includes('link'));
      if (!t) c.fail(1, 'Device "kube-ipvs0" does not exist.');
      c.out(t);
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
