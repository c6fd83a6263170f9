/**
 * `ipvsadm` output → typed data. Reads every layout ipvsadm prints:
 * `-Ln` (with or without the banner and column headers, grep fragments of it),
 * `--stats`, `--rate`, `--persistent-conn`, `--thresholds`, `-Sn` (save), `-Lnc`
 * (connection table) and `--timeout`, for TCP, UDP, SCTP and firewall-mark services,
 * IPv4 and IPv6 (`[addr]:port`, returned without brackets).
 */
import { ParseError } from './errors.js';
import { ByteOut } from './byteout.js';
import type { JsonSink } from './jsonwriter.js';
import { LineReader, bufferSource, type ByteSource } from './source.js';
import {
  fields,
  int,
  isIP,
  isNoise,
  scaledInt,
  sectionMarker,
  splitHostPort,
  stripAnnotation,
  toLines,
} from './text.js';

export type IpvsProtocol = 'TCP' | 'UDP' | 'SCTP' | 'FWM';
export type IpvsForward = 'Masq' | 'Route' | 'Tunnel' | 'Local' | string;
export type IpvsLayout =
  'list' | 'stats' | 'rate' | 'persistent-conn' | 'thresholds' | 'save' | 'connections' | 'timeout';

export interface IpvsCounters {
  conns: number;
  inPkts: number;
  outPkts: number;
  inBytes: number;
  outBytes: number;
}
export interface IpvsRates {
  cps: number;
  inPps: number;
  outPps: number;
  inBps: number;
  outBps: number;
}

export interface IpvsRealServer {
  address: string;
  /** null when the listing shows a service name instead of a number (`-L` without `-n`). */
  port: number | null;
  /** Null in the --stats/--rate layouts, which do not print it. */
  forward: IpvsForward | null;
  weight: number | null;
  activeConn: number | null;
  inActConn: number | null;
  /** --persistent-conn layout only. */
  persistConn?: number | null;
  /** --thresholds layout only. */
  upperThreshold?: number | null;
  lowerThreshold?: number | null;
  /**
   * The first two of four numbers on a row whose title line was not in the input
   * (--persistent-conn: weight, persistent connections; --thresholds: upper, lower).
   */
  unnamedColumns?: [number, number];
  stats?: IpvsCounters;
  rate?: IpvsRates;
  /** false when the address or port is a name, not a number. */
  numeric: boolean;
  portName?: string;
  line: number;
}

export interface IpvsService {
  protocol: IpvsProtocol;
  /** Virtual address (no brackets for IPv6); null for a firewall-mark service. */
  address: string | null;
  port: number | null;
  /** Firewall mark for FWM services. */
  fwmark?: number;
  /** null in the --stats/--rate layouts, which do not print it. */
  scheduler: string | null;
  /** Persistence timeout in seconds (`persistent N`), null when not persistent. */
  persistent: number | null;
  /** `mask X` after persistent (netmask for IPv4, prefix length for IPv6). */
  mask: string | null;
  /** One-packet scheduling (`ops`). */
  ops: boolean;
  /** Other flags printed after the scheduler, verbatim. */
  flags: string[];
  realServers: IpvsRealServer[];
  stats?: IpvsCounters;
  rate?: IpvsRates;
  numeric: boolean;
  portName?: string;
  /** Label of the `>>> node` section the service appeared under, when the input has sections. */
  section?: string;
  line: number;
}

export interface IpvsConnection {
  protocol: string;
  /** As printed, `mm:ss`. */
  expire: string;
  expireSeconds: number | null;
  state: string;
  source: { address: string; port: number | null };
  virtual: { address: string; port: number | null };
  destination: { address: string; port: number | null };
  line: number;
}

export interface IpvsTimeout {
  tcp: number;
  tcpfin: number;
  udp: number;
}

