/**
 * `nft list table|chain|map …` output → typed data: tables → chains (their rules as text,
 * the base-chain hook line apart) and sets/maps (type, flags, comment, elements).
 * `kubeProxyNftView` reads kube-proxy's nftables mode from it: the `service-ips` map
 * → each Service port's chain → its endpoints, in the forms kube-proxy has written:
 *   - `numgen random mod N vmap { 0 : goto endpoint-…, … }`, each endpoint chain ending in
 *     `dnat to ADDR:PORT` (and one endpoint as a plain `goto endpoint-…`);
 *   - the squashed form without endpoint chains (Kubernetes 1.36):
 *     `dnat ip addr . port to numgen random mod N map { 0 : ADDR . PORT, … }`, or
 *     `dnat to ADDR:PORT` right in the service chain for one endpoint;
 * and `no-endpoint-services` for ports that have none.
 */
import { ParseError } from './errors.js';
import { isNoise, promptCommand, sectionMarker, toLines } from './text.js';

export interface NftChain {
  /** `type nat hook prerouting priority dstnat; policy accept;` for a base chain, else null. */
  hook: string | null;
  /** Rule lines, trimmed, in order. */
  rules: string[];
}

export interface NftSet {
  kind: 'set' | 'map';
  /** e.g. `ipv4_addr . inet_proto . inet_service : verdict`. */
  type: string | null;
  flags: string | null;
  comment: string | null;
  /** One entry per element, as printed (`10.96.0.10 . tcp . 53 : goto service-…`). */
  elements: string[];
  /** Other lines of the set as written (`size 65535`, `policy memory`, `auto-merge`…). */
  attributes: string[];
}

export interface NftTable {
  family: string;
  name: string;
  comment: string | null;
  chains: Record<string, NftChain>;
  sets: Record<string, NftSet>;
  /**
   * The node the block was pasted under (`==> node1 <==`, `>>> node1`), when the paste
   * says; null otherwise.
   */
  section: string | null;
  /** Only named, as `nft list tables` prints it: its contents are not in the input. */
  nameOnly: boolean;
}

export interface NftRuleset {
  tables: NftTable[];
  /** Line numbers that were not nft output, or nft syntax this parser does not keep, skipped. */
  skipped: number[];
}

const OPEN =
  /^(table|chain|map|set|flowtable|ct helper|ct timeout|ct expectation|counter|quota|limit|secmark|synproxy)\s+(?:(ip6?|inet|arp|bridge|netdev)\s+)?(\S+)\s*\{$/;
/** `table ip nat` as `nft list tables` prints it. */
const TABLE_NAME = /^table\s+(ip6?|inet|arp|bridge|netdev)\s+(\S+)$/;
/** `# handle 18` that `nft -a` adds after an object or a rule. */
const HANDLE = /\s+# handle \d+$/;

/** Split an element list on commas outside quotes and braces. */
function splitElements(text: string): string[] {
  const out: string[] = [];
  let from = 0;
  let depth = 0;
  let quoted = false;
  const push = (a: number, b: number) => {
    const e = text.slice(a, b).trim();
    if (e) out.push(e.replace(/\s+/g, ' '));
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) quoted = !quoted;
    else if (!quoted && c === 123) depth++;
    else if (!quoted && c === 125) depth--;
    else if (!quoted && depth === 0 && c === 44) {
      push(from, i);
      from = i + 1;
    }
  }
  push(from, text.length);
  return out;
}

