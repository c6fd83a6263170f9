/**
 * The shape of an output: which lines belong together and where order carries no meaning.
 *
 * - ipvsadm: the banner/header lines in order, then the virtual services as a set, each
 *   with its real servers as a set (kube-proxy programs them in map order).
 * - ipset list: each set's header in order, its members as a set.
 * - iptables-save: chain declarations as a set; rules grouped by chain, chains as a set,
 *   rules kept in order inside their chain (order decides which rule wins).
 * - iptables -L / -nvL: each "Chain" block with its rules in order; chains as a set.
 * - ip addr / ip link: interfaces as a set; each interface's addresses as a set.
 * - kubectl tables: the header first, then rows as a set (pod names sort by random hash).
 * - kube-proxy logs and anything else: lines in order.
 *
 * A line that is only `...` is an ellipsis: in ordered children it stands for any number of
 * lines; in a set it allows extra members in the actual output.
 */
import { isEllipsis } from './tokens.js';

export const OUTPUT_KINDS = [
  'ipvsadm',
  'iptables',
  'ipset',
  'ip-addr',
  'kube-proxy-log',
  'kubectl',
  'nft',
  'text',
] as const;
export type OutputKind = (typeof OUTPUT_KINDS)[number];

export type LNode =
  | { t: 'line'; i: number }
  | { t: 'ellipsis'; i: number }
  | { t: 'group'; head?: number; children: LNode[]; unordered: boolean; what?: string };

export type Group = Extract<LNode, { t: 'group' }>;

/** What a set holds, for the diff's "compared as a set" note. */
export const SET_NOTES: Partial<Record<OutputKind, string>> = {
  ipvsadm: 'ipvsadm services and their real servers are compared as a set (order ignored)',
  ipset: 'ipset members are compared as a set (order ignored)',
  iptables:
    'iptables chains are compared as a set (order ignored); rules keep their order inside a chain',
  'ip-addr': 'interfaces and their addresses are compared as a set (order ignored)',
  kubectl: 'table rows are compared as a set (order ignored)',
  nft: 'nftables chains, maps and map elements are compared as a set (order ignored); rules keep their order',
};

const IPVS_SERVICE = /^(?:TCP|UDP|SCTP|FWM)\s+\S+/;
const IPVS_RS = /^\s+->\s+\S+:\d+\s+\S/;
const IPVS_HEADER = /^(?:IP Virtual Server version|Prot |Port |\s+-> RemoteAddress)/;