export interface IpvsTable {
  /** Layouts found in the input, in order of appearance. */
  layouts: IpvsLayout[];
  /** From the banner `IP Virtual Server version 1.2.1 (size=4096)`, when present. */
  version: string | null;
  tableSize: number | null;
  services: IpvsService[];
  connections: IpvsConnection[];
  timeout: IpvsTimeout | null;
  /** Line numbers that were not ipvsadm output and were skipped. */
  skipped: number[];
  /** Real-server lines that had no service above them (a fragment cut mid-table). */
  orphanRealServers: IpvsRealServer[];
}

const PROTOS = new Set(['TCP', 'UDP', 'SCTP', 'FWM']);
type RowLayout = 'list' | 'stats' | 'rate' | 'persistent-conn' | 'thresholds';

function endpoint(
  s: string,
): { address: string; port: number | null; numeric: boolean; portName?: string } | null {
  const hp = splitHostPort(s);
  if (!hp || hp.host === '') return null;
  const port = int(hp.port);
  const numeric = port !== null && isIP(hp.host);
  const out: { address: string; port: number | null; numeric: boolean; portName?: string } = {
    address: hp.host,
    port,
    numeric,
  };
  if (port === null) {
    if (!/^[\w.-]+$/.test(hp.port)) return null;
    out.portName = hp.port;
  }
  if (!isIP(hp.host) && !/^[\w.-]+$/.test(hp.host)) return null;
  return out;
}

function counters(t: string[]): IpvsCounters | null {
  const n = t.map(scaledInt);
  if (n.length !== 5 || n.some((x) => x === null)) return null;
  return { conns: n[0]!, inPkts: n[1]!, outPkts: n[2]!, inBytes: n[3]!, outBytes: n[4]! };
}
function rates(t: string[]): IpvsRates | null {
  const c = counters(t);
  return c
    ? { cps: c.conns, inPps: c.inPkts, outPps: c.outPkts, inBps: c.inBytes, outBps: c.outBytes }
    : null;
}

function mmss(s: string): number | null {
  const m = /^(\d+):(\d\d)$/.exec(s);
  return m ? Number(m[1]) * 60 + Number(m[2]) : null;
}

