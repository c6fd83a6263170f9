/**
 * flush-nat planner: from what a node shows (`iptables-save`, `ip6tables-save`, `ipvsadm -Sn`,
 * `ipset list -n`, `ip -o link show kube-ipvs0`), compute exactly what kube-proxy left from a
 * mode it no longer runs, and render it as input for ONE command per node. kube-proxy runs
 * dual-stack even in an IPv4-only kind cluster ("Creating dualStackProxier"), so it leaves
 * chains in ip6tables too: both families are planned the same way.
 *
 * Only kube-proxy's objects are ever named: chains and rules whose target or match is a
 * KUBE-* object of the other mode. DOCKER*, KIND-* and every non-KUBE rule stay as they are.
 * Pure text in, plan out: nothing here runs a program.
 */
import { parseIptables } from '../inspect/iptables.js';

export type ProxyMode = 'iptables' | 'ipvs' | 'nftables';

/**
 * The chains each proxier owns, per table (both families alike). A chain is a leftover when
 * a mode kube-proxy no longer runs owns it and the current mode does not.
 *
 * iptables mode: pkg/proxy/iptables/cleanup.go (cleanupLeftoversForFamily, kubernetes
 * v1.33–v1.36: the same lists kube-proxy itself removes): nat KUBE-SERVICES, KUBE-NODEPORTS,
 * KUBE-POSTROUTING, KUBE-MARK-MASQ, KUBE-PROXY-CANARY and the per-service chains
 * (isServiceChainName: KUBE-SVC-, KUBE-SVL-, KUBE-EXT-, KUBE-FW-, KUBE-SEP-; KUBE-XLB- is the
 * pre-1.24 name); filter KUBE-SERVICES, KUBE-EXTERNAL-SERVICES, KUBE-FORWARD, KUBE-NODEPORTS,
 * KUBE-PROXY-FIREWALL, KUBE-PROXY-CANARY; mangle KUBE-PROXY-CANARY.
 * ipvs mode: pkg/proxy/ipvs/proxier.go iptablesChains (kubernetes v1.28+, when
 * KUBE-IPVS-OUT-FILTER came in for k/k#119656; cleanup.go removes the same list): nat
 * KUBE-SERVICES, KUBE-POSTROUTING, KUBE-NODE-PORT, KUBE-LOAD-BALANCER, KUBE-MARK-MASQ; filter
 * KUBE-FORWARD, KUBE-NODE-PORT, KUBE-PROXY-FIREWALL, KUBE-SOURCE-RANGES-FIREWALL,
 * KUBE-IPVS-FILTER, KUBE-IPVS-OUT-FILTER. (A real ipvs-mode node shows exactly these:
 * fixture nft/04, real-outputs-modern.)
 * nftables mode: no iptables chains at all.
 * So KUBE-FORWARD and KUBE-PROXY-FIREWALL (filter) and KUBE-SERVICES, KUBE-POSTROUTING,
 * KUBE-MARK-MASQ (nat) are shared by iptables and ipvs mode: kept when switching between
 * them, removed only for nftables. Never touched: kubelet's KUBE-FIREWALL,
 * KUBE-KUBELET-CANARY and KUBE-IPTABLES-HINT, Docker's and kind's chains.
 */
const SERVICE_CHAIN = /^KUBE-(SVC|SVL|EXT|FW|SEP|XLB)-[A-Z0-9]+$/;

const OWNED: Record<ProxyMode, Record<string, readonly string[]>> = {
  iptables: {
    nat: [
      'KUBE-SERVICES',
      'KUBE-NODEPORTS',
      'KUBE-POSTROUTING',
      'KUBE-MARK-MASQ',
      'KUBE-PROXY-CANARY',
    ],
    filter: [
      'KUBE-SERVICES',
      'KUBE-EXTERNAL-SERVICES',
      'KUBE-FORWARD',
      'KUBE-NODEPORTS',
      'KUBE-PROXY-FIREWALL',
      'KUBE-PROXY-CANARY',
    ],
    mangle: ['KUBE-PROXY-CANARY'],
  },
  ipvs: {
    nat: [
      'KUBE-SERVICES',
      'KUBE-POSTROUTING',
      'KUBE-NODE-PORT',
      'KUBE-LOAD-BALANCER',
      'KUBE-MARK-MASQ',
    ],
    filter: [
      'KUBE-FORWARD',
      'KUBE-NODE-PORT',
      'KUBE-PROXY-FIREWALL',
      'KUBE-SOURCE-RANGES-FIREWALL',
      'KUBE-IPVS-FILTER',
      'KUBE-IPVS-OUT-FILTER',
    ],
  },
  nftables: {},
};

