/**
 * One node's datapath in one `docker exec`: a constant shell script prints every output
 * between markers; `splitSnapshot` cuts it apart and `readNode` parses each part.
 * The script is a constant: node names travel only as `docker exec` argv.
 */
import { ParseError, isParseError } from './errors.js';
import { parseIpvsadm, type IpvsTable } from './ipvsadm.js';
import {
  parseIptables,
  kubeProxyView,
  type IptablesRule,
  type KubeProxyIptablesView,
} from './iptables.js';
import { readPlainSaveExcerpt } from './iptables-json.js';
import { parseIpset, type IpsetList } from './ipset.js';
import { parseIpAddr, type IpInterface } from './ipaddr.js';
import { parseProxyMode, type ProxyMode } from './kubeproxylog.js';
import { parseNft, kubeProxyNftView, type KubeProxyNftView } from './nft.js';

export const SECTIONS = [
  'ipvsadm',
  'iptables-save',
  'ipset',
  'kube-ipvs0',
  'nft',
  'proxy-mode',
] as const;
export type SectionName = (typeof SECTIONS)[number];

const MARK = '@@proxylab-inspect';

/**
 * Run inside a node with `sh -c`. Each command's output (stderr merged) sits between
 * `@@proxylab-inspect begin NAME@@` and `@@proxylab-inspect end NAME EXIT@@`.
 */
export const SNAPSHOT_SCRIPT = [
  `sec() { n=$1; shift; printf '\\n${MARK} begin %s@@\\n' "$n"; "$@" 2>&1; printf '\\n${MARK} end %s %s@@\\n' "$n" "$?"; }`,
  'sec ipvsadm ipvsadm -Ln',
  'sec iptables-save iptables-save',
  'sec ipset ipset list',
  'sec kube-ipvs0 ip addr show kube-ipvs0',
  'sec nft nft list table ip kube-proxy',
  'sec proxy-mode curl -s --max-time 3 http://127.0.0.1:10249/proxyMode',
  `printf '\\n${MARK} done@@\\n'`,
].join('\n');

export interface Section {
  output: string;
  exitCode: number | null;
}

/** Cut the script's output into its sections. Throws ParseError when there is no marker. */
export function splitSnapshot(text: string): {
  sections: Partial<Record<SectionName, Section>>;
  complete: boolean;
} {
  const sections: Partial<Record<SectionName, Section>> = {};
  const re = /^@@proxylab-inspect (begin|end|done) ?(\S*)(?: (\d+))?@@$/gm;
  let open: { name: SectionName; start: number } | null = null;
  let complete = false;
  let found = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    found++;
    const [, kind, name, code] = m;
    if (kind === 'done') complete = true;
    else if (kind === 'begin' && (SECTIONS as readonly string[]).includes(name!)) {
      open = { name: name as SectionName, start: m.index + m[0].length + 1 };
    } else if (kind === 'end' && open && open.name === name) {
      // Drop the newline the end marker's printf adds before itself.
      const body = text.slice(open.start, m.index).replace(/\n$/, '');
      sections[open.name] = { output: body, exitCode: code === undefined ? null : Number(code) };
      open = null;
    }
  }
  if (open) sections[open.name] = { output: text.slice(open.start), exitCode: null };
  if (found === 0)
    throw new ParseError('snapshot', 'no @@proxylab-inspect markers in the node output');
  return { sections, complete };
}

export interface NodeSnapshot {
  node: string;
  /** From /proxyMode (null when kube-proxy did not answer). */
  proxyMode: ProxyMode | null;
  ipvs: IpvsTable | null;
  /**
   * From iptables-save: the rules of the nat chains the datapath picture draws
   * (NAT_CHAINS_DRAWN), by chain; null when iptables-save could not be read.
   */
  iptables: { nat: Record<string, IptablesRule[]> } | null;
  kubeProxy: KubeProxyIptablesView | null;
  ipsets: IpsetList | null;
  /** The kube-ipvs0 dummy interface; null when the node has none. */
  kubeIpvs0: IpInterface | null;
  /** kube-proxy's nftables table (`ip kube-proxy`); null when the node has none. */
  nft: KubeProxyNftView | null;
  /** Why a section gave no data, one line each (tool missing, parse refused...). */
  unavailable: Partial<Record<SectionName, string>>;
}