/** Parse any ipvsadm listing. Throws ParseError when nothing in it is ipvsadm output. */
export function parseIpvsadm(input: string): IpvsTable {
  const out: IpvsTable = {
    layouts: [],
    version: null,
    tableSize: null,
    services: [],
    connections: [],
    timeout: null,
    skipped: [],
    orphanRealServers: [],
  };
  const note = (l: IpvsLayout): void => {
    if (!out.layouts.includes(l)) out.layouts.push(l);
  };
  let rowLayout: RowLayout | null = null;
  let current: IpvsService | null = null;
  let section: string | undefined;
  let recognized = 0;
  const saveIndex = new Map<string, IpvsService>();

  const lines = toLines(input);
  for (let li = 0; li < lines.length; li++) {
    const no = li + 1;
    const rawText = lines[li]!;
    if (isNoise(rawText)) continue;
    const text = rawText.includes('#') ? stripAnnotation(rawText) : rawText;
    const marker = sectionMarker(text);
    if (marker !== null) {
      section = marker;
      current = null;
      continue;
    }
    const t = text.trimStart();
    // Banner and headers start with I, P, p, T or `->`: the rows of a 10,000-service
    // listing (`TCP …`, `UDP …`, `-> addr …`) skip the patterns below by that letter.
    const c0 = t.charCodeAt(0);
    const headerLike =
      c0 === 73 || c0 === 80 || c0 === 112 || c0 === 84 || (c0 === 45 && t.includes('Remote'));
    let m = headerLike ? /^IP Virtual Server version (\S+) \(size=(\d+)\)$/.exec(t) : null;
    if (m) {
      out.version = m[1]!;
      out.tableSize = int(m[2]);
      current = null;
      recognized++;
      continue;
    }
    if (headerLike && /^(?:Prot|Port) LocalAddress:Port\b/.test(t)) {
      // ipvsadm.c print_title: --persistent-conn and --thresholds name their real-server
      // columns on this line (the `  -> RemoteAddress:Port` line under it is bare).
      rowLayout = /\bConns\b/.test(t)
        ? 'stats'
        : /\bCPS\b/.test(t)
          ? 'rate'
          : /\bPersistConn\b/.test(t)
            ? 'persistent-conn'
            : /\bUthreshold\b/.test(t)
              ? 'thresholds'
              : 'list';
      recognized++;
      continue;
    }
    if (headerLike && /^->\s*RemoteAddress:Port\b/.test(t)) {
      if (/PersistConn/.test(t)) rowLayout = 'persistent-conn';
      else if (/Uthreshold/.test(t)) rowLayout = 'thresholds';
      else if (/Forward/.test(t) && rowLayout !== 'stats' && rowLayout !== 'rate')
        rowLayout = 'list';
      recognized++;
      continue;
    }
    if (
      headerLike &&
      (/^IPVS connection entries$/.test(t) ||
        /^pro\s+expire\s+state\s+source\s+virtual\s+destination/.test(t))
    ) {
      note('connections');
      recognized++;
      continue;
    }
    m = c0 === 84 ? /^Timeout \(tcp tcpfin udp\):\s+(\d+)\s+(\d+)\s+(\d+)$/.exec(t) : null;
    if (m) {
      out.timeout = { tcp: Number(m[1]), tcpfin: Number(m[2]), udp: Number(m[3]) };
      note('timeout');
      recognized++;
      continue;
    }
    const f = fields(t);
    // Real server row.
    if (f[0] === '->') {
      const ep = f[1] ? endpoint(f[1]) : null;
      const rs = ep ? realServerRow(ep, f.slice(2), rowLayout, no) : null;
      if (!rs) {
        out.skipped.push(no);
        continue;
      }
      recognized++;
      if (current) current.realServers.push(rs);
      else out.orphanRealServers.push(rs);
      continue;
    }
    // Virtual service row.
    if (f[0] && PROTOS.has(f[0]) && f.length >= 2) {
      const svc = serviceRow(f, rowLayout, no);
      if (svc) {
        if (section !== undefined) svc.section = section;
        note(
          svc.stats
            ? rowLayout === 'rate'
              ? 'rate'
              : 'stats'
            : svc.rate
              ? 'rate'
              : rowLayout === 'persistent-conn' || rowLayout === 'thresholds'
                ? rowLayout
                : 'list',
        );
        out.services.push(svc);
        current = svc;
        recognized++;
        continue;
      }
      const conn = connectionRow(f, no);
      if (conn) {
        note('connections');
        out.connections.push(conn);
        recognized++;
        continue;
      }
      out.skipped.push(no);
      continue;
    }
    // Save format.
    if (f[0] === '-A' || f[0] === '-a') {
      if (saveRow(f, no, out, saveIndex, section)) {
        note('save');
        recognized++;
        current = null;
        continue;
      }
    }
    out.skipped.push(no);
  }
  if (recognized === 0) {
    throw new ParseError(
      'ipvsadm',
      input.trim() === ''
        ? 'the input is empty'
        : 'no line looks like ipvsadm output (expected "TCP  10.96.0.1:443 rr", "  -> 10.244.0.3:53  Masq 1 0 0" or "-A -t ...")',
    );
  }
  return out;
}

