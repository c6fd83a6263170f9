// Fake handlers for the lab docs (issue 5): the commands labs/ipvs and labs/nftables use
// that the core and steps.mjs do not answer, in the real tools' formats:
//   iptables [-t nat] -n -v -L [CHAIN]   (also -nvL / -L -n -v), rendered from the nat table
//                                        steps.mjs keeps in node.datapath.nat
//   nft list table ip kube-proxy         what kube-proxy's nftables proxier programs
//   nft list chain|map ip kube-proxy NAME
// Knob: FAKE_LAB_BREAK="<node> <argv joined by spaces>=<from>=><to>" rewrites the first
//   <from> in that command's answer (tests: a deliberately broken output must turn exactly
//   that lab step red).
import { BUILTIN, listChain, listTable } from '../render/iptables.mjs';
import { servicePorts } from '../lib/services.mjs';
import { minorOf } from '../lib/cluster.mjs';
import { nftablesProxier } from '../model/nftables.mjs';
import { renderTable, renderOne } from '../render/nft.mjs';

// ----------------------------------------------------------------------------- iptables -L

function iptablesList(c) {
  const args = c.argv.slice(1);
  const flags = args.filter((a) => a.startsWith('-')).join('');
  if (!/L/.test(flags)) return false;
  const ti = args.indexOf('-t');
  const table = ti >= 0 ? args[ti + 1] : 'filter';
  const chain = args.find((a, i) => !a.startsWith('-') && args[i - 1] !== '-t');
  const d = c.node.datapath;
  const chains = (table === 'nat' ? d.nat : d.filter) ?? {};
  if (!BUILTIN[table]) c.fail(1, `iptables v1.8.9 (nf_tables): table '${table}' does not exist`);
  const all = { ...Object.fromEntries(BUILTIN[table].map((b) => [b, []])), ...chains };
  if (chain) {
    // what the real iptables 1.8.9 (nf_tables) says for a chain that does not exist
    // (checked here in a network namespace): exit 1
    if (!(chain in all))
      c.fail(
        1,
        `iptables v1.8.9 (nf_tables): chain \`${chain}' in table \`${table}' is incompatible, use 'nft' tool.`,
      );
    c.out(`${listChain(all, table, chain)}\n`);
    return true;
  }
  c.out(`${listTable(chains, table)}\n`);
  return true;
}

// ----------------------------------------------------------------------------- nftables

/** kube-proxy's nftables table of one family for this node (model/nftables.mjs). */
function nftObjects(c, family) {
  const minor = minorOf(c.cluster.k8sVersion);
  // the IPv6 proxier of this IPv4 cluster: no services, no IPv6 pod or service CIDR
  const v6 = family === 'ip6';
  return nftablesProxier({
    sps: v6 ? [] : servicePorts(c.cluster),
    minor,
    nodeIP: v6 ? '' : c.node.ip,
    clusterCIDR: v6 ? '' : (c.cluster.podSubnet ?? '10.244.0.0/16'),
    serviceCIDR: !v6 && minor >= 33 ? (c.cluster.serviceSubnet ?? '10.96.0.0/16') : '',
    family,
  });
}

function nft(c) {
  const a = c.argv.slice(1);
  if (a[0] !== 'list') c.fail(1, 'Error: the fake nft only lists');
  const kp = c.node.datapath.kubeProxy;
  const programmed = kp && kp.mode === 'nftables' && kp.healthy !== false;
  if (a[1] === 'tables') {
    // iptables-nft keeps a kind node's iptables rules (Docker's DNS rules, kindnet's masq
    // agent, kube-proxy's chains) in tables ip/ip6 filter and nat; kube-proxy in nftables mode
    // adds one table per family (H2's conformance run, conformance-diffs.md D6)
    c.out(
      `table ip filter\ntable ip nat\ntable ip6 filter\ntable ip6 nat\n${programmed ? 'table ip kube-proxy\ntable ip6 kube-proxy\n' : ''}`,
    );
    return 0;
  }
  const [what, family, table, name] = a.slice(1);
  if (!['ip', 'ip6'].includes(family) || table !== 'kube-proxy' || !programmed) {
    const at = `list ${what} ${family} `.length;
    c.fail(
      1,
      `Error: No such file or directory\nlist ${what} ${family} ${table}${name ? ` ${name}` : ''}\n${' '.repeat(at)}${'^'.repeat(table.length)}`,
    );
  }
  const objs = nftObjects(c, family);
  if (what === 'table') {
    c.out(renderTable(objs, family));
    return 0;
  }
  const o = objs.find((x) => x.kind === what && x.name === name);
  if (!o) c.fail(1, `Error: No such file or directory\nlist ${what} ${family} kube-proxy ${name}`);
  c.out(renderOne(o, family));
  return 0;
}

// ----------------------------------------------------------------------------- faults

/** FAKE_LAB_BREAK: "<node> <exact argv joined by spaces>=<from>=><to>": parsed, or null. */
function breakSpec() {
  const spec = process.env.FAKE_LAB_BREAK;
  if (!spec) return null;
  const m = /^(\S+) (.+?)=(.*)=>(.*)$/.exec(spec);
  return m ? { node: m[1], cmd: m[2], from: m[3], to: m[4] } : null;
}

let breaking = false;

/** The object that owns the stdout buffer (handlers get prototype-chained copies of it). */
function owner(c) {
  let o = c;
  while (o && !Object.prototype.hasOwnProperty.call(o, 'stdout')) o = Object.getPrototypeOf(o);
  return o;
}

export const handlers = [
  {
    tool: 'node',
    name: 'FAKE_LAB_BREAK: rewrite one answer',
    match: (c) => {
      const b = breakSpec();
      return !breaking && b !== null && c.node.name === b.node && c.argv.join(' ') === b.cmd;
    },
    run(c) {
      const b = breakSpec();
      const o = owner(c);
      const before = o.stdout.length;
      breaking = true;
      let code;
      try {
        code = c.inNode(c.cluster, c.node, c.argv);
      } finally {
        breaking = false;
      }
      o.stdout = o.stdout.slice(0, before) + o.stdout.slice(before).replace(b.from, b.to);
      return code;
    },
  },
  {
    tool: 'node',
    name: 'iptables -n -v -L (labs)',
    match: (c) => c.argv[0] === 'iptables' && c.argv.slice(1).some((a) => /^-[a-zA-Z]*L/.test(a)),
    run(c) {
      iptablesList(c);
      return 0;
    },
  },
  {
    tool: 'node',
    name: 'nft list (labs)',
    match: (c) => c.argv[0] === 'nft',
    run: (c) => nft(c),
  },
];
