/**
 * `proxylab bare`: what kube-proxy's IPVS mode builds on a node, built by hand and checked
 * step by step, without Docker or Kubernetes: natively in network namespaces when this
 * kernel has IPVS, else in a QEMU micro-VM made from Debian packages.
 */
import { bool, defineCommand, str, type ParsedArgs } from '../core/command.js';
import type { Context } from '../core/context.js';
import { sessionDown, sessionExec, sessionRequests, sessionUp } from '../bare/session.js';
import { UsageError, UserError } from '../core/errors.js';
import {
  chooseBackend,
  detect,
  NativeBackend,
  openVmBackend,
  type Backend,
  type BackendName,
} from '../bare/backend.js';
import {
  cleanStale,
  PHASES,
  PhaseFailed,
  runPhase,
  setupPods,
  teardown,
  type PhaseRecord,
} from '../bare/run.js';
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

async function subcommand(
  ctx: Context,
  sub: string,
  rest: string[],
  args: ParsedArgs,
  wanted: BackendName | undefined,
): Promise<number> {
  switch (sub) {
    case 'up': {
      if (rest.length)
        throw new UsageError(
          `unexpected argument "${rest[0]}"`,
          'usage: proxylab bare up [--backend native|vm]',
        );
      const r = await sessionUp({
        ...(wanted ? { wanted } : {}),
        log: (l) => ctx.io.info(l),
        signal: ctx.signal,
      });
      ctx.io.out(
        r.reused
          ? `the bare lab is ${r.describe}`
          : `the bare lab is up on the ${r.backend} backend: ${r.describe}`,
      );
      return 0;
    }
    case 'exec': {
      if (!rest.length)
        throw new UsageError('exec needs a command', 'e.g. proxylab bare exec -- ipvsadm -Ln');
      const r = await sessionExec(str(args, 'ns'), rest);
      if (r.output) process.stdout.write(r.output);
      return r.exitCode;
    }
    case 'requests': {
      const n = Number(str(args, 'count'));
      if (!Number.isInteger(n) || n < 1 || n > 10_000)
        throw new UsageError(
          `-n ${str(args, 'count')}: not a count`,
          'give a whole number from 1 to 10000',
        );
      const d = await sessionRequests(str(args, 'from'), n);
      if (ctx.json) ctx.io.out(JSON.stringify(d));
      else
        for (const [k, v] of Object.entries(d).sort(([a], [b]) => a.localeCompare(b)))
          ctx.io.out(`${k.padEnd(6)} ${String(v).padStart(4)}`);
      return d.error ? 1 : 0;
    }
    case 'down': {
      const r = await sessionDown();
      if (r.leftovers.length)
        throw new UserError(
          `left behind: ${r.leftovers.join(', ')}`,
          'run `proxylab bare --clean`',
        );
      ctx.io.out(
        r.removed
          ? 'the bare lab is removed: namespaces deleted, VM powered off'
          : 'no bare lab was up',
      );
      return 0;
    }
    default:
      throw new UsageError(
        `unknown bare command "${sub}"`,
        'use up, exec, requests or down (or nothing: the whole lab, checked)',
      );
  }
}

function indent(lines: string[]): string {
  return lines.join('\n').replace(/^/gm, '  ');
}

