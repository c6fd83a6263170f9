/**
 * `proxylab status`: the first thing an instructor runs when a participant raises a hand.
 * One screen: the cluster and its nodes, the Kubernetes version, the mode kube-proxy runs in
 * on each node (asked on its /proxyMode endpoint: one `docker exec` per node, in parallel)
 * against the mode its ConfigMap asks for, the web sample, and the last `proxylab check`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineCommand } from '../core/command.js';
import type { Context } from '../core/context.js';
import { CommandError, EXIT, UserError } from '../core/errors.js';
import { stateDir } from '../steps/state.js';
import { connect, errorText, onEveryNode, type Kube } from '../steps/kube.js';
import type { CheckResult } from '../doccheck/result.js';

/** The web sample's objects (`proxylab web`, configs/manifests/web.yaml). */
export const WEB_NAME = 'web';
export const WEB_NAMESPACE = 'default';
export const WEB_SERVICES = ['web', 'web-nodeport'];

export interface NodeStatus {
  name: string;
  role: 'control-plane' | 'worker';
  ready: boolean | null;
  kubeletVersion: string | null;
  /** What kube-proxy answered on 127.0.0.1:10249/proxyMode (null: no answer). */
  proxyMode: string | null;
  problem?: string;
}

export interface WebStatus {
  deployed: boolean;
  replicas?: number;
  ready?: number;
  /** The web sample's Services (web: ClusterIP, web-nodeport: NodePort). */
  services?: { name: string; type: string; clusterIP: string; ports: string[] }[];
}

export interface LastCheck {
  lab: string;
  ok: boolean;
  passed: number;
  failed: number;
  total: number;
  finishedAt: string;
  /** Failed steps: "3. ipvsadm -ln" (at most 5). */
  failedSteps: string[];
}

export interface Status {
  cluster: string;
  exists: boolean;
  kubernetes: string | null;
  /** `mode:` in the kube-proxy ConfigMap ("" means iptables). */
  configuredMode: string | null;
  nodes: NodeStatus[];
  web: WebStatus | null;
  lastCheck: LastCheck | null;
  /** Things to look at, one sentence each. */
  problems: string[];
  /** Worth knowing, not wrong (e.g. ipvs mode's deprecation). */
  notes: string[];
}

interface K8sNode {
  metadata: { name: string };
  status?: {
    conditions?: { type: string; status: string }[];
    nodeInfo?: { kubeletVersion?: string };
  };
}

/** `.proxylab/last-check.json`, written by `proxylab check` (null: none yet, or unreadable). */
export function readLastCheck(file: string): LastCheck | null {
  if (!existsSync(file)) return null;
  let r: Partial<CheckResult>;
  try {
    r = JSON.parse(readFileSync(file, 'utf8')) as Partial<CheckResult>;
  } catch {
    return null;
  }
  if (!r || typeof r !== 'object' || !r.counts) return null;
  const failed = (r.steps ?? []).filter((s) => s.status === 'failed' || s.status === 'error');
  return {
    lab: r.lab ?? r.file ?? '?',
    ok: r.ok === true,
    passed: r.counts.passed,
    failed: r.counts.failed + r.counts.errors,
    total: r.counts.total,
    finishedAt: r.finishedAt ?? '',
    failedSteps: failed.slice(0, 5).map((s) => `${s.index}. ${s.command}`),
  };
}

async function kubeProxyModes(
  kube: Kube,
  nodes: { name: string }[],
): Promise<Map<string, { mode: string | null; problem?: string }>> {
  const answers = await onEveryNode(
    nodes.map((n) => ({ name: n.name, role: 'worker' as const })),
    (n) =>
      kube.exec(n.name, ['curl', '-s', '--max-time', '3', 'http://127.0.0.1:10249/proxyMode'], {
        reject: false,
        timeoutMs: 15_000,
      }),
  );
  const out = new Map<string, { mode: string | null; problem?: string }>();
  for (const a of answers) {
    if (a.error)
      out.set(a.node.name, {
        mode: null,
        problem: `could not ask kube-proxy: ${errorText(a.error)}`,
      });
    else if (a.value && a.value.exitCode !== 0)
      out.set(a.node.name, {
        mode: null,
        problem: 'kube-proxy does not answer on 127.0.0.1:10249 (not running, or crash-looping)',
      });
    else out.set(a.node.name, { mode: (a.value?.stdout ?? '').trim() || null });
  }
  return out;
}