function realServerRow(
  ep: NonNullable<ReturnType<typeof endpoint>>,
  rest: string[],
  layout: RowLayout | null,
  line: number,
): IpvsRealServer | null {
  if (rest.length === 0) return null; // `  -> RemoteAddress:Port` alone is a header.
  const f0 = rest[0]!;
  const c0 = f0.charCodeAt(0);
  // Contract fields first (address, port, forward, weight, activeConn, inActConn), then the rest.
  if (c0 >= 65 && c0 <= 90 && /^[A-Z][A-Za-z]+$/.test(f0)) {
    const n1 = int(rest[1]);
    const n2 = int(rest[2]);
    const n3 = int(rest[3]);
    if (n1 === null || n2 === null || n3 === null) return null;
    let rs: IpvsRealServer;
    if (rest.length === 4 && layout !== 'persistent-conn') {
      rs = {
        address: ep.address,
        port: ep.port,
        forward: f0,
        weight: n1,
        activeConn: n2,
        inActConn: n3,
        numeric: ep.numeric,
        line,
      };
    } else if (rest.length === 5) {
      const n4 = int(rest[4]);
      if (n4 === null) return null;
      rs = {
        address: ep.address,
        port: ep.port,
        forward: f0,
        weight: n1,
        activeConn: n3,
        inActConn: n4,
        persistConn: n2,
        numeric: ep.numeric,
        line,
      };
    } else if (rest.length === 6) {
      const n4 = int(rest[4]);
      const n5 = int(rest[5]);
      if (n4 === null || n5 === null) return null;
      rs = {
        address: ep.address,
        port: ep.port,
        forward: f0,
        weight: n1,
        activeConn: n4,
        inActConn: n5,
        upperThreshold: n2,
        lowerThreshold: n3,
        numeric: ep.numeric,
        line,
      };
    } else return null;
    if (ep.portName) rs.portName = ep.portName;
    return rs;
  }
  if (rest.length === 4) {
    // --persistent-conn (Weight PersistConn ActiveConn InActConn) and --thresholds
    // (Uthreshold Lthreshold ActiveConn InActConn) print no Forward column (ipvsadm.c
    // print_service_entry). Without their title the first two columns cannot be named.
    const n = rest.map(int);
    if (n.some((x) => x === null)) return null;
    const [a, b, active, inactive] = n as [number, number, number, number];
    const rs: IpvsRealServer = {
      address: ep.address,
      port: ep.port,
      forward: null,
      weight: layout === 'persistent-conn' ? a : null,
      activeConn: active,
      inActConn: inactive,
      numeric: ep.numeric,
      line,
    };
    if (layout === 'persistent-conn') rs.persistConn = b;
    else if (layout === 'thresholds') {
      rs.upperThreshold = a;
      rs.lowerThreshold = b;
    } else rs.unnamedColumns = [a, b];
    if (ep.portName) rs.portName = ep.portName;
    return rs;
  }
  if (rest.length === 5) {
    const rs: IpvsRealServer = {
      address: ep.address,
      port: ep.port,
      forward: null,
      weight: null,
      activeConn: null,
      inActConn: null,
      numeric: ep.numeric,
      line,
    };
    if (layout === 'rate') {
      const r = rates(rest);
      if (!r) return null;
      rs.rate = r;
    } else {
      const c = counters(rest);
      if (!c) return null;
      rs.stats = c;
    }
    if (ep.portName) rs.portName = ep.portName;
    return rs;
  }
  return null;
}

function serviceRow(f: string[], layout: RowLayout | null, line: number): IpvsService | null {
  const protocol = f[0] as IpvsProtocol;
  let address: string | null;
  let port: number | null;
  let numeric = true;
  let portName: string | undefined;
  let fwmark: number | undefined;
  if (protocol === 'FWM') {
    const mark = int(f[1]) ?? (f[1] && /^0x[0-9a-f]+$/i.test(f[1]) ? parseInt(f[1], 16) : null);
    if (mark === null) return null;
    address = null;
    port = null;
    fwmark = mark;
  } else {
    const ep = f[1] ? endpoint(f[1]) : null;
    if (!ep) return null;
    address = ep.address;
    port = ep.port;
    numeric = ep.numeric;
    portName = ep.portName;
  }
  const rest = f.slice(2);
  const svc: IpvsService = {
    protocol,
    address,
    port,
    scheduler: null,
    persistent: null,
    mask: null,
    ops: false,
    flags: [],
    realServers: [],
    numeric,
    line,
  };
  if (fwmark !== undefined) svc.fwmark = fwmark;
  if (portName !== undefined) svc.portName = portName;
  if (rest.length === 5 && rest.every((x) => scaledInt(x) !== null)) {
    if (layout === 'rate') svc.rate = rates(rest)!;
    else svc.stats = counters(rest)!;
    return svc;
  }
  // A connection-table row (`TCP 14:52 ESTABLISHED ...`) is not a service.
  if (rest[0] !== undefined && /^\d+:\d\d$/.test(rest[0])) return null;
  // The list layout: scheduler then flags.
  if (rest.length === 0) return null;
  if (!/^[a-z][a-z0-9_-]*$/.test(rest[0]!)) return null;
  svc.scheduler = rest[0]!;
  for (let i = 1; i < rest.length; i++) {
    const w = rest[i]!;
    if (w === 'persistent' && int(rest[i + 1]) !== null) {
      svc.persistent = int(rest[++i])!;
    } else if (w === 'mask' && rest[i + 1] !== undefined) {
      svc.mask = rest[++i]!;
    } else if (w === 'ops') {
      svc.ops = true;
    } else if (w === 'pe' && rest[i + 1] !== undefined) {
      svc.flags.push(`pe ${rest[++i]!}`);
    } else {
      svc.flags.push(w);
    }
  }
  return svc;
}

