/**
 * `ip addr` / `ip link` (text, old and new iproute2) and `ip -j addr|link` (JSON) →
 * interfaces with state, flags and addresses.
 */
import { ParseError } from './errors.js';
import { int, isNoise, numberedLines } from './text.js';

export interface IpAddress {
  family: 'inet' | 'inet6';
  address: string;
  prefixLength: number;
  /** `address/prefix`, the form the contract lists. */
  cidr: string;
  scope: string | null;
  broadcast: string | null;
}

export interface IpInterface {
  name: string;
  index: number | null;
  /** `veth0@if12` → `if12`. */
  peer: string | null;
  flags: string[];
  mtu: number | null;
  qdisc: string | null;
  /** Operational state: UP, DOWN, UNKNOWN, LOWERLAYERDOWN... */
  state: string | null;
  master: string | null;
  linkType: string | null;
  mac: string | null;
  /** `ip -d`: kind (dummy, veth, bridge...) when shown. */
  kind: string | null;
  /** `10.96.0.10/32` strings (the contract field). */
  addresses: string[];
  addressDetails: IpAddress[];
  /** `altname enp0s6` lines (iproute2 ≥ 5.5), when the listing shows any. */
  altNames?: string[];
}

export interface IpAddrList {
  format: 'text' | 'json';
  interfaces: IpInterface[];
  skipped: number[];
}

function blank(name: string, index: number | null): IpInterface {
  return {
    name,
    index,
    peer: null,
    flags: [],
    mtu: null,
    qdisc: null,
    state: null,
    master: null,
    linkType: null,
    mac: null,
    kind: null,
    addresses: [],
    addressDetails: [],
  };
}

function addAddress(i: IpInterface, a: IpAddress): void {
  i.addresses.push(a.cidr);
  i.addressDetails.push(a);
}

interface JsonAddr {
  family?: string;
  local?: string;
  prefixlen?: number;
  scope?: string;
  broadcast?: string;
}
interface JsonLink {
  ifindex?: number;
  ifname?: string;
  link?: string;
  flags?: string[];
  mtu?: number;
  qdisc?: string;
  operstate?: string;
  master?: string;
  link_type?: string;
  address?: string;
  linkinfo?: { info_kind?: string };
  addr_info?: JsonAddr[];
}

function fromJson(data: unknown): IpAddrList {
  if (!Array.isArray(data))
    throw new ParseError(
      'ip-addr',
      'the JSON is not an array of interfaces (expected `ip -j addr` output)',
    );
  const out: IpAddrList = { format: 'json', interfaces: [], skipped: [] };
  for (const raw of data as unknown[]) {
    if (!raw || typeof raw !== 'object') continue;
    const l = raw as JsonLink;
    if (typeof l.ifname !== 'string') continue;
    const i = blank(l.ifname, typeof l.ifindex === 'number' ? l.ifindex : null);
    i.peer = typeof l.link === 'string' ? l.link : null;
    i.flags = Array.isArray(l.flags)
      ? l.flags.filter((x): x is string => typeof x === 'string')
      : [];
    i.mtu = typeof l.mtu === 'number' ? l.mtu : null;
    i.qdisc = typeof l.qdisc === 'string' ? l.qdisc : null;
    i.state = typeof l.operstate === 'string' ? l.operstate : null;
    i.master = typeof l.master === 'string' ? l.master : null;
    i.linkType = typeof l.link_type === 'string' ? l.link_type : null;
    i.mac = typeof l.address === 'string' ? l.address : null;
    i.kind = typeof l.linkinfo?.info_kind === 'string' ? l.linkinfo.info_kind : null;
    for (const a of Array.isArray(l.addr_info) ? l.addr_info : []) {
      if (!a || typeof a.local !== 'string' || typeof a.prefixlen !== 'number') continue;
      const family = a.family === 'inet6' ? 'inet6' : 'inet';
      addAddress(i, {
        family,
        address: a.local,
        prefixLength: a.prefixlen,
        cidr: `${a.local}/${a.prefixlen}`,
        scope: typeof a.scope === 'string' ? a.scope : null,
        broadcast: typeof a.broadcast === 'string' ? a.broadcast : null,
      });
    }
    out.interfaces.push(i);
  }
  if (out.interfaces.length === 0 && data.length > 0) {
    throw new ParseError('ip-addr', 'the JSON array holds no interfaces (no "ifname" fields)');
  }
  return out;
}

