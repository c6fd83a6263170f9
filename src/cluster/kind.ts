/**
 * The kind + Docker provider: clusters and nodes are kind's, node commands are `docker exec`.
 * Every program runs through src/core/exec.ts with argv arrays.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { run, type RunResult } from '../core/exec.js';
import { CommandError, UserError } from '../core/errors.js';
import type {
  CreateOptions,
  EngineStatus,
  NodeExecOptions,
  NodeInfo,
  Provider,
} from './provider.js';
import { resolveTool } from './tools.js';

export const ENGINE_DOWN_RE =
  /Cannot connect to the Docker daemon|Is the docker daemon running|error during connect|docker daemon is not running/i;

export function engineDownError(): UserError {
  return new UserError(
    'the Docker engine is not running (the docker client cannot reach it)',
    'start it — `sudo systemctl start docker` on Linux, or open Docker Desktop — then run `proxylab doctor`',
  );
}

/** Turn "cannot reach the engine" failures into the friendly error. */
function translate(e: unknown): never {
  if (e instanceof CommandError && ENGINE_DOWN_RE.test(e.stderr)) throw engineDownError();
  throw e;
}

export function roleOf(nodeName: string): NodeInfo['role'] {
  return /-control-plane\d*$/.test(nodeName) ? 'control-plane' : 'worker';
}

export class KindProvider implements Provider {
  readonly name = 'kind (docker)';
  private readonly docker: string;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly signal?: AbortSignal,
  ) {
    this.docker = resolveTool('docker', { env });
  }

  /** Resolved at each use: `proxylab up` may put the pinned kind in ./.bin after start. */
  private get kind(): string {
    return resolveTool('kind', { env: this.env });
  }

  async engine(): Promise<EngineStatus> {
    try {
      const r = await run([this.docker, 'info', '--format', '{{.ServerVersion}}'], {
        timeoutMs: 20_000,
        reject: false,
        signal: this.signal,
      });
      const v = r.stdout.trim();
      if (r.exitCode === 0 && v && !v.includes('<no value>'))
        return { ok: true, detail: `Docker Engine ${v}` };
      const why = r.stderr.trim().split('\n').pop() ?? '';
      return {
        ok: false,
        detail: ENGINE_DOWN_RE.test(r.stderr)
          ? 'not running: the docker client cannot connect to the Docker daemon'
          : `not reachable: ${why || `docker info exited ${r.exitCode}`}`,
      };
    } catch (e) {
      if (e instanceof CommandError && e.spawnError)
        return { ok: false, detail: 'not usable: the docker client is not installed' };
      if (e instanceof CommandError && e.timedOut)
        return { ok: false, detail: 'not answering: `docker info` timed out after 20 s' };
      throw e;
    }
  }

  async listClusters(): Promise<string[]> {
    try {
      const r = await run([this.kind, 'get', 'clusters'], {
        timeoutMs: 30_000,
        signal: this.signal,
      });
      return r.stdout
        .split('\n')
        .map((s) => s.trim())
        .filter(Boolean);
    } catch (e) {
      return translate(e);
    }
  }

  async create(o: CreateOptions): Promise<void> {
    const argv = [
      this.kind,
      'create',
      'cluster',
      '--name',
      o.cluster,
      '--config',
      o.configFile,
      '--image',
      o.image,
      '--kubeconfig',
      o.kubeconfig,
    ];
    if (o.waitSeconds) argv.push('--wait', `${o.waitSeconds}s`);
    try {
      await run(argv, {
        timeoutMs: ((o.waitSeconds ?? 0) + 600) * 1000,
        signal: o.signal ?? this.signal,
        onOutput: o.onOutput,
      });
    } catch (e) {
      translate(e);
    }
  }

  async delete(cluster: string, kubeconfig: string): Promise<void> {
    try {
      await run([this.kind, 'delete', 'cluster', '--name', cluster, '--kubeconfig', kubeconfig], {
        timeoutMs: 180_000,
      });
    } catch (e) {
      translate(e);
    }
  }

  async nodes(cluster: string, signal = this.signal): Promise<NodeInfo[]> {
    let out: string;
    try {
      out = (
        await run([this.kind, 'get', 'nodes', '--name', cluster], {
          timeoutMs: 30_000,
          signal,
        })
      ).stdout;
    } catch (e) {
      return translate(e);
    }
    return out
      .split('\n')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((name) => ({ name, role: roleOf(name) }));
  }

  async exec(node: string, argv: readonly string[], o: NodeExecOptions = {}): Promise<RunResult> {
    const args = [this.docker, 'exec', ...(o.input !== undefined ? ['-i'] : []), node, ...argv];
    try {
      return await run(args, {
        input: o.input,
        timeoutMs: o.timeoutMs ?? 60_000,
        reject: o.reject,
        signal: o.signal ?? this.signal,
      });
    } catch (e) {
      return translate(e);
    }
  }

  async writeKubeconfig(cluster: string, file: string): Promise<void> {
    let text: string;
    try {
      text = (
        await run([this.kind, 'get', 'kubeconfig', '--name', cluster], {
          timeoutMs: 30_000,
          signal: this.signal,
        })
      ).stdout;
    } catch (e) {
      return translate(e);
    }
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text, { mode: 0o600 });
    chmodSync(file, 0o600); // the mode above applies only to a new file
  }

  async exportLogs(cluster: string, dir: string): Promise<void> {
    try {
      await run([this.kind, 'export', 'logs', dir, '--name', cluster], {
        timeoutMs: 300_000,
        signal: this.signal,
      });
    } catch (e) {
      translate(e);
    }
  }

  /** The Kubernetes version inside a node (kind writes it to /kind/version). */
  async nodeVersion(node: string): Promise<string | undefined> {
    const r = await this.exec(node, ['cat', '/kind/version'], { reject: false, timeoutMs: 20_000 });
    return r.exitCode === 0 ? r.stdout.trim() : undefined;
  }
}