export default defineCommand({
  name: 'bare',
  summary: 'build IPVS NAT and DR mode by hand, without Docker or Kubernetes',
  usage: 'proxylab bare [up|exec|requests|down] [--backend native|vm] [--keep] [--json]',
  positionals: { min: 0, max: 10_000 },
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
  vm      a QEMU micro-VM booted from Debian's kernel package and a small initramfs built
          from Debian packages (downloaded with apt-get, cached in .cache/bare/). Installs
          qemu-system-x86 with apt when it is missing (root). KVM when a short probe boots
          with it, else TCG software emulation; PROXYLAB_VM_ACCEL=kvm|tcg chooses.

Everything is removed at the end unless --keep (native backend: inspect with
\`sudo ip netns exec plb-node ipvsadm -Ln\`; remove with \`proxylab bare --clean\`).

Step by step (what labs/ipvs-by-hand/README.md does; the lab stays up between commands):
  proxylab bare up                              pods and node namespaces (boots the VM if needed)
  proxylab bare exec -- ipvsadm -Ln             a command in the node namespace
  proxylab bare exec --ns web-1 -- ip -br addr  ... in a pod (node, client, web-1, web-2, web-3)
  proxylab bare requests --from client -n 100   send requests to the VIP, count who answered
  proxylab bare down                            remove everything

Examples:
  proxylab bare                 run the lab on the best backend here
  proxylab bare --backend vm    force the micro-VM
  proxylab bare --json          the checked results as JSON (stdout)
`,
  options: {
    backend: {
      type: 'string',
      arg: 'NAME',
      description: 'native or vm (default: native when this kernel has IPVS, else vm)',
    },
    keep: {
      type: 'boolean',
      description: 'leave the namespaces, IPVS and rules in place (native backend)',
    },
    clean: {
      type: 'boolean',
      description: 'only remove what an earlier --keep or interrupted run left',
    },
    ns: {
      type: 'string',
      arg: 'NAME',
      description: 'exec: the namespace (node, client, web-1, web-2, web-3)',
      default: 'node',
    },
    from: {
      type: 'string',
      arg: 'NAME',
      description: 'requests: where they start (client or node)',
      default: 'client',
    },
    count: {
      type: 'string',
      short: 'n',
      arg: 'N',
      description: 'requests: how many',
      default: '10',
    },
  },
  async run(ctx, args) {
    const wanted = str(args, 'backend');
    if (wanted !== undefined && wanted !== 'native' && wanted !== 'vm') {
      throw new UsageError(
        `--backend ${wanted}: not a backend`,
        'use --backend native or --backend vm',
      );
    }
    const [sub, ...rest] = args.positionals;
    if (sub !== undefined)
      return subcommand(ctx, sub, rest, args, wanted as BackendName | undefined);
    const keep = bool(args, 'keep');
    const clean = bool(args, 'clean');
    if (clean) {
      // a step-by-step session (`proxylab bare up`) is removed too, VM included
      const s = await sessionDown().catch(() => ({ removed: false, leftovers: [] as string[] }));
      if (s.removed) ctx.io.info('removed the step-by-step lab started by `proxylab bare up`');
    }
    const started = performance.now();
    const report: Report = {
      backend: 'vm',
      backendDescription: '',
      kept: keep,
      ok: false,
      phases: [],
      leftovers: [],
      timings: { totalMs: 0 },
    };
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
          if (keep && name === 'vm')
            throw new UsageError(
              '--keep works with the native backend only',
              'the micro-VM is powered off at the end; run without --keep',
            );
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
            task.title = stale.length
              ? `removed ${stale.length} namespaces left by an earlier run: ${stale.join(', ')}`
              : 'nothing to remove';
            return;
          }
          if (stale.length)
            task.title = `removed ${stale.length} namespaces left by an earlier run`;
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
                throw new UserError(
                  `${phase.id}: ${e.message}`,
                  e.record.shown.length ? `the output was:\n${indent(e.record.shown)}` : undefined,
                );
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
            title:
              keep && !clean
                ? 'keep the lab in place (--keep)'
                : 'remove everything: servers, namespaces, links',
            task: async (_c, task) => {
              if (keep && !clean) {
                task.title = `kept: ${ALL_NS.join(', ')} (look: sudo ip netns exec plb-node ipvsadm -Ln; remove: proxylab bare --clean)`;
              } else {
                report.leftovers = await teardown(b);
                if (report.leftovers.length)
                  throw new UserError(
                    `left behind: ${report.leftovers.join(', ')}`,
                    'run `proxylab bare --clean`',
                  );
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
      ctx.io.info(
        `✔ ${n} phases checked on the ${report.backend} backend in ${(report.timings.totalMs / 1000).toFixed(1)} s`,
      );
    }
    return 0;
  },
});
