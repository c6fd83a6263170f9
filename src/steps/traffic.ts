/**
 * Send N requests to the web sample and count which pod answered (each pod answers with
 * its own name). One process for all N requests: a constant loop script run with
 * `sh -c SCRIPT sh N URL` (the count and URL are arguments, never spliced into the script).
 */
import { run } from '../core/exec.js';
import { UserError, UsageError } from '../core/errors.js';
import type { Kube } from './kube.js';

export type From = 'node' | 'pod' | 'host';
export type To = 'clusterip' | 'nodeport';

export const FAIL_MARK = 'proxylab:fail';

export const TRAFFIC_SCRIPT = [
  'n=$1; url=$2; i=0',
  'while [ "$i" -lt "$n" ]; do',
  `  r=$(curl -s --max-time 2 "$url") || r=${FAIL_MARK}`,
  '  echo "${r:-proxylab:empty}"',
  '  i=$((i+1))',
  'done',
].join('\n');

export interface TrafficResult {
  url: string;
  from: string;
  requests: number;
  perPod: { pod: string; node?: string; count: number }[];
  failures: number;
  /** Answers that name no backend pod. */
  other: Record<string, number>;
}

export function validateTraffic(o: { from?: string; to?: string; n?: string }): {
  from: From;
  to: To;
  n: number;
} {
  const from = (o.from ?? 'node') as From;
  if (!['node', 'pod', 'host'].includes(from))
    throw new UsageError(`--from must be node, pod or host (got "${o.from}")`, 'e.g. --from node');
  const to = (o.to ?? 'clusterip') as To;
  if (!['clusterip', 'nodeport'].includes(to))
    throw new UsageError(
      `--to must be clusterip or nodeport (got "${o.to}")`,
      'e.g. --to nodeport',
    );
  const n = o.n === undefined ? 20 : Number(o.n);
  if (!Number.isInteger(n) || n < 1 || n > 10000)
    throw new UsageError(`-n must be a whole number from 1 to 10000 (got "${o.n}")`, 'e.g. -n 20');
  if (from === 'host' && to === 'clusterip')
    throw new UsageError(
      'a ClusterIP is not reachable from the host',
      'use --to nodeport with --from host, or --from node',
    );
  return { from, to, n };
}

interface SvcJson {
  items: {
    metadata: { name: string };
    spec: { type?: string; clusterIP?: string; ports?: { port: number; nodePort?: number }[] };
  }[];
}

export function tally(
  answers: string[],
  pods: { pod: string; node?: string }[],
): Pick<TrafficResult, 'perPod' | 'failures' | 'other'> {
  const counts = new Map(pods.map((p) => [p.pod, 0]));
  let failures = 0;
  const other: Record<string, number> = {};
  for (const raw of answers) {
    const a = raw.trim();
    if (!a) continue;
    if (a === FAIL_MARK || a === 'proxylab:empty') failures++;
    else if (counts.has(a)) counts.set(a, counts.get(a)! + 1);
    else other[a] = (other[a] ?? 0) + 1;
  }
  return { perPod: pods.map((p) => ({ ...p, count: counts.get(p.pod)! })), failures, other };
}

export async function sendTraffic(
  kube: Kube,
  o: {
    from: From;
    to: To;
    n: number;
    namespace: string;
    names: { deployment: string; clusterIP?: string; nodePort?: string };
  },
  signal?: AbortSignal,
): Promise<TrafficResult> {
  const svcs = JSON.parse(
    (
      await kube.kubectl(['-n', o.namespace, 'get', 'services', '-l', 'app=web', '-o', 'json'], {
        signal,
      })
    ).stdout,
  ) as SvcJson;
  const want = o.to === 'clusterip' ? o.names.clusterIP : o.names.nodePort;
  const svc = svcs.items.find((s) => s.metadata.name === want);
  if (!svc)
    throw new UserError(
      `the web sample's ${o.to === 'clusterip' ? 'ClusterIP' : 'NodePort'} service "${want ?? '?'}" is not there`,
      'deploy it with `proxylab web` (make web)',
    );
  const podsJson = JSON.parse(
    (
      await kube.kubectl(['-n', o.namespace, 'get', 'pods', '-l', 'app=web', '-o', 'json'], {
        signal,
      })
    ).stdout,
  ) as {
    items: { metadata: { name: string }; spec: { nodeName?: string } }[];
  };
  // rows by node, then pod: the same order on every run (pod-name hashes are random)
  const pods = podsJson.items
    .map((p) => ({
      pod: p.metadata.name,
      ...(p.spec.nodeName ? { node: p.spec.nodeName } : {}),
    }))
    .sort((a, b) => (a.node ?? '').localeCompare(b.node ?? '') || a.pod.localeCompare(b.pod));
  const nodes = await kube.nodes();
  const client = nodes.find((n) => n.role === 'worker') ?? nodes[0]!;
  let url: string;
  if (o.to === 'clusterip')
    url = `http://${svc.spec.clusterIP}:${svc.spec.ports?.[0]?.port ?? 80}/`;
  else {
    const port = svc.spec.ports?.[0]?.nodePort;
    const nodeJson = JSON.parse(
      (await kube.kubectl(['get', 'node', client.name, '-o', 'json'], { signal })).stdout,
    ) as { status?: { addresses?: { type: string; address: string }[] } };
    const ip = nodeJson.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    if (!port || !ip)
      throw new UserError(
        'could not find the NodePort or the node address',
        'check `kubectl get svc` and `kubectl get nodes -o wide`',
      );
    url = `http://${ip}:${port}/`;
  }
  const args = ['sh', '-c', TRAFFIC_SCRIPT, 'sh', String(o.n), url];
  const timeoutMs = 30_000 + o.n * 2500;
  let out: string;
  let from: string;
  if (o.from === 'node') {
    out = (await kube.exec(client.name, args, { signal, timeoutMs })).stdout;
    from = `node ${client.name}`;
  } else if (o.from === 'pod') {
    out = (
      await kube.kubectl(
        ['-n', o.namespace, 'exec', `deployment/${o.names.deployment}`, '--', ...args],
        { signal, timeoutMs },
      )
    ).stdout;
    from = `a pod of deployment/${o.names.deployment}`;
  } else {
    out = (await run(args, { signal, timeoutMs })).stdout;
    from = 'this host';
  }
  return { url, from, requests: o.n, ...tally(out.split('\n'), pods) };
}

export function trafficTable(r: TrafficResult): string[] {
  const w = Math.max(
    3,
    ...r.perPod.map((p) => p.pod.length),
    ...Object.keys(r.other).map((k) => k.length),
  );
  const lines = [
    `${r.requests} requests to ${r.url} from ${r.from}`,
    `${'POD'.padEnd(w)}  ${'NODE'.padEnd(20)}  ANSWERS`,
  ];
  for (const p of r.perPod)
    lines.push(`${p.pod.padEnd(w)}  ${(p.node ?? '').padEnd(20)}  ${p.count}`);
  for (const [k, v] of Object.entries(r.other))
    lines.push(`${k.padEnd(w)}  ${'(not a web pod)'.padEnd(20)}  ${v}`);
  lines.push(`${'failed'.padEnd(w)}  ${''.padEnd(20)}  ${r.failures}`);
  return lines;
}
