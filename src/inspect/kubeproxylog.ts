/**
 * kube-proxy logs → which proxy mode it chose, across versions:
 *   klog ≤1.21     `server_others.go:170] Using ipvs Proxier.`
 *   structured     `"Using ipvs Proxier"`, `"Using iptables proxy"`, `"Using nftables Proxier"`
 *   ≤1.25 fallback `Can't use the IPVS proxier: ...` then `Using iptables Proxier`
 *   ≥1.26 fatal    `"Error running ProxyServer" err="can't use the IPVS proxier: ..."`
 *   ≥1.35          `The ipvs proxier is now deprecated and may be removed in a future release. ...`
 *   KEP-5495       `The ipvs proxier has been deprecated and will be disabled by default in
 *                  Kubernetes 1.40 and removed in Kubernetes 1.43. ...`, and the Node event
 *                  with reason `IPVSDeprecation` (cmd/kube-proxy/app/server_linux.go, 1.35)
 * Tolerates `kubectl logs --prefix` / stern pod prefixes, `--timestamps`, journald prefixes,
 * logrus wrappers (`level=info msg="I0613 …"`, as k0s logs its components), klog's
 * multi-line values (`err=<` … ` >`) and JSON logging.
 */
import { ParseError } from './errors.js';
import { numberedLines } from './text.js';

export type ProxyMode = 'ipvs' | 'iptables' | 'nftables' | 'userspace' | 'kernelspace';

export interface Evidence {
  line: number;
  text: string;
}

export interface KubeProxyLogSummary {
  mode: ProxyMode | null;
  /** kube-proxy was asked for IPVS and fell back to iptables (v1.8–v1.25). */
  fallback: boolean;
  /** The error that stopped kube-proxy (e.g. ≥1.26 "can't use the IPVS proxier: ..."), or null. */
  fatal: string | null;
  /** kube-proxy said its ipvs mode is deprecated (any wording, or the IPVSDeprecation event). */
  deprecationWarning: boolean;
  /** What the deprecation says, when it says it: the versions and the mode to use instead. */
  deprecation: IpvsDeprecation | null;
  version: string | null;
  /** "Unknown proxy mode, assuming iptables proxy": mode was empty and defaulted. */
  modeDefaulted: boolean;
  /** "IPVS scheduler not specified, use rr by default" → "rr". */
  defaultScheduler: string | null;
  /** Lines that decided each field. */
  evidence: Partial<
    Record<'mode' | 'fallback' | 'fatal' | 'deprecationWarning' | 'version', Evidence>
  >;
  /** Every mode announcement, in order (a restart can change it). */
  modesSeen: ProxyMode[];
}

export interface IpvsDeprecation {
  /** The message as logged (quotes removed). */
  message: string;
  /** `1.40` from "disabled by default in Kubernetes 1.40", else null. */
  disabledIn: string | null;
  /** `1.43` from "removed in Kubernetes 1.43", else null ("may be removed in a future release"). */
  removedIn: string | null;
  /** `nftables` from "Please use 'nftables' instead" / "Migrate to the 'nftables' proxier". */
  use: string | null;
}

export interface KubeProxyLog extends KubeProxyLogSummary {
  /** Per pod, when the lines carry pod prefixes (`kubectl logs --prefix`, stern, journald). */
  sources: (KubeProxyLogSummary & { source: string })[];
  /** Lines recognised as log records. */
  records: number;
}

const KLOG = /([IWEF])(\d{4}) (\d\d:\d\d:\d\d\.\d+)\s+(\d+) ([^\s\]]+)\] ?(.*)$/;

interface Rec {
  level: string;
  msg: string;
  prefix: string;
  line: number;
  text: string;
}

function fromJsonLine(text: string, line: number): Rec | null {
  const at = text.indexOf('{"');
  if (at < 0) return null;
  let o: unknown;
  try {
    o = JSON.parse(text.slice(at));
  } catch {
    return null;
  }
  if (!o || typeof o !== 'object') return null;
  const r = o as Record<string, unknown>;
  if (typeof r.msg !== 'string') return null;
  let msg = `"${r.msg}"`;
  for (const [k, v] of Object.entries(r)) {
    if (['ts', 'caller', 'msg', 'v', 'level'].includes(k)) continue;
    if (typeof v === 'string' || typeof v === 'number') msg += ` ${k}=${JSON.stringify(v)}`;
  }
  const level = r.level === 'error' || r.err !== undefined ? 'E' : 'I';
  return { level, msg, prefix: text.slice(0, at).trim(), line, text };
}

/** `2026-11-21T10:00:00.123456789Z` (kubectl logs --timestamps, stern -t, journalctl -o short-iso). */
const ISO_TIME = /\b\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?/g;

