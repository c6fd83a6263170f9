/**
 * flush-nat on the nodes: ONE `docker exec` per node to look (the constant INSPECT_SCRIPT),
 * ONE per node to apply (the constant APPLY_SCRIPT reading the plan on stdin). All nodes
 * in parallel. Never the host.
 */
import { UserError } from '../core/errors.js';
import {
  APPLY_SCRIPT,
  INSPECT_SCRIPT,
  countPlan,
  describePlan,
  isEmptyPlan,
  planFlush,
  renderApplyInput,
  snapshotFromInspect,
  type FlushPlan,
  type PlanCounts,
  type ProxyMode,
} from './flushnat.js';
import { errorText, onEveryNode, type Kube } from './kube.js';

export interface NodeFlush {
  node: string;
  plan?: FlushPlan;
  counts?: PlanCounts;
  /** What --dry-run lists. */
  lines: string[];
  applied: boolean;
  error?: string;
  notes: string[];
}

export async function flushNodes(
  kube: Kube,
  current: ProxyMode,
  opts: { dryRun: boolean; signal?: AbortSignal },
): Promise<NodeFlush[]> {
  const nodes = await kube.nodes();
  const results = await onEveryNode(nodes, async (n): Promise<NodeFlush> => {
    const look = await kube.exec(n.name, ['sh', '-c', INSPECT_SCRIPT], {
      signal: opts.signal,
      timeoutMs: 60_000,
    });
    const plan = planFlush(current, snapshotFromInspect(look.stdout));
    const res: NodeFlush = {
      node: n.name,
      plan,
      counts: countPlan(plan),
      lines: describePlan(plan),
      applied: false,
      notes: plan.notes,
    };
    if (opts.dryRun || isEmptyPlan(plan)) return res;
    await kube.exec(n.name, ['sh', '-c', APPLY_SCRIPT], {
      input: renderApplyInput(plan),
      signal: opts.signal,
      timeoutMs: 120_000,
    });
    res.applied = true;
    return res;
  });
  return results.map(
    ({ node, value, error }) =>
      value ?? { node: node.name, lines: [], applied: false, error: errorText(error), notes: [] },
  );
}

export function summarize(r: NodeFlush, dryRun: boolean): string {
  if (r.error) return `${r.node}: failed: ${r.error}`;
  const c = r.counts!;
  const what = [
    `${c.rules} rule${c.rules === 1 ? '' : 's'}`,
    `${c.chains} chain${c.chains === 1 ? '' : 's'}`,
    `${c.ipsets} ipset${c.ipsets === 1 ? '' : 's'}`,
    `${c.ipvsServices} IPVS virtual server${c.ipvsServices === 1 ? '' : 's'}`,
    ...(c.links ? ['kube-ipvs0'] : []),
  ].join(', ');
  if (c.rules + c.chains + c.ipsets + c.ipvsServices + c.links === 0)
    return `${r.node}: nothing left over`;
  return `${r.node}: ${dryRun ? 'would remove' : 'removed'} ${what}`;
}

export function failIfAny(results: NodeFlush[]): void {
  const bad = results.filter((r) => r.error);
  if (bad.length) {
    throw new UserError(
      `flush-nat failed on ${bad.map((b) => b.node).join(', ')}: ${bad[0]!.error}`,
      'run `proxylab flush-nat --dry-run` to see what it would remove; nothing was removed on a failed node that iptables-restore rejected',
    );
  }
}
