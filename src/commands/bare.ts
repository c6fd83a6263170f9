/**
 * `proxylab bare`: what kube-proxy's IPVS mode builds on a node, built by hand and checked
 * step by step, without Docker or Kubernetes: natively in network namespaces when this
 * kernel has IPVS, else in a QEMU micro-VM made from Debian packages.
 */
import { bool, defineCommand, str } from '../core/command.js';
import { UsageError, UserError } from '../core/errors.js';
import { chooseBackend, detect, NativeBackend, openVmBackend, type Backend, type BackendName } from '../bare/backend.js';
import { cleanStale, PHASES, PhaseFailed, runPhase, setupPods, teardown, type PhaseRecord } from '../bare/run.js';
import { ALL_NS } from '../bare/lab.js';
import { taskList, type Task } from '../ui/tasks.js';

interface Report {
  backend: BackendName;
  backendDescription: string;
  kept: boolean;
  ok: boolean;
  phases: PhaseRecord[];
  leftovers: string[];
  timings: { bootMs?: number; totalMs: number };
  error?: string;
}

function indent(lines: string[]): string {
  return lines.join('\n').replace(/^/gm, '  ');
}

export default defineCommand({
  name: 'bare',
  summary: 'build IPVS NAT and DR mode by hand, without Docker or Kubernetes',
  usage: 'proxylab bare [--backend native|vm] [--keep] [--json]',
  json: true,
  details: `
Builds what kube-proxy's IPVS mode builds on a node, by hand, and checks every output:
pods as network namespaces on a bridge (each answering HTTP with its own name), a node
namespace whose dummy interface kube-ipvs0 holds the VIP 10.96.0.10, then

  NAT mode (ipvsadm -m), requests from the node and from a pod, --stats and -Lnc;
  the schedulers rr, wrr 3:1, sh and persistence (-p), shown by who answered;
  DR mode (ipvsadm -g) with the VIP on each pod's own dummy, arp_ignore/arp_announce;
  kube-proxy's ipset KUBE-CLUSTER-IP + match-set rule; for contrast the iptables-mode
  chains KUBE-SERVICES → KUBE-SVC (statistic random) → KUBE-SEP (DNAT).

Backends (chosen automatically, named in the output):
  native  this kernel has IPVS and dummy interfaces and you are root; everything happens
          in network namespaces, nothing in the host's own.
  vm      a QEMU micro-VM (software emulation) booted from Debian's kernel package and a
          small initramfs built from Debian packages (downloaded with apt-get, cached in
          .cache/bare/). Installs qemu-system-x86 with apt when it is missing (root).

Everything is removed at the end unless --keep (native backend: inspect with
\`sudo ip netns exec plb-node ipvsadm -Ln\`; remove with \`proxylab bare --clean\`).

Examples:
  proxylab bare                 run the lab on the best backend here
  proxylab bare --backend vm    force the micro-VM
  proxylab bare --json          the checked results as JSON (stdout)
`,
  options: {
    backend: { type: 'string', arg: 'NAME', description: 'native or vm (default: native when this kernel has IPVS, else vm)' },
    keep: { type: 'boolean', description: 'leave the namespaces, IPVS and rules in place (native backend)' },
    clean: { type: 'boolean', description: 'only remove what an earlier --keep or interrupted run left' },
  },
  async run(ctx, args) {
    const wanted = str(args, 'backend');
    if (wanted !== undefined && wanted !== 'native' && wanted !== 'vm') {
      throw new UsageError(`--backend ${wanted}: not a backend`, 'use --backend native or --backend vm');
    }
    const keep = bool(args, 'keep');
    const clean = bool(args, 'clean');
    const started = performance.now();
    const report: Report = { backend: 'vm', backendDescription: '', kept: keep, ok: false, phases: [], leftovers: [], timings: { totalMs: 0 } };
    let backend: Backend | undefined;
    const ui = { ...ctx, quiet: ctx.quiet || ctx.json };

    type C = Record<string, never>;
    const tasks: Task<C>[] = [
      {
        title: 'choose the backend',
        task: async (_c, task) => {
          const d = await detect();
          const name = await chooseBackend(d, wanted as BackendName | undefined);
          report.backend = name;
          task.title = `backend: ${name} (${name === 'native' ? d.native.why : `native: ${d.native.why}`})`;
          if (keep && name === 'vm') throw new UsageError('--keep works with the native backend only', 'the micro-VM is powered off at the end; run without --keep');
        },
      },
      {
        title: 'start the backend',
        task: async (_c, task) => {
          if (report.backend === 'native') backend = new NativeBackend();
          else {
            backend = await openVmBackend({
              log: (l) => {
                task.output = l;
              },
              signal: ctx.signal,
            });
            report.timings.bootMs = (backend as { vm?: { bootMs: number } }).vm?.bootMs;
          }
          report.backendDescription = backend.describe();
          task.title = `backend ready: ${report.backendDescription}`;
        },
      },
      {
        title: 'remove what an earlier run left',
        task: async (_c, task) => {
          const stale = await cleanStale(backend!);
          if (clean) {
            task.title = stale.length ? `removed ${stale.length} namespaces left by an earlier run: ${stale.join(', ')}` : 'nothing to remove';
            return;
          }
          if (stale.length) task.title = `removed ${stale.length} namespaces left by an earlier run`;
          else task.skip('nothing left by an earlier run');
        },
      },
    ];
    if (!clean) {
      tasks.push({
        title: 'set up: namespaces, bridge cbr0, veth pairs, routes, HTTP servers',
        task: async (_c, task) => {
          const rec = await setupPods(backend!);
          report.phases.push(rec);
          task.title = `set up: ${rec.summary}`;
        },
      });
      for (const phase of PHASES) {
        tasks.push({
          title: phase.title,
          task: async (_c, task) => {
            try {
              const rec = await runPhase(backend!, phase);
              report.phases.push(rec);
              task.title = `${phase.id}: ${rec.summary}`;
              if (ctx.debug || !ctx.quiet) task.output = rec.shown.join('\n');
            } catch (e) {
              if (e instanceof PhaseFailed) {
                report.phases.push(e.record);
                throw new UserError(`${phase.id}: ${e.message}`, e.record.shown.length ? `the output was:\n${indent(e.record.shown)}` : undefined);
              }
              throw e;
            }
          },
          rendererOptions: { persistentOutput: true, outputBar: Infinity },
        } as Task<C>);
      }
    }
    let failure: unknown;
    try {
      await taskList(ui, tasks).run({} as C);
    } catch (e) {
      failure = e;
    } finally {
      if (backend) {
        const b = backend;
        const finish: Task<C>[] = [
          {
            title: keep && !clean ? 'keep the lab in place (--keep)' : 'remove everything: servers, namespaces, links',
            task: async (_c, task) => {
              if (keep && !clean) {
                task.title = `kept: ${ALL_NS.join(', ')} (look: sudo ip netns exec plb-node ipvsadm -Ln; remove: proxylab bare --clean)`;
              } else {
                report.leftovers = await teardown(b);
                if (report.leftovers.length) throw new UserError(`left behind: ${report.leftovers.join(', ')}`, 'run `proxylab bare --clean`');
                task.title = `removed everything: ${ALL_NS.length} namespaces gone, nothing left${b.name === 'native' ? " in the host's namespace" : ' in the guest'}`;
              }
              await b.close();
            },
          },
        ];
        try {
          await taskList(ui, finish).run({} as C);
        } catch (e) {
          failure ??= e;
          await b.close().catch(() => undefined);
        }
      }
    }
    report.timings.totalMs = Math.round(performance.now() - started);
    report.ok = !failure;
    if (failure instanceof Error) report.error = failure.message;
    if (ctx.json) ctx.io.out(JSON.stringify(report, null, 2));
    if (failure) throw failure;
    if (!ctx.json && !clean) {
      const n = report.phases.length - 1;
      ctx.io.info(`✔ ${n} phases checked on the ${report.backend} backend in ${(report.timings.totalMs / 1000).toFixed(1)} s`);
    }
    return 0;
  },
});