function sourceName(raw: string): string | null {
  const prefix = raw.replace(ISO_TIME, ' ').replace(/\s+/g, ' ').trim();
  if (!prefix) return null;
  const pod = /\b(kube-proxy-[a-z0-9]{4,})\b/.exec(prefix);
  if (pod) return pod[1]!;
  const kp = /^\[pod\/([^/\]]+)/.exec(prefix);
  if (kp) return kp[1]!;
  // journald: `Nov 21 10:00:00 node1 kube-proxy[1234]:` → node1
  const jd = /^\w{3}\s+\d+\s+[\d:]+\s+(\S+)\s+\S+?\[\d+\]:$/.exec(prefix);
  if (jd) return jd[1]!;
  // journald -o short-iso (the time already removed): `node1 kube-proxy[1234]:` → node1
  const jdIso = /^(\S+)\s+\S+?\[\d+\]:$/.exec(prefix);
  if (jdIso) return jdIso[1]!;
  return prefix.replace(/[\s:]+$/, '') || null;
}

function empty(): KubeProxyLogSummary {
  return {
    mode: null,
    fallback: false,
    fatal: null,
    deprecationWarning: false,
    deprecation: null,
    version: null,
    modeDefaulted: false,
    defaultScheduler: null,
    evidence: {},
    modesSeen: [],
  };
}

const MODES: Record<string, ProxyMode> = {
  ipvs: 'ipvs',
  iptables: 'iptables',
  nftables: 'nftables',
  userspace: 'userspace',
  kernelspace: 'kernelspace',
};

/** One escape of a Go-quoted (`%q`) value: `\n` and `\t` are a newline and a tab. */
function unescapeGo(_m: string, c: string): string {
  return c === 'n' ? '\n' : c === 't' ? '\t' : c;
}

function apply(s: KubeProxyLogSummary, r: Rec): boolean {
  const ev = { line: r.line, text: r.text.trim() };
  const msg = r.msg;
  let hit = false;
  const use = /\bUsing (\w+) (?:Proxier|proxy)\b/i.exec(msg);
  if (use && MODES[use[1]!.toLowerCase()]) {
    const mode = MODES[use[1]!.toLowerCase()]!;
    s.mode = mode;
    if (s.modesSeen[s.modesSeen.length - 1] !== mode) s.modesSeen.push(mode);
    s.evidence.mode = ev;
    hit = true;
  }
  if (/assuming iptables proxy/i.test(msg)) {
    s.modeDefaulted = true;
    if (!s.mode) {
      s.mode = 'iptables';
      s.modesSeen.push('iptables');
      s.evidence.mode = ev;
    }
    hit = true;
  }
  const errText = /\berr="((?:[^"\\]|\\.)*)"/.exec(msg)?.[1]?.replace(/\\(.)/g, unescapeGo) ?? null;
  const isFatal =
    r.level === 'F' ||
    /^"?(?:Error running ProxyServer|command failed|failed to run kube-proxy)"?/i.test(msg);
  if (isFatal) {
    s.fatal = errText ?? msg.replace(/^"|"$/g, '');
    s.evidence.fatal = ev;
    hit = true;
  } else if (/Can't use the IPVS proxier|Can't use ipvs proxier, trying iptables/.test(msg)) {
    // Until 1.25 this error was followed by a fall back to the iptables proxier.
    s.fallback = true;
    s.evidence.fallback = ev;
    hit = true;
  }
  const dep = ipvsDeprecation(msg);
  if (dep) {
    s.deprecationWarning = true;
    s.deprecation = dep;
    s.evidence.deprecationWarning = ev;
    hit = true;
  }
  const ver =
    /\bVersion: (v\d[\w.+-]*)/.exec(msg) ?? /"Version info" version="(v\d[^"]*)"/.exec(msg);
  if (ver) {
    s.version = ver[1]!;
    s.evidence.version = ev;
    hit = true;
  }
  const sched = /IPVS scheduler not specified, use (\w+) by default/.exec(msg);
  if (sched) {
    s.defaultScheduler = sched[1]!;
    hit = true;
  }
  return hit;
}

/**
 * The IPVS deprecation, recognised by what it says rather than one wording: a sentence
 * naming ipvs together with "deprecated" / "will be disabled" / "will be removed", or an
 * event with reason IPVSDeprecation.
 */
const IPVS_NEAR_DEPRECATION =
  /\bipvs\b[^.]{0,80}?\b(?:deprecat\w*|will be (?:disabled|removed))|\bdeprecat\w*[^.]{0,40}?\bipvs\b|\bIPVSDeprecation\b/i;

