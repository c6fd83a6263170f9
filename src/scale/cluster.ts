/**
 * `proxylab scale` on the kind cluster: for each mode, put kube-proxy in that mode, create N
 * selectorless Services with EndpointSlices (in batches, `kubectl apply -f -`), and read
 * what kube-proxy reports about itself (its sync-time histogram and network programming
 * latency from :10249/metrics, one `docker exec` per scrape), what one node holds (rules,
 * virtual servers, set members) and first-request latency through the last Service's VIP.
 *
 * Every Service points at the control-plane's API server (InternalIP:6443): a real endpoint
 * that exists on every kind cluster, so no image has to be pulled. Everything lives in the
 * namespace `proxylab-scale`, deleted at the end (also on failure or Ctrl-C), and kube-proxy
 * is put back in the mode it had.
 */
import { performance } from 'node:perf_hooks';
import { loadavg } from 'node:os';
import type { Context } from '../core/context.js';
import { CommandError, UserError } from '../core/errors.js';
import { waitFor } from '../core/wait.js';
import type { NodeInfo } from '../cluster/provider.js';
import { parseIptables } from '../inspect/iptables.js';
import { parseIpvsadm } from '../inspect/ipvsadm.js';
import { parseIpset } from '../inspect/ipset.js';
import { connect, errorText, type Kube } from '../steps/kube.js';
import { editConfigMap, effectiveMode, forReplace, readSettings } from '../steps/configmap.js';
import { summarize, type LatencySummary } from './agent.js';
import { countNftText } from './bare.js';
import { serviceName, type Counts, type Mode } from './generate.js';
import {
  diffHistogram,
  histogramQuantile,
  NETWORK_PROGRAMMING_METRIC,
  parseHistogram,
  SYNC_METRIC,
  type Histogram,
} from './metrics.js';
import {
  describeMachine,
  RESULT_KIND,
  RESULT_VERSION,
  type ClusterMeasurement,
  type ScaleReport,
  type Skipped,
} from './results.js';

export const SCALE_NAMESPACE = 'proxylab-scale';
export const BATCH = 500;

export interface ClusterOptions {
  sizes: number[];
  modes: Mode[];
  probes: number;
  log: (line: string) => void;
  /** Limits (tests shorten them). */
  syncTimeoutMs?: number;
  rolloutTimeoutMs?: number;
}

export const CLUSTER_METHOD = [
  'For each mode: kube-proxy ConfigMap mode set, DaemonSet restarted (rollout status), /proxyMode checked on the node.',
  `N selectorless ClusterIP Services + one EndpointSlice each (endpoint: the control-plane API server) applied in batches of ${BATCH} with kubectl apply -f -.`,
  `sync = ${SYNC_METRIC} from kube-proxy's /metrics on one node, the difference between scrapes before and after the batch (mean = sum/count; p50/p99 from buckets).`,
  `network programming = ${NETWORK_PROGRAMMING_METRIC} (time from a Service change to its rules on the node), same differencing.`,
  'counts on the node: iptables-save -t nat rules; /proc/net/ip_vs (or ipvsadm -Ln) virtual servers, ipset KUBE-CLUSTER-IP members; nft table ip kube-proxy rules and service-ips elements.',
  'first request = curl from the node to https://VIP/healthz of the newest Service, p50/p99 of time_total.',
];

/** The Services + EndpointSlices for indexes [from, to), as one kubectl List (JSON). */
export function manifests(
  from: number,
  to: number,
  endpointIP: string,
  namespace = SCALE_NAMESPACE,
): string {
  const items: unknown[] = [];
  for (let i = from; i < to; i++) {
    const name = serviceName(i);
    items.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace, labels: { 'app.kubernetes.io/managed-by': 'proxylab-scale' } },
      spec: {
        type: 'ClusterIP',
        ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }],
      },
    });
    items.push({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: `${name}-1`,
        namespace,
        labels: {
          'kubernetes.io/service-name': name,
          'endpointslice.kubernetes.io/managed-by': 'proxylab-scale',
        },
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: [endpointIP], conditions: { ready: true } }],
      ports: [{ name: 'https', port: 6443, protocol: 'TCP' }],
    });
  }
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
}

interface Scrape {
  sync: Histogram | null;
  netprog: Histogram | null;
}

async function scrape(kube: Kube, node: string): Promise<Scrape> {
  const r = await kube.exec(
    node,
    ['curl', '-s', '--max-time', '10', 'http://127.0.0.1:10249/metrics'],
    { timeoutMs: 30_000 },
  );
  return {
    sync: parseHistogram(r.stdout, SYNC_METRIC),
    netprog: parseHistogram(r.stdout, NETWORK_PROGRAMMING_METRIC),
  };
}

