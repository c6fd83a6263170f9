import { defineCommand, bool, str } from '../core/command.js';
import { runTasks } from '../ui/tasks.js';
import { modulesTask, newState } from '../steps/flows.js';
import { validateScheduler } from '../steps/schedulers.js';

export default defineCommand({
  name: 'modules',
  summary: "load the IPVS kernel modules into the Docker engine's kernel (through a kind node)",
  usage: 'proxylab modules [--scheduler S] [--persist]',
  details: `
kube-proxy's IPVS mode needs ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh, the scheduler's ip_vs_<S> and
nf_conntrack (nf_conntrack_ipv4 before kernel 4.19) in the kernel the kind nodes run on: the
Docker engine's, which is not this machine's under Docker Desktop or a remote DOCKER_HOST.
kind nodes are privileged and see the engine's /lib/modules, so proxylab checks
/proc/modules and modules.builtin in a node and loads what is missing there
(\`docker exec NODE modprobe -a\`). Only when that fails and this machine is the engine does it
run this machine's modprobe (as root, or \`sudo -n\`, which never waits for a password); when
nothing works it prints the exact commands. Without a cluster yet it checks this machine.
iptables and nftables modes need none of this. --persist also writes
/etc/modules-load.d/proxylab-ipvs.conf (when this machine is the engine) so they load at boot.`,
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
