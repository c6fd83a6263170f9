/**
 * `ipset list` (Revision 5/6/7 headers, bucketsize/initval, comments, bitmap:port) and
 * `ipset save` → typed data.
 */
import { ParseError } from './errors.js';
import { int, isNoise, numberedLines } from './text.js';

export interface IpsetMember {
  /** The element as printed, e.g. `10.96.0.1,tcp:443`. */
  value: string;
  comment?: string;
  timeout?: number;
  packets?: number;
  bytes?: number;
}

export interface Ipset {
  name: string;
  type: string | null;
  revision: number | null;
  /** `Header:` / create options as key → value (`family: inet`, `hashsize: 1024`, `range: 0-65535`). */
  header: Record<string, string | true>;
  sizeInMemory: number | null;
  references: number | null;
  /** What `Number of entries:` says (null in save format or when absent). */
  declaredEntries: number | null;
  /** Member elements as printed (the contract field). */
  members: string[];
  /** Members with their extras (comment, timeout, counters), when any member has one. */
  memberDetails?: IpsetMember[];
  line: number;
}

export interface IpsetList {
  format: 'list' | 'save';
  sets: Ipset[];
  skipped: number[];
}

function headerMap(words: string[]): Record<string, string | true> {
  const h: Record<string, string | true> = {};
  for (let i = 0; i < words.length; i++) {
    const k = words[i]!;
    const v = words[i + 1];
    // Flag options stand alone (counters, comment, skbinfo, forceadd).
    if (v === undefined || /^(?:counters|comment|skbinfo|forceadd)$/.test(k)) h[k] = true;
    else {
      h[k] = v;
      i++;
    }
  }
  return h;
}

function member(text: string): IpsetMember {
  const m: IpsetMember = { value: text };
  const parts = /^(\S+)(.*)$/.exec(text.trim());
  if (!parts) return m;
  m.value = parts[1]!;
  let rest = parts[2]!;
  const cm = /\scomment "((?:[^"\\]|\\.)*)"/.exec(rest);
  if (cm) {
    m.comment = cm[1]!.replace(/\\(.)/g, '$1');
    rest = rest.replace(cm[0], '');
  }
  const to = /\btimeout (\d+)/.exec(rest);
  if (to) m.timeout = Number(to[1]);
  const pk = /\bpackets (\d+)/.exec(rest);
  if (pk) m.packets = Number(pk[1]);
  const by = /\bbytes (\d+)/.exec(rest);
  if (by) m.bytes = Number(by[1]);
  return m;
}

function addMember(set: Ipset, text: string): void {
  const m = member(text);
  set.members.push(m.value);
  if (m.comment !== undefined || m.timeout !== undefined || m.packets !== undefined) {
    set.memberDetails ??= set.members.slice(0, -1).map((value) => ({ value }));
    set.memberDetails.push(m);
  } else if (set.memberDetails) set.memberDetails.push(m);
}

/** Parse `ipset list` or `ipset save` output. Throws ParseError when it is neither. */
export function parseIpset(input: string): IpsetList {
  const out: IpsetList = { format: 'list', sets: [], skipped: [] };
  const byName = new Map<string, Ipset>();
  let cur: Ipset | null = null;
  let inMembers = false;
  let sawSave = false;
  let sawList = false;
  const newSet = (name: string, line: number): Ipset => {
    const s: Ipset = {
      name,
      type: null,
      revision: null,
      header: {},
      sizeInMemory: null,
      references: null,
      declaredEntries: null,
      members: [],
      line,
    };
    out.sets.push(s);
    byName.set(name, s);
    return s;
  };
  for (const { no, text } of numberedLines(input)) {
    if (text.trim() === '') {
      inMembers = false;
      continue;
    }
    if (isNoise(text)) continue;
    const t = text.trim();
    const kv =
      /^(Name|Type|Revision|Header|Size in memory|References|Number of entries|Members):\s*(.*)$/.exec(
        t,
      );
    if (kv) {
      const [, key, val] = kv as unknown as [string, string, string];
      sawList = true;
      if (key === 'Name') {
        cur = newSet(val, no);
        inMembers = false;
        continue;
      }
      if (!cur) {
        // A fragment that starts below the Name line: keep the data under an unnamed set.
        cur = newSet('', no);
      }
      if (key === 'Type') cur.type = val || null;
      else if (key === 'Revision') cur.revision = int(val);
      else if (key === 'Header') cur.header = headerMap(val.split(/\s+/).filter(Boolean));
      else if (key === 'Size in memory') cur.sizeInMemory = int(val);
      else if (key === 'References') cur.references = int(val);
      else if (key === 'Number of entries') cur.declaredEntries = int(val);
      else if (key === 'Members') {
        inMembers = true;
        if (val) addMember(cur, val);
      }
      continue;
    }
    if (inMembers && cur) {
      addMember(cur, t);
      continue;
    }
    const cr = /^create (\S+) (\S+)(?: (.*))?$/.exec(t);
    if (cr) {
      sawSave = true;
      const s = byName.get(cr[1]!) ?? newSet(cr[1]!, no);
      s.type = cr[2]!;
      s.header = headerMap((cr[3] ?? '').split(/\s+/).filter(Boolean));
      continue;
    }
    const ad = /^add (\S+) (.+)$/.exec(t);
    if (ad) {
      sawSave = true;
      const s = byName.get(ad[1]!) ?? newSet(ad[1]!, no);
      addMember(s, ad[2]!);
      continue;
    }
    out.skipped.push(no);
  }
  if (!sawList && !sawSave) {
    throw new ParseError(
      'ipset',
      input.trim() === ''
        ? 'the input is empty'
        : 'no line looks like ipset output (expected "Name: KUBE-CLUSTER-IP" ... "Members:", or "create"/"add" lines)',
    );
  }
  out.format = sawSave && !sawList ? 'save' : 'list';
  return out;
}
