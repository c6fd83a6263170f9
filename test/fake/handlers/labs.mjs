// Fake handlers for the lab docs (issue 5): the commands labs/ipvs and labs/nftables use
// that the core and steps.mjs do not answer, in the real tools' formats:
//   iptables [-t nat] -n -v -L [CHAIN]   (also -nvL / -L -n -v), rendered from the nat table
//                                        steps.mjs keeps in node.datapath.nat
//   nft list table ip kube-proxy         what kube-proxy's nftables proxier programs
//   nft list chain|map ip kube-proxy NAME
// Knob: FAKE_LAB_BREAK="<node> <argv joined by spaces>=<from>=><to>" rewrites the first
//   <from> in that command's answer (tests: a deliberately broken output must turn exactly
//   that lab step red).
import { words } from '../lib/words.mjs';
import { kubeHash, servicePorts } from '../lib/services.mjs';

const BUILTIN = ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'];

// ----------------------------------------------------------------------------- iptables -L

/** -n address form: a /32 host prints without its mask. */
const addr = (a) => (a.endsWith('/32') ? a.slice(0, -3) : a);

/** One rule spec (iptables-save syntax after "-A CHAIN") as iptables -n -v -L prints it. */
function listRule(spec) {
  const w = words(spec);
  let prot = 'all';
  let src = '0.0.0.0/0';
  let dst = '0.0.0.0/0';
  let target = '';
  const extras = [];
  const targetExtras = [];
  for (let i = 0; i < w.length; i++) {
    const t = w[i];
    const neg = t === '!';
    const k = neg ? w[++i] : t;
    const v = w[i + 1];
    switch (k) {
      case '-p':
        prot = v;
        i++;
        break;
      case '-s':
        src = `${neg ? '!' : ''}${addr(v)}`;
        i++;
        break;
      case '-d':
        dst = `${neg ? '!' : ''}${addr(v)}`;
        i++;
        break;
      case '-m':
        i++;
        break;
      case '--comment':
        extras.push(`/* ${v} */`);
        i++;
        break;
      case '--match-set':
        extras.push(`match-set ${v} ${w[i + 2]}`);
        i += 2;
        break;
      case '--dst-type':
        extras.push(`ADDRTYPE match dst-type ${neg ? '!' : ''}${v}`);
        i++;
        break;
      case '--mark':
        extras.push(`mark match ${neg ? '! ' : ''}${v}`);
        i++;
        break;
      case '--dport':
        extras.push(`${prot} dpt:${v}`);
        i++;
        break;
      case '--sport':
        extras.push(`${prot} spt:${v}`);
        i++;
        break;
      case '--mode':
        extras.push(`statistic mode ${v}`);
        i++;
        break;
      case '--probability':
        extras.push(`probability ${v}`);
        i++;
        break;
      case '-j':
        target = v;
        i++;
        break;
      case '--set-xmark': {
        const [val, mask] = v.split('/');
        targetExtras.push(
          mask === '0x0' || mask === '0x00000000' ? `MARK xor ${val}` : `MARK or ${val}`,
        );
        i++;
        break;
      }
      case '--random-fully':
        targetExtras.push('random-fully');
        break;
      case '--to-destination':
      case '--to-source':
        targetExtras.push(`to:${v}`);
        i++;
        break;
      default:
        break;
    }
  }
  const cols =
    `${'0'.padStart(5)} ${'0'.padStart(5)} ${target.padEnd(9)}  ${prot.padEnd(5)}--  ${'*'.padEnd(6)} ${'*'.padEnd(6)} ` +
    `${src.startsWith('!') ? src.padEnd(20) : ` ${src.padEnd(19)}`} ${dst.startsWith('!') ? dst.padEnd(20) : ` ${dst.padEnd(19)}`}`;
  const tail = [...extras, ...targetExtras].join(' ');
  return tail ? `${cols}  ${tail}` : cols.trimEnd();
}

function listChain(nat, name) {
  const rules = nat[name] ?? [];
  const refs = Object.values(nat).reduce(
    (n, rs) =>
      n +
      rs.filter((r) => {
        const w = words(r);
        const j = w.indexOf('-j');
        return j >= 0 && w[j + 1] === name;
      }).length,
    0,
  );
  const head = BUILTIN.includes(name)
    ? `Chain ${name} (policy ACCEPT 0 packets, 0 bytes)`
    : `Chain ${name} (${refs} references)`;
  return [
    head,
    ' pkts bytes target     prot opt in     out     source               destination         ',
    ...rules.map(listRule),
  ].join('\n');
}

function iptablesList(c) {
  const args = c.argv.slice(1);
  const flags = args.filter((a) => a.startsWith('-')).join('');
  if (!/L/.test(flags)) return false;
  const ti = args.indexOf('-t');
  const table = ti >= 0 ? args[ti + 1] : 'filter';
  const chain = args.find((a, i) => !a.startsWith('-') && args[i - 1] !== '-t');
  const nat =
    table === 'nat' ? (c.node.datapath.nat ?? {}) : { INPUT: [], FORWARD: [], OUTPUT: [] };
  if (table === 'nat') for (const b of BUILTIN) nat[b] ??= [];
  if (chain) {
    if (!(chain in nat))
      c.fail(
        1,
        `iptables v1.8.9 (nf_tables): chain \`${chain}' in table \`${table}' is incompatible, use 'nft' tool.`.replace(
          /is incompatible.*/,
          'does not exist',
        ),
      );
    c.out(`${listChain(nat, chain)}\n`);
    return true;
  }
  const order = [
    ...BUILTIN.filter((b) => b in nat),
    ...Object.keys(nat)
      .filter((n) => !BUILTIN.includes(n))
      .sort(),
  ];
  c.out(`${order.map((n) => listChain(nat, n)).join('\n\n')}\n`);
  return true;
}

