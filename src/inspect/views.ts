/**
 * What `proxylab parse --view NAME` prints: the whole parse, or a part of it a script needs
 * without reading every rule (a 5,000-service iptables-save is 40,000 rules, ~20 MB of JSON).
 *   full        everything (default; iptables and nft add their kube-proxy view)
 *   rules       iptables/nft: the parsed rules without the kube-proxy view
 *   kube-proxy  iptables/nft: only kube-proxy's services → endpoints, with skipped and notes
 *   summary     counts: tables, chains, rules, services, endpoints, skipped lines
 */
import { kubeProxyView, parseIptables, type IptablesDump } from './iptables.js';
import { kubeProxyNftView, parseNft, type NftRuleset } from './nft.js';
import { parseIpvsadm, type IpvsTable } from './ipvsadm.js';
import { PARSERS, type ParseKind } from './index.js';

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

function iptablesSummary(d: IptablesDump, withView: boolean) {
  const v = withView ? kubeProxyView(d) : null;
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

function nftSummary(r: NftRuleset) {
  const v = kubeProxyNftView(r);
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

/** Parse `text` as `kind` and return what `view` shows. Throws ParseError like the parsers. */
export function parseView(
  kind: ParseKind,
  text: string,
  view: ParseView,
  opts: { table?: string } = {},
): unknown {
  if (kind === 'iptables') {
    const d = parseIptables(text, opts);
    if (view === 'rules') return d;
    if (view === 'kube-proxy')
      return { kubeProxy: kubeProxyView(d), skipped: d.skipped, notes: d.notes };
    if (view === 'summary') return iptablesSummary(d, true);
    return { ...d, kubeProxy: kubeProxyView(d) };
  }
  if (kind === 'nft') {
    const r = parseNft(text);
    if (view === 'rules') return r;
    if (view === 'kube-proxy') return { kubeProxy: kubeProxyNftView(r), skipped: r.skipped };
    if (view === 'summary') return nftSummary(r);
    return { ...r, kubeProxy: kubeProxyNftView(r) };
  }
  if (kind === 'ipvsadm') {
    const t = parseIpvsadm(text);
    return view === 'summary' ? ipvsSummary(t) : t;
  }
  return PARSERS[kind](text);
}
