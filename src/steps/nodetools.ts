/**
 * ipvsadm, ipset and conntrack inside every kind node (kind's image has none of the first
 * two). The first node that downloads them leaves the .deb files in .cache/node-debs/; every
 * other node (and the next cluster) installs from there with dpkg, without the network.
 */
import { mkdirSync, readdirSync, renameSync, rmSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../core/exec.js';
import { paths } from '../core/paths.js';
import { resolveTool } from '../cluster/tools.js';
import { errorText, onEveryNode, type Kube } from './kube.js';
import type { NodeInfo } from '../cluster/provider.js';

export const NODE_PACKAGES = ['ipvsadm', 'ipset', 'conntrack'] as const;
const NODE_DEB_DIR = '/var/cache/proxylab-debs';

/** Constant script (never built from input): download into our own archive dir (kept), install. */
export const APT_SCRIPT = [
  'set -e',
  `mkdir -p ${NODE_DEB_DIR}/partial`,
  'export DEBIAN_FRONTEND=noninteractive',
  'apt-get update -qq',
  `apt-get install -y -qq --no-install-recommends -o Dir::Cache::Archives=${NODE_DEB_DIR} "$@"`,
].join('\n');

export function cacheDir(env: NodeJS.ProcessEnv): string {
  return env.PROXYLAB_DEB_CACHE || join(paths.cache, 'node-debs');
}

export interface NodeToolsResult {
  node: string;
  status: 'present' | 'installed-from-cache' | 'installed-from-network' | 'failed';
  installed: string[];
  error?: string;
}

/** Which of the packages are missing in the node: one `dpkg-query` call. */
async function missingIn(kube: Kube, node: string, signal?: AbortSignal): Promise<string[]> {
  const r = await kube.exec(
    node,
    ['dpkg-query', '-W', '-f', '${Status} ${Package}\\n', ...NODE_PACKAGES],
    { reject: false, signal },
  );
  const ok = new Set(
    r.stdout
      .split('\n')
      .filter((l) => l.startsWith('install ok installed '))
      .map((l) => l.split(' ').pop()!),
  );
  return NODE_PACKAGES.filter((p) => !ok.has(p));
}

function cachedDebs(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.deb'))
      .sort();
  } catch {
    return [];
  }
}

function cacheCovers(dir: string, pkgs: readonly string[]): boolean {
  const debs = cachedDebs(dir);
  return pkgs.every((p) => debs.some((d) => d.startsWith(`${p}_`)));
}

async function installFromCache(
  kube: Kube,
  node: string,
  dir: string,
  signal?: AbortSignal,
): Promise<void> {
  const debs = cachedDebs(dir);
  // `docker cp DIR/. node:/tmp/proxylab-debs` creates the target directory itself
  await run([resolveTool('docker'), 'cp', `${dir}/.`, `${node}:/tmp/proxylab-debs`], {
    signal,
    timeoutMs: 120_000,
  });
  await kube.exec(node, ['dpkg', '-i', ...debs.map((d) => `/tmp/proxylab-debs/${d}`)], {
    signal,
    timeoutMs: 300_000,
  });
}

async function installFromNetwork(
  kube: Kube,
  node: string,
  pkgs: string[],
  dir: string,
  signal?: AbortSignal,
): Promise<void> {
  await kube.exec(node, ['sh', '-c', APT_SCRIPT, 'sh', ...pkgs], { signal, timeoutMs: 600_000 });
  // keep what apt downloaded for the next node / cluster
  mkdirSync(dir, { recursive: true });
  const tmp = mkdtempSync(join(dir, '.incoming-'));
  try {
    await run([resolveTool('docker'), 'cp', `${node}:${NODE_DEB_DIR}/.`, tmp], {
      signal,
      timeoutMs: 120_000,
    });
    for (const f of readdirSync(tmp))
      if (f.endsWith('.deb')) renameSync(join(tmp, f), join(dir, f));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export async function ensureNodeTools(
  kube: Kube,
  env: NodeJS.ProcessEnv,
  opts: { signal?: AbortSignal; progress?: (t: string) => void } = {},
): Promise<NodeToolsResult[]> {
  const nodes = await kube.nodes();
  const dir = cacheDir(env);
  const missing = new Map<string, string[]>();
  const results = new Map<string, NodeToolsResult>();
  const checks = await onEveryNode(nodes, (n) => missingIn(kube, n.name, opts.signal));
  for (const c of checks) {
    if (c.error)
      results.set(c.node.name, {
        node: c.node.name,
        status: 'failed',
        installed: [],
        error: errorText(c.error),
      });
    else if (!c.value!.length)
      results.set(c.node.name, { node: c.node.name, status: 'present', installed: [] });
    else missing.set(c.node.name, c.value!);
  }
  const todo = nodes.filter((n) => missing.has(n.name));
  const install = async (n: NodeInfo): Promise<NodeToolsResult> => {
    const pkgs = missing.get(n.name)!;
    if (cacheCovers(dir, pkgs)) {
      try {
        await installFromCache(kube, n.name, dir, opts.signal);
        if (!(await missingIn(kube, n.name, opts.signal)).length)
          return { node: n.name, status: 'installed-from-cache', installed: pkgs };
      } catch (e) {
        opts.progress?.(
          `${n.name}: installing from the cache failed (${errorText(e)}); downloading instead`,
        );
      }
    }
    await installFromNetwork(kube, n.name, pkgs, dir, opts.signal);
    const still = await missingIn(kube, n.name, opts.signal);
    if (still.length) throw new Error(`still missing after apt-get: ${still.join(', ')}`);
    return { node: n.name, status: 'installed-from-network', installed: pkgs };
  };
  // With an empty cache, one node downloads first; the others then install from the cache.
  let rest = todo;
  if (todo.length && !cacheCovers(dir, NODE_PACKAGES)) {
    const first = todo[0]!;
    opts.progress?.(
      `${first.name}: downloading ${missing.get(first.name)!.join(', ')} (kept in ${dir} for the other nodes)`,
    );
    try {
      results.set(first.name, await install(first));
    } catch (e) {
      results.set(first.name, {
        node: first.name,
        status: 'failed',
        installed: [],
        error: errorText(e),
      });
    }
    rest = todo.slice(1);
  }
  const done = await onEveryNode(rest, install);
  for (const d of done)
    results.set(
      d.node.name,
      d.value ?? { node: d.node.name, status: 'failed', installed: [], error: errorText(d.error) },
    );
  return nodes.map((n) => results.get(n.name)!);
}
