/**
 * `proxylab inspect`: each node's datapath in one `docker exec` (a constant script printing
 * ipvsadm, iptables-save, ipset, kube-ipvs0 and /proxyMode between markers), the Services
 * and their EndpointSlices from kubectl, joined per Service, with findings and a picture.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { bool, defineCommand, str } from '../core/command.js';
import { EXIT, UsageError, UserError, CommandError } from '../core/errors.js';
import { KindProvider } from '../cluster/kind.js';
import { Kubectl } from '../cluster/kubectl.js';
import { SNAPSHOT_SCRIPT, readNode, type NodeSnapshot } from '../inspect/snapshot.js';
import {
  joinSnapshot,
  servicePortKey,
  type K8sConfigMap,
  type K8sEndpointSlice,
  type K8sEndpoints,
  type K8sList,
  type K8sService,
  type Snapshot,
  type NodeServiceView,
} from '../inspect/join.js';
import { findings as findFindings, type Finding } from '../inspect/findings.js';
import { clusterFacts, renderSvg } from '../inspect/svg.js';
import { isParseError } from '../inspect/errors.js';
import { tuneForOneParse } from '../core/v8-tuning.js';

// each node's outputs are parsed once, in this process (see tuneForOneParse)
tuneForOneParse();

type ServicesAndEndpoints = K8sList<K8sService | K8sEndpointSlice | K8sEndpoints>;

async function clusterObjects(kube: Kubectl): Promise<{
  services: K8sList<K8sService>;
  endpoints: K8sList<K8sEndpointSlice> | K8sList<K8sEndpoints>;
  configMap: K8sConfigMap | null;
}> {
  // EndpointSlices (discovery.k8s.io/v1, every supported Kubernetes); v1 Endpoints only if a server lacks them.
  let list: ServicesAndEndpoints;
  let kind: 'EndpointSlice' | 'Endpoints' = 'EndpointSlice';
  const slices = await kube.run(
    ['get', 'services,endpointslices', '--all-namespaces', '-o', 'json'],
    { reject: false, timeoutMs: 60_000 },
  );
  if (slices.exitCode === 0) list = JSON.parse(slices.stdout) as ServicesAndEndpoints;
  else if (/doesn't have a resource type/.test(slices.stderr)) {
    list = await kube.json<ServicesAndEndpoints>(
      ['get', 'services,endpoints', '--all-namespaces'],
      { timeoutMs: 60_000 },
    );
    kind = 'Endpoints';
  } else {
    throw new CommandError({
      argv: kube.argv(['get', 'services,endpointslices', '--all-namespaces', '-o', 'json']),
      exitCode: slices.exitCode,
      signal: null,
      stdout: slices.stdout,
      stderr: slices.stderr,
      durationMs: slices.durationMs,
      timedOut: false,
      timeoutMs: 60_000,
      spawnError: null,
    });
  }
  const items = list.items ?? [];
  const cm = await kube.run(['-n', 'kube-system', 'get', 'configmap', 'kube-proxy', '-o', 'json'], {
    reject: false,
    timeoutMs: 60_000,
  });
  return {
    services: {
      kind: 'ServiceList',
      items: items.filter((i) => (i as { kind?: string }).kind === 'Service') as K8sService[],
    },
    endpoints: {
      kind: `${kind}List`,
      items: items.filter((i) => (i as { kind?: string }).kind === kind) as K8sEndpointSlice[],
    },
    configMap: cm.exitCode === 0 ? (JSON.parse(cm.stdout) as K8sConfigMap) : null,
  };
}

function cell(mode: string | null, v: NodeServiceView | undefined, ready: number): string {
  if (!v) return '-';
  if (mode === 'ipvs') {
    if (v.ipvs === null) return '? ipvsadm';
    if (v.ipvs === false) return '✘ no VS';
    const ok = v.ipvs.realServers.length === ready;
    const vip = v.vipOnKubeIpvs0 === false ? ' ✘vip' : '';
    return `${ok ? '✔' : '✘'} ${v.ipvs.scheduler ?? '?'} ${v.ipvs.realServers.length} RS${vip}`;
  }
  if (mode === 'iptables') {
    if (v.iptables === null) return '? iptables';
    if (v.iptables === false) return ready ? '✘ no SVC chain' : '– no endpoints';
    return `${v.iptables.endpoints.length === ready ? '✔' : '✘'} ${v.iptables.endpoints.length} SEP`;
  }
  if (mode === 'nftables') {
    if (v.nft === null) return '? nft';
    if (v.nft === false) return ready ? '✘ not in service-ips' : '– no endpoints';
    return `${v.nft.endpoints.length === ready ? '✔' : '✘'} ${v.nft.endpoints.length} endpoints`;
  }
  return mode ? `${mode}` : '? mode';
}

function table(rows: string[][]): string[] {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => [...(r[i] ?? '')].length)));
  return rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(w[i]! - [...c].length)))
      .join('  ')
      .trimEnd(),
  );
}

export function renderText(s: Snapshot, f: Finding[]): string {
  const lines: string[] = [];
  const cfg = s.config
    ? `ConfigMap kube-proxy: mode ${s.config.mode ? `"${s.config.mode}"` : '"" (iptables)'}, ipvs.scheduler ${s.config.scheduler ? `"${s.config.scheduler}"` : '"" (rr)'}`
    : 'ConfigMap kube-proxy: not readable';
  lines.push(`Cluster ${s.cluster} — ${cfg}`, '');
  lines.push(
    ...table([
      ['NODE', 'MODE', 'DATAPATH'],
      ...s.nodes.map((n) => [
        n.node,
        n.mode ?? '?',
        n.mode === 'ipvs'
          ? `${n.ipvsServices} IPVS virtual servers, ${n.kubeIpvs0Addresses ?? 0} ClusterIPs on kube-ipvs0${n.serviceChains ? `, ${n.serviceChains} leftover KUBE-SVC chains` : ''}`
          : n.mode === 'iptables'
            ? `${n.serviceChains} KUBE-SVC chains, ${n.endpointChains} KUBE-SEP chains`
            : n.mode === 'nftables' && n.nftServices !== null
              ? `${n.nftServices} entries in nftables map service-ips${n.serviceChains ? `, ${n.serviceChains} leftover KUBE-SVC chains` : ''}`
              : (Object.values(n.unavailable)[0] ?? ''),
      ]),
    ]),
  );
  lines.push('');
  const head = ['SERVICE', 'CLUSTER-IP', 'READY', ...s.nodes.map((n) => n.node)];
  const rows = s.servicePorts.map((p) => [
    `${p.service}${p.portName ? `:${p.portName}` : ''}`,
    `${p.clusterIP}:${p.port}/${p.protocol}`,
    String(p.ready.length),
    ...s.nodes.map((n) => cell(n.mode, n.services[servicePortKey(p)], p.ready.length)),
  ]);
  lines.push(...table([head, ...rows]));
  lines.push('');
  if (!f.length) lines.push('No findings: every Service matches the datapath on every node.');
  else {
    lines.push(`Findings (${f.length}):`);
    for (const x of f) {
      lines.push(
        `  ${x.severity === 'error' ? '✘' : x.severity === 'warning' ? '⚠' : 'ℹ'} [${x.id}] ${x.message}`,
      );
      for (const e of x.evidence) lines.push(`      ${e}`);
    }
  }
  return lines.join('\n');
}

export default defineCommand({
  name: 'inspect',
  summary: "snapshot each node's datapath and join it to the Services",
  usage: 'proxylab inspect [--node NAME] [--json] [--svg FILE] [--strict]',
  details: `
Reads every node's datapath with one \`docker exec\` per node (ipvsadm -Ln, iptables-save,
ipset list, ip addr show kube-ipvs0, nft list table ip kube-proxy, kube-proxy's /proxyMode)
and the Services with their EndpointSlices and the kube-proxy ConfigMap from kubectl, then
shows, per Service port and node: the ClusterIP on kube-ipvs0, the IPVS virtual server and
its real servers (ipvs mode), the KUBE-SVC chain and its KUBE-SEP endpoints (iptables
mode), or the service-ips map entry, its chain and endpoints (nftables mode).

Findings, each with the evidence: a Service without a virtual server, real servers that
differ from the ready endpoints, KUBE-SVC chains left from iptables mode, a scheduler that
differs from the ConfigMap, kube-proxy modes that differ between nodes.

ipvsadm and ipset are not in kind's node image: run \`proxylab node-tools\` first.

Examples:
  proxylab inspect
  proxylab inspect --node proxylab-worker --svg diagrams/datapath.svg
  proxylab inspect --json | jq '.findings[] | .id'`,
  options: {
    node: { type: 'string', arg: 'NAME', description: 'only this node (default: every node)' },
    svg: {
      type: 'string',
      arg: 'FILE',
      description: 'also draw the datapath picture into FILE (SVG)',
    },
    strict: {
      type: 'boolean',
      description: 'exit 1 when there is an error-level finding (for CI)',
    },
  },
  json: true,
  async run(ctx, args) {
    const only = str(args, 'node');
    const svgFile = str(args, 'svg');
    if (svgFile !== undefined && !/\.svg$/i.test(svgFile))
      throw new UsageError(
        `--svg ${svgFile}: the file name must end in .svg`,
        'e.g. --svg datapath.svg',
      );
    const provider = new KindProvider(ctx.env, ctx.signal);
    const kube = new Kubectl(ctx.kubeconfig, ctx.env, ctx.signal);
    const all = await provider.nodes(ctx.cluster);
    if (!all.length)
      throw new UserError(
        `there is no kind cluster named "${ctx.cluster}"`,
        'create it with `proxylab up` (or pass --cluster NAME)',
      );
    const nodes = only ? all.filter((n) => n.name === only) : all;
    if (only && !nodes.length)
      throw new UsageError(
        `cluster ${ctx.cluster} has no node named "${only}"`,
        `its nodes: ${all.map((n) => n.name).join(', ')}`,
      );
    ctx.io.info(
      `reading ${nodes.length === 1 ? nodes[0]!.name : `${nodes.length} nodes`} (one docker exec each) and the Services…`,
    );

    const [objects, ...outputs] = await Promise.all([
      clusterObjects(kube),
      ...nodes.map((n) =>
        provider.exec(n.name, ['sh', '-c', SNAPSHOT_SCRIPT], { reject: false, timeoutMs: 60_000 }),
      ),
    ]);
    const snaps: NodeSnapshot[] = [];
    for (const [i, r] of outputs.entries()) {
      const name = nodes[i]!.name;
      try {
        snaps.push(readNode(name, r.stdout));
      } catch (e) {
        if (!isParseError(e)) throw e;
        const why = (r.stderr.trim().split('\n').pop() ?? '') || `docker exec exited ${r.exitCode}`;
        throw new UserError(
          `could not read the datapath of node ${name}: ${why}`,
          `is the node running? \`docker ps --filter name=${name}\``,
        );
      }
    }
    const snapshot = joinSnapshot(
      ctx.cluster,
      snaps,
      objects.services,
      objects.endpoints,
      objects.configMap,
    );
    const found = findFindings(snapshot);
    if (svgFile) {
      const path = resolve(svgFile);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(
        path,
        renderSvg(snapshot, found, {
          raw: snaps,
          facts: clusterFacts(objects.services, objects.endpoints),
        }),
      );
      ctx.io.info(`datapath picture written to ${svgFile}`);
    }
    if (ctx.json) ctx.io.out(JSON.stringify({ ...snapshot, findings: found }, null, 2));
    else ctx.io.out(renderText(snapshot, found));
    return bool(args, 'strict') && found.some((x) => x.severity === 'error')
      ? EXIT.failed
      : EXIT.ok;
  },
});
