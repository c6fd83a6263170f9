/**
 * `proxylab parse ipvsadm` of a plain `ipvsadm -Ln`, compiled (AssemblyScript → WebAssembly):
 * the same JSON, byte for byte, as the JavaScript writer (writePlainIpvsList,
 * src/inspect/ipvsadm.ts) for the inputs it takes; any other input is left to that writer
 * (`layout()` returns 0 before anything is written).
 *
 * What it takes: what isPlainIpvsList takes (the banner and the two title lines ipvsadm.c
 * print_title writes, then service rows, real-server rows and blank lines), in printable
 * ASCII, where every service is TCP, UDP or SCTP on a numeric address and port with a
 * scheduler, and every real server is `-> ip:port Forward weight active inactive` under a
 * service: the rows a kube-proxy node in IPVS mode prints. Anything else (a firewall-mark
 * service, the --persistent-conn or --thresholds columns, a row the JavaScript parse skips)
 * is the JavaScript writer's.
 */
import { b, DASH, intOf, is, keep, SP, startsWith } from './lib/bytes';
import { escaped, lit, low, need, outBegin, outReset, put, putInt, putNum } from './lib/out';
import { la, le, lineNo, nextLine, rewind, windowBegin } from './lib/window';

export { outAt, outLen } from './lib/out';
export { changedLine } from './lib/window';

// Views (ParseView): what step() writes.
const V_FULL = 0;
let full = true;

export function begin(): void {
  windowBegin();
  outBegin(1 << 16);
}


// ---------------------------------------------------------------------------------------
// A line's fields (fields() of src/inspect/text.ts: runs of non-blanks; the input has no
// blank but the space)

const MAX_FIELDS = 64;
const fa = new StaticArray<usize>(MAX_FIELDS);
const fe = new StaticArray<usize>(MAX_FIELDS);
let nf = 0;

/** The fields of [a, e) into fa/fe: false when there are more than MAX_FIELDS. */
function split(a: usize, e: usize): bool {
  nf = 0;
  let p = a;
  while (true) {
    while (p < e && b(p) == SP) p++;
    if (p >= e) return true;
    if (nf == MAX_FIELDS) return false;
    unchecked((fa[nf] = p));
    while (p < e && b(p) != SP) p++;
    unchecked((fe[nf] = p));
    nf++;
  }
}

@inline function fieldIs(i: i32, s: string): bool {
  return i < nf && is(unchecked(fa[i]), unchecked(fe[i]), s);
}

/** The line without the trailing spaces toLines removes: its end. */
function trimEnd(a: usize, e: usize): usize {
  while (e > a && b(e - 1) == SP) e--;
  return e;
}

/**
 * plainBytes of ipvsadm.ts (nothing that makes the whole parse look for a prompt, an
 * annotation or a section marker: `#`, `$`, `%`, `>>`, `==>`), in printable ASCII.
 */