export function ipvsDeprecation(msg: string): IpvsDeprecation | null {
  if (!IPVS_NEAR_DEPRECATION.test(msg)) return null;
  // the message itself: after an event's reason, else the (quoted) klog message
  const afterReason = /\bIPVSDeprecation\b\s+(?:\S+\s+)*?(The ipvs\b.*)$/i.exec(msg)?.[1];
  const message = (afterReason ?? msg)
    .replace(/^"((?:[^"\\]|\\.)*)".*$/, '$1')
    .replace(/\\(.)/g, '$1')
    .trim();
  const v = (re: RegExp) => re.exec(message)?.[1] ?? null;
  return {
    message,
    disabledIn: v(/\bdisabled by default in (?:Kubernetes )?v?(\d+\.\d+)/i),
    removedIn: v(/\bremoved in (?:Kubernetes )?v?(\d+\.\d+)/i),
    use: v(/\b(?:use|to)(?: the)? ['"]?(nftables|iptables)['"]?(?: proxier| mode)? instead\b/i),
  };
}

/** `level=info msg="…"` of a logrus wrapper: the message, unescaped, and its level letter. */
function fromLogrus(text: string): { text: string; level: string } | null {
  const m = /\blevel=(\w+)\b.*?\bmsg="((?:[^"\\]|\\.)*)"/.exec(text);
  if (!m) return null;
  const lv = m[1]!.toLowerCase();
  return {
    text: m[2]!.replace(/\\(.)/g, '$1'),
    level:
      lv.startsWith('fatal') || lv.startsWith('panic')
        ? 'F'
        : lv.startsWith('err')
          ? 'E'
          : lv.startsWith('warn')
            ? 'W'
            : 'I',
  };
}

/** Parse kube-proxy log text. Throws ParseError when no line is a kube-proxy log record. */
export function parseKubeProxyLog(input: string): KubeProxyLog {
  const all = empty();
  const bySource = new Map<string, KubeProxyLogSummary>();
  let records = 0;
  let known = 0;
  const lines = numberedLines(input);
  for (let li = 0; li < lines.length; li++) {
    const { no } = lines[li]!;
    let text = lines[li]!.text;
    if (text.trim() === '') continue;
    let rec: Rec | null = null;
    let prefix: string | null = null;
    const wrapped = text.includes('msg="') ? fromLogrus(text) : null;
    if (wrapped) {
      // the logrus fields are the prefix; the klog record is inside msg
      prefix = '';
      text = wrapped.text;
    }
    const m = KLOG.exec(text);
    if (m) {
      rec = {
        level: m[1]!,
        msg: m[6]!,
        prefix: prefix ?? text.slice(0, m.index).trim(),
        line: no,
        text: lines[li]!.text,
      };
      // klog writes a multi-line value as `key=<` then tab-indented lines, then ` >`
      if (/\w=<$/.test(rec.msg)) {
        const value: string[] = [];
        let k = li + 1;
        for (; k < lines.length && k <= li + 200; k++) {
          const t = lines[k]!.text.slice(m.index);
          if (/^\s*>$/.test(t)) break;
          value.push(t.trim());
        }
        if (k < lines.length && k <= li + 200) {
          rec.msg = `${rec.msg.slice(0, -1)}${JSON.stringify(value.join('\n'))}`;
          li = k;
        }
      }
    } else if (wrapped) {
      rec = {
        level: wrapped.level,
        msg: `"${wrapped.text}"`,
        prefix: '',
        line: no,
        text: lines[li]!.text,
      };
    } else if (text.includes('{"')) {
      rec = fromJsonLine(text, no);
    }
    if (!rec) {
      // A bare message (a pasted fragment without the klog header) still counts when it
      // is one of the lines this parser knows.
      const probe: Rec = { level: 'I', msg: text.trim(), prefix: '', line: no, text };
      if (
        /Using \w+ (?:Proxier|proxy)\b|Can't use the IPVS proxier|"Version info"/i.test(text) ||
        IPVS_NEAR_DEPRECATION.test(text)
      ) {
        if (apply(all, probe)) known++;
      }
      continue;
    }
    records++;
    if (apply(all, rec)) known++;
    const src = sourceName(rec.prefix);
    if (src) {
      let s = bySource.get(src);
      if (!s) {
        s = empty();
        bySource.set(src, s);
      }
      apply(s, rec);
    }
  }
  if (records === 0 && known === 0) {
    throw new ParseError(
      'kube-proxy-log',
      input.trim() === ''
        ? 'the input is empty'
        : 'no line looks like a kube-proxy log record (expected klog lines such as `I1031 00:39:54.832710  1 server_others.go:170] Using ipvs Proxier.`)',
    );
  }
  // A fatal error later than the last mode line wins: the proxier never ran.
  return {
    ...all,
    sources:
      bySource.size > 1 || (bySource.size === 1 && [...bySource.keys()][0] !== '')
        ? [...bySource].map(([source, s]) => ({ source, ...s }))
        : [],
    records,
  };
}

// ---------------------------------------------------------------------------------------

export interface ProxyModeAnswer {
  mode: ProxyMode;
}

/** The answer of `curl 127.0.0.1:10249/proxyMode`: one word. */
export function parseProxyMode(input: string): ProxyModeAnswer {
  const t = input.trim();
  const mode = MODES[t];
  if (!mode) {
    throw new ParseError(
      'proxy-mode',
      t === ''
        ? 'the answer is empty'
        : `"${t.slice(0, 60)}" is not a proxy mode (expected ipvs, iptables, nftables...)`,
    );
  }
  return { mode };
}
