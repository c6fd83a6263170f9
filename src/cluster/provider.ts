/**
 * The one interface behind which the container runtime and the cluster tool sit
 * (kind on Docker today; shaped so kind on podman or nerdctl could follow).
 * Everything proxylab does to a node goes through `exec` with an argv array.
 */
import type { RunResult } from '../core/exec.js';

export type NodeRole = 'control-plane' | 'worker';

export interface NodeInfo {
  /** Container name, e.g. proxylab-control-plane, proxylab-worker2. */
  name: string;
  role: NodeRole;
}

export interface CreateOptions {
  cluster: string;
  /** Path of the kind cluster config file to pass to `kind create cluster --config`. */
  configFile: string;
  /** Node image pinned by digest, e.g. kindest/node:v1.33.1@sha256:... */
  image: string;
  kubeconfig: string;
  /** Seconds kind waits for the control plane (kind's --wait). */
  waitSeconds?: number;
  signal?: AbortSignal;
  /** Progress: chunks of the tool's output as they arrive. */
  onOutput?: (chunk: string) => void;
}

export interface NodeExecOptions {
  input?: string;
  timeoutMs?: number;
  /** Return a non-zero exit instead of throwing. */
  reject?: boolean;
  signal?: AbortSignal;
}

export interface EngineStatus {
  ok: boolean;
  /** e.g. "Docker Engine 28.2.2" or the reason it is not reachable. */
  detail: string;
}

export interface Provider {
  /** e.g. "kind (docker)". */
  readonly name: string;
  /** Is the container engine (not just its client) reachable? */
  engine(): Promise<EngineStatus>;
  listClusters(): Promise<string[]>;
  create(opts: CreateOptions): Promise<void>;
  delete(cluster: string, kubeconfig: string): Promise<void>;
  /** `signal` overrides the provider's own (a restore after Ctrl-C runs on a fresh one). */
  nodes(cluster: string, signal?: AbortSignal): Promise<NodeInfo[]>;
  /** Run argv inside a node container (as root). */
  exec(node: string, argv: readonly string[], opts?: NodeExecOptions): Promise<RunResult>;
  /** Write the cluster's kubeconfig to a file (never ~/.kube/config unless asked). */
  writeKubeconfig(cluster: string, file: string): Promise<void>;
  /** `kind export logs` into dir. */
  exportLogs(cluster: string, dir: string): Promise<void>;
}
