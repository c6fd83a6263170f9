/**
 * proxylab's parsers: text → typed data. Each throws `ParseError` (one-line reason) when
 * its input is not that format at all, and otherwise returns what is there — fields
 * the output does not show are null, never guessed.
 */
export { ParseError, isParseError, type ParseFormat } from './errors.js';
export * from './text.js';
export {
  parseIpvsadm,
  type IpvsTable,
  type IpvsService,
  type IpvsRealServer,
  type IpvsConnection,
  type IpvsTimeout,
  type IpvsCounters,
  type IpvsRates,
  type IpvsProtocol,
  type IpvsForward,
  type IpvsLayout,
} from './ipvsadm.js';
export {
  parseIptables,
  UNKNOWN_CHAIN,
  kubeProxyView,
  commentService,
  saveWords,
  type IptablesDump,
  type IptablesTable,
  type IptablesChain,
  type IptablesRule,
  type IptablesFormat,
  type MatchSet,
  type Counters,
  type ParseIptablesOptions,
  type KubeProxyIptablesView,
  type KubeProxyServicePort,
  type KubeProxyEndpoint,
} from './iptables.js';
export { parseIpset, type IpsetList, type Ipset, type IpsetMember } from './ipset.js';
export { parseIpAddr, type IpAddrList, type IpInterface, type IpAddress } from './ipaddr.js';
export {
  parseKubeProxyLog,
  parseProxyMode,
  type KubeProxyLog,
  type KubeProxyLogSummary,
  type ProxyMode,
  type ProxyModeAnswer,
  type Evidence,
} from './kubeproxylog.js';

export {
  parseNft,
  kubeProxyNftView,
  type NftRuleset,
  type NftTable,
  type NftChain,
  type NftSet,
  type KubeProxyNftView,
  type NftServicePort,
  type NftEndpoint,
} from './nft.js';

import { parseIpvsadm } from './ipvsadm.js';
import { parseIptables, kubeProxyView } from './iptables.js';
import { parseIpset } from './ipset.js';
import { parseIpAddr } from './ipaddr.js';
import { parseKubeProxyLog, parseProxyMode } from './kubeproxylog.js';
import { parseNft, kubeProxyNftView } from './nft.js';

/** The formats `proxylab parse` accepts, each mapped to its parser. */
export const PARSERS = {
  ipvsadm: (text: string) => parseIpvsadm(text),
  iptables: (text: string, opts: { table?: string } = {}) => {
    const dump = parseIptables(text, opts);
    return { ...dump, kubeProxy: kubeProxyView(dump) };
  },
  ipset: (text: string) => parseIpset(text),
  'ip-addr': (text: string) => parseIpAddr(text),
  'kube-proxy-log': (text: string) => parseKubeProxyLog(text),
  'proxy-mode': (text: string) => parseProxyMode(text),
  nft: (text: string) => {
    const ruleset = parseNft(text);
    return { ...ruleset, kubeProxy: kubeProxyNftView(ruleset) };
  },
} as const;

export type ParseKind = keyof typeof PARSERS;
export const PARSE_KINDS = Object.keys(PARSERS) as ParseKind[];