async function webStatus(kube: Kube): Promise<WebStatus | null> {
  const r = await kube.kubectl(
    [
      '-n',
      WEB_NAMESPACE,
      'get',
      `deployment/${WEB_NAME}`,
      ...WEB_SERVICES.map((n) => `service/${n}`),
      '-o',
      'json',
      '--ignore-not-found',
    ],
    { reject: false },
  );
  if (r.exitCode !== 0) return null;
  if (!r.stdout.trim()) return { deployed: false };
  const list = JSON.parse(r.stdout) as { items?: Record<string, unknown>[] } & Record<
    string,
    unknown
  >;
  const items = (list.items ?? [list]) as {
    kind: string;
    metadata: { name: string };
    spec?: {
      type?: string;
      replicas?: number;
      clusterIP?: string;
      ports?: { port: number; protocol?: string; nodePort?: number }[];
    };
    status?: { readyReplicas?: number };
  }[];
  const deploy = items.find((i) => i.kind === 'Deployment');
  const svcs = items.filter((i) => i.kind === 'Service');
  if (!deploy && !svcs.length) return { deployed: false };
  const w: WebStatus = { deployed: true };
  if (deploy) {
    w.replicas = deploy.spec?.replicas ?? 0;
    w.ready = deploy.status?.readyReplicas ?? 0;
  }
  w.services = svcs.map((svc) => ({
    name: svc.metadata.name,
    type: svc.spec?.type ?? 'ClusterIP',
    clusterIP: svc.spec?.clusterIP ?? '',
    ports: (svc.spec?.ports ?? []).map(
      (p) =>
        `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${(p.protocol ?? 'TCP').toLowerCase()}`,
    ),
  }));
  return w;
}