function owns(mode: ProxyMode, table: string, chain: string): boolean {
  if (mode === 'iptables' && table === 'nat' && SERVICE_CHAIN.test(chain)) return true;
  return OWNED[mode][table]?.includes(chain) ?? false;
}

/**
 * The comments of the jumps each proxier puts into a chain both modes share, per table and
 * target (iptables: iptablesJumpChains in pkg/proxy/iptables/proxier.go; ipvs:
 * iptablesJumpChain in pkg/proxy/ipvs/proxier.go). Where they differ, the old mode's jump
 * stays behind after a switch (kube-proxy only ensures its own): iptables mode sends INPUT,
 * FORWARD and OUTPUT to KUBE-PROXY-FIREWALL ("kubernetes load balancer firewall", with
 * --ctstate NEW), ipvs mode only INPUT and FORWARD ("kube-proxy firewall rules").
 */
const JUMP_COMMENTS: Record<ProxyMode, Record<string, Record<string, readonly string[]>>> = {
  iptables: {
    filter: {
      'KUBE-PROXY-FIREWALL': ['kubernetes load balancer firewall'],
      'KUBE-FORWARD': ['kubernetes forwarding rules'],
    },
    nat: {
      'KUBE-SERVICES': ['kubernetes service portals'],
      'KUBE-POSTROUTING': ['kubernetes postrouting rules'],
    },
  },
  ipvs: {
    filter: {
      'KUBE-PROXY-FIREWALL': ['kube-proxy firewall rules'],
      'KUBE-FORWARD': ['kubernetes forwarding rules'],
    },
    nat: {
      'KUBE-SERVICES': ['kubernetes service portals'],
      'KUBE-POSTROUTING': ['kubernetes postrouting rules'],
    },
  },
  nftables: {},
};

/** kubelet's, Docker's and kind's chains: never ours. */
const NEVER = /^(DOCKER|KIND-|KUBE-FIREWALL$|KUBE-KUBELET-CANARY$|KUBE-IPTABLES-HINT$)/;

export type Family = 'ipv4' | 'ipv6';

export interface TablePlan {
  /** ipv4: iptables; ipv6: ip6tables. */
  family: Family;
  table: string;
  /** Rules removed from chains that stay. */
  deleteRules: { chain: string; spec: string }[];
  /** Chains flushed and deleted. */
  deleteChains: string[];
}

export interface IpvsService {
  /** -t, -u or -f */
  proto: '-t' | '-u' | '-f';
  address: string;
}

export interface NodeSnapshot {
  iptablesSave: string;
  /** `ip6tables-save` output; undefined when the node has no ip6tables-save. */
  ip6tablesSave?: string;
  /** `ipvsadm -Sn` output; undefined when ipvsadm is missing or IPVS is not available. */
  ipvsadmSave?: string;
  /** `ipset list -n` output; undefined when ipset is missing. */
  ipsetNames?: string;
  /** Whether kube-ipvs0 exists. */
  kubeIpvs0: boolean;
}

export interface FlushPlan {
  /** The mode whose leftovers are removed. */
  leftoversOf: ProxyMode[];
  tables: TablePlan[];
  ipvsServices: IpvsService[];
  ipsets: string[];
  deleteKubeIpvs0: boolean;
  /** Things we could not look at (e.g. ipset not installed in the node). */
  notes: string[];
}

export function leftoverModes(current: ProxyMode): ProxyMode[] {
  if (current === 'ipvs') return ['iptables'];
  if (current === 'iptables') return ['ipvs'];
  return ['iptables', 'ipvs'];
}

export function parseIpvsadmSave(text: string): IpvsService[] {
  const out: IpvsService[] = [];
  for (const l of text.split('\n')) {
    const m = /^-A (-[tuf]) (\S+)/.exec(l.trim());
    if (m) out.push({ proto: m[1] as IpvsService['proto'], address: m[2]! });
  }
  return out;
}

/**
 * The rules and chains of one family's tables that belong to the leftover modes, read with
 * inspect's iptables parser. A rule is named by its text after `-A <chain> `, exactly as
 * iptables-save printed it (iptables-restore's `-D` takes it back as it is).
 */