function connectionRow(f: string[], line: number): IpvsConnection | null {
  if (f.length < 6) return null;
  const [protocol, expire, state, s, v, d] = f as [string, string, string, string, string, string];
  const secs = mmss(expire);
  if (secs === null) return null;
  const src = endpoint(s);
  const vip = endpoint(v);
  const dst = endpoint(d);
  if (!src || !vip || !dst) return null;
  const ep = (e: NonNullable<ReturnType<typeof endpoint>>) => ({
    address: e.address,
    port: e.port,
  });
  return {
    protocol,
    expire,
    expireSeconds: secs,
    state,
    source: ep(src),
    virtual: ep(vip),
    destination: ep(dst),
    line,
  };
}

const SAVE_PROTO: Record<string, IpvsProtocol> = {
  '-t': 'TCP',
  '--tcp-service': 'TCP',
  '-u': 'UDP',
  '--udp-service': 'UDP',
  '--sctp-service': 'SCTP',
  '-f': 'FWM',
  '--fwmark-service': 'FWM',
};
const SAVE_FWD: Record<string, IpvsForward> = {
  '-m': 'Masq',
  '--masquerading': 'Masq',
  '-g': 'Route',
  '--gatewaying': 'Route',
  '-i': 'Tunnel',
  '--ipip': 'Tunnel',
};

function saveRow(
  f: string[],
  line: number,
  out: IpvsTable,
  index: Map<string, IpvsService>,
  section: string | undefined,
): boolean {
  const add = f[0] === '-A';
  let protocol: IpvsProtocol | null = null;
  let vs: string | null = null;
  const opts = new Map<string, string | true>();
  for (let i = 1; i < f.length; i++) {
    const w = f[i]!;
    if (SAVE_PROTO[w] && f[i + 1] !== undefined) {
      protocol = SAVE_PROTO[w]!;
      vs = f[++i]!;
    } else if (SAVE_FWD[w]) {
      opts.set('forward', SAVE_FWD[w]!);
    } else if (w === '-o' || w === '--ops') {
      opts.set('ops', true);
    } else if (/^-/.test(w) && f[i + 1] !== undefined && !/^-[a-zA-Z]/.test(f[i + 1]!)) {
      opts.set(w, f[++i]!);
    } else if (/^-/.test(w)) {
      opts.set(w, true);
    } else {
      return false;
    }
  }
  if (!protocol || vs === null) return false;
  const key = `${protocol} ${vs}`;
  if (add) {
    const svc = serviceFromSave(protocol, vs, opts, line);
    if (!svc) return false;
    if (section !== undefined) svc.section = section;
    out.services.push(svc);
    index.set(`${section ?? ''}|${key}`, svc);
    return true;
  }
  const rsText = (opts.get('-r') ?? opts.get('--real-server')) as string | undefined;
  if (typeof rsText !== 'string') return false;
  const ep = rsText.includes(':')
    ? endpoint(rsText)
    : { address: rsText, port: null, numeric: isIP(rsText) };
  if (!ep) return false;
  const weight = int((opts.get('-w') ?? opts.get('--weight')) as string | undefined);
  const rs: IpvsRealServer = {
    address: ep.address,
    port: ep.port,
    // ipvsadm -S always writes the forwarding method and weight; a line without them
    // (typed by hand) leaves them unknown rather than assumed.
    forward: (opts.get('forward') as string | undefined) ?? null,
    weight,
    activeConn: null,
    inActConn: null,
    numeric: ep.numeric,
    line,
  };
  const ux = int(opts.get('-x') as string | undefined);
  const lx = int(opts.get('-y') as string | undefined);
  if (ux !== null) rs.upperThreshold = ux;
  if (lx !== null) rs.lowerThreshold = lx;
  let svc = index.get(`${section ?? ''}|${key}`);
  if (!svc) {
    // A grep'd save fragment may hold `-a` lines whose `-A` was filtered out: the
    // service exists (the real server names it), its scheduler is unknown.
    const made = serviceFromSave(protocol, vs, new Map(), line);
    if (!made) return false;
    svc = made;
    if (section !== undefined) svc.section = section;
    out.services.push(svc);
    index.set(`${section ?? ''}|${key}`, svc);
  }
  svc.realServers.push(rs);
  return true;
}