/** Parse `nft list …` output. Throws ParseError when nothing in it is nft's ruleset syntax. */
export function parseNft(input: string): NftRuleset {
  const out: NftRuleset = { tables: [], skipped: [] };
  const lines = toLines(input);
  let table: NftTable | null = null;
  /** The table is one this parser made up for blocks pasted without their `table` line. */
  let implicit = false;
  let chain: NftChain | null = null;
  let set: NftSet | null = null;
  /** Depth inside a block this parser does not read (flowtable, ct helper, …): skipped. */
  let other = 0;
  /** Collecting a multi-line `elements = { … }`: its lines so far, and its open braces. */
  let elements: string[] | null = null;
  const braces = new BraceCounter();
  let recognized = 0;
  let section: string | null = null;
  const newTable = (family: string, name: string): NftTable => {
    const t: NftTable = {
      family,
      name,
      comment: null,
      chains: {},
      sets: {},
      section,
      nameOnly: false,
    };
    out.tables.push(t);
    return t;
  };
  /**
   * The table a chain or set named `name` goes to. Blocks pasted without their table (one
   * `nft list chain` per node) share one made-up table until a name comes again: then the
   * block starts a table of its own, so no block overwrites another.
   */
  const tableFor = (name: string, kind: 'chains' | 'sets'): NftTable => {
    if (table && name in table[kind]) {
      table = implicit ? newTable('unknown', 'unknown') : newTable(table.family, table.name);
    }
    if (!table) {
      table = newTable('unknown', 'unknown');
      implicit = true;
    }
    return table;
  };
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    let line = raw.trim();
    if (elements !== null) {
      elements.push(line);
      if (braces.closes(line)) finishElements();
      continue;
    }
    if (line === '' || line === '--') continue;
    const marker = sectionMarker(line);
    if (marker !== null) {
      // Another node's output (`==> node2 <==`, `>>> node2`): its blocks are not the last node's.
      section = marker;
      if (implicit && !chain && !set) table = null;
      continue;
    }
    if (isNoise(raw) || promptCommand(raw) !== null) continue;
    if (line.includes('# handle')) line = line.replace(HANDLE, '');
    if (other > 0) {
      if (line.endsWith('{')) other++;
      else if (line === '}') other--;
      out.skipped.push(i + 1);
      continue;
    }
    const open = OPEN.exec(line);
    if (open) {
      recognized++;
      const [, kind, family, name] = open;
      if (kind === 'table') {
        table = newTable(family ?? 'ip', name!);
        implicit = false;
      } else if (kind === 'chain') {
        chain = { hook: null, rules: [] };
        tableFor(name!, 'chains').chains[name!] = chain;
      } else if (kind === 'map' || kind === 'set') {
        set = { kind, type: null, flags: null, comment: null, elements: [], attributes: [] };
        tableFor(name!, 'sets').sets[name!] = set;
      } else {
        other = 1;
        out.skipped.push(i + 1);
      }
      continue;
    }
    if (line === '}') {
      recognized++;
      if (chain) chain = null;
      else if (set) set = null;
      else if (table && !implicit) table = null;
      continue;
    }
    if (set) {
      recognized++;
      const m = /^(type|flags|comment|elements)\s*=?\s*(.*)$/.exec(line);
      if (!m) {
        // size, policy, timeout, auto-merge, counter…: kept as written
        set.attributes.push(line.replace(/;$/, ''));
        continue;
      }
      const [, key, value] = m;
      if (key === 'type') set.type = value!.replace(/;$/, '');
      else if (key === 'flags') set.flags = value!.replace(/;$/, '');
      else if (key === 'comment') set.comment = unquote(value!);
      else {
        elements = [value!];
        braces.reset();
        if (braces.closes(value!)) finishElements();
      }
      continue;
    }
    if (chain) {
      recognized++;
      if (/^type \w+ hook \w+/.test(line)) chain.hook = line;
      else chain.rules.push(line.replace(/\s+/g, ' '));
      continue;
    }
    if (table && /^comment\s+"/.test(line)) {
      recognized++;
      table.comment = unquote(line.slice('comment'.length).trim());
      continue;
    }
    const named = TABLE_NAME.exec(line);
    if (named && !table) {
      recognized++;
      newTable(named[1]!, named[2]!).nameOnly = true;
      continue;
    }
    out.skipped.push(i + 1);
  }
  if (elements !== null) finishElements();
  if (recognized === 0 || out.tables.length === 0)
    throw new ParseError(
      'nft',
      input.trim() === ''
        ? 'the input is empty'
        : /Segmentation fault|core dumped/.test(input)
          ? "nft crashed (Segmentation fault) and printed no ruleset: nft older than 1.0.1 (Debian 11, kind node images before v0.22) cannot list kube-proxy's tables (kubernetes/kubernetes#122572); list them with nft 1.0.1 or newer"
          : 'no line looks like nft output (expected "table ip kube-proxy {", "chain NAME {" or "map NAME {")',
    );
  return out;

  function finishElements() {
    const body = elements!
      .join(' ')
      .trim()
      .replace(/^\{/, '')
      .replace(/\}\s*;?$/, '');
    if (set) for (const e of splitElements(body)) set.elements.push(e);
    elements = null;
  }
}

