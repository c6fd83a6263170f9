/**
 * `proxylab scale`: measure iptables vs IPVS vs nftables as the number of services grows,
 * on the kind cluster (kube-proxy's own metrics) or with --bare on this kernel (no cluster).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { bool, defineCommand, str } from '../core/command.js';
import type { Context } from '../core/context.js';
import { UsageError } from '../core/errors.js';
import { MODES, type Mode } from '../scale/generate.js';
import { RESULT_KIND, type ScaleReport } from '../scale/results.js';
import { bareChart, clusterChart } from '../scale/svg.js';

export const DEFAULT_SIZES = [100, 1000, 5000];
export const MAX_SIZE = 20_000;

export function parseSizes(text: string | undefined): number[] {
  if (text === undefined) return DEFAULT_SIZES;
  const parts = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const out: number[] = [];
  for (const p of parts) {
    const m = /^(\d+)(k)?$/i.exec(p);
    const n = m ? Number(m[1]) * (m[2] ? 1000 : 1) : NaN;
    if (!Number.isInteger(n) || n < 1 || n > MAX_SIZE) {
      throw new UsageError(
        `--services: "${p}" is not a number of services from 1 to ${MAX_SIZE}.`,
        'Give a comma-separated list, e.g. --services 100,1000,5000 (10k is accepted).',
      );
    }
    if (!out.includes(n)) out.push(n);
  }
  if (!out.length)
    throw new UsageError(
      '--services is empty.',
      'Give a comma-separated list, e.g. --services 100,1000,5000.',
    );
  return out.sort((a, b) => a - b);
}

export function parseModes(text: string | undefined): Mode[] {
  if (text === undefined) return [...MODES];
  const out: Mode[] = [];
  for (const p of text
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean)) {
    if (!(MODES as readonly string[]).includes(p)) {
      throw new UsageError(
        `--modes: "${p}" is not a kube-proxy mode.`,
        `Choose from ${MODES.join(', ')}, e.g. --modes iptables,nftables.`,
      );
    }
    if (!out.includes(p as Mode)) out.push(p as Mode);
  }
  if (!out.length) throw new UsageError('--modes is empty.', `Choose from ${MODES.join(', ')}.`);
  return out;
}

function parseCount(text: string | undefined, name: string, def: number, max: number): number {
  if (text === undefined) return def;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new UsageError(
      `--${name}: "${text}" is not a whole number from 1 to ${max}.`,
      `e.g. --${name} ${def}`,
    );
  return n;
}

/**
 * Several reports of the same kind made into one (e.g. a native run and a VM run made at the
 * same time): rows side by side, a mode counts as skipped only if no report measured it.
 */