function serviceFromSave(
  protocol: IpvsProtocol,
  vs: string,
  opts: Map<string, string | true>,
  line: number,
): IpvsService | null {
  let address: string | null = null;
  let port: number | null = null;
  let numeric = true;
  let fwmark: number | undefined;
  if (protocol === 'FWM') {
    const mk = int(vs);
    if (mk === null) return null;
    fwmark = mk;
  } else {
    const ep = endpoint(vs);
    if (!ep) return null;
    address = ep.address;
    port = ep.port;
    numeric = ep.numeric;
  }
  const sched = opts.get('-s') ?? opts.get('--scheduler');
  const persistent = opts.get('-p') ?? opts.get('--persistent');
  const mask = opts.get('-M') ?? opts.get('--netmask');
  const svc: IpvsService = {
    protocol,
    address,
    port,
    scheduler: typeof sched === 'string' ? sched : null,
    // `-p` alone means the default timeout (300 s), as ipvsadm documents.
    persistent: typeof persistent === 'string' ? int(persistent) : persistent === true ? 300 : null,
    mask: typeof mask === 'string' ? mask : null,
    ops: opts.get('ops') === true,
    flags: [],
    realServers: [],
    numeric,
    line,
  };
  const sf = opts.get('-b') ?? opts.get('--sched-flags');
  if (typeof sf === 'string') svc.flags.push(...sf.split(','));
  if (fwmark !== undefined) svc.fwmark = fwmark;
  return svc;
}

// ---------------------------------------------------------------------------------------
// `proxylab parse ipvsadm` of a plain `ipvsadm -Ln`, written while it is read

const PLAIN_BANNER = /^IP Virtual Server version (\S+) \(size=(\d+)\)$/;
const PLAIN_TITLE = 'Prot LocalAddress:Port Scheduler Flags';
const PLAIN_RS_TITLE = /^ {2}-> RemoteAddress:Port +Forward Weight ActiveConn InActConn$/;
// What makes parseIpvsadm look for a prompt, an annotation or a section marker: tab, CR,
// VT, FF, ESC, `#`, `$`, `%`, `❯`, `>>`, `==>` (plainBytes); and `mm:ss` in a row's second
// word, a connection-table row (-Lnc), not a service (isExpire).

/** The line without the trailing spaces toLines removes. */
function trimmed(line: string): string {
  let end = line.length;
  while (end > 0 && line.charCodeAt(end - 1) === 32) end--;
  return end === line.length ? line : line.slice(0, end);
}