function planTables(
  family: Family,
  saveText: string,
  current: ProxyMode,
  leftovers: readonly ProxyMode[],
): TablePlan[] {
  if (saveText.trim() === '') return [];
  const dump = parseIptables(saveText);
  const removeSetRules = leftovers.includes('ipvs');
  const tables: TablePlan[] = [];
  for (const [table, { chains }] of Object.entries(dump.tables)) {
    const names = Object.keys(chains);
    const doomed = new Set(
      names.filter(
        (c) =>
          !NEVER.test(c) && leftovers.some((m) => owns(m, table, c)) && !owns(current, table, c),
      ),
    );
    const oldJump = (target: string, comment: string | null): boolean =>
      comment !== null &&
      leftovers.some((m) => JUMP_COMMENTS[m][table]?.[target]?.includes(comment)) &&
      !(JUMP_COMMENTS[current][table]?.[target]?.includes(comment) ?? false);
    const deleteRules: TablePlan['deleteRules'] = [];
    for (const chain of names) {
      if (doomed.has(chain) || NEVER.test(chain)) continue;
      for (const r of chains[chain]!.rules) {
        const jumpsAway = r.target !== null && doomed.has(r.target);
        // the old mode's own jump into a chain the new mode shares
        const staleJump =
          !chain.startsWith('KUBE-') && r.target !== null && oldJump(r.target, r.comment);
        // only the IPVS proxier matches on kube-proxy's ipsets
        const setRule =
          removeSetRules &&
          chain.startsWith('KUBE-') &&
          r.matchSets.some((m) => m.name.startsWith('KUBE-'));
        if (jumpsAway || staleJump || setRule)
          deleteRules.push({ chain, spec: specOf(chain, r.raw) });
      }
    }
    if (doomed.size || deleteRules.length)
      tables.push({ family, table, deleteRules, deleteChains: [...doomed] });
  }
  return tables;
}

/** `-A CHAIN rest` → `rest`. */
function specOf(chain: string, raw: string): string {
  const head = `-A ${chain} `;
  return raw.startsWith(head) ? raw.slice(head.length) : raw.replace(/^\S+ \S+ ?/, '');
}

export function planFlush(current: ProxyMode, snap: NodeSnapshot): FlushPlan {
  const leftoversOf = leftoverModes(current);
  const notes: string[] = [];
  const tables = planTables('ipv4', snap.iptablesSave, current, leftoversOf);
  if (snap.ip6tablesSave === undefined)
    notes.push('ip6tables-save is not available in the node: IPv6 rules not checked');
  else tables.push(...planTables('ipv6', snap.ip6tablesSave, current, leftoversOf));
  let ipvsServices: IpvsService[] = [];
  let ipsets: string[] = [];
  let deleteKubeIpvs0 = false;
  if (leftoversOf.includes('ipvs')) {
    if (snap.ipvsadmSave === undefined)
      notes.push('ipvsadm is not available in the node: IPVS virtual servers not checked');
    else ipvsServices = parseIpvsadmSave(snap.ipvsadmSave);
    if (snap.ipsetNames === undefined)
      notes.push(
        'ipset is not installed in the node: KUBE-* ipsets not checked (run `proxylab node-tools`)',
      );
    else
      ipsets = snap.ipsetNames
        .split('\n')
        .map((s) => s.trim())
        .filter((s) => /^KUBE-[A-Z0-9-]+$/.test(s));
    deleteKubeIpvs0 = snap.kubeIpvs0;
  }
  return { leftoversOf, tables, ipvsServices, ipsets, deleteKubeIpvs0, notes };
}

export interface PlanCounts {
  rules: number;
  chains: number;
  ipvsServices: number;
  ipsets: number;
  links: number;
}

export function countPlan(p: FlushPlan): PlanCounts {
  return {
    rules: p.tables.reduce((n, t) => n + t.deleteRules.length, 0),
    chains: p.tables.reduce((n, t) => n + t.deleteChains.length, 0),
    ipvsServices: p.ipvsServices.length,
    ipsets: p.ipsets.length,
    links: p.deleteKubeIpvs0 ? 1 : 0,
  };
}

export function isEmptyPlan(p: FlushPlan): boolean {
  const c = countPlan(p);
  return c.rules + c.chains + c.ipvsServices + c.ipsets + c.links === 0;
}

/**
 * `iptables-restore --noflush` input (`ip6tables-restore` for ipv6): delete rules, then flush
 * every doomed chain, then delete them.
 */
