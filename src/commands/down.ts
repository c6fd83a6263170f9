import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { defineCommand, bool } from '../core/command.js';
import { EXIT, UserError } from '../core/errors.js';
import type { Context } from '../core/context.js';
import { runTasks } from '../ui/tasks.js';
import { KindProvider } from '../cluster/kind.js';
import { listRecords, removeRecord, kubeconfigBelongsTo } from '../cluster/records.js';
import { stateDir, acquireLock } from '../steps/state.js';
import { shortPath } from './up.js';

interface Removed {
  clusters: string[];
  kubeconfigs: string[];
  locks: string[];
  /** Clusters that could not be deleted, with why. */
  failed: Array<{ cluster: string; reason: string }>;
}

function removeKubeconfig(file: string, cluster: string, out: Removed, force: boolean): void {
  if (!existsSync(file)) return;
  // The cluster's own kubeconfig is always removed; a recorded one only if it still points at it.
  if (force || kubeconfigBelongsTo(file, cluster)) {
    rmSync(file, { force: true });
    out.kubeconfigs.push(file);
  }
}

async function deleteOne(
  ctx: Context,
  provider: KindProvider,
  cluster: string,
  kubeconfig: string,
  existing: string[] | undefined,
  out: Removed,
): Promise<void> {
  if (existing === undefined || existing.includes(cluster)) {
    try {
      await provider.delete(cluster, kubeconfig);
      if (existing !== undefined) out.clusters.push(cluster);
    } catch (e) {
      out.failed.push({ cluster, reason: (e as Error).message });
    }
  }
}

export default defineCommand({
  name: 'down',
  summary: 'delete the cluster and its kubeconfig',
  usage: 'proxylab down [--all]',
  interrupted:
    'the cluster may be deleted only in part (`kind get clusters` lists what is left); its kubeconfig and records are kept until a `proxylab down` completes',
  details: `Deletes the kind cluster (--cluster, default proxylab) and removes its kubeconfig
(--kubeconfig, default ./kubeconfig). Safe to run again: nothing there, nothing done.

--all removes every cluster proxylab created (recorded in .proxylab/clusters/), their
kubeconfigs, and proxylab's lock files — and nothing else: other kind clusters, Docker
images and ConfigMap backups stay.`,
  options: {
    all: {
      type: 'boolean',
      description: 'every proxylab cluster, its kubeconfig and the lock files',
    },
  },
  json: true,
  async run(ctx, args) {
    const provider = new KindProvider(ctx.env, ctx.signal);
    const all = bool(args, 'all');
    const out: Removed = { clusters: [], kubeconfigs: [], locks: [], failed: [] };
    const records = listRecords(ctx.env);
    const targets = new Map<string, string>([[ctx.cluster, ctx.kubeconfig]]);
    if (all) for (const r of records) if (!targets.has(r.name)) targets.set(r.name, r.kubeconfig);
    let engineDown: string | undefined;
    const lock = all ? undefined : acquireLock(ctx.env, ctx.cluster, 'down', (t) => ctx.io.warn(t));
    try {
      await runTasks(
        ctx,
        [
          {
            title: all
              ? `Delete every proxylab cluster (${[...targets.keys()].join(', ')})`
              : `Delete cluster "${ctx.cluster}"`,
            task: async (_c, task) => {
              let existing: string[] | undefined;
              const st = await provider.engine();
              if (!st.ok) engineDown = st.detail;
              else existing = await provider.listClusters();
              if (existing)
                for (const [name, kc] of targets)
                  await deleteOne(ctx, provider, name, kc, existing, out);
              task.title = out.clusters.length
                ? `Deleted cluster${out.clusters.length > 1 ? 's' : ''} ${out.clusters.join(', ')}`
                : engineDown
                  ? 'Docker engine not running: no cluster could be deleted'
                  : 'No cluster to delete';
            },
          },
          {
            title: 'Remove kubeconfig and records',
            task: (_c, task) => {
              for (const [name, kc] of targets) {
                if (out.failed.some((f) => f.cluster === name)) continue;
                removeKubeconfig(kc, name, out, false);
                const rec = records.find((r) => r.name === name);
                if (rec && rec.kubeconfig !== kc)
                  removeKubeconfig(rec.kubeconfig, name, out, false);
                if (!engineDown) removeRecord(ctx.env, name);
              }
              if (all) {
                const dir = join(stateDir(ctx.env), 'locks');
                try {
                  for (const f of readdirSync(dir).filter((x) => x.endsWith('.lock'))) {
                    rmSync(join(dir, f), { force: true });
                    out.locks.push(join(dir, f));
                  }
                } catch {
                  /* no locks */
                }
              }
              task.title = `Removed ${out.kubeconfigs.length ? out.kubeconfigs.map(shortPath).join(', ') : 'no kubeconfig (none there)'}${out.locks.length ? ` and ${out.locks.length} lock file${out.locks.length > 1 ? 's' : ''}` : ''}`;
            },
          },
        ],
        {},
      );
    } finally {
      lock?.release();
    }
    if (ctx.json) ctx.io.out(JSON.stringify({ ...out, engineDown: engineDown ?? null }, null, 2));
    if (out.failed.length) {
      throw new UserError(
        `could not delete ${out.failed.map((f) => `"${f.cluster}"`).join(', ')}: ${out.failed[0]!.reason}`,
        'run `proxylab down` again; `docker ps -a --filter label=io.x-k8s.kind.cluster` lists what is left',
      );
    }
    if (engineDown) {
      throw new UserError(
        `the Docker engine is ${engineDown}: removed ${out.kubeconfigs.length ? out.kubeconfigs.map(shortPath).join(', ') : 'no kubeconfig'}, but could not check for cluster containers`,
        'start Docker and run `proxylab down` again to delete the cluster containers, if any',
      );
    }
    if (!ctx.json)
      ctx.io.out(
        out.clusters.length
          ? `✔ deleted ${out.clusters.map((c) => `"${c}"`).join(', ')}${out.kubeconfigs.length ? ` and removed ${out.kubeconfigs.map(shortPath).join(', ')}` : ''}`
          : `✔ nothing to delete: no cluster ${all ? 'of proxylab' : `"${ctx.cluster}"`}${out.kubeconfigs.length ? ` (removed ${out.kubeconfigs.map(shortPath).join(', ')})` : ''}`,
      );
    return EXIT.ok;
  },
});