/** Line `lines` is on, as text (bytes outside ASCII decoded as UTF-8, as the whole input would be). */
function lineText(lines: LineReader): string {
  const { buf, a, end } = lines;
  for (let i = a; i < end; i++) if (buf[i]! >= 128) return buf.toString('utf8', a, end);
  return buf.toString('latin1', a, end);
}

/** Text, or bytes to read, as a source of lines. */
const linesOf = (input: string | ByteSource) =>
  new LineReader(typeof input === 'string' ? bufferSource(Buffer.from(input, 'utf8')) : input);

/**
 * Whether the input is a plain `ipvsadm -Ln` (as ipvsadm.c print_title and
 * print_service_entry write it): the banner, the two title lines of the list layout, then
 * only service rows (`TCP  ip:port sched …`, `UDP`, `SCTP`, `FWM`), real-server rows
 * (`  -> ip:port Masq 1 0 0`) and blank lines. On such input every row parseIpvsadm reads is
 * a list-layout service, a real server or a skipped line, so what comes before the services
 * in its result (layouts, version, table size) is known before the rows are read. Read line
 * by line (a file through a window, not whole).
 */
export function isPlainIpvsList(input: string | ByteSource): boolean {
  const lines = linesOf(input);
  let no = 0;
  while (lines.next()) {
    no++;
    const b = lines.buf;
    const a = lines.a;
    let e = lines.end;
    while (e > a && b[e - 1] === 32) e--; // the trailing spaces toLines removes
    if (!plainBytes(b, a, e)) return false;
    if (no <= 3) {
      const line = b.toString('latin1', a, e);
      const ok =
        no === 1
          ? PLAIN_BANNER.test(line)
          : no === 2
            ? line === PLAIN_TITLE
            : PLAIN_RS_TITLE.test(line);
      if (!ok) return false;
      continue;
    }
    if (e === a) continue; // blank
    if (at(b, a, ARROW)) {
      // a row naming `Remote…` is read against the title patterns first
      for (let i = a; i + REMOTE.length <= e; i++)
        if (b[i] === 82 && at(b, i, REMOTE)) return false;
      continue;
    }
    // a service row: its protocol, then two spaces or one (SCTP), then the address
    const c = b[a];
    const word = c === 84 ? TCP : c === 85 ? UDP : c === 83 ? SCTP : c === 70 ? FWM : null;
    if (word === null || !at(b, a, word)) return false;
    // the word after the address is a scheduler (lowercase), never five counters (the
    // --stats/--rate layouts); the address is never `mm:ss` (-Lnc connection rows)
    let p = a + word.length;
    while (p < e && b[p] === 32) p++;
    let q = p;
    while (q < e && b[q] !== 32) q++;
    if (isExpire(b, p, q)) return false;
    while (q < e && b[q] === 32) q++;
    const s = b[q]!;
    if (q >= e || !(s >= 97 && s <= 122)) return false;
  }
  return no >= 3;
}

const ARROW = Buffer.from('  -> ');
const REMOTE = Buffer.from('Remote');
const TCP = Buffer.from('TCP ');
const UDP = Buffer.from('UDP ');
const SCTP = Buffer.from('SCTP ');
const FWM = Buffer.from('FWM ');

/** Whether b[a, a + w.length) is w. */
function at(b: Uint8Array, a: number, w: Uint8Array): boolean {
  if (a + w.length > b.length) return false;
  for (let i = 0; i < w.length; i++) if (b[a + i] !== w[i]) return false;
  return true;
}

/**
 * Whether the line b[a, e) holds nothing that makes parseIpvsadm look for a prompt, an
 * annotation or a section marker (NOT_PLAIN_LIST: tab, CR, VT, FF, ESC, `#`, `$`, `%`, `>>`,
 * `==>`), and only ASCII (ipvsadm prints nothing else; a paste with `❯` or other text
 * takes the whole parse).
 */
