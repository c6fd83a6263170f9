/**
 * The kube-proxy ConfigMap, edited as text: only `mode` (and `ipvs.scheduler`,
 * `ipvs.strictARP` when asked) change inside `config.conf`; every other byte stays.
 *
 * The ConfigMap comes from `kubectl get cm kube-proxy -o yaml`, where `config.conf` is a
 * block scalar (`config.conf: |-` or `|`). We edit the lines of that block, then check the
 * result by parsing both versions: the requested keys have the new values and nothing else
 * differs. Anything we cannot edit that way is refused with a clear message (never guessed).
 */
import { parse } from 'yaml';
import { UserError } from '../core/errors.js';

export type ProxyMode = 'iptables' | 'ipvs' | 'nftables';

export interface ProxySettings {
  /** '' when kube-proxy uses its default (iptables on Linux). */
  mode: string;
  scheduler: string;
  strictARP: boolean;
}

export interface Change {
  mode: ProxyMode;
  scheduler?: string;
  strictARP?: boolean;
  /** conntrack.tcpBeLiberal: what kind writes for a cluster it creates in nftables mode. */
  tcpBeLiberal?: boolean;
}

interface Block {
  /** Index of the first content line of the block (after the `config.conf: |` line). */
  start: number;
  /** Index after the last line of the block. */
  end: number;
  /** The indentation (spaces) of the block's content. */
  indent: number;
}

function splitLines(text: string): string[] {
  return text.split('\n');
}

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

/** Find the `config.conf: |` block under `data:`. */
function findBlock(lines: string[]): Block {
  let dataIndent = -1;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (/^data:\s*$/.test(l)) {
      dataIndent = 0;
      continue;
    }
    if (dataIndent < 0) continue;
    const m = /^(\s+)(?:config\.conf|"config\.conf"|'config\.conf'):\s*\|[-+]?\d*\s*$/.exec(l);
    if (!m) continue;
    const keyIndent = m[1]!.length;
    let j = i + 1;
    let indent = -1;
    for (; j < lines.length; j++) {
      const c = lines[j]!;
      if (c.trim() === '') continue;
      const ind = indentOf(c);
      if (ind <= keyIndent) break;
      if (indent < 0) indent = ind;
    }
    // trailing blank lines belong to the block only if they are followed by more content; keep them out
    let end = j;
    while (end > i + 1 && lines[end - 1]!.trim() === '') end--;
    if (indent < 0)
      throw new UserError(
        'the kube-proxy ConfigMap has an empty config.conf',
        'look at it with `kubectl -n kube-system get cm kube-proxy -o yaml`',
      );
    return { start: i + 1, end, indent };
  }
  throw new UserError(
    'the kube-proxy ConfigMap has no config.conf block that proxylab can edit',
    'look at it with `kubectl -n kube-system get cm kube-proxy -o yaml`; proxylab edits clusters made by kubeadm or kind',
  );
}

/** The text of config.conf as kube-proxy reads it (parsed from the ConfigMap YAML). */
export function configConf(cmYaml: string): string {
  const obj = parse(cmYaml) as { data?: Record<string, unknown> } | null;
  const v = obj?.data?.['config.conf'];
  if (typeof v !== 'string') {
    throw new UserError(
      'the kube-proxy ConfigMap has no data.config.conf',
      'look at it with `kubectl -n kube-system get cm kube-proxy -o yaml`',
    );
  }
  return v;
}

/** mode, ipvs.scheduler and ipvs.strictARP as written in the ConfigMap. */
export function readSettings(cmYaml: string): ProxySettings {
  const conf = (parse(configConf(cmYaml)) ?? {}) as {
    mode?: unknown;
    ipvs?: { scheduler?: unknown; strictARP?: unknown } | null;
  };
  return {
    mode: typeof conf.mode === 'string' ? conf.mode : '',
    scheduler: typeof conf.ipvs?.scheduler === 'string' ? conf.ipvs.scheduler : '',
    strictARP: conf.ipvs?.strictARP === true,
  };
}

/** conntrack.tcpBeLiberal as written in the ConfigMap (kube-proxy's default: false). */
export function readTcpBeLiberal(cmYaml: string): boolean {
  const conf = (parse(configConf(cmYaml)) ?? {}) as {
    conntrack?: { tcpBeLiberal?: unknown } | null;
  };
  return conf.conntrack?.tcpBeLiberal === true;
}

/** The mode kube-proxy runs when the ConfigMap says `mode: ""` (Linux default). */
export function effectiveMode(s: ProxySettings): string {
  return s.mode === '' ? 'iptables' : s.mode;
}