export async function collectStatus(ctx: Context): Promise<Status> {
  const st: Status = {
    cluster: ctx.cluster,
    exists: false,
    kubernetes: null,
    configuredMode: null,
    nodes: [],
    web: null,
    lastCheck: readLastCheck(join(stateDir(ctx.env), 'last-check.json')),
    problems: [],
    notes: [],
  };
  const kube = await connect(ctx);
  let nodes;
  try {
    nodes = await kube.nodes();
  } catch (e) {
    if (e instanceof UserError && /does not exist/.test(e.message)) {
      st.problems.push(
        `there is no cluster "${ctx.cluster}": create it with \`make up\` (or \`make lab\`)`,
      );
      return st;
    }
    if (e instanceof CommandError && e.spawnError)
      throw new UserError(
        `${e.argv[0]} is not installed (neither in ./.bin nor on PATH)`,
        'run `make tools` (pinned, checksum-verified), then `proxylab doctor`',
      );
    throw e;
  }
  st.exists = true;
  st.nodes = nodes.map((n) => ({
    name: n.name,
    role: n.role,
    ready: null,
    kubeletVersion: null,
    proxyMode: null,
  }));

  // In parallel: the Node objects, kube-proxy's ConfigMap, /proxyMode on every node, the web sample.
  const [k8sNodes, cm, modes, web] = await Promise.all([
    kube.kubectl(['get', 'nodes', '-o', 'json'], { reject: false, timeoutMs: 20_000 }),
    kube.kubectl(
      [
        '-n',
        'kube-system',
        'get',
        'configmap',
        'kube-proxy',
        '-o',
        'jsonpath={.data.config\\.conf}',
      ],
      {
        reject: false,
        timeoutMs: 20_000,
      },
    ),
    kubeProxyModes(kube, nodes),
    webStatus(kube).catch(() => null),
  ]);

  if (k8sNodes.exitCode === 0) {
    const items = (JSON.parse(k8sNodes.stdout) as { items: K8sNode[] }).items;
    for (const n of st.nodes) {
      const o = items.find((i) => i.metadata.name === n.name);
      if (!o) continue;
      n.ready = o.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
      n.kubeletVersion = o.status?.nodeInfo?.kubeletVersion ?? null;
    }
    const versions = [
      ...new Set(st.nodes.map((n) => n.kubeletVersion).filter((v): v is string => !!v)),
    ];
    st.kubernetes = versions.join(', ') || null;
  } else {
    st.problems.push(
      `the API server does not answer (${k8sNodes.stderr.trim().split('\n').pop() ?? ''}): is ${ctx.kubeconfig} this cluster's kubeconfig?`,
    );
  }
  if (cm.exitCode === 0) {
    const m = /^mode:\s*["']?([\w-]*)["']?\s*$/m.exec(cm.stdout);
    st.configuredMode = m ? m[1]! : '';
  }
  const wanted = st.configuredMode === '' ? 'iptables' : st.configuredMode;
  for (const n of st.nodes) {
    const m = modes.get(n.name);
    n.proxyMode = m?.mode ?? null;
    if (m?.problem) n.problem = m.problem;
    else if (wanted && n.proxyMode && n.proxyMode !== wanted)
      n.problem = `runs ${n.proxyMode} but the ConfigMap asks for ${wanted}: restart kube-proxy (\`make ${wanted}\`)`;
    if (n.ready === false) n.problem = n.problem ? `NotReady; ${n.problem}` : 'NotReady';
    if (n.problem) st.problems.push(`${n.name}: ${n.problem}`);
  }
  const minor = Number(/^v?1\.(\d+)/.exec(st.kubernetes ?? '')?.[1] ?? NaN);
  if (minor >= 35 && st.nodes.some((n) => n.proxyMode === 'ipvs'))
    st.notes.push(
      'ipvs mode is deprecated since Kubernetes 1.35 (kube-proxy logs it); nftables is its successor: `make nftables`',
    );
  st.web = web;
  if (web && !web.deployed) st.problems.push('the web sample is not deployed: `make web`');
  else if (web && web.ready !== undefined && web.replicas !== undefined && web.ready < web.replicas)
    st.problems.push(
      `the web sample has ${web.ready}/${web.replicas} pods ready: \`kubectl get pods -l app=${WEB_NAME} -o wide\``,
    );
  return st;
}

function ago(iso: string, now = Date.now()): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

export function formatStatus(st: Status, now = Date.now()): string {
  const L: string[] = [];
  const row = (k: string, v: string) => L.push(`${k.padEnd(12)}${v}`);
  if (!st.exists) {
    row('Cluster', `${st.cluster}: not found`);
  } else {
    const cp = st.nodes.filter((n) => n.role === 'control-plane').length;
    const ready = st.nodes.filter((n) => n.ready).length;
    row(
      'Cluster',
      `${st.cluster}: ${st.nodes.length} nodes (${cp} control plane, ${st.nodes.length - cp} worker${st.nodes.length - cp === 1 ? '' : 's'}), ${ready}/${st.nodes.length} Ready`,
    );
    row('Kubernetes', st.kubernetes ?? '(unknown)');
    const conf =
      st.configuredMode === null
        ? '(ConfigMap not readable)'
        : st.configuredMode === ''
          ? 'iptables (mode: "" in the ConfigMap)'
          : st.configuredMode;
    row('kube-proxy', `configured: ${conf}`);
    const w = Math.max(...st.nodes.map((n) => n.name.length));
    for (const n of st.nodes) {
      const mark = n.problem ? '✘' : '✔';
      L.push(
        `${''.padEnd(12)}${mark} ${n.name.padEnd(w)}  ${(n.proxyMode ?? '?').padEnd(9)}${n.problem ? `  ${n.problem}` : ''}`.trimEnd(),
      );
    }
    if (!st.web) row('Web sample', '(could not ask the API server)');
    else if (!st.web.deployed) row('Web sample', 'not deployed (`make web`)');
    else
      row(
        'Web sample',
        [
          st.web.replicas !== undefined
            ? `${st.web.ready}/${st.web.replicas} pods ready`
            : 'no deployment',
          ...(st.web.services?.length
            ? st.web.services.map((v) => `${v.name} ${v.type} ${v.clusterIP} ${v.ports.join(', ')}`)
            : ['no service']),
        ].join('; '),
      );
  }
  const c = st.lastCheck;
  if (!c) row('Last check', 'none yet (`make check`)');
  else {
    row(
      'Last check',
      `${c.ok ? '✔' : '✘'} ${c.lab}: ${c.passed}/${c.total} steps passed${c.failed ? `, ${c.failed} failed` : ''}${c.finishedAt ? ` (${ago(c.finishedAt, now)})` : ''}`,
    );
    for (const f of c.failedSteps) L.push(`${''.padEnd(12)}  ✘ ${f}`);
  }
  for (const n of st.notes) L.push(`${''.padEnd(12)}note: ${n}`);
  if (st.problems.length) {
    L.push('', 'To look at:');
    for (const p of st.problems) L.push(`  → ${p}`);
  }
  return L.join('\n');
}

export default defineCommand({
  name: 'status',
  summary: 'cluster, version, mode per node, web sample, last check',
  usage: 'proxylab status [--json]',
  details: `
Shows, in one screen: the cluster and its nodes (Ready or not), the Kubernetes version,
the mode kube-proxy asks for in its ConfigMap and the mode it really runs in on each node
(asked on 127.0.0.1:10249/proxyMode inside the node), the web sample (pods ready, service
address) and the result of the last \`proxylab check\`, with what to look at.

Exit code: 0 when the cluster is there and every node is Ready and runs the configured
mode; 1 otherwise (the output says why). The web sample and the last check are shown but
do not change the exit code.

Examples:
  proxylab status
  proxylab status --json | jq '.nodes[].proxyMode'`,
  json: true,
  async run(ctx) {
    const st = await collectStatus(ctx);
    if (ctx.json) ctx.io.out(JSON.stringify(st, null, 2));
    else ctx.io.out(formatStatus(st));
    const healthy = st.exists && st.nodes.every((n) => !n.problem) && st.nodes.length > 0;
    return healthy ? EXIT.ok : EXIT.failed;
  },
});