function plainBytes(b: Uint8Array, a: number, e: number): boolean {
  for (let i = a; i < e; i++) {
    const x = b[i]!;
    if (x >= 128 || x === 35 || x === 36 || x === 37 || x === 27 || (x >= 9 && x <= 13))
      return false;
    // `>>`, `==>`
    if (
      x === 62 &&
      i > a &&
      (b[i - 1] === 62 || (i - 2 >= a && b[i - 1] === 61 && b[i - 2] === 61))
    )
      return false;
  }
  return true;
}

/** `mm:ss` (EXPIRE): digits, `:`, two digits. */
function isExpire(b: Uint8Array, p: number, q: number): boolean {
  let i = p;
  while (i < q && b[i]! >= 48 && b[i]! <= 57) i++;
  if (i === p || b[i] !== 58 || q - i !== 3) return false;
  return b[i + 1]! >= 48 && b[i + 1]! <= 57 && b[i + 2]! >= 48 && b[i + 2]! <= 57;
}

/**
 * Write `view` (full or summary) of a plain `ipvsadm -Ln` as compact JSON through `write`,
 * while it is read: each service is parsed with its real servers, printed and dropped. The
 * same text, byte for byte, as JSON.stringify of what parseIpvsadm (or its summary view)
 * gives. False (nothing written) when the input is not a plain -Ln (see isPlainIpvsList).
 */
export async function writePlainIpvsList(
  input: string | ByteSource,
  view: 'full' | 'summary',
  write: JsonSink,
): Promise<boolean> {
  if (!isPlainIpvsList(input)) return false;
  const w = new ByteOut(write);
  const full = view === 'full';
  let version = '';
  let tableSize: number | null = null;
  let current: IpvsService | null = null;
  let services = 0;
  let realServers = 0;
  const skipped: number[] = [];
  const orphans: IpvsRealServer[] = [];
  const layouts = () => (services ? '["list"]' : '[]');
  const head = () =>
    `{"layouts":${layouts()},"version":${JSON.stringify(version)},"tableSize":${tableSize}`;
  /** Print the service before the next one (its real servers are all read by then). */
  const done = (svc: IpvsService) => {
    if (!full) return;
    w.json(services === 1 ? `${head()},"services":[` : ',');
    w.json(JSON.stringify(svc));
  };
  const lines = linesOf(input);
  let no = 0;
  while (lines.next()) {
    if (w.pending) await w.settle();
    no++;
    const line = trimmed(lineText(lines));
    if (line === '') continue;
    if (no === 1) {
      const m = PLAIN_BANNER.exec(line)!;
      version = m[1]!;
      tableSize = int(m[2]);
      continue;
    }
    if (no <= 3) continue; // the title lines
    const f = fields(line);
    if (f[0] === '->') {
      const ep = f[1] ? endpoint(f[1]) : null;
      const rs = ep ? realServerRow(ep, f.slice(2), 'list', no) : null;
      if (!rs) skipped.push(no);
      else if (current) {
        current.realServers.push(rs);
        realServers++;
      } else orphans.push(rs);
      continue;
    }
    const svc = f.length >= 2 ? serviceRow(f, 'list', no) : null;
    if (svc) {
      if (current) done(current);
      current = svc;
      services++;
      continue;
    }
    // isPlainIpvsList vouched that no row is a connection; anything else is a bug
    if (f.length >= 2 && connectionRow(f, no))
      throw new Error(`ipvsadm line ${no} read as a plain -Ln row but is a connection`);
    skipped.push(no);
  }
  if (current) done(current);
  if (full) {
    w.json(services ? ']' : `${head()},"services":[]`);
    w.json(
      `,"connections":[],"timeout":null,"skipped":${JSON.stringify(skipped)},"orphanRealServers":${JSON.stringify(orphans)}}`,
    );
  } else
    w.json(
      `{"layouts":${layouts()},"version":${JSON.stringify(version)},"services":${services},"realServers":${realServers},"orphanRealServers":${orphans.length},"connections":0,"skipped":${JSON.stringify(skipped)}}`,
    );
  await w.flush();
  return true;
}