export function detectKind(text: string): OutputKind {
  const lines = text.split('\n');
  const first = lines.find((l) => l.trim() !== '' && !isEllipsis(l)) ?? '';
  if (
    /^IP Virtual Server version/m.test(text) ||
    (lines.some((l) => IPVS_SERVICE.test(l) && /:\d+\s+\w+/.test(l)) &&
      lines.some((l) => /^\s+->\s+\S+:\d+\s+(?:Masq|Route|Tunnel|Local|FullNat)\b/.test(l)))
  )
    return 'ipvsadm';
  if (
    /^TCP\s+\S+:\d+\s+[a-z]{2,5}(?:\s|$)/m.test(text) ||
    /^UDP\s+\S+:\d+\s+[a-z]{2,5}(?:\s|$)/m.test(text)
  )
    return 'ipvsadm';
  if (/^Name: \S+\s*\nType: /m.test(text) || /^Members:\s*$/m.test(text)) return 'ipset';
  if (/^[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d+/m.test(first)) return 'kube-proxy-log';
  if (/^\d+: [\w.@-]+: <[A-Z0-9_,-]*>/m.test(text)) return 'ip-addr';
  if (/^(?:\*\w+|:[A-Z][\w-]* \S+ \[\d+:\d+\]|-A \S+ )/m.test(text) || /^Chain \S+ \(/m.test(text))
    return 'iptables';
  if (/^(?:NAMESPACE|NAME)\s{2,}\S/.test(first)) return 'kubectl';
  if (
    /^table (?:ip|ip6|inet|arp|bridge|netdev) \S+ \{\s*$/m.test(text) ||
    /^\s*(?:chain|map|set) \S+ \{\s*$/m.test(text)
  )
    return 'nft';
  if (/^[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d+/m.test(text)) return 'kube-proxy-log';
  return 'text';
}

const lineNode = (i: number): LNode => ({ t: 'line', i });

function plain(lines: string[], from = 0, to = lines.length): LNode[] {
  const out: LNode[] = [];
  for (let i = from; i < to; i++)
    out.push(isEllipsis(lines[i]!) ? { t: 'ellipsis', i } : lineNode(i));
  return out;
}

function indented(l: string): boolean {
  return /^\s/.test(l);
}

function ipvsadm(lines: string[]): LNode[] {
  const root: LNode[] = [];
  let set: Group | null = null;
  let svc: Group | null = null;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (IPVS_SERVICE.test(l) && !IPVS_HEADER.test(l)) {
      if (!set) {
        set = { t: 'group', children: [], unordered: true, what: 'services' };
        root.push(set);
      }
      svc = { t: 'group', head: i, children: [], unordered: true, what: 'real servers' };
      set.children.push(svc);
    } else if (svc && (IPVS_RS.test(l) || (isEllipsis(l) && indented(l)))) {
      svc.children.push(isEllipsis(l) ? { t: 'ellipsis', i } : lineNode(i));
    } else if (set && isEllipsis(l)) {
      set.children.push({ t: 'ellipsis', i });
      svc = null;
    } else {
      set = null;
      svc = null;
      root.push(isEllipsis(l) ? { t: 'ellipsis', i } : lineNode(i));
    }
  }
  return root;
}

function ipset(lines: string[]): LNode[] {
  const root: LNode[] = [];
  let members: Group | null = null;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (/^Members:\s*$/.test(l)) {
      members = { t: 'group', head: i, children: [], unordered: true, what: 'members' };
      root.push(members);
    } else if (members && l.trim() !== '' && !/^Name: /.test(l)) {
      members.children.push(isEllipsis(l) ? { t: 'ellipsis', i } : lineNode(i));
    } else {
      members = null;
      root.push(isEllipsis(l) ? { t: 'ellipsis', i } : lineNode(i));
    }
  }
  return root;
}

/** iptables-save (also grep-filtered): per table, declarations and per-chain rule lists as sets. */
function iptablesSave(lines: string[]): LNode[] {
  const root: LNode[] = [];
  let decls: Group | null = null;
  let chains: Group | null = null;
  let byChain = new Map<string, Group>();
  let elided = false;
  // "..." anywhere in a table's rules: other chains, and other rules inside each chain, may be there
  const finish = () => {
    if (elided && !chains && !decls) root.push({ t: 'ellipsis', i: -1 });
    if (elided) {
      if (chains && !chains.children.some((c) => c.t === 'ellipsis'))
        chains.children.push({ t: 'ellipsis', i: -1 });
      if (decls && !decls.children.some((c) => c.t === 'ellipsis'))
        decls.children.push({ t: 'ellipsis', i: -1 });
      for (const g of byChain.values()) {
        const rules = g.children.filter((c) => c.t !== 'ellipsis');
        g.children = [
          { t: 'ellipsis', i: -1 },
          ...rules.flatMap((r): LNode[] => [r, { t: 'ellipsis', i: -1 }]),
        ];
      }
    }
    decls = null;
    chains = null;
    byChain = new Map();
    elided = false;
  };
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    const rule = /^-[AI] (\S+)/.exec(l);
    if (/^\*\w+/.test(l)) {
      finish();
      root.push(lineNode(i));
    } else if (/^:\S+ \S+ \[/.test(l)) {
      if (!decls) {
        decls = { t: 'group', children: [], unordered: true, what: 'chain declarations' };
        root.push(decls);
      }
      decls.children.push(lineNode(i));
    } else if (rule) {
      if (!chains) {
        chains = { t: 'group', children: [], unordered: true, what: 'chains' };
        root.push(chains);
      }
      const name = rule[1]!;
      let g = byChain.get(name);
      if (!g) {
        g = { t: 'group', children: [], unordered: false, what: `rules of ${name}` };
        byChain.set(name, g);
        chains.children.push(g);
      }
      g.children.push(lineNode(i));
    } else if (isEllipsis(l)) {
      elided = true;
    } else {
      if (/^COMMIT/.test(l)) finish();
      root.push(lineNode(i));
    }
  }
  finish();
  return root;
}

/** iptables -L / -nvL: "Chain X (...)" blocks, rules in order, chains as a set. */
function iptablesList(lines: string[]): LNode[] {
  const root: LNode[] = [];
  let set: Group | null = null;
  let chain: Group | null = null;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (/^Chain \S+/.test(l)) {
      if (!set) {
        set = { t: 'group', children: [], unordered: true, what: 'chains' };
        root.push(set);
      }
      chain = { t: 'group', head: i, children: [], unordered: false, what: 'rules' };
      set.children.push(chain);
    } else if (chain && l.trim() !== '') {
      chain.children.push(isEllipsis(l) ? { t: 'ellipsis', i } : lineNode(i));
    } else if (l.trim() === '') {
      chain = null;
    } else {
      chain = null;
      set = null;
      root.push(isEllipsis(l) ? { t: 'ellipsis', i } : lineNode(i));
    }
  }
  return root;
}

function ipAddr(lines: string[]): LNode[] {
  const root: LNode[] = [];
  let set: Group | null = null;
  let iface: Group | null = null;
  let addrs: Group | null = null;
  let addr: Group | null = null;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (/^\d+: \S+: </.test(l)) {
      if (!set) {
        set = { t: 'group', children: [], unordered: true, what: 'interfaces' };
        root.push(set);
      }
      iface = { t: 'group', head: i, children: [], unordered: false, what: 'interface' };
      set.children.push(iface);
      addrs = null;
      addr = null;
    } else if (iface && /^\s+inet6? /.test(l)) {
      if (!addrs) {
        addrs = { t: 'group', children: [], unordered: true, what: 'addresses' };
        iface.children.push(addrs);
      }
      addr = { t: 'group', head: i, children: [], unordered: false, what: 'address' };
      addrs.children.push(addr);
    } else if (addr && /^\s+(?:valid_lft|altname)/.test(l)) {
      addr.children.push(lineNode(i));
    } else if (iface && indented(l) && !isEllipsis(l)) {
      addr = null;
      if (addrs) {
        addrs = null;
      }
      iface.children.push(lineNode(i));
    } else if (iface && isEllipsis(l) && indented(l)) {
      (addrs ?? iface).children.push({ t: 'ellipsis', i });
    } else if (set && isEllipsis(l)) {
      set.children.push({ t: 'ellipsis', i });
      iface = null;
      addrs = null;
      addr = null;
    } else {
      set = null;
      iface = null;
      addrs = null;
      addr = null;
      root.push(isEllipsis(l) ? { t: 'ellipsis', i } : lineNode(i));
    }
  }
  return root;
}

function kubectl(lines: string[]): LNode[] {
  const root: LNode[] = [];
  let rows: Group | null = null;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (/^(?:NAMESPACE|NAME|LAST SEEN)\s{2,}\S/.test(l)) {
      rows = { t: 'group', head: i, children: [], unordered: true, what: 'rows' };
      root.push(rows);
    } else if (rows && l.trim() !== '') {
      rows.children.push(isEllipsis(l) ? { t: 'ellipsis', i } : lineNode(i));
    } else {
      rows = null;
      root.push(isEllipsis(l) ? { t: 'ellipsis', i } : lineNode(i));
    }
  }
  return root;
}