async function proxyMode(kube: Kube, node: string): Promise<string | undefined> {
  const r = await kube.exec(
    node,
    ['curl', '-s', '--max-time', '5', 'http://127.0.0.1:10249/proxyMode'],
    { timeoutMs: 20_000, reject: false },
  );
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}

/** /proc/net/ip_vs: virtual servers are the TCP/UDP/FWM lines, real servers the `->` lines. */
export function countProcIpvs(text: string): { virtualServers: number; realServers: number } {
  let virtualServers = 0;
  let realServers = 0;
  for (const line of text.split('\n')) {
    if (/^(TCP|UDP|SCTP|FWM)\s/.test(line)) virtualServers++;
    else if (/^\s+->\s+[0-9A-F]{8}:/i.test(line)) realServers++;
  }
  return { virtualServers, realServers };
}

export async function nodeCounts(kube: Kube, node: string, mode: Mode): Promise<Partial<Counts>> {
  if (mode === 'iptables') {
    const r = await kube.exec(node, ['iptables-save', '-t', 'nat'], { timeoutMs: 120_000 });
    const dump = parseIptables(r.stdout, { table: 'nat' });
    const chains = Object.keys(dump.tables.nat?.chains ?? {}).filter((c) =>
      c.startsWith('KUBE-'),
    ).length;
    return { rules: dump.ruleCount, chains };
  }
  if (mode === 'nftables') {
    const r = await kube.exec(node, ['nft', 'list', 'table', 'ip', 'kube-proxy'], {
      timeoutMs: 120_000,
    });
    return countNftText(r.stdout);
  }
  const out: Partial<Counts> = {};
  const ipvsadm = await kube
    .exec(node, ['ipvsadm', '-Ln'], { reject: false, timeoutMs: 60_000 })
    .catch(() => null);
  if (ipvsadm && ipvsadm.exitCode === 0) {
    const t = parseIpvsadm(ipvsadm.stdout);
    out.virtualServers = t.services.length;
    out.realServers = t.services.reduce((n, s) => n + s.realServers.length, 0);
  } else {
    Object.assign(
      out,
      countProcIpvs(
        (await kube.exec(node, ['cat', '/proc/net/ip_vs'], { timeoutMs: 60_000 })).stdout,
      ),
    );
  }
  const ipset = await kube
    .exec(node, ['ipset', 'list', 'KUBE-CLUSTER-IP'], { reject: false, timeoutMs: 60_000 })
    .catch(() => null);
  if (ipset && ipset.exitCode === 0) {
    const set = parseIpset(ipset.stdout).sets[0];
    if (set) out.setMembers = set.members.length;
  }
  return out;
}

/** How many of our services the node has programmed (to know kube-proxy caught up). */
async function programmed(kube: Kube, node: string, mode: Mode): Promise<number> {
  if (mode === 'iptables') {
    const r = await kube.exec(node, ['iptables-save', '-t', 'nat'], { timeoutMs: 120_000 });
    return r.stdout
      .split('\n')
      .filter((l) => l.startsWith('-A KUBE-SERVICES') && l.includes(`"${SCALE_NAMESPACE}/svc-`))
      .length;
  }
  if (mode === 'nftables') {
    const r = await kube.exec(node, ['nft', 'list', 'map', 'ip', 'kube-proxy', 'service-ips'], {
      timeoutMs: 120_000,
      reject: false,
    });
    return (r.stdout.match(new RegExp(`goto service-\\w+-${SCALE_NAMESPACE}/svc-`, 'g')) ?? [])
      .length;
  }
  const r = await kube.exec(node, ['cat', '/proc/net/ip_vs'], { timeoutMs: 60_000 });
  return countProcIpvs(r.stdout).virtualServers;
}

async function probeVip(
  kube: Kube,
  node: string,
  vip: string,
  count: number,
): Promise<LatencySummary> {
  // A fixed script; the count and the address are passed as arguments, never spliced in.
  const script =
    'i=0; while [ "$i" -lt "$1" ]; do curl -sk -o /dev/null --max-time 5 -w "%{time_connect} %{time_total}\\n" "https://$2/healthz" || echo "error"; i=$((i+1)); done';
  const r = await kube.exec(node, ['sh', '-c', script, 'probe', String(count), `${vip}:443`], {
    timeoutMs: 10 * 60_000,
  });
  const connectMs: number[] = [];
  const requestMs: number[] = [];
  let errors = 0;
  for (const line of r.stdout.split('\n')) {
    const m = /^([\d.]+)\s+([\d.]+)$/.exec(line.trim());
    if (m && Number(m[1]) > 0) {
      connectMs.push(Number(m[1]) * 1000);
      requestMs.push(Number(m[2]) * 1000);
    } else if (line.trim()) errors++;
  }
  return summarize({
    target: `${vip}:443`,
    connectMs,
    requestMs,
    errors: errors ? { failed: errors } : {},
    answeredBy: {},
  });
}