// ----------------------------------------------------------------------------- nftables

/** nftables mode's view: each service port with its `ns/name/proto/port` base name, sorted. */
function nftServicePorts(cluster) {
  return servicePorts(cluster)
    .map((sp) => ({ ...sp, base: `${sp.ns}/${sp.name}/${sp.proto}/${sp.portName}` }))
    .sort((a, b) => (a.base < b.base ? -1 : 1));
}

const hash8 = (s) => kubeHash(8, s);

const svcChain = (sp) => `service-${hash8(sp.base)}-${sp.base}`;
const epChain = (sp, e) =>
  `endpoint-${hash8(`${sp.base}__${e.ip}/${e.port}`)}-${sp.base}__${e.ip}/${e.port}`;

function nftObjects(cluster) {
  const sps = nftServicePorts(cluster);
  const objs = [];
  const elems = (rows) =>
    rows.length ? [`\t\telements = { ${rows.join(',\n\t\t\t     ')} }`] : [];
  objs.push({
    kind: 'map',
    name: 'service-ips',
    body: [
      '\t\ttype ipv4_addr . inet_proto . inet_service : verdict',
      '\t\tcomment "ClusterIP, ExternalIP and LoadBalancer IP traffic"',
      // a port without endpoints is not in service-ips (kube-proxy lists it in
      // no-endpoint-services instead, which the fake leaves out)
      ...elems(
        sps
          .filter((sp) => sp.eps.length)
          .map((sp) => `${sp.vip} . ${sp.proto} . ${sp.port} : goto ${svcChain(sp)}`),
      ),
    ],
  });
  objs.push({
    kind: 'map',
    name: 'service-nodeports',
    body: [
      '\t\ttype inet_proto . inet_service : verdict',
      '\t\tcomment "NodePort traffic"',
      ...elems(
        sps
          .filter((sp) => sp.nodePort)
          .map((sp) => `${sp.proto} . ${sp.nodePort} : goto external-${hash8(sp.base)}-${sp.base}`),
      ),
    ],
  });
  objs.push({
    kind: 'chain',
    name: 'mark-for-masquerade',
    body: ['\t\tmeta mark set meta mark | 0x00004000'],
  });
  objs.push({
    kind: 'chain',
    name: 'masquerading',
    body: [
      '\t\ttype nat hook postrouting priority srcnat; policy accept;',
      '\t\tmeta mark & 0x00004000 == 0x00000000 return',
      '\t\tmeta mark set meta mark ^ 0x00004000',
      '\t\tmasquerade fully-random',
    ],
  });
  objs.push({
    kind: 'chain',
    name: 'services',
    body: [
      '\t\tip daddr . meta l4proto . th dport vmap @service-ips',
      '\t\tfib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports',
    ],
  });
  for (const sp of sps) {
    const n = sp.eps.length;
    if (n === 0) continue; // no service chain for a port without endpoints
    const lb =
      n === 0
        ? []
        : n === 1
          ? [`\t\tgoto ${epChain(sp, sp.eps[0])}`]
          : [
              `\t\tnumgen random mod ${n} vmap { ${sp.eps.map((e, i) => `${i} : goto ${epChain(sp, e)}`).join(', ')} }`,
            ];
    objs.push({
      kind: 'chain',
      name: svcChain(sp),
      body: [
        `\t\tip daddr ${sp.vip} ${sp.proto} dport ${sp.port} ip saddr != 10.244.0.0/16 jump mark-for-masquerade`,
        ...lb,
      ],
    });
    if (sp.nodePort)
      objs.push({
        kind: 'chain',
        name: `external-${hash8(sp.base)}-${sp.base}`,
        body: ['\t\tjump mark-for-masquerade', `\t\tgoto ${svcChain(sp)}`],
      });
    for (const e of sp.eps)
      objs.push({
        kind: 'chain',
        name: epChain(sp, e),
        body: [
          `\t\tip saddr ${e.ip} jump mark-for-masquerade`,
          `\t\tmeta l4proto ${sp.proto} dnat to ${e.ip}:${e.port}`,
        ],
      });
  }
  return objs;
}

const render = (o) => [`\t${o.kind} ${o.name} {`, ...o.body, '\t}'].join('\n');

function nft(c) {
  const a = c.argv.slice(1);
  if (a[0] !== 'list') c.fail(1, 'Error: the fake nft only lists');
  const kp = c.node.datapath.kubeProxy;
  const programmed = kp && kp.mode === 'nftables' && kp.healthy !== false;
  if (a[1] === 'tables') {
    c.out(programmed ? 'table ip kube-proxy\ntable ip6 kube-proxy\n' : '');
    return 0;
  }
  const [what, family, table, name] = a.slice(1);
  if (family !== 'ip' || table !== 'kube-proxy' || !programmed) {
    const at = `list ${what} ${family} `.length;
    c.fail(
      1,
      `Error: No such file or directory\nlist ${what} ${family} ${table}${name ? ` ${name}` : ''}\n${' '.repeat(at)}${'^'.repeat(table.length)}`,
    );
  }
  const objs = nftObjects(c.cluster);
  if (what === 'table') {
    c.out(
      `table ip kube-proxy {\n\tcomment "rules for kube-proxy"\n\n${objs.map(render).join('\n\n')}\n}\n`,
    );
    return 0;
  }
  const o = objs.find((x) => x.kind === what && x.name === name);
  if (!o) c.fail(1, `Error: No such file or directory\nlist ${what} ip kube-proxy ${name}`);
  c.out(`table ip kube-proxy {\n${render(o)}\n}\n`);
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