function plainBytes(a: usize, e: usize): bool {
  for (let p = a; p < e; p++) {
    const x = b(p);
    if (x < 32 || x > 126 || x == 35 || x == 36 || x == 37) return false;
    if (x == 62 && p > a && (b(p - 1) == 62 || (p - 2 >= a && b(p - 1) == 61 && b(p - 2) == 61)))
      return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------
// Addresses (endpoint, splitHostPort, isIP of src/inspect/ipvsadm.ts and text.ts)

@inline function digit(c: u8): bool {
  return c >= 48 && c <= 57;
}

/** /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(…)){3}$/ */
function isIPv4(a: usize, e: usize): bool {
  let p = a;
  for (let k = 0; k < 4; k++) {
    if (k > 0) {
      if (p >= e || b(p) != 46) return false;
      p++;
    }
    const s = p;
    let v = 0;
    while (p < e && digit(b(p)) && p - s < 3) {
      v = v * 10 + <i32>(b(p) - 48);
      p++;
    }
    const n = p - s;
    if (n == 0 || (n > 1 && b(s) == 48) || v > 255) return false;
  }
  return p == e;
}

/** isIPv6 of text.ts: a `:`, only hex digits, `:` and `.`, at least two characters. */
function isIPv6(a: usize, e: usize): bool {
  if (e - a < 2) return false;
  let colon = false;
  for (let p = a; p < e; p++) {
    const c = b(p);
    if (c == 58) colon = true;
    else if (!(digit(c) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70) || c == 46)) return false;
  }
  return colon;
}

// The endpoint read last: host [hostA, hostE), port.
let hostA: usize = 0;
let hostE: usize = 0;
let port: f64 = 0;

/** `ip:port` or `[v6]:port` with a numeric port and an IP address (what -Ln prints). */
function endpoint(a: usize, e: usize): bool {
  let portA: usize;
  if (b(a) == 91) {
    let close = a + 1;
    while (close < e && b(close) != 93) close++;
    if (close >= e || close + 1 >= e || b(close + 1) != 58) return false;
    hostA = a + 1;
    hostE = close;
    portA = close + 2;
  } else {
    let i = e;
    while (i > a && b(i - 1) != 58) i--;
    // no `:`, or at the start, or at the end
    if (i == a || i - 1 == a || i == e) return false;
    hostA = a;
    hostE = i - 1;
    portA = i;
  }
  if (hostE == hostA) return false;
  port = intOf(portA, e);
  return !isNaN(port) && (isIPv4(hostA, hostE) || isIPv6(hostA, hostE));
}

// ---------------------------------------------------------------------------------------
// Rows

/** A row's kind: a service, a real server, not one this module writes. */
const NOT_TAKEN = 0;
const SERVICE = 1;
const REAL_SERVER = 2;

/** A word of [a-z][a-z0-9_-]* (a scheduler). */
function schedulerWord(a: usize, e: usize): bool {
  if (!(b(a) >= 97 && b(a) <= 122)) return false;
  for (let p = a + 1; p < e; p++) {
    const c = b(p);
    if (!((c >= 97 && c <= 122) || digit(c) || c == 95 || c == DASH)) return false;
  }
  return true;
}

/** A word of [A-Z][A-Za-z]+ (a forwarding method: Masq, Route, Tunnel, …). */
function forwardWord(a: usize, e: usize): bool {
  if (e - a < 2 || !(b(a) >= 65 && b(a) <= 90)) return false;
  for (let p = a + 1; p < e; p++) {
    const c = b(p);
    if (!((c >= 65 && c <= 90) || (c >= 97 && c <= 122))) return false;
  }
  return true;
}

/** `mm:ss` (a -Lnc connection row's expire time): digits, `:`, two digits. */
function isExpire(p: usize, q: usize): bool {
  let i = p;
  while (i < q && digit(b(i))) i++;
  if (i == p || i >= q || b(i) != 58 || q - i != 3) return false;
  return digit(b(i + 1)) && digit(b(i + 2));
}

/**
 * The kind of the (trimmed, not blank) row [a, e) after the title lines, its fields split:
 * what isPlainIpvsList checks of it, then what this module needs of it.
 */
function rowKind(a: usize, e: usize): i32 {
  if (!plainBytes(a, e)) return NOT_TAKEN;
  if (startsWith(a, e, '  -> ')) {
    // a row naming `Remote…` is read against the title patterns first
    for (let p = a; p + 6 <= e; p++) if (b(p) == 82 && startsWith(p, e, 'Remote')) return NOT_TAKEN;
    if (!split(a, e) || nf != 6 || !endpoint(fa[1], fe[1])) return NOT_TAKEN;
    if (!forwardWord(fa[2], fe[2])) return NOT_TAKEN;
    for (let i = 3; i < 6; i++) if (isNaN(intOf(fa[i], fe[i]))) return NOT_TAKEN;
    return REAL_SERVER;
  }
  // TCP, UDP, SCTP, then spaces, the address, spaces and a scheduler (lowercase)
  const c = b(a);
  const word = c == 84 ? 'TCP ' : c == 85 ? 'UDP ' : c == 83 ? 'SCTP ' : '';
  if (word == '' || !startsWith(a, e, word)) return NOT_TAKEN;
  if (!split(a, e) || nf < 3) return NOT_TAKEN;
  if (isExpire(fa[1], fe[1]) || !endpoint(fa[1], fe[1])) return NOT_TAKEN;
  if (!schedulerWord(fa[2], fe[2])) return NOT_TAKEN;
  return SERVICE;
}

// ---------------------------------------------------------------------------------------
// The first pass: whether the input is one this module writes

/** The banner's version (kept) and table size (NaN: null). */
let versionA: usize = 0;
let versionE: usize = 0;
let tableSize: f64 = NaN;

/** `IP Virtual Server version (\S+) \(size=(\d+)\)` */
function banner(a: usize, e: usize): bool {
  if (!startsWith(a, e, 'IP Virtual Server version ')) return false;
  const v = a + 26;
  let p = v;
  while (p < e && b(p) != SP) p++;
  if (p == v || !startsWith(p, e, ' (size=')) return false;
  const d = p + 7;
  let q = d;
  while (q < e && digit(b(q))) q++;
  if (q == d || q + 1 != e || b(q) != 41) return false;
  versionA = keep(v, p);
  versionE = versionA + (p - v);
  tableSize = intOf(d, q);
  return true;
}

/** `  -> RemoteAddress:Port +Forward Weight ActiveConn InActConn` */
function realServerTitle(a: usize, e: usize): bool {
  if (!startsWith(a, e, '  -> RemoteAddress:Port ')) return false;
  let p = a + 24;
  while (p < e && b(p) == SP) p++;
  return is(p, e, 'Forward Weight ActiveConn InActConn');
}

/** 1 when the input is a plain -Ln this module writes, 0 when not; `v`: 0 full, 1 summary. */
export function layout(v: i32): i32 {
  full = v == V_FULL;
  rewind();
  let inService = false;
  while (true) {
    const got = nextLine();
    if (got == 0) break;
    if (got < 0) return 0;
    const a = la;
    const e = trimEnd(la, le);
    const no = lineNo;
    if (no <= 3) {
      if (!plainBytes(a, e)) return 0;
      const ok =
        no == 1 ? banner(a, e) : no == 2 ? is(a, e, 'Prot LocalAddress:Port Scheduler Flags') : realServerTitle(a, e);
      if (!ok) return 0;
      continue;
    }
    if (e == a) continue;
    const kind = rowKind(a, e);
    if (kind == NOT_TAKEN || (kind == REAL_SERVER && !inService)) return 0;
    if (kind == SERVICE) inService = true;
  }
  return lineNo >= 3 ? 1 : 0;
}

// ---------------------------------------------------------------------------------------
// The second pass and the output, in steps (writePlainIpvsList)

let phase = 0;
let services = 0;
let realServers = 0;
/** The service open in the output (full view): its line, and whether it has real servers yet. */
let openLine = 0;
let openHasRs = false;

/** `{"layouts":…,"version":…,"tableSize":…` */
function head(): void {
  need(96 + 2 * (versionE - versionA));
  lit(services ? '{"layouts":["list"],"version":"' : '{"layouts":[],"version":"');
  escaped(versionA, versionE, false);
  lit('","tableSize":');
  putNum(tableSize);
}

function closeService(): void {
  need(64);
  lit('],"numeric":true,"line":');
  putInt(<i64>openLine);
  put(125);
}

function writeString(a: usize, e: usize): void {
  need(2 * (e - a) + 8);
  put(34);
  escaped(a, e, false);
  put(34);
}

/** The service row in fa/fe (line `no`): its JSON up to its real servers. */
function writeService(no: i32): void {
  if (services == 1) {
    head();
    lit(',"services":[');
  } else {
    closeService();
    put(44);
  }
  need(128);
  lit('{"protocol":');
  writeString(fa[0], fe[0]);
  lit(',"address":');
  writeString(hostA, hostE);
  lit(',"port":');
  putNum(port);
  lit(',"scheduler":');
  writeString(fa[2], fe[2]);
  // the words after the scheduler, as serviceRow reads them
  let persistent: f64 = NaN;
  let maskA: usize = 0;
  let maskE: usize = 0;
  let ops = false;
  for (let i = 3; i < nf; i++) {
    if (fieldIs(i, 'persistent') && i + 1 < nf && !isNaN(intOf(fa[i + 1], fe[i + 1]))) {
      persistent = intOf(fa[i + 1], fe[i + 1]);
      i++;
    } else if (fieldIs(i, 'mask') && i + 1 < nf) {
      maskA = fa[i + 1];
      maskE = fe[i + 1];
      i++;
    } else if (fieldIs(i, 'ops')) ops = true;
    else if (fieldIs(i, 'pe') && i + 1 < nf) i++;
  }
  need(64);
  lit(',"persistent":');
  putNum(persistent);
  lit(',"mask":');
  if (maskA == 0) lit('null');
  else writeString(maskA, maskE);
  lit(ops ? ',"ops":true,"flags":[' : ',"ops":false,"flags":[');
  let first = true;
  for (let i = 3; i < nf; i++) {
    let a = fa[i];
    let e = fe[i];
    if (fieldIs(i, 'persistent') && i + 1 < nf && !isNaN(intOf(fa[i + 1], fe[i + 1]))) {
      i++;
      continue;
    }
    if (fieldIs(i, 'mask') && i + 1 < nf) {
      i++;
      continue;
    }
    if (fieldIs(i, 'ops')) continue;
    need(2 * (fe[nf - 1] - a) + 16);
    if (!first) put(44);
    first = false;
    put(34);
    if (fieldIs(i, 'pe') && i + 1 < nf) {
      // `pe NAME` is one flag, its words one space apart
      lit('pe ');
      i++;
      a = fa[i];
      e = fe[i];
    }
    escaped(a, e, false);
    put(34);
  }
  lit('],"realServers":[');
  openLine = no;
  openHasRs = false;
}

/** The real-server row in fa/fe (line `no`). */
function writeRealServer(no: i32): void {
  need(2 * (hostE - hostA) + 2 * (fe[2] - fa[2]) + 160);
  if (openHasRs) put(44);
  openHasRs = true;
  lit('{"address":');
  writeString(hostA, hostE);
  lit(',"port":');
  putNum(port);
  lit(',"forward":');
  writeString(fa[2], fe[2]);
  lit(',"weight":');
  putNum(intOf(fa[3], fe[3]));
  lit(',"activeConn":');
  putNum(intOf(fa[4], fe[4]));
  lit(',"inActConn":');
  putNum(intOf(fa[5], fe[5]));
  lit(',"numeric":true,"line":');
  putInt(<i64>no);
  put(125);
}

/**
 * Write what comes next, until a piece of output waits in the output or all is written:
 * 1 then (call again after handing the output on), 0 when done, -1 when the input is not
 * what layout() read (a file written to meanwhile: changedLine() says where).
 */
export function step(): i32 {
  outReset();
  if (phase == 0) {
    rewind();
    phase = 1;
  }
  if (phase == 1) {
    while (true) {
      if (low()) return 1;
      const got = nextLine();
      if (got < 0) return -1;
      if (got == 0) break;
      const a = la;
      const e = trimEnd(la, le);
      if (lineNo <= 3 || e == a) continue;
      const kind = rowKind(a, e);
      if (kind == SERVICE) {
        services++;
        if (full) writeService(lineNo);
      } else if (kind == REAL_SERVER && services > 0) {
        realServers++;
        if (full) writeRealServer(lineNo);
      } else return -1;
    }
    need(256 + 2 * (versionE - versionA));
    if (full) {
      if (services) {
        closeService();
        put(93);
      } else {
        head();
        lit(',"services":[]');
      }
      lit(',"connections":[],"timeout":null,"skipped":[],"orphanRealServers":[]}');
    } else {
      lit(services ? '{"layouts":["list"],"version":"' : '{"layouts":[],"version":"');
      escaped(versionA, versionE, false);
      lit('","services":');
      putInt(<i64>services);
      lit(',"realServers":');
      putInt(<i64>realServers);
      lit(',"orphanRealServers":0,"connections":0,"skipped":[]}');
    }
    phase = 2;
  }
  return 0;
}