async function switchMode(
  kube: Kube,
  ctx: Context,
  mode: Mode,
  nodes: NodeInfo[],
  rolloutMs: number,
  log: (l: string) => void,
): Promise<void> {
  const cm = (
    await kube.kubectl(['-n', 'kube-system', 'get', 'configmap', 'kube-proxy', '-o', 'yaml'])
  ).stdout;
  if (effectiveMode(readSettings(cm)) !== mode) {
    log(`  switching kube-proxy to ${mode}`);
    await kube.kubectl(['replace', '-f', '-'], { input: forReplace(editConfigMap(cm, { mode })) });
    await kube.kubectl(['-n', 'kube-system', 'rollout', 'restart', 'daemonset/kube-proxy']);
  }
  try {
    await kube.kubectl(
      [
        '-n',
        'kube-system',
        'rollout',
        'status',
        'daemonset/kube-proxy',
        `--timeout=${Math.round(rolloutMs / 1000)}s`,
      ],
      {
        timeoutMs: rolloutMs + 30_000,
      },
    );
  } catch (e) {
    throw new ModeUnavailable(
      `kube-proxy did not become ready in ${mode} mode (${errorText(e)}); see \`kubectl -n kube-system logs ds/kube-proxy\``,
    );
  }
  for (const n of nodes) {
    await waitFor(async () => ((await proxyMode(kube, n.name)) === mode ? true : undefined), {
      what: `kube-proxy on ${n.name} to report ${mode} at :10249/proxyMode`,
      timeoutMs: rolloutMs,
      signal: ctx.signal,
      hint: 'check `kubectl -n kube-system logs ds/kube-proxy`',
    }).catch((e: unknown) => {
      throw new ModeUnavailable(e instanceof Error ? e.message : String(e));
    });
  }
}

class ModeUnavailable extends Error {}

async function deleteNamespace(kube: Kube, wait: boolean): Promise<void> {
  await kube.kubectl(
    ['delete', 'namespace', SCALE_NAMESPACE, '--ignore-not-found', `--wait=${wait}`],
    { timeoutMs: 10 * 60_000, reject: false, signal: new AbortController().signal },
  );
}

function internalIP(nodeJson: string, name: string): string | null {
  const doc = JSON.parse(nodeJson) as {
    items?: Array<{
      metadata?: { name?: string };
      status?: { addresses?: Array<{ type: string; address: string }> };
    }>;
  };
  const n = doc.items?.find((x) => x.metadata?.name === name);
  return n?.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? null;
}