const NOT_FOUND = /not found|No such file|executable file not found/i;

function why(name: SectionName, s: Section | undefined): string | null {
  if (!s) return 'no output (the node script was cut short)';
  if (s.exitCode === 0) return null;
  const first = s.output.trim().split('\n').pop() ?? '';
  if (s.exitCode === 127 || NOT_FOUND.test(first)) {
    if (name === 'ipvsadm' || name === 'ipset')
      return `${name} is not installed in the node (run \`proxylab node-tools\`)`;
    if (name === 'proxy-mode') return 'curl is not installed in the node';
    return `${name === 'kube-ipvs0' ? 'ip' : name} is not installed in the node`;
  }
  if (name === 'kube-ipvs0') return 'the node has no kube-ipvs0 interface';
  if (name === 'nft' && /No such file or directory/.test(s.output))
    return 'the node has no nftables table ip kube-proxy';
  if (name === 'proxy-mode')
    return `kube-proxy did not answer on 127.0.0.1:10249/proxyMode (curl exit ${s.exitCode})`;
  return `${name} exited ${s.exitCode}${first ? `: ${first.slice(0, 160)}` : ''}`;
}

/** The nat chains kube-proxy keeps beside IPVS that the datapath picture draws (svg.ts). */
export const NAT_CHAINS_DRAWN = [
  'KUBE-SERVICES',
  'KUBE-NODE-PORT',
  'KUBE-MARK-MASQ',
  'KUBE-POSTROUTING',
] as const;

/**
 * kube-proxy's view and the drawn nat chains of an iptables-save: a plain one read without
 * an object per rule of the other chains (readPlainSaveExcerpt), anything else parsed whole.
 */
function readIptablesSave(text: string): {
  nat: Record<string, IptablesRule[]>;
  kubeProxy: KubeProxyIptablesView;
} {
  const excerpt = readPlainSaveExcerpt(text, NAT_CHAINS_DRAWN);
  if (excerpt) return excerpt;
  const dump = parseIptables(text);
  const nat: Record<string, IptablesRule[]> = Object.create(null) as Record<string, IptablesRule[]>;
  const chains = dump.tables['nat']?.chains;
  for (const c of NAT_CHAINS_DRAWN) if (chains?.[c]) nat[c] = chains[c].rules;
  return { nat, kubeProxy: kubeProxyView(dump) };
}

/** Parse every section of one node's script output. Never throws for a section: it is marked unavailable. */
export function readNode(node: string, text: string): NodeSnapshot {
  const { sections } = splitSnapshot(text);
  const snap: NodeSnapshot = {
    node,
    proxyMode: null,
    ipvs: null,
    iptables: null,
    kubeProxy: null,
    ipsets: null,
    kubeIpvs0: null,
    nft: null,
    unavailable: {},
  };
  const attempt = <T>(name: SectionName, fn: (out: string) => T): T | null => {
    const s = sections[name];
    const reason = why(name, s);
    if (reason) {
      snap.unavailable[name] = reason;
      return null;
    }
    try {
      return fn(s!.output);
    } catch (e) {
      if (isParseError(e)) {
        snap.unavailable[name] = e.message;
        return null;
      }
      throw e;
    }
  };
  snap.ipvs = attempt('ipvsadm', parseIpvsadm);
  const ipt = attempt('iptables-save', readIptablesSave);
  if (ipt) {
    snap.iptables = { nat: ipt.nat };
    snap.kubeProxy = ipt.kubeProxy;
  }
  snap.ipsets = attempt('ipset', (t) =>
    t.trim() === '' ? { format: 'list' as const, sets: [], skipped: [] } : parseIpset(t),
  );
  snap.kubeIpvs0 = attempt(
    'kube-ipvs0',
    (t) => parseIpAddr(t).interfaces.find((i) => i.name === 'kube-ipvs0') ?? null,
  );
  snap.nft = attempt('nft', (t) => kubeProxyNftView(parseNft(t), 'ip'));
  snap.proxyMode = attempt('proxy-mode', (t) => parseProxyMode(t).mode);
  return snap;
}