export function mergeReports(reports: ScaleReport[]): ScaleReport {
  const [first, ...rest] = reports;
  if (!first)
    throw new UsageError(
      '--from needs at least one results JSON file.',
      'e.g. --from results/scale/scale-bare.json',
    );
  for (const r of rest) {
    if (r.target !== first.target)
      throw new UsageError(
        `--from: cannot merge a ${r.target} report with a ${first.target} report.`,
        'Give reports of the same kind (all --bare, or all cluster).',
      );
  }
  const all = [first, ...rest];
  const bare = all.flatMap((r) => r.bare ?? []);
  const cluster = all.flatMap((r) => r.cluster ?? []);
  const measured = new Set([...bare, ...cluster].map((x) => x.mode));
  const skipped = all
    .flatMap((r) => r.skipped)
    .filter((s, i, a) => !measured.has(s.mode) && a.findIndex((x) => x.mode === s.mode) === i);
  const vm = all.find((r) => r.vm)?.vm;
  const spawnMs = Object.assign({}, ...all.map((r) => r.spawnMs ?? {})) as NonNullable<
    ScaleReport['spawnMs']
  >;
  const backends = new Set(all.map((r) => r.machine.backend));
  const loads = all
    .map((r) => r.machine.loadavg)
    .filter((l): l is NonNullable<typeof l> => Boolean(l));
  return {
    ...first,
    machine: {
      ...first.machine,
      backend: backends.size > 1 ? 'native+vm' : first.machine.backend,
      tools: Object.assign({}, ...all.map((r) => r.machine.tools)) as Record<string, string>,
      ...(loads.length
        ? {
            loadavg: {
              start: Math.max(...loads.map((l) => l.start)),
              end: Math.max(...loads.map((l) => l.end ?? l.start)),
            },
          }
        : {}),
    },
    // One line per topic ("program = …", "update = …"): the first report's wording wins.
    method: all
      .flatMap((r) => r.method)
      .filter(
        (l, i, a) =>
          a.findIndex(
            (x) => x === l || (/^\w+ = /.test(l) && x.split(' = ')[0] === l.split(' = ')[0]),
          ) === i,
      ),
    startedAt: all.map((r) => r.startedAt).sort()[0]!,
    finishedAt: all
      .map((r) => r.finishedAt)
      .sort()
      .at(-1)!,
    modes: [...new Set(all.flatMap((r) => r.modes))],
    sizes: [...new Set(all.flatMap((r) => r.sizes))].sort((a, b) => a - b),
    ...(first.target === 'bare' ? { bare } : { cluster }),
    ...(vm ? { vm } : {}),
    ...(Object.keys(spawnMs).length ? { spawnMs } : {}),
    skipped,
  };
}

export async function writeReport(
  dir: string,
  report: ScaleReport,
): Promise<{ json: string; svg: string }> {
  mkdirSync(dir, { recursive: true });
  const base = report.target === 'bare' ? 'scale-bare' : 'scale-cluster';
  const json = join(dir, `${base}.json`);
  const svg = join(dir, `${base}.svg`);
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(svg, await (report.target === 'bare' ? bareChart(report) : clusterChart(report)));
  return { json, svg };
}

function withCpu(wall: number, cpu: number | undefined): string {
  return `${wall.toFixed(1)}${cpu !== undefined && Number.isFinite(cpu) ? ` (${cpu.toFixed(0)})` : ''}`;
}

/** The table printed at the end of a run. */
export function summaryTable(r: ScaleReport): string {
  const lines: string[] = [];
  if (r.target === 'bare') {
    lines.push(
      'mode       where   services  program ms (CPU)    update ms (CPU)  rules/chains/members in kernel         first packet p50/p99 ms (last svc)',
    );
    for (const x of r.bare ?? []) {
      const k = x.kernel;
      const held =
        x.mode === 'ipvs'
          ? `${k.virtualServers ?? '?'} virtual servers, ${k.setMembers ?? '?'} set members`
          : `${k.rules ?? '?'} rules, ${k.chains ?? '?'} chains${x.mode === 'nftables' ? `, ${k.setMembers ?? '?'} map elems` : ''}`;
      const lat = x.latency[1] ?? x.latency[0];
      const vm = x.backend === 'vm';
      const latText = !lat
        ? '-'
        : vm
          ? `${lat.requestP50Ms ?? '-'} / ${lat.requestP99Ms ?? '-'} (whole nc request)`
          : `${lat.connectP50Ms ?? '-'} / ${lat.connectP99Ms ?? '-'}`;
      lines.push(
        `${x.mode.padEnd(10)} ${(vm ? 'vm' : 'native').padEnd(6)} ${String(x.services).padStart(8)}  ${withCpu(x.programMs, x.programCpuMs).padStart(18)}  ${withCpu(x.updateMs, x.updateCpuMs).padStart(15)}  ${held.padEnd(38)} ${latText}`,
      );
    }
  } else {
    lines.push(
      'mode       services  apply s  sync mean s  sync p99 s  rules/virtual servers on node  first request p50/p99 ms',
    );
    for (const x of r.cluster ?? []) {
      const held =
        x.mode === 'ipvs'
          ? `${x.counts.virtualServers ?? '?'} virtual servers`
          : `${x.counts.rules ?? '?'} rules`;
      const f = (v: number | null) => (v === null ? '-' : v.toFixed(3));
      lines.push(
        `${x.mode.padEnd(10)} ${String(x.services).padStart(8)}  ${(x.applyMs / 1000).toFixed(1).padStart(7)}  ${f(x.syncProxyRules.meanSeconds).padStart(11)}  ${f(x.syncProxyRules.p99Seconds).padStart(10)}  ${held.padEnd(29)} ${x.latency ? `${x.latency.requestP50Ms ?? '-'} / ${x.latency.requestP99Ms ?? '-'}` : '-'}`,
      );
    }
  }
  for (const s of r.skipped) lines.push(`${s.mode}: not measured — ${s.reason}`);
  if (r.target === 'bare' && r.spawnMs) {
    lines.push(
      `(times include starting the programs: one empty program start took ${Object.entries(
        r.spawnMs,
      )
        .map(([k, v]) => `${v} ms ${k}`)
        .join(', ')}; an ipvs update starts 3 programs, iptables and nftables 1)`,
    );
  }
  return lines.join('\n');
}