export async function runCluster(ctx: Context, o: ClusterOptions): Promise<ScaleReport> {
  const kube = await connect(ctx);
  const nodes = await kube.nodes();
  const cp = nodes.find((n) => n.role === 'control-plane') ?? nodes[0]!;
  const probeNode = nodes.find((n) => n.role === 'worker') ?? cp;
  const cpIP = internalIP((await kube.kubectl(['get', 'nodes', '-o', 'json'])).stdout, cp.name);
  if (!cpIP)
    throw new UserError(
      `could not read the InternalIP of ${cp.name}`,
      'check `kubectl get nodes -o wide`',
    );
  const originalCm = (
    await kube.kubectl(['-n', 'kube-system', 'get', 'configmap', 'kube-proxy', '-o', 'yaml'])
  ).stdout;
  const originalMode = effectiveMode(readSettings(originalCm)) as Mode;
  const syncTimeoutMs = o.syncTimeoutMs ?? 15 * 60_000;
  const rolloutMs = o.rolloutTimeoutMs ?? 180_000;
  const startedAt = new Date().toISOString();
  const machine = await describeMachine('kind', {});
  machine.tools.kubernetes = `v1.${await kube.k8sMinor()}`;
  machine.tools.nodes = `${nodes.length} (${nodes.map((n) => n.name).join(', ')})`;
  const results: ClusterMeasurement[] = [];
  const skipped: Skipped[] = [];
  let touchedMode = false;
  try {
    for (const mode of o.modes) {
      o.log(`${mode}:`);
      try {
        touchedMode ||= mode !== originalMode;
        await switchMode(kube, ctx, mode, nodes, rolloutMs, o.log);
      } catch (e) {
        if (!(e instanceof ModeUnavailable)) throw e;
        skipped.push({ mode, reason: e.message });
        o.log(`  ${mode}: not measured — ${e.message}`);
        continue;
      }
      await deleteNamespace(kube, true);
      await kube.kubectl(['apply', '-f', '-'], {
        input: JSON.stringify({
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: SCALE_NAMESPACE },
        }),
      });
      let created = 0;
      // IPVS counts every virtual server on the node (kubernetes, kube-dns too): start from those.
      const base = mode === 'ipvs' ? await programmed(kube, probeNode.name, mode) : 0;
      for (const size of [...o.sizes].sort((a, b) => a - b)) {
        const before = await scrape(kube, probeNode.name);
        const t0 = performance.now();
        for (let from = created; from < size; from += BATCH) {
          const to = Math.min(size, from + BATCH);
          await kube.kubectl(['apply', '-f', '-'], {
            input: manifests(from, to, cpIP),
            timeoutMs: 10 * 60_000,
          });
          o.log(`  ${mode}: ${to}/${size} services applied`);
        }
        const applyMs = performance.now() - t0;
        created = size;
        await waitFor(
          async () =>
            (await programmed(kube, probeNode.name, mode)) >= base + size ? true : undefined,
          {
            what: `kube-proxy on ${probeNode.name} to program ${size} services in ${mode} mode`,
            timeoutMs: syncTimeoutMs,
            signal: ctx.signal,
            hint: 'kube-proxy may be crash-looping: `kubectl -n kube-system get pods -l k8s-app=kube-proxy`',
          },
        );
        // Let the sync that programmed the last batch finish recording its duration.
        const after = await waitFor(
          async () => {
            const s = await scrape(kube, probeNode.name);
            return s.sync && (!before.sync || s.sync.count > before.sync.count) ? s : undefined;
          },
          {
            what: `kube-proxy on ${probeNode.name} to record a rules sync`,
            timeoutMs: 120_000,
            signal: ctx.signal,
          },
        );
        const sync = after.sync ? diffHistogram(after.sync, before.sync) : null;
        const net = after.netprog ? diffHistogram(after.netprog, before.netprog) : null;
        const counts = await nodeCounts(kube, probeNode.name, mode);
        const last = serviceName(size - 1);
        const vip = (
          await kube.kubectl([
            '-n',
            SCALE_NAMESPACE,
            'get',
            'service',
            last,
            '-o',
            'jsonpath={.spec.clusterIP}',
          ])
        ).stdout.trim();
        const latency = vip ? await probeVip(kube, probeNode.name, vip, o.probes) : null;
        const r: ClusterMeasurement = {
          mode,
          services: size,
          applyMs: Math.round(applyMs),
          syncProxyRules: {
            count: sync?.count ?? 0,
            sumSeconds: +(sync?.sum ?? 0).toFixed(6),
            meanSeconds: sync && sync.count > 0 ? +(sync.sum / sync.count).toFixed(6) : null,
            p50Seconds: sync ? histogramQuantile(sync, 0.5) : null,
            p99Seconds: sync ? histogramQuantile(sync, 0.99) : null,
          },
          networkProgramming: net
            ? {
                count: net.count,
                p50Seconds: histogramQuantile(net, 0.5),
                p99Seconds: histogramQuantile(net, 0.99),
              }
            : null,
          node: probeNode.name,
          counts,
          latency,
        };
        results.push(r);
        o.log(
          `  ${mode} N=${size}: sync mean ${r.syncProxyRules.meanSeconds ?? '-'} s over ${r.syncProxyRules.count} syncs; ${mode === 'ipvs' ? `${counts.virtualServers} virtual servers` : `${counts.rules} rules`}; first request p50 ${latency?.requestP50Ms ?? '-'} ms`,
        );
      }
      await deleteNamespace(kube, true);
    }
  } finally {
    await deleteNamespace(kube, false);
    if (touchedMode) {
      try {
        const now = (
          await kube.kubectl(
            ['-n', 'kube-system', 'get', 'configmap', 'kube-proxy', '-o', 'yaml'],
            { signal: new AbortController().signal },
          )
        ).stdout;
        if (effectiveMode(readSettings(now)) !== originalMode) {
          o.log(`putting kube-proxy back in ${originalMode} mode`);
          await kube.kubectl(['replace', '-f', '-'], {
            input: forReplace(editConfigMap(now, { mode: originalMode })),
            signal: new AbortController().signal,
          });
          await kube.kubectl(['-n', 'kube-system', 'rollout', 'restart', 'daemonset/kube-proxy'], {
            signal: new AbortController().signal,
          });
        }
      } catch (e) {
        o.log(
          `could not put kube-proxy back in ${originalMode} mode: ${e instanceof CommandError ? errorText(e) : String(e)} — run \`proxylab mode ${originalMode}\``,
        );
      }
    }
  }
  if (machine.loadavg) machine.loadavg.end = +loadavg()[0]!.toFixed(2);
  return {
    kind: RESULT_KIND,
    version: RESULT_VERSION,
    target: 'cluster',
    machine,
    method: CLUSTER_METHOD,
    startedAt,
    finishedAt: new Date().toISOString(),
    modes: o.modes,
    sizes: [...o.sizes].sort((a, b) => a - b),
    cluster: results,
    skipped,
  };
}
