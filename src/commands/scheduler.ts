import { defineCommand } from '../core/command.js';
import { runTasks } from '../ui/tasks.js';
import { requireCluster } from '../cluster/guard.js';
import { kubeFor, modeArgs, modeTasks, newState, summaryLines } from '../steps/flows.js';
import { withLock } from '../steps/state.js';
import { SCHEDULERS } from '../steps/schedulers.js';

export default defineCommand({
  name: 'scheduler',
  summary: 'switch the IPVS scheduler (rr, wrr, lc, wlc, lblc, lblcr, sh, dh, sed, nq, mh)',
  usage: 'proxylab scheduler <name>',
  details: `
A kube-proxy mode change to ipvs with a new scheduler (backed up, verified, rolled back on
failure, like \`proxylab mode\`), then shows a node's \`ipvsadm -Ln\` with the new scheduler
on every virtual server. The scheduler applies to every Service on the node.

Schedulers:
${Object.entries(SCHEDULERS)
  .map(([k, v]) => `  ${k.padEnd(6)} ${v}`)
  .join('\n')}`,
  positionals: { min: 1, max: 1 },
  options: {
    timeout: {
      type: 'string',
      arg: 'SECONDS',
      description: 'limit for the rollout and for the check, each',
      default: '180',
    },
  },
  async run(ctx, args) {
    const a = modeArgs({ ...args.values, scheduler: args.positionals[0] }, 'ipvs');
    await requireCluster(ctx);
    const st = newState();
    let shown = '';
    await withLock(ctx.env, ctx.cluster, `scheduler ${a.change.scheduler}`, async () => {
      await runTasks(ctx, modeTasks(ctx, st, a), {});
      const kube = await kubeFor(ctx, st);
      const nodes = await kube.nodes();
      const node = nodes.find((n) => n.role === 'worker') ?? nodes[0]!;
      shown = `$ docker exec ${node.name} ipvsadm -Ln\n${(await kube.exec(node.name, ['ipvsadm', '-Ln'], { signal: ctx.signal })).stdout}`;
    });
    for (const l of summaryLines(st)) ctx.io.info(l);
    ctx.io.out(shown);
    for (const w of new Set(st.warnings)) ctx.io.warn(`⚠ ${w}`);
    return 0;
  },
});
