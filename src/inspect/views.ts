/**
 * What `proxylab parse --view NAME` prints: the whole parse, or a part of it a script needs
 * without reading every rule (a 5,000-service iptables-save is 40,000 rules, ~20 MB of JSON).
 *   full        everything (default; iptables and nft add their kube-proxy view)
 *   rules       iptables/nft: the parsed rules without the kube-proxy view
 *   kube-proxy  iptables/nft: only kube-proxy's services → endpoints, with skipped and notes
 *   summary     counts: tables, chains, rules, services, endpoints, skipped lines
 */
import { isAscii } from 'node:buffer';
import type { IptablesDump, KubeProxyIptablesView } from './iptables.js';
import type { KubeProxyNftView, NftRuleset } from './nft.js';
import type { IpvsTable } from './ipvsadm.js';
import type { ParseKind } from './index.js';
import { writeJsonTo, type JsonSink } from './jsonwriter.js';
import { bufferSource, type ByteSource } from './source.js';

/**
 * The kinds `proxylab parse` reads, as index.ts's PARSERS names them (a unit test keeps the
 * two equal). Listed here so that the command loads only the parser it runs, not all seven.
 */
export const PARSE_KIND_NAMES: readonly ParseKind[] = [
  'ipvsadm',
  'iptables',
  'ipset',
  'ip-addr',
  'kube-proxy-log',
  'proxy-mode',
  'nft',
];

export const VIEWS = ['full', 'rules', 'kube-proxy', 'summary'] as const;
export type ParseView = (typeof VIEWS)[number];

/** The views each kind has. */
export function viewsOf(kind: ParseKind): ParseView[] {
  return kind === 'iptables' || kind === 'nft'
    ? [...VIEWS]
    : kind === 'ipvsadm'
      ? ['full', 'summary']
      : ['full'];
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

function iptablesSummary(d: IptablesDump, v: KubeProxyIptablesView | null) {
  return {
    formats: d.formats,
    tables: Object.fromEntries(
      Object.entries(d.tables).map(([n, t]) => {
        const chains = Object.values(t.chains);
        return [n, { chains: chains.length, rules: sum(chains.map((c) => c.rules.length)) }];
      }),
    ),
    ruleCount: d.ruleCount,
    kubeProxy: v && {
      services: v.services.length,
      endpoints: sum(v.services.map((s) => s.endpoints.length)),
      serviceChains: v.serviceChains.length,
      endpointChains: v.endpointChains.length,
      matchSets: v.matchSets,
    },
    skipped: d.skipped,
    notes: d.notes,
  };
}

function nftSummary(r: NftRuleset, v: KubeProxyNftView | null) {
  return {
    tables: r.tables.map((t) => ({
      family: t.family,
      name: t.name,
      section: t.section,
      chains: Object.keys(t.chains).length,
      rules: sum(Object.values(t.chains).map((c) => c.rules.length)),
      sets: Object.fromEntries(Object.entries(t.sets).map(([n, s]) => [n, s.elements.length])),
    })),
    kubeProxy: v && {
      services: v.services.length,
      endpoints: sum(v.services.map((s) => s.endpoints.length)),
      serviceChains: v.serviceChains,
      endpointChains: v.endpointChains,
    },
    skipped: r.skipped,
  };
}

function ipvsSummary(t: IpvsTable) {
  return {
    layouts: t.layouts,
    version: t.version,
    services: t.services.length,
    realServers: sum(t.services.map((s) => s.realServers.length)),
    orphanRealServers: t.orphanRealServers.length,
    connections: t.connections.length,
    skipped: t.skipped,
  };
}

/**
 * Parse `text` as `kind` and return what `view` shows. Throws ParseError like the parsers.
 * Loads only the parser of that kind.
 */
export async function parseView(
  kind: ParseKind,
  text: string,
  view: ParseView,
  opts: { table?: string } = {},
): Promise<unknown> {
  if (kind === 'iptables') {
    const { parseIptables, kubeProxyView } = await import('./iptables.js');
    const d = parseIptables(text, opts);
    if (view === 'rules') return d;
    if (view === 'kube-proxy')
      return { kubeProxy: kubeProxyView(d), skipped: d.skipped, notes: d.notes };
    if (view === 'summary') return iptablesSummary(d, kubeProxyView(d));
    return { ...d, kubeProxy: kubeProxyView(d) };
  }
  if (kind === 'nft') {
    const { parseNft, kubeProxyNftView } = await import('./nft.js');
    const r = parseNft(text);
    if (view === 'rules') return r;
    if (view === 'kube-proxy') return { kubeProxy: kubeProxyNftView(r), skipped: r.skipped };
    if (view === 'summary') return nftSummary(r, kubeProxyNftView(r));
    return { ...r, kubeProxy: kubeProxyNftView(r) };
  }
  if (kind === 'ipvsadm') {
    const { parseIpvsadm } = await import('./ipvsadm.js');
    const t = parseIpvsadm(text);
    return view === 'summary' ? ipvsSummary(t) : t;
  }
  if (kind === 'ipset') return (await import('./ipset.js')).parseIpset(text);
  if (kind === 'ip-addr') return (await import('./ipaddr.js')).parseIpAddr(text);
  const log = await import('./kubeproxylog.js');
  return kind === 'proxy-mode' ? log.parseProxyMode(text) : log.parseKubeProxyLog(text);
}

/**
 * Bytes as text. ASCII (what the tools print) is copied as one-byte text, which V8 keeps at
 * one byte a character, without a UTF-8 decode; anything else is decoded as UTF-8.
 */
export function asText(bytes: Buffer): string {
  return isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
}

/**
 * Parse `input` (text, or the bytes to read) as `kind` and write what `view` shows as JSON through `write` (indented by
 * `indent`, compact when 0): the same text as JSON.stringify of parseView's result, at the
 * pace the sink takes it (see JsonSink). A plain
 * iptables-save written compact is printed while it is read (iptables-json.ts), without
 * holding its rules.
 */
export async function writeView(
  kind: ParseKind,
  input: string | ByteSource,
  view: ParseView,
  opts: { table?: string },
  write: JsonSink,
  indent: number,
): Promise<void> {
  if (kind === 'iptables' && indent === 0) {
    // the compiled writer first: when it takes the input, the JavaScript parsers are not
    // even loaded (a CLI run's start-up is part of its cost)
    const { writeSaveCompiled } = await import('./save/compiled.js');
    const src = typeof input === 'string' ? bufferSource(Buffer.from(input, 'utf8')) : input;
    if (await writeSaveCompiled(src, view, write)) return;
    const { writePlainSave } = await import('./iptables-json.js');
    if (await writePlainSave(src, view, write)) return;
  }
  if (kind === 'ipvsadm' && indent === 0 && (view === 'full' || view === 'summary')) {
    const { writeIpvsCompiled } = await import('./ipvs-compiled.js');
    const src = typeof input === 'string' ? bufferSource(Buffer.from(input, 'utf8')) : input;
    if (await writeIpvsCompiled(src, view, write)) return;
    const { writePlainIpvsList } = await import('./ipvsadm.js');
    if (await writePlainIpvsList(src, view, write)) return;
  }
  const text = typeof input === 'string' ? input : asText(input.whole());
  await writeJsonTo(await parseView(kind, text, view, opts), write, indent);
}