export function renderIptablesRestore(p: FlushPlan, family: Family = 'ipv4'): string {
  const out: string[] = [];
  for (const t of p.tables) {
    if (t.family !== family) continue;
    out.push(`*${t.table}`);
    for (const r of t.deleteRules) out.push(`-D ${r.chain} ${r.spec}`);
    for (const c of t.deleteChains) out.push(`-F ${c}`);
    for (const c of t.deleteChains) out.push(`-X ${c}`);
    out.push('COMMIT');
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

export function renderIpvsadmRestore(p: FlushPlan): string {
  return p.ipvsServices.map((s) => `-D ${s.proto} ${s.address}\n`).join('');
}

export function renderIpsetRestore(p: FlushPlan): string {
  return p.ipsets.map((s) => `destroy ${s}\n`).join('');
}

/** Section markers of the one stdin stream the node-side script splits. */
export const SECTION = '### proxylab:';

/**
 * The node-side script: constant text (never built from input). It reads the plan from
 * stdin, splits it into sections and feeds each to its restore command, in an order that
 * works: iptables rules (which reference the sets) first, then IPVS, then ipsets, then the
 * dummy interface.
 */
export const APPLY_SCRIPT = [
  'set -eu',
  'd=$(mktemp -d)',
  'trap \'rm -rf "$d"\' EXIT',
  `awk -v d="$d" 'index($0, "${SECTION}") == 1 { f = d "/" substr($0, ${SECTION.length + 1}); printf "" > f; next } f != "" { print > f }'`,
  '[ -s "$d/iptables" ] && iptables-restore --noflush < "$d/iptables"',
  '[ -s "$d/ip6tables" ] && ip6tables-restore --noflush < "$d/ip6tables"',
  '[ -s "$d/ipvsadm" ] && ipvsadm -R < "$d/ipvsadm"',
  '[ -s "$d/ipset" ] && ipset restore < "$d/ipset"',
  '[ -e "$d/kube-ipvs0" ] && ip link delete kube-ipvs0',
  'exit 0',
].join('\n');

/** The stdin for APPLY_SCRIPT. */
export function renderApplyInput(p: FlushPlan): string {
  const parts: string[] = [];
  const ipt = renderIptablesRestore(p);
  if (ipt) parts.push(`${SECTION}iptables\n${ipt}`);
  const ip6t = renderIptablesRestore(p, 'ipv6');
  if (ip6t) parts.push(`${SECTION}ip6tables\n${ip6t}`);
  const ipvs = renderIpvsadmRestore(p);
  if (ipvs) parts.push(`${SECTION}ipvsadm\n${ipvs}`);
  const sets = renderIpsetRestore(p);
  if (sets) parts.push(`${SECTION}ipset\n${sets}`);
  if (p.deleteKubeIpvs0) parts.push(`${SECTION}kube-ipvs0\n`);
  return parts.join('');
}

/**
 * The one inspection command per node: constant text; prints each tool's output under a
 * marker, and says when a tool is missing.
 */
export const INSPECT_SCRIPT = [
  `echo '${SECTION}iptables-save'; iptables-save`,
  `if command -v ip6tables-save >/dev/null 2>&1; then echo '${SECTION}ip6tables-save'; ip6tables-save 2>/dev/null || true; fi`,
  `if command -v ipvsadm >/dev/null 2>&1; then echo '${SECTION}ipvsadm'; ipvsadm -Sn 2>/dev/null || true; fi`,
  `if command -v ipset >/dev/null 2>&1; then echo '${SECTION}ipset'; ipset list -n 2>/dev/null || true; fi`,
  `if ip -o link show kube-ipvs0 >/dev/null 2>&1; then echo '${SECTION}kube-ipvs0'; fi`,
  `echo '${SECTION}end'`,
].join('\n');

export function splitSections(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let cur: string | undefined;
  let buf: string[] = [];
  for (const l of text.split('\n')) {
    if (l.startsWith(SECTION)) {
      if (cur !== undefined) out.set(cur, buf.join('\n'));
      cur = l.slice(SECTION.length).trim();
      buf = [];
      continue;
    }
    if (cur !== undefined) buf.push(l);
  }
  if (cur !== undefined) out.set(cur, buf.join('\n'));
  return out;
}

export function snapshotFromInspect(text: string): NodeSnapshot {
  const s = splitSections(text);
  if (!s.has('end')) throw new Error('the node inspection output was cut short');
  const snap: NodeSnapshot = {
    iptablesSave: s.get('iptables-save') ?? '',
    kubeIpvs0: s.has('kube-ipvs0'),
  };
  if (s.has('ip6tables-save')) snap.ip6tablesSave = s.get('ip6tables-save')!;
  if (s.has('ipvsadm')) snap.ipvsadmSave = s.get('ipvsadm')!;
  if (s.has('ipset')) snap.ipsetNames = s.get('ipset')!;
  return snap;
}

/** Human list for --dry-run: exactly what would go. */
export function describePlan(p: FlushPlan): string[] {
  const out: string[] = [];
  for (const t of p.tables) {
    const cmd = t.family === 'ipv6' ? 'ip6tables' : 'iptables';
    for (const r of t.deleteRules) out.push(`${cmd} -t ${t.table} -D ${r.chain} ${r.spec}`);
    for (const c of t.deleteChains) out.push(`${cmd} -t ${t.table} -X ${c}   (after flushing it)`);
  }
  for (const s of p.ipvsServices) out.push(`ipvsadm -D ${s.proto} ${s.address}`);
  for (const s of p.ipsets) out.push(`ipset destroy ${s}`);
  if (p.deleteKubeIpvs0) out.push('ip link delete kube-ipvs0');
  return out;
}