/** Does the ConfigMap already ask for exactly this? (scheduler '' means rr for kube-proxy.) */
export function alreadyAsRequested(s: ProxySettings, c: Change): boolean {
  if (effectiveMode(s) !== c.mode) return false;
  if (c.scheduler !== undefined && (s.scheduler || 'rr') !== c.scheduler) return false;
  if (c.strictARP !== undefined && s.strictARP !== c.strictARP) return false;
  return true;
}

function findKey(lines: string[], from: number, to: number, indent: number, key: string): number {
  const re = new RegExp(`^ {${indent}}${key}:(\\s|$)`);
  for (let i = from; i < to; i++) if (re.test(lines[i]!)) return i;
  return -1;
}

/** End of the mapping value that starts after line `at` (lines indented deeper than `indent`). */
function childEnd(lines: string[], at: number, to: number, indent: number): number {
  let i = at + 1;
  for (; i < to; i++) {
    const l = lines[i]!;
    if (l.trim() === '') continue;
    if (indentOf(l) <= indent) break;
  }
  return i;
}

/** Keys inside a kubeadm-written mapping are sorted; insert a new key where sorting puts it. */
function sortedInsertAt(
  lines: string[],
  from: number,
  to: number,
  indent: number,
  key: string,
): number {
  const re = new RegExp(`^ {${indent}}([A-Za-z0-9_]+):`);
  for (let i = from; i < to; i++) {
    const m = re.exec(lines[i]!);
    if (m && m[1]!.localeCompare(key, 'en') > 0) return i;
  }
  return to;
}

/** A string as a YAML scalar: plain when safe, double-quoted otherwise ('' → ""). */
function yamlString(v: string): string {
  if (/^[A-Za-z][A-Za-z0-9_.\/-]*$/.test(v) && !/^(true|false|yes|no|on|off|null|y|n)$/i.test(v))
    return v;
  return JSON.stringify(v);
}

function setScalar(
  lines: string[],
  from: number,
  to: number,
  indent: number,
  key: string,
  value: string,
): number {
  const at = findKey(lines, from, to, indent, key);
  const line = `${' '.repeat(indent)}${key}: ${value}`;
  if (at >= 0) {
    const old = lines[at]!;
    // keep a trailing comment, if any
    const comment = /\s+#.*$/.exec(
      old.slice(indent + key.length + 1).replace(/"[^"]*"|'[^']*'/g, (s) => 'x'.repeat(s.length)),
    );
    lines[at] = comment ? line + old.slice(old.length - comment[0].length) : line;
    return 0;
  }
  lines.splice(sortedInsertAt(lines, from, to, indent, key), 0, line);
  return 1;
}

/** Set keys of a top-level mapping of config.conf (created, sorted, when missing). */
function setChildren(
  lines: string[],
  b: Block,
  end: number,
  parent: string,
  kv: [string, string][],
): number {
  if (!kv.length) return end;
  let at = findKey(lines, b.start, end, b.indent, parent);
  if (at >= 0 && /:\s*(\{\}|null|~)\s*$/.test(lines[at]!)) {
    lines[at] = `${' '.repeat(b.indent)}${parent}:`;
  }
  if (at < 0) {
    at = sortedInsertAt(lines, b.start, end, b.indent, parent);
    lines.splice(at, 0, `${' '.repeat(b.indent)}${parent}:`);
    end++;
  }
  const next = lines[at + 1];
  const childIndent =
    next !== undefined && at + 1 < childEnd(lines, at, end, b.indent)
      ? indentOf(next)
      : b.indent + 2;
  for (const [key, value] of kv) {
    const ce = childEnd(lines, at, end, b.indent);
    end += setScalar(lines, at + 1, ce, childIndent, key, value);
  }
  return end;
}

/**
 * Return the ConfigMap YAML with the change applied to config.conf and every other byte
 * unchanged. Throws a UserError if the result would differ in anything else.
 */
export function editConfigMap(cmYaml: string, change: Change): string {
  const lines = splitLines(cmYaml);
  const b = findBlock(lines);
  let end = b.end;
  end += setScalar(lines, b.start, end, b.indent, 'mode', yamlString(change.mode));
  const ipvs: [string, string][] = [];
  if (change.scheduler !== undefined) ipvs.push(['scheduler', yamlString(change.scheduler)]);
  if (change.strictARP !== undefined) ipvs.push(['strictARP', String(change.strictARP)]);
  end = setChildren(lines, b, end, 'ipvs', ipvs);
  if (change.tcpBeLiberal !== undefined)
    setChildren(lines, b, end, 'conntrack', [['tcpBeLiberal', String(change.tcpBeLiberal)]]);
  const out = lines.join('\n');
  verifyEdit(cmYaml, out, change);
  return out;
}

