import { defineCommand, bool } from '../core/command.js';
import { runTasks } from '../ui/tasks.js';
import { requireCluster } from '../cluster/guard.js';
import { flushTask, newState, sayWhereOnInterrupt } from '../steps/flows.js';
import { withLock } from '../steps/state.js';
import { summarize } from '../steps/flush.js';

export default defineCommand({
  name: 'flush-nat',
  summary: 'remove the rules the previous proxy mode left on the nodes',
  usage: 'proxylab flush-nat [--dry-run]',
  details: `
On every kind node, in parallel, removes what kube-proxy owns that its current mode does
not use, in the nat, filter and mangle tables of iptables and ip6tables (kube-proxy runs
dual-stack): after iptables → ipvs the KUBE-SVC-*, KUBE-SEP-*, KUBE-SVL-*, KUBE-EXT-*,
KUBE-FW-* chains, KUBE-NODEPORTS, filter KUBE-SERVICES and KUBE-EXTERNAL-SERVICES,
KUBE-PROXY-CANARY and the jumps to them; after ipvs → iptables the IPVS virtual servers,
kube-ipvs0, the KUBE-* and KUBE-6-* ipsets, KUBE-NODE-PORT, KUBE-IPVS-FILTER and the rules
using them; for nftables every kube-proxy chain of both. Chains both iptables-based modes
use (KUBE-SERVICES, KUBE-FORWARD, KUBE-PROXY-FIREWALL ...) stay when switching between them.
Docker's, kind's and kubelet's chains (DOCKER*, KIND-*, KUBE-FIREWALL, KUBE-KUBELET-CANARY)
and every non-KUBE rule are never touched, nor the host.
One command per node looks, one applies (iptables-restore --noflush with the plan on stdin).
kube-proxy re-creates anything of its current mode on its next sync.
--dry-run lists exactly what would go, per node.`,
  options: {
    'dry-run': { type: 'boolean', description: 'list what would be removed; remove nothing' },
  },
  json: true,
  async run(ctx, args) {
    const dryRun = bool(args, 'dry-run');
    await requireCluster(ctx);
    const st = newState();
    const go = () =>
      runTasks(
        { ...ctx, quiet: ctx.quiet || ctx.json },
        [
          sayWhereOnInterrupt(ctx, flushTask(ctx, st, { dryRun }), () =>
            dryRun
              ? 'nothing was removed'
              : 'some nodes may already be clean, others not; run `proxylab flush-nat` again',
          ),
        ],
        {},
      );
    if (dryRun) await go();
    else await withLock(ctx.env, ctx.cluster, 'flush-nat', go, (t) => ctx.io.warn(`⚠ ${t}`));
    const res = st.flush ?? [];
    if (ctx.json) {
      ctx.io.out(
        JSON.stringify(
          res.map((r) => ({
            node: r.node,
            counts: r.counts,
            applied: r.applied,
            remove: r.lines,
            notes: r.notes,
          })),
          null,
          2,
        ),
      );
      return 0;
    }
    for (const r of res) {
      ctx.io.out(summarize(r, dryRun));
      if (dryRun) for (const l of r.lines) ctx.io.out(`  ${l}`);
      for (const n of r.notes) ctx.io.warn(`  ⚠ ${n}`);
    }
    return 0;
  },
});