/**
 * Follows the braces of an element list line by line (outside quotes), so a list of
 * thousands of lines is scanned once, not again from its start at every line.
 */
class BraceCounter {
  private depth = 0;
  private quoted = false;
  reset(): void {
    this.depth = 0;
    this.quoted = false;
  }
  /** Reads one more line; true when the list's outer `{` has just been closed. */
  closes(text: string): boolean {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 34) this.quoted = !this.quoted;
      else if (!this.quoted && c === 123) this.depth++;
      else if (!this.quoted && c === 125 && --this.depth === 0) return true;
    }
    return false;
  }
}

function unquote(s: string): string {
  const t = s.replace(/;$/, '').trim();
  return t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
}

// ---------------------------------------------------------------------------------------
// kube-proxy's view

export interface NftEndpoint {
  address: string;
  port: number;
  /** The endpoint chain (null in the squashed form, which has none). */
  chain: string | null;
}

export interface NftServicePort {
  /** `namespace/name` from the chain name; null when the chain is not named that way. */
  name: string | null;
  portName: string | null;
  protocol: string;
  clusterIP: string;
  port: number;
  /** The service chain the map jumps to. */
  chain: string;
  /** Endpoints in the chain's order; empty when the chain is not in the input. */
  endpoints: NftEndpoint[];
  /** Whether the service chain was in the input (a `nft list map` shows only the map). */
  chainListed: boolean;
}

export interface KubeProxyNftView {
  family: string;
  services: NftServicePort[];
  /** `ip . proto . port` of ports in `no-endpoint-services` (traffic rejected or dropped). */
  noEndpoints: string[];
  serviceChains: number;
  endpointChains: number;
}

/** `ADDR:PORT`, `[v6]:PORT` → address (no brackets) and port. */
function addrPort(s: string): { address: string; port: number } | null {
  const m = /^\[?([0-9a-fA-F:.]+?)\]?:(\d+)$/.exec(s);
  return m ? { address: m[1]!, port: Number(m[2]) } : null;
}

/** `service-HASH-ns/name/proto/portName` → its parts. */
function serviceName(chain: string): { name: string; portName: string | null } | null {
  const m = /^service-[A-Z0-9]+-([^/]+\/[^/]+)\/[a-z]+\/(.*)$/.exec(chain);
  return m ? { name: m[1]!, portName: m[2] ? m[2] : null } : null;
}

/**
 * A chain of table `t`, or of another block of the same table from the same node (blocks
 * pasted one `nft list chain` at a time, split where a name came again).
 */
function chainOf(r: NftRuleset, t: NftTable, name: string): NftChain | undefined {
  const c = t.chains[name];
  if (c || r.tables.length === 1) return c;
  for (const o of r.tables)
    if (
      o !== t &&
      o.family === t.family &&
      o.name === t.name &&
      o.section === t.section &&
      o.chains[name]
    )
      return o.chains[name];
  return undefined;
}

