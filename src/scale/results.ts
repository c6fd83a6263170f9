/** The JSON written by `proxylab scale` (both --bare and cluster runs), and the machine it ran on. */
import { cpus, loadavg, release, totalmem } from 'node:os';
import { run } from '../core/exec.js';
import type { LatencySummary } from './agent.js';
import type { Counts, Mode } from './generate.js';

export const RESULT_KIND = 'proxylab-scale';
export const RESULT_VERSION = 1;

export interface Machine {
  cores: number;
  /** 1-minute load average when the run started and ended: above `cores` the machine was busy. */
  loadavg?: { start: number; end?: number };
  cpu: string;
  memGiB: number;
  kernel: string;
  node: string;
  /** Where the rules were programmed: this kernel ("native"), a QEMU guest ("vm"), or kind nodes. */
  backend: 'native' | 'vm' | 'native+vm' | 'kind';
  tools: Record<string, string>;
}

export interface BareMeasurement {
  mode: Mode;
  services: number;
  /** Where this row was measured (absent: native). VM rows compare only with VM rows. */
  backend?: 'native' | 'vm';
  /** Wall time of the full restore(s) a fresh node needs, in ms (programs started and finished). */
  programMs: number;
  /** CPU time (user + system) of those programs, in ms; absent in the VM. */
  programCpuMs?: number;
  /** Median wall time of adding one service on top of `services`, in ms. */
  updateMs: number;
  /** Median CPU time of those updates, in ms; absent in the VM. */
  updateCpuMs?: number;
  updateSamplesMs: number[];
  /** Counts written by the generator. */
  expected: Counts;
  /** Counts read back from the kernel after the restore. */
  kernel: Partial<Counts>;
  /** First-packet latency through the VIPs of the first, last and most recently added service. */
  latency: LatencySummary[];
}

export interface ClusterMeasurement {
  mode: Mode;
  services: number;
  /** Time to create the Services + EndpointSlices with kubectl, in ms. */
  applyMs: number;
  /** kube-proxy's own histogram (seconds): count, sum, mean, and buckets-based p50/p99. */
  syncProxyRules: {
    count: number;
    sumSeconds: number;
    meanSeconds: number | null;
    p50Seconds: number | null;
    p99Seconds: number | null;
  };
  /** Network programming latency where kube-proxy exposes it (p50/p99, seconds). */
  networkProgramming: {
    count: number;
    p50Seconds: number | null;
    p99Seconds: number | null;
  } | null;
  /** What one node holds afterwards. */
  node: string;
  counts: Partial<Counts>;
  latency: LatencySummary | null;
}

export interface Skipped {
  mode: Mode;
  reason: string;
}

export interface ScaleReport {
  kind: typeof RESULT_KIND;
  version: typeof RESULT_VERSION;
  target: 'bare' | 'cluster';
  machine: Machine;
  method: string[];
  startedAt: string;
  finishedAt: string;
  modes: Mode[];
  sizes: number[];
  bare?: BareMeasurement[];
  /** The guest, when some rows were measured in the bare lab's micro-VM. */
  vm?: { kernel: string; bootMs: number; describe: string };
  /** Median wall time of starting an empty program in the lab namespace (`ip netns exec NS true`), per backend. */
  spawnMs?: Partial<Record<'native' | 'vm', number>>;
  cluster?: ClusterMeasurement[];
  skipped: Skipped[];
}

async function version(argv: string[]): Promise<string | null> {
  try {
    const r = await run(argv, { reject: false, timeoutMs: 10_000 });
    const line = `${r.stdout}\n${r.stderr}`.split('\n').find((l) => l.trim());
    return r.exitCode === 0 && line ? line.trim() : null;
  } catch {
    return null;
  }
}

export async function describeMachine(
  backend: Machine['backend'],
  toolArgv: Record<string, string[]>,
): Promise<Machine> {
  const c = cpus();
  const tools: Record<string, string> = {};
  for (const [name, argv] of Object.entries(toolArgv)) {
    const v = await version(argv);
    if (v) tools[name] = v;
  }
  return {
    cores: c.length,
    loadavg: { start: +loadavg()[0]!.toFixed(2) },
    cpu: c[0]?.model.trim() ?? 'unknown',
    memGiB: +(totalmem() / 2 ** 30).toFixed(1),
    kernel: release(),
    node: process.version,
    backend,
    tools,
  };
}