function stripKeys(conf: Record<string, unknown>): Record<string, unknown> {
  const c = structuredClone(conf);
  delete c.mode;
  const ipvs = c.ipvs as Record<string, unknown> | null | undefined;
  if (ipvs && typeof ipvs === 'object') {
    delete ipvs.scheduler;
    delete ipvs.strictARP;
    if (Object.keys(ipvs).length === 0) delete c.ipvs;
  } else if (ipvs === null) delete c.ipvs;
  const ct = c.conntrack as Record<string, unknown> | null | undefined;
  if (ct && typeof ct === 'object') {
    delete ct.tcpBeLiberal;
    if (Object.keys(ct).length === 0) delete c.conntrack;
  } else if (ct === null) delete c.conntrack;
  return c;
}

/** Parse both versions and make sure only the requested keys changed. */
function verifyEdit(before: string, after: string, change: Change): void {
  const fail = (what: string) =>
    new UserError(
      `proxylab could not edit the kube-proxy ConfigMap safely (${what}); nothing was changed`,
      'edit it by hand with `kubectl -n kube-system edit cm kube-proxy`, or report this with the output of `kubectl -n kube-system get cm kube-proxy -o yaml`',
    );
  let a: Record<string, unknown>;
  let b: Record<string, unknown>;
  let outerA: Record<string, unknown>;
  let outerB: Record<string, unknown>;
  try {
    outerA = parse(before) as Record<string, unknown>;
    outerB = parse(after) as Record<string, unknown>;
    a = (parse(configConf(before)) ?? {}) as Record<string, unknown>;
    b = (parse(configConf(after)) ?? {}) as Record<string, unknown>;
  } catch (e) {
    throw fail(`the result does not parse: ${(e as Error).message}`);
  }
  const s = readSettings(after);
  if (s.mode !== change.mode) throw fail('mode did not take');
  if (change.scheduler !== undefined && s.scheduler !== change.scheduler)
    throw fail('ipvs.scheduler did not take');
  if (change.strictARP !== undefined && s.strictARP !== change.strictARP)
    throw fail('ipvs.strictARP did not take');
  if (change.tcpBeLiberal !== undefined && readTcpBeLiberal(after) !== change.tcpBeLiberal)
    throw fail('conntrack.tcpBeLiberal did not take');
  if (JSON.stringify(stripKeys(a)) !== JSON.stringify(stripKeys(b)))
    throw fail('other settings in config.conf would change');
  const da = { ...(outerA.data as Record<string, unknown>) };
  const db = { ...(outerB.data as Record<string, unknown>) };
  delete da['config.conf'];
  delete db['config.conf'];
  if (JSON.stringify({ ...outerA, data: da }) !== JSON.stringify({ ...outerB, data: db }))
    throw fail('other parts of the ConfigMap would change');
}

/**
 * The saved ConfigMap ready for `kubectl replace -f -`: the same bytes minus
 * metadata.resourceVersion (which is stale by the time we restore). The API server keeps
 * the data exactly as sent, so `get -o yaml` afterwards shows the data byte-identical.
 */
export function forReplace(cmYaml: string): string {
  const lines = splitLines(cmYaml);
  const meta = lines.findIndex((l) => /^metadata:\s*$/.test(l));
  if (meta < 0) return cmYaml;
  for (
    let i = meta + 1;
    i < lines.length && (lines[i]!.trim() === '' || indentOf(lines[i]!) > 0);
    i++
  ) {
    if (/^ {2}resourceVersion:\s/.test(lines[i]!)) {
      lines.splice(i, 1);
      return lines.join('\n');
    }
  }
  return cmYaml;
}

/** What `kubectl get -o yaml` returns that is not ours to compare (changes on every write). */
export function comparable(cmYaml: string): string {
  return splitLines(cmYaml)
    .filter((l) => !/^\s+(resourceVersion|uid|creationTimestamp|generation):\s/.test(l))
    .filter((l) => !/^\s+kubectl\.kubernetes\.io\/last-applied-configuration:/.test(l))
    .join('\n');
}

/** Lines that differ between two texts (for the "diff shows exactly the changed lines" report). */
export function changedLines(
  before: string,
  after: string,
): { removed: string[]; added: string[] } {
  const a = splitLines(before);
  const b = splitLines(after);
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  let ja = a.length - 1;
  let jb = b.length - 1;
  while (ja >= i && jb >= i && a[ja] === b[jb]) {
    ja--;
    jb--;
  }
  const removed = a.slice(i, ja + 1);
  const added = b.slice(i, jb + 1);
  // the middle may hold unchanged lines between two edits: drop lines present on both sides
  const common = new Set(removed.filter((l) => added.includes(l)));
  return {
    removed: removed.filter((l) => !common.has(l)),
    added: added.filter((l) => !common.has(l)),
  };
}
