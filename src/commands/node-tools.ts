import { defineCommand } from '../core/command.js';
import { runTasks } from '../ui/tasks.js';
import { requireCluster } from '../cluster/guard.js';
import { newState, nodeToolsTask } from '../steps/flows.js';
import { withLock } from '../steps/state.js';
import { cacheDir } from '../steps/nodetools.js';

export default defineCommand({
  name: 'node-tools',
  summary: 'install ipvsadm, ipset and conntrack in every node',
  usage: 'proxylab node-tools',
  details: `
kind's node image has no ipvsadm and no ipset. This installs them (and conntrack) in every
node of the cluster, in parallel. The first download is kept in .cache/node-debs/ so the
other nodes, a re-run or the next cluster install from there without the network.
Already installed → nothing to do.`,
  json: true,
  async run(ctx) {
    await requireCluster(ctx);
    const st = newState();
    await withLock(
      ctx.env,
      ctx.cluster,
      'node-tools',
      () => runTasks({ ...ctx, quiet: ctx.quiet || ctx.json }, [nodeToolsTask(ctx, st)], {}),
      (t) => ctx.io.warn(`⚠ ${t}`),
    );
    if (ctx.json) ctx.io.out(JSON.stringify(st.nodeTools, null, 2));
    else {
      for (const r of st.nodeTools ?? [])
        ctx.io.info(
          `  ${r.node.padEnd(28)} ${r.status}${r.installed.length ? ` (${r.installed.join(', ')})` : ''}`,
        );
      ctx.io.info(`  package cache: ${cacheDir(ctx.env)}`);
    }
    return 0;
  },
});