export default defineCommand({
  name: 'scale',
  summary: 'measure iptables vs IPVS vs nftables as services grow',
  usage:
    'proxylab scale [--bare] [--services 100,1000,5000] [--modes iptables,ipvs,nftables] [--out DIR] | proxylab scale --from FILE,... [--out DIR]',
  details: `
With --bare (no cluster, needs root): for each mode and size, programs N kube-proxy-shaped
services (2 endpoints each) in network namespaces on this kernel, and measures the full
restore, a one-service update on top, and first-packet latency through the VIPs.
IPVS needs the ip_vs module: where this kernel has none, IPVS is measured in the bare lab's
QEMU micro-VM (Debian's kernel) together with iptables, so those two share the emulation cost
(dashed lines in the chart; sizes capped at 2000 there); nftables, when asked for, is measured
there too, so all three modes can be compared in one guest.

Without --bare: on the kind cluster, for each mode, switches kube-proxy to it, creates N
selectorless Services with EndpointSlices in batches, and reads kube-proxy's own metrics
(kubeproxy_sync_proxy_rules_duration_seconds, network programming latency), the number of
rules / virtual servers / set members on a node and first-request latency p50/p99.

Writes DIR/scale-bare.json + .svg (or scale-cluster.*). Everything created is removed at the
end, also on failure or Ctrl-C.

--from re-draws the chart from results files (merging several runs, e.g. a native and a VM run).

Examples:
  sudo proxylab scale --bare
  sudo proxylab scale --bare --services 100,1000,5000,10000 --modes iptables,nftables
  proxylab scale --services 100,1000 --modes iptables,ipvs`,
  options: {
    bare: {
      type: 'boolean',
      description: 'measure on this kernel in network namespaces, without a cluster',
    },
    services: {
      type: 'string',
      arg: 'N,N,...',
      description: 'numbers of services to measure',
      default: DEFAULT_SIZES.join(','),
    },
    modes: {
      type: 'string',
      arg: 'MODE,...',
      description: 'proxy modes to compare',
      default: MODES.join(','),
    },
    out: {
      type: 'string',
      arg: 'DIR',
      description: 'where the JSON and SVG go',
      default: './results/scale',
    },
    from: {
      type: 'string',
      arg: 'FILE,...',
      description: 'measure nothing: merge these results JSON files and draw their chart',
    },
    probes: {
      type: 'string',
      arg: 'N',
      description: 'TCP connections per probed VIP (latency samples)',
      default: '200',
    },
    backend: {
      type: 'string',
      arg: 'auto|native|vm',
      description:
        "--bare only: where rules are programmed; auto = this kernel, plus the bare lab's micro-VM for IPVS when this kernel has no ip_vs",
      default: 'auto',
    },
    'vm-services': {
      type: 'string',
      arg: 'N,N,...',
      description:
        '--bare only: sizes measured in the micro-VM (default: --services capped at 2000)',
    },
  },
  json: true,
  async run(ctx: Context, args) {
    const from = str(args, 'from');
    if (from !== undefined) {
      const reports: ScaleReport[] = [];
      for (const f of from
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean)) {
        let doc: unknown;
        try {
          doc = JSON.parse(readFileSync(f, 'utf8'));
        } catch (e) {
          throw new UsageError(
            `--from: cannot read ${f} (${e instanceof Error ? e.message.split('\n')[0] : String(e)}).`,
            'Give the scale-bare.json or scale-cluster.json files a run wrote.',
          );
        }
        if (!doc || typeof doc !== 'object' || (doc as { kind?: unknown }).kind !== RESULT_KIND) {
          throw new UsageError(
            `--from: ${f} is not a proxylab scale results file.`,
            'Give the scale-bare.json or scale-cluster.json files a run wrote.',
          );
        }
        reports.push(doc as ScaleReport);
      }
      const merged = mergeReports(reports);
      const files = await writeReport(resolve(str(args, 'out') ?? './results/scale'), merged);
      if (ctx.json) ctx.io.out(JSON.stringify(merged, null, 2));
      else
        ctx.io.out(
          `${summaryTable(merged)}\n\nResults: ${relative(process.cwd(), files.json) || files.json}\nChart:   ${relative(process.cwd(), files.svg) || files.svg}`,
        );
      return 0;
    }
    const sizes = parseSizes(str(args, 'services'));
    const modes = parseModes(str(args, 'modes'));
    const probes = parseCount(str(args, 'probes'), 'probes', 200, 100_000);
    const outDir = resolve(str(args, 'out') ?? './results/scale');
    const backend = str(args, 'backend') ?? 'auto';
    if (backend !== 'auto' && backend !== 'native' && backend !== 'vm') {
      throw new UsageError(
        `--backend: "${backend}" is not auto, native or vm.`,
        'e.g. --backend vm to measure IPVS and iptables inside the micro-VM.',
      );
    }
    if (backend !== 'auto' && !bool(args, 'bare'))
      throw new UsageError(
        '--backend applies to --bare runs only.',
        'Add --bare, or leave --backend out.',
      );
    const log = (l: string) => ctx.io.info(l);
    let report: ScaleReport;
    if (bool(args, 'bare')) {
      const { runBare } = await import('../scale/bare.js');
      log(
        `scale --bare: ${modes.join(', ')} at ${sizes.join(', ')} services, ${backend === 'vm' ? "in network namespaces inside the bare lab's micro-VM" : backend === 'native' ? 'in network namespaces on this kernel' : 'in network namespaces on this kernel (IPVS in the micro-VM if this kernel has no ip_vs)'}`,
      );
      const vmText = str(args, 'vm-services');
      try {
        report = await runBare({
          sizes,
          modes,
          probes,
          backend,
          signal: ctx.signal,
          log,
          ...(vmText !== undefined ? { vmSizes: parseSizes(vmText) } : {}),
        });
      } catch (e) {
        // Ctrl-C: the namespaces are gone by now; say so instead of showing the killed program.
        if (ctx.signal.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : e;
        throw e;
      }
    } else {
      const { runCluster } = await import('../scale/cluster.js');
      log(
        `scale: ${modes.join(', ')} at ${sizes.join(', ')} services on kind cluster "${ctx.cluster}"`,
      );
      try {
        report = await runCluster(ctx, { sizes, modes, probes: Math.min(probes, 500), log });
      } catch (e) {
        if (ctx.signal.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : e;
        throw e;
      }
    }
    const files = await writeReport(outDir, report);
    if (ctx.json) ctx.io.out(JSON.stringify(report, null, 2));
    else {
      ctx.io.out(summaryTable(report));
      ctx.io.out(
        `\nResults: ${relative(process.cwd(), files.json) || files.json}\nChart:   ${relative(process.cwd(), files.svg) || files.svg}`,
      );
    }
    return 0;
  },
});
