import { defineCommand, bool, str } from '../core/command.js';
import { runTasks } from '../ui/tasks.js';
import { modulesTask, newState } from '../steps/flows.js';
import { validateScheduler } from '../steps/schedulers.js';

export default defineCommand({
  name: 'modules',
  summary: 'load the IPVS kernel modules on the host',
  usage: 'proxylab modules [--scheduler S] [--persist]',
  details: `
kind nodes share this machine's kernel, so kube-proxy's IPVS mode needs these modules loaded
here: ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh, the scheduler's ip_vs_<S>, and nf_conntrack
(nf_conntrack_ipv4 before kernel 4.19). Built-in modules count as present. Loading runs
modprobe as root, or \`sudo -n modprobe\`; when neither works it prints the exact commands.
--persist also writes /etc/modules-load.d/proxylab-ipvs.conf so they load at boot.`,
  options: {
    scheduler: {
      type: 'string',
      arg: 'S',
      description: 'the IPVS scheduler whose module to load too',
      default: 'rr',
    },
    persist: { type: 'boolean', description: 'also write /etc/modules-load.d/proxylab-ipvs.conf' },
  },
  json: true,
  async run(ctx, args) {
    const scheduler = validateScheduler(str(args, 'scheduler') ?? 'rr');
    const st = newState();
    await runTasks(
      { ...ctx, quiet: ctx.quiet || ctx.json },
      [modulesTask(ctx, st, scheduler, bool(args, 'persist'))],
      {},
    );
    const mods = st.modules!;
    if (ctx.json) ctx.io.out(JSON.stringify(mods, null, 2));
    else {
      for (const m of mods.statuses)
        ctx.io.info(
          `  ${m.name.padEnd(18)} ${mods.loaded.includes(m.name) ? 'loaded now' : m.state}`,
        );
      for (const s of st.summary) ctx.io.info(`  ${s}`);
    }
    return 0;
  },
});