const LINK = /^(\d+):\s+([^\s:@]+)(?:@(\S+?))?:\s+<([^>]*)>(.*)$/;

/** Parse `ip addr` / `ip link` output, text or JSON. Throws ParseError when it is neither. */
export function parseIpAddr(input: string): IpAddrList {
  const trimmed = input.trim();
  if (trimmed.startsWith('[')) {
    let data: unknown;
    try {
      data = JSON.parse(trimmed);
    } catch {
      throw new ParseError('ip-addr', 'the input starts like JSON but is not valid JSON');
    }
    return fromJson(data);
  }
  const out: IpAddrList = { format: 'text', interfaces: [], skipped: [] };
  let cur: IpInterface | null = null;
  for (const { no, text } of numberedLines(input)) {
    if (isNoise(text)) continue;
    const m = LINK.exec(text);
    if (m) {
      cur = blank(m[2]!, int(m[1]));
      cur.peer = m[3] ?? null;
      cur.flags = m[4]!.split(',').filter(Boolean);
      const rest = m[5]!.trim().split(/\s+/);
      for (let k = 0; k < rest.length - 1; k++) {
        const key = rest[k]!;
        const v = rest[k + 1]!;
        if (key === 'mtu') cur.mtu = int(v);
        else if (key === 'qdisc') cur.qdisc = v;
        else if (key === 'state') cur.state = v;
        else if (key === 'master') cur.master = v;
        else continue;
        k++;
      }
      out.interfaces.push(cur);
      continue;
    }
    const t = text.trim();
    if (!cur) {
      out.skipped.push(no);
      continue;
    }
    const lk = /^link\/(\S+)(?: (\S+))?/.exec(t);
    if (lk) {
      cur.linkType = lk[1]!;
      cur.mac = lk[2] && /^[0-9a-f]{2}(?::[0-9a-f]{2})+$/i.test(lk[2]) ? lk[2] : null;
      continue;
    }
    const ad = /^(inet6?) (\S+?)\/(\d+)(.*)$/.exec(t);
    if (ad) {
      const rest = ad[4]!;
      const brd = /\bbrd (\S+)/.exec(rest);
      const scope = /\bscope (\S+)/.exec(rest);
      addAddress(cur, {
        family: ad[1] as 'inet' | 'inet6',
        address: ad[2]!,
        prefixLength: Number(ad[3]),
        cidr: `${ad[2]!}/${ad[3]!}`,
        scope: scope ? scope[1]! : null,
        broadcast: brd ? brd[1]! : null,
      });
      continue;
    }
    // `ip addr add 10.0.0.1 dev x` shows a host address without a prefix.
    const ad0 = /^(inet6?) (\S+) (?:brd|scope|peer)\b(.*)$/.exec(t);
    if (ad0 && !ad0[2]!.includes('/')) {
      const bits = ad0[1] === 'inet6' ? 128 : 32;
      const scope = /\bscope (\S+)/.exec(t);
      addAddress(cur, {
        family: ad0[1] as 'inet' | 'inet6',
        address: ad0[2]!,
        prefixLength: bits,
        cidr: `${ad0[2]!}/${bits}`,
        scope: scope ? scope[1]! : null,
        broadcast: null,
      });
      continue;
    }
    const alt = /^altname (\S+)$/.exec(t);
    if (alt) {
      (cur.altNames ??= []).push(alt[1]!);
      continue;
    }
    if (/^(?:valid_lft|alias|RX|TX|\d+\s+\d+)/.test(t)) continue;
    const kind = /^(dummy|veth|bridge|vxlan|ipip|bond|macvlan|ipvlan|tun|wireguard|geneve)\b/.exec(
      t,
    );
    if (kind) {
      cur.kind = kind[1]!;
      continue;
    }
    out.skipped.push(no);
  }
  if (out.interfaces.length === 0) {
    throw new ParseError(
      'ip-addr',
      trimmed === ''
        ? 'the input is empty'
        : 'no line looks like ip addr/link output (expected "4: kube-ipvs0: <BROADCAST,NOARP> mtu 1500 ...")',
    );
  }
  return out;
}
