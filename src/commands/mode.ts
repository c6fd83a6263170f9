import { defineCommand } from '../core/command.js';
import { runTasks } from '../ui/tasks.js';
import { requireCluster } from '../cluster/guard.js';
import { modeArgs, modeTasks, newState, summaryLines } from '../steps/flows.js';
import { withLock } from '../steps/state.js';
import { SCHEDULER_NAMES } from '../steps/schedulers.js';

export default defineCommand({
  name: 'mode',
  summary:
    'switch kube-proxy to iptables, ipvs or nftables (backed up, verified, rolled back on failure)',
  usage: 'proxylab mode <iptables|ipvs|nftables> [--scheduler S] [--strict-arp] [--keep-rules]',
  details: `
What it does, in order:
  1. checks first: for ipvs the host's kernel modules (loads them) and the node tools
     (installs ipvsadm/ipset); nftables needs Kubernetes 1.31+; the scheduler name
     (${SCHEDULER_NAMES.join(' ')}) — kube-proxy 1.27+ would crash-loop on a typo;
  2. backs up the kube-proxy ConfigMap to .proxylab/backups/<cluster>-<time>.yaml;
  3. changes only mode (and ipvs.scheduler / ipvs.strictARP when given) in config.conf;
  4. restarts kube-proxy one pod at a time (rollout restart + rollout status);
  5. checks every node: kube-proxy's /proxyMode on 127.0.0.1:10249 and its logs
     (IPVS is deprecated since Kubernetes 1.35: shown as a warning);
  6. removes what the old mode left (like \`proxylab flush-nat\`) unless --keep-rules.
On any failure (crash-loop, timeout, wrong mode, Ctrl-C) it restores the backup
byte-identical, restarts kube-proxy again and exits non-zero saying what happened.
Already in the requested mode: says so and changes nothing.

Examples:
  proxylab mode ipvs --scheduler rr      (what \`make ipvs\` runs)
  proxylab mode iptables
  proxylab mode nftables`,
  positionals: { min: 1, max: 1 },
  options: {
    scheduler: { type: 'string', arg: 'S', description: 'IPVS scheduler (ipvs mode only)' },
    'strict-arp': {
      type: 'boolean',
      description: 'set ipvs.strictARP: true (needed by MetalLB/kube-vip in ipvs mode)',
    },
    'keep-rules': { type: 'boolean', description: "don't remove the previous mode's leftovers" },
    timeout: {
      type: 'string',
      arg: 'SECONDS',
      description: 'limit for the rollout and for the check, each',
      default: '180',
    },
  },
  json: true,
  async run(ctx, args) {
    const a = modeArgs(args.values, args.positionals[0]);
    await requireCluster(ctx);
    const st = newState();
    await withLock(
      ctx.env,
      ctx.cluster,
      `mode ${a.change.mode}`,
      () => runTasks({ ...ctx, quiet: ctx.quiet || ctx.json }, modeTasks(ctx, st, a), {}),
      (t) => ctx.io.warn(`⚠ ${t}`),
    );
    if (ctx.json)
      ctx.io.out(
        JSON.stringify(
          { switch: st.switch, flush: st.flush, nodeTools: st.nodeTools, modules: st.modules },
          null,
          2,
        ),
      );
    else for (const l of summaryLines(st)) ctx.io.info(l);
    for (const w of new Set(st.warnings)) ctx.io.warn(`⚠ ${w}`);
    return 0;
  },
});
