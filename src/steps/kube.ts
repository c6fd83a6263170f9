/**
 * What the lab steps need from a cluster: kubectl with the lab's kubeconfig, the node list,
 * and a command inside a node. Built on the Provider seam (src/cluster/provider.ts) and
 * src/core/exec.ts; argv arrays only.
 */
import type { RunResult } from '../core/exec.js';
import { KindProvider } from '../cluster/kind.js';
import { Kubectl } from '../cluster/kubectl.js';
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
  /** The cluster's nodes (asked once, then remembered); `signal` as in KubectlOptions. */
  nodes(signal?: AbortSignal): Promise<NodeInfo[]>;
  exec(node: string, argv: readonly string[], opts?: NodeExecOptions): Promise<RunResult>;
  /** Minor version of the cluster's Kubernetes (e.g. 35). */
  k8sMinor(): Promise<number>;
}

export async function connect(ctx: Context): Promise<Kube> {
  const provider = new KindProvider(ctx.env, ctx.signal);
  const kc = new Kubectl(ctx.kubeconfig, ctx.env, ctx.signal);
  let minor: number | undefined;
  let nodeCache: NodeInfo[] | undefined;
  const kube: Kube = {
    cluster: ctx.cluster,
    kubeconfig: ctx.kubeconfig,
    kubectl(args, opts = {}) {
      return kc.run(args, {
        input: opts.input,
        timeoutMs: opts.timeoutMs ?? 60_000,
        reject: opts.reject,
        signal: opts.signal ?? ctx.signal,
      });
    },
    async nodes(signal) {
      if (nodeCache) return nodeCache;
      const found = (await provider.nodes(ctx.cluster, signal ?? ctx.signal)).filter(
        (n) => !/^No kind nodes/.test(n.name),
      );
      if (!found.length) {
        throw new UserError(
          `cluster "${ctx.cluster}" does not exist (no kind nodes found)`,
          'create it with `make up` (or `proxylab up`)',
        );
      }
      nodeCache = [...found].sort((a, b) => a.name.localeCompare(b.name));
      return nodeCache;
    },
    exec(node, argv, opts = {}) {
      return provider.exec(node, argv, {
        ...opts,
        timeoutMs: opts.timeoutMs ?? 60_000,
        signal: opts.signal ?? ctx.signal,
      });
    },
    async k8sMinor() {
      if (minor !== undefined) return minor;
      const r = await kube.kubectl(['version', '-o', 'json']);
      const v =
        (JSON.parse(r.stdout) as { serverVersion?: { gitVersion?: string } }).serverVersion
          ?.gitVersion ?? '';
      const m = /^v?1\.(\d+)/.exec(v);
      if (!m)
        throw new UserError(
          `could not read the cluster's Kubernetes version (got "${v}")`,
          'check `kubectl version`',
        );
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
