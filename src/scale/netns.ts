/**
 * The native datapath lab for `proxylab scale --bare`: network namespaces on this kernel.
 *
 *   client ns (10.240.0.2) ──veth── lb ns (10.240.0.1 | br0 10.244.0.1) ──bridge── server ns ×2
 *                                                                          10.244.0.2, 10.244.0.3
 *
 * The rules under test live in the lb namespace (it plays the node running kube-proxy);
 * the client reaches a service VIP (10.100.x.y) through its default route to lb, the nat
 * rules there DNAT it to a server. Nothing has a route out of these namespaces, and deleting
 * the namespaces deletes every rule, set and address the run created.
 */
import { existsSync, readdirSync } from 'node:fs';
import { run, type RunOptions, type RunResult } from '../core/exec.js';
import { CommandError, UserError } from '../core/errors.js';
import { SERVER_SOURCE } from './agent.js';
import type { Endpoint } from './generate.js';

export const NS_PREFIX = 'plscale';
export const SERVERS: readonly Endpoint[] = [
  { ip: '10.244.0.2', port: 8080 },
  { ip: '10.244.0.3', port: 8080 },
];

export interface NetnsLab {
  lb: string;
  client: string;
  servers: string[];
  /** Run argv inside namespace `ns`. */
  exec(ns: string, argv: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** Delete the namespaces (and with them every rule) and stop the servers. Idempotent. */
  destroy(): Promise<void>;
}

function nsExec(ns: string, argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return run(['ip', 'netns', 'exec', ns, ...argv], opts);
}

async function nsExists(name: string): Promise<boolean> {
  return existsSync(`/run/netns/${name}`) || existsSync(`/var/run/netns/${name}`);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Namespaces left by an earlier run that was killed hard (its pid is gone). */
export async function sweepStale(): Promise<string[]> {
  let names: string[] = [];
  try {
    names = readdirSync('/run/netns');
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of names) {
    const m = new RegExp(`^${NS_PREFIX}-(\\d+)-`).exec(n);
    if (!m || pidAlive(Number(m[1]))) continue;
    await run(['ip', 'netns', 'del', n], { reject: false });
    removed.push(n);
  }
  return removed;
}

export interface CreateLabOptions {
  /** Distinguishes labs of one process (e.g. the mode and size). */
  tag: string;
  signal?: AbortSignal;
}

export async function createLab(o: CreateLabOptions): Promise<NetnsLab> {
  const base = `${NS_PREFIX}-${process.pid}-${o.tag}`;
  const lb = `${base}-lb`;
  const client = `${base}-cl`;
  const servers = SERVERS.map((_, i) => `${base}-s${i + 1}`);
  const all = [lb, client, ...servers];
  const stoppers: AbortController[] = [];
  const running: Promise<unknown>[] = [];
  let destroyed = false;

  const destroy = async () => {
    if (destroyed) return;
    destroyed = true;
    for (const s of stoppers) s.abort();
    await Promise.allSettled(running);
    for (const ns of all)
      if (await nsExists(ns)) await run(['ip', 'netns', 'del', ns], { reject: false });
  };

  const ip = (argv: string[]) => run(['ip', ...argv], { signal: o.signal, timeoutMs: 30_000 });
  try {
    for (const ns of all) await ip(['netns', 'add', ns]);
    // client <-> lb
    await ip([
      'link',
      'add',
      'eth0',
      'netns',
      client,
      'type',
      'veth',
      'peer',
      'name',
      'to-client',
      'netns',
      lb,
    ]);
    await ip(['-n', lb, 'link', 'add', 'br0', 'type', 'bridge']);
    await ip(['-n', lb, 'addr', 'add', '10.240.0.1/24', 'dev', 'to-client']);
    await ip(['-n', lb, 'addr', 'add', '10.244.0.1/24', 'dev', 'br0']);
    await ip(['-n', client, 'addr', 'add', '10.240.0.2/24', 'dev', 'eth0']);
    for (const ns of all) await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    await ip(['-n', client, 'link', 'set', 'eth0', 'up']);
    await ip(['-n', lb, 'link', 'set', 'to-client', 'up']);
    await ip(['-n', lb, 'link', 'set', 'br0', 'up']);
    await ip(['-n', client, 'route', 'add', 'default', 'via', '10.240.0.1']);
    for (let i = 0; i < servers.length; i++) {
      const ns = servers[i]!;
      const port = `to-s${i + 1}`;
      await ip([
        'link',
        'add',
        'eth0',
        'netns',
        ns,
        'type',
        'veth',
        'peer',
        'name',
        port,
        'netns',
        lb,
      ]);
      await ip(['-n', lb, 'link', 'set', port, 'master', 'br0', 'up']);
      await ip(['-n', ns, 'addr', 'add', `${SERVERS[i]!.ip}/24`, 'dev', 'eth0']);
      await ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
      await ip(['-n', ns, 'route', 'add', 'default', 'via', '10.244.0.1']);
    }
    await nsExec(lb, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'], { signal: o.signal });
    // The servers: one tiny TCP/HTTP server per server namespace, stopped by destroy().
    for (let i = 0; i < servers.length; i++) {
      const stop = new AbortController();
      stoppers.push(stop);
      let readyResolve!: () => void;
      const ready = new Promise<void>((r) => (readyResolve = r));
      const p = nsExec(
        servers[i]!,
        [process.execPath, '-e', SERVER_SOURCE, String(SERVERS[i]!.port), `server-${i + 1}`],
        {
          signal: stop.signal,
          timeoutMs: 6 * 3600_000,
          onOutput: (chunk) => {
            if (chunk.includes('ready')) readyResolve();
          },
        },
      );
      running.push(p.catch(() => undefined));
      const died = p.then(
        () => Promise.reject(new Error('exited early')),
        (e: unknown) => Promise.reject(e instanceof Error ? e : new Error(String(e))),
      );
      const limit = new Promise<never>((_, rej) =>
        setTimeout(() => rej(new Error('not ready within 15 s')), 15_000).unref(),
      );
      await Promise.race([ready, died, limit]);
    }
  } catch (e) {
    await destroy();
    if (e instanceof CommandError && e.signal === 'abort') throw e;
    const why = e instanceof CommandError ? e.message : e instanceof Error ? e.message : String(e);
    throw new UserError(
      `could not build the network namespaces for the scale lab: ${why}`,
      'This needs root (or CAP_NET_ADMIN) and a kernel with network namespaces, veth and bridge; run `proxylab doctor`.',
      1,
      { cause: e },
    );
  }
  return { lb, client, servers, exec: nsExec, destroy };
}