/**
 * nft list output: chains, maps and sets as a set of blocks (rules inside a chain keep their
 * order); the elements of a map or set as a set, each element compared on its own (the
 * `elements = {` prefix, the separating comma and the closing brace are set aside, see
 * `nftElementText`). Blank lines and grep's `--` separators are not compared.
 */
function nft(lines: string[]): LNode[] {
  const root: LNode[] = [];
  let set: Group | null = null;
  let block: Group | null = null;
  let elems: Group | null = null;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.trim() === '' || l.trim() === '--') continue;
    if (elems) {
      elems.children.push(isEllipsis(l) ? { t: 'ellipsis', i } : lineNode(i));
      if (/\}\s*$/.test(l)) elems = null;
      continue;
    }
    if (/^\s*(?:chain|map|set|flowtable) \S+ \{\s*$/.test(l)) {
      if (!set) {
        set = { t: 'group', children: [], unordered: true, what: 'chains and maps' };
        root.push(set);
      }
      block = { t: 'group', head: i, children: [], unordered: false, what: 'rules' };
      set.children.push(block);
    } else if (block && /^\s*\}\s*$/.test(l)) {
      block = null;
    } else if (block && /^\s*elements = \{/.test(l)) {
      elems = { t: 'group', children: [lineNode(i)], unordered: true, what: 'elements' };
      block.children.push(elems);
      if (/\}\s*$/.test(l)) elems = null;
    } else if (block) {
      block.children.push(isEllipsis(l) ? { t: 'ellipsis', i } : lineNode(i));
    } else if (set && isEllipsis(l)) {
      set.children.push({ t: 'ellipsis', i });
    } else {
      set = null;
      root.push(isEllipsis(l) ? { t: 'ellipsis', i } : lineNode(i));
    }
  }
  return root;
}

/** One nft set/map element as compared: without `elements = {`, the trailing comma or `}`. */
export function nftElementText(line: string): string | null {
  const m = /^\s*(?:elements = \{\s*)?(.*?)\s*(?:,|\})?\s*$/.exec(line);
  if (!m || !/^\s*(?:elements = \{|\S.*(?:,|\})\s*$|\s+\S)/.test(line)) return null;
  return m[1] ?? null;
}

/** Build the layout of `lines` for `kind`: a root group (no head, ordered). */
export function layout(lines: string[], kind: OutputKind): Group {
  let children: LNode[];
  switch (kind) {
    case 'ipvsadm':
      children = ipvsadm(lines);
      break;
    case 'ipset':
      children = ipset(lines);
      break;
    case 'iptables':
      children = lines.some((l) => /^Chain \S+ \(/.test(l))
        ? iptablesList(lines)
        : iptablesSave(lines);
      break;
    case 'ip-addr':
      children = ipAddr(lines);
      break;
    case 'kubectl':
      children = kubectl(lines);
      break;
    case 'nft':
      children = nft(lines);
      break;
    default:
      children = plain(lines);
  }
  // "..." right before or after a set: the set may hold other members too
  children.forEach((c, k) => {
    if (c.t !== 'group' || !c.unordered || c.head !== undefined) return;
    const near = children[k - 1]?.t === 'ellipsis' || children[k + 1]?.t === 'ellipsis';
    if (near && !c.children.some((x) => x.t === 'ellipsis'))
      c.children.push({ t: 'ellipsis', i: -1 });
  });
  return { t: 'group', children, unordered: false, what: 'output' };
}

/** Does the tree hold a set anywhere (for the "compared as a set" note)? */
export function hasSet(g: Group): boolean {
  return g.children.some((c) => c.t === 'group' && (c.unordered || hasSet(c)));
}
