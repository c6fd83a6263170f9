/**
 * kubectl, always with the lab's kubeconfig: proxylab never falls back to ~/.kube/config.
 */
import { run, type RunResult } from '../core/exec.js';
import { resolveTool } from './tools.js';

export interface KubectlRunOptions {
  input?: string;
  timeoutMs?: number;
  reject?: boolean;
  signal?: AbortSignal;
}

export class Kubectl {
  readonly bin: string;
  constructor(
    readonly kubeconfig: string,
    env: NodeJS.ProcessEnv,
    private readonly signal?: AbortSignal,
  ) {
    this.bin = resolveTool('kubectl', { env });
  }

  argv(args: readonly string[]): string[] {
    return [this.bin, '--kubeconfig', this.kubeconfig, ...args];
  }

  run(args: readonly string[], o: KubectlRunOptions = {}): Promise<RunResult> {
    return run(this.argv(args), {
      input: o.input,
      timeoutMs: o.timeoutMs ?? 60_000,
      reject: o.reject,
      signal: o.signal ?? this.signal,
    });
  }

  async json<T>(args: readonly string[], o: KubectlRunOptions = {}): Promise<T> {
    const r = await this.run([...args, '-o', 'json'], o);
    return JSON.parse(r.stdout) as T;
  }
}

export interface NodeList {
  items: Array<{
    metadata: { name: string; labels?: Record<string, string> };
    status: {
      conditions?: Array<{ type: string; status: string }>;
      nodeInfo?: { kubeletVersion?: string };
    };
  }>;
}

export function readyNodes(list: NodeList): { ready: string[]; notReady: string[] } {
  const ready: string[] = [];
  const notReady: string[] = [];
  for (const n of list.items) {
    (n.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
      ? ready
      : notReady
    ).push(n.metadata.name);
  }
  return { ready, notReady };
}

/** kube-proxy's configured mode from its ConfigMap's config.conf ("" means iptables). */
export function modeFromConfigConf(text: string): string {
  const m = /^mode:\s*"?([a-z]*)"?\s*$/m.exec(text);
  return m?.[1] ? m[1] : 'iptables';
}