function endpointsOf(r: NftRuleset, t: NftTable, chain: NftChain): NftEndpoint[] {
  const out: NftEndpoint[] = [];
  const fromChain = (name: string) => {
    const ep = chainOf(r, t, name);
    let at: { address: string; port: number } | null = null;
    for (const r of ep?.rules ?? []) {
      const d = /\bdnat (?:ip6? )?to (\S+)/.exec(r);
      if (d) at = addrPort(d[1]!);
    }
    // not listed (a grep'd table): the chain's name ends in __ADDR/PORT, an IPv6 address
    // written with dots for its colons (colons are not allowed in a chain name)
    if (!at) {
      const m = /__([0-9a-fA-F.]+)\/(\d+)$/.exec(name);
      if (m) {
        const v4 = /^\d{1,3}(?:\.\d{1,3}){3}$/.test(m[1]!);
        at = { address: v4 ? m[1]! : m[1]!.replace(/\./g, ':'), port: Number(m[2]) };
      }
    }
    if (at) out.push({ ...at, chain: name });
  };
  for (const r of chain.rules) {
    const vmap = /numgen random mod \d+ vmap \{(.*)\}/.exec(r);
    if (vmap) {
      for (const e of splitElements(vmap[1]!)) {
        const g = /:\s*goto (\S+)$/.exec(e);
        if (g) fromChain(g[1]!);
      }
      continue;
    }
    const map = /\bdnat (?:ip6? )?(?:addr \. port )?to numgen random mod \d+ map \{(.*)\}/.exec(r);
    if (map) {
      for (const e of splitElements(map[1]!)) {
        const m = /:\s*\[?([0-9a-fA-F:.]+?)\]? \. (\d+)$/.exec(e);
        if (m) out.push({ address: m[1]!, port: Number(m[2]), chain: null });
      }
      continue;
    }
    const g = /^(?:goto|jump) (endpoint-\S+)$/.exec(r);
    if (g) {
      fromChain(g[1]!);
      continue;
    }
    const d = /\bdnat (?:ip6? )?to (\S+)$/.exec(r);
    if (d && !/numgen/.test(r)) {
      const at = addrPort(d[1]!);
      if (at) out.push({ ...at, chain: null });
    }
  }
  return out;
}

/** kube-proxy's services and endpoints in one `kube-proxy` table (the first, or the family asked). */
export function kubeProxyNftView(r: NftRuleset, family?: string): KubeProxyNftView | null {
  const t =
    r.tables.find((x) => x.name === 'kube-proxy' && (!family || x.family === family)) ??
    r.tables.find((x) => x.name === 'unknown' && x.sets['service-ips']);
  if (!t) return null;
  const services: NftServicePort[] = [];
  for (const e of t.sets['service-ips']?.elements ?? []) {
    const m = /^(\S+) \. (\w+) \. (\d+)(?: comment "[^"]*")? : goto (\S+)$/.exec(e);
    if (!m) continue;
    const [, ip, proto, port, chainName] = m;
    const chain = chainOf(r, t, chainName!);
    const n = serviceName(chainName!);
    services.push({
      name: n?.name ?? null,
      portName: n?.portName ?? null,
      protocol: proto!.toUpperCase(),
      clusterIP: ip!,
      port: Number(port),
      chain: chainName!,
      endpoints: chain ? endpointsOf(r, t, chain) : [],
      chainListed: Boolean(chain),
    });
  }
  const noEndpoints = (t.sets['no-endpoint-services']?.elements ?? [])
    .map((e) => /^(\S+ \. \w+ \. \d+)/.exec(e)?.[1])
    .filter((x): x is string => Boolean(x));
  const names = Object.keys(t.chains);
  return {
    family: t.family,
    services,
    noEndpoints,
    serviceChains: names.filter((c) => c.startsWith('service-')).length,
    endpointChains: names.filter((c) => c.startsWith('endpoint-')).length,
  };
}
