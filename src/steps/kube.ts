/**
 * What the lab steps need from a cluster: kubectl with the lab's kubeconfig, the node list,
 * and a command inside a node. Built on the Provider seam (src/cluster/provider.ts) and
 * src/core/exec.ts; argv arrays only.
 */
import { run, type RunResult } from '../core/exec.js';
import { CommandError, UserError } from '../core/errors.js';
import type { Context } from '../core/context.js';
import type { NodeExecOptions, NodeInfo } from '../cluster/provider.js';

export interface KubectlOptions {
  input?: string;
  timeoutMs?: number;
  reject?: boolean;
  signal?: AbortSignal;
}

export interface Kube {
  cluster: string;
  kubeconfig: string;
  kubectl(args: readonly string[], opts?: KubectlOptions): Promise<RunResult>;
  nodes(): Promise<NodeInfo[]>;
  exec(node: string, argv: readonly string[], opts?: NodeExecOptions): Promise<RunResult>;
  /** Minor version of the cluster's Kubernetes (e.g. 35). */
  k8sMinor(): Promise<number>;
}

/** Where kind and kubectl come from: the pinned ./.bin copies, or PATH (PROXYLAB_TOOLS=path). */
async function toolPath(ctx: Context, tool: 'kind' | 'kubectl'): Promise<string> {
  if (ctx.env.PROXYLAB_TOOLS === 'path') return tool;
  try {
    const spec = '../cluster/tools.js';
    const mod = (await import(spec)) as Record<string, unknown>;
    const f = mod.resolveTool ?? mod.toolPath ?? mod.binary;
    if (typeof f === 'function') {
      const r = (await (f as (t: string, c: unknown) => unknown)(tool, ctx)) as unknown;
      if (typeof r === 'string') return r;
      if (r && typeof r === 'object' && typeof (r as { path?: unknown }).path === 'string') return (r as { path: string }).path;
    }
  } catch {
    /* the foundation's resolver is not there: fall back to PATH */
  }
  return tool;
}

function roleOf(name: string, cluster: string): NodeInfo['role'] {
  return name === `${cluster}-control-plane` || /-control-plane\d*$/.test(name) ? 'control-plane' : 'worker';
}

export async function connect(ctx: Context): Promise<Kube> {
  const kubectlBin = await toolPath(ctx, 'kubectl');
  const kindBin = await toolPath(ctx, 'kind');
  let minor: number | undefined;
  let nodeCache: NodeInfo[] | undefined;
  const kube: Kube = {
    cluster: ctx.cluster,
    kubeconfig: ctx.kubeconfig,
    kubectl(args, opts = {}) {
      return run([kubectlBin, '--kubeconfig', ctx.kubeconfig, ...args], {
        input: opts.input,
        timeoutMs: opts.timeoutMs ?? 60_000,
        reject: opts.reject,
        signal: opts.signal ?? ctx.signal,
      });
    },
    async nodes() {
      if (nodeCache) return nodeCache;
      let out: string;
      try {
        out = (await run([kindBin, 'get', 'nodes', '--name', ctx.cluster], { timeoutMs: 30_000, signal: ctx.signal })).stdout;
      } catch (e) {
        if (e instanceof CommandError && /Cannot connect to the Docker daemon|docker daemon/i.test(e.stderr)) {
          throw new UserError('the Docker engine is not reachable', 'start Docker, then run `proxylab doctor`');
        }
        throw e;
      }
      const names = out
        .split('\n')
        .map((s) => s.trim())
        .filter((s) => s && !/^No kind nodes/.test(s));
      if (!names.length) {
        throw new UserError(`cluster "${ctx.cluster}" does not exist (no kind nodes found)`, 'create it with `make up` (or `proxylab up`)');
      }
      nodeCache = names.sort().map((name) => ({ name, role: roleOf(name, ctx.cluster) }));
      return nodeCache;
    },
    exec(node, argv, opts = {}) {
      const args = ['docker', 'exec', ...(opts.input !== undefined ? ['-i'] : []), node, ...argv];
      return run(args, { input: opts.input, timeoutMs: opts.timeoutMs ?? 60_000, reject: opts.reject, signal: opts.signal ?? ctx.signal });
    },
    async k8sMinor() {
      if (minor !== undefined) return minor;
      const r = await kube.kubectl(['version', '-o', 'json']);
      const v = (JSON.parse(r.stdout) as { serverVersion?: { gitVersion?: string } }).serverVersion?.gitVersion ?? '';
      const m = /^v?1\.(\d+)/.exec(v);
      if (!m) throw new UserError(`could not read the cluster's Kubernetes version (got "${v}")`, 'check `kubectl version`');
      minor = Number(m[1]);
      return minor;
    },
  };
  return kube;
}

/** Run fn on every node in parallel; collect per-node results and errors (never half-silent). */
export async function onEveryNode<T>(
  nodes: readonly NodeInfo[],
  fn: (n: NodeInfo) => Promise<T>,
): Promise<{ node: NodeInfo; value?: T; error?: unknown }[]> {
  return Promise.all(
    nodes.map(async (node) => {
      try {
        return { node, value: await fn(node) };
      } catch (error) {
        return { node, error };
      }
    }),
  );
}

export function errorText(e: unknown): string {
  if (e instanceof CommandError) {
    const t = e.stderrTail.trim().split('\n').pop() ?? '';
    return t || e.message;
  }
  return e instanceof Error ? e.message : String(e);
}
