/**
 * "Is there a cluster to work on?" — asked before a command touches one, so that without a
 * cluster the user reads one line naming what was looked at (kind's cluster list, the
 * kubeconfig file) and what to do, instead of a kubectl error or advice for another step.
 * One `kind get clusters` (a `docker ps` underneath) and one stat; no kubectl call.
 */
import { existsSync } from 'node:fs';
import { relative, isAbsolute } from 'node:path';
import { CommandError, UserError } from '../core/errors.js';
import { DEFAULT_CLUSTER, type Context } from '../core/context.js';
import { KindProvider } from './kind.js';

/** What was found: the cluster names kind lists (or why it could not list them), the kubeconfig. */
export interface ClusterLook {
  cluster: string;
  kubeconfig: string;
  kubeconfigExists: boolean;
  /** Names `kind get clusters` printed; undefined when it could not run. */
  clusters?: string[];
  /** Why the list could not be read (kind missing, Docker engine down, …). */
  lookError?: string;
}

export type ListClusters = () => Promise<string[]>;

/** A path as the user would type it: relative to the working directory when inside it. */
export function shownPath(file: string, cwd = process.cwd()): string {
  const r = relative(cwd, file);
  return r && !r.startsWith('..') && !isAbsolute(r) ? `./${r}` : file;
}

function whyNoList(e: unknown): string {
  if (e instanceof UserError) return e.message;
  if (e instanceof CommandError) {
    if (e.spawnError) return 'kind is not installed (run `proxylab tools`)';
    if (e.timedOut) return '`kind get clusters` did not answer';
    const lines = e.stderrTail.trim().split('\n');
    const said = (lines.find((l) => l.startsWith('ERROR:')) ?? lines[0] ?? '').trim();
    return `\`kind get clusters\` failed${said ? `: ${said}` : ''}`;
  }
  return e instanceof Error ? e.message : String(e);
}

export async function lookForCluster(
  ctx: Pick<Context, 'cluster' | 'kubeconfig'>,
  list: ListClusters,
): Promise<ClusterLook> {
  const look: ClusterLook = {
    cluster: ctx.cluster,
    kubeconfig: ctx.kubeconfig,
    kubeconfigExists: existsSync(ctx.kubeconfig),
  };
  try {
    look.clusters = await list();
  } catch (e) {
    if (e instanceof UserError && e.exitCode === 130) throw e; // Ctrl-C
    look.lookError = whyNoList(e);
  }
  return look;
}

/** The error to stop with, or undefined when the cluster and its kubeconfig are there. */
export function missingCluster(look: ClusterLook, cwd = process.cwd()): UserError | undefined {
  const kc = shownPath(look.kubeconfig, cwd);
  const up = look.cluster === DEFAULT_CLUSTER ? 'make up' : `make up CLUSTER=${look.cluster}`;
  const kcSaid = look.kubeconfigExists ? `kubeconfig ${kc} is there` : `no kubeconfig at ${kc}`;
  if (look.clusters === undefined) {
    return new UserError(
      `no cluster "${look.cluster}" found (${look.lookError ?? 'kind could not list clusters'}; ${kcSaid}): run ${up}`,
      'if the cluster exists, fix what kept kind from listing it (`proxylab doctor` says what), then run this again',
    );
  }
  const listed = look.clusters.includes(look.cluster);
  const others = look.clusters.length
    ? `kind get clusters: ${look.clusters.join(', ')}`
    : 'kind get clusters: none';
  if (!listed) {
    return new UserError(
      `no cluster "${look.cluster}" (${others}; ${kcSaid}): run ${up}`,
      look.clusters.length
        ? `or pick one of those with --cluster NAME (make … CLUSTER=NAME)`
        : '`make up` (or `proxylab up`) creates it; then run this again',
    );
  }
  if (!look.kubeconfigExists) {
    return new UserError(
      `cluster "${look.cluster}" exists but has no kubeconfig at ${kc}: run ${up}`,
      '`make up` reuses the cluster and writes its kubeconfig again (or pass --kubeconfig FILE)',
    );
  }
  return undefined;
}

/**
 * Stop with exit 1 unless the kind cluster exists and its kubeconfig is there. Commands
 * that work on a cluster call this before anything else touches it.
 */
export async function requireCluster(ctx: Context, list?: ListClusters): Promise<ClusterLook> {
  const lister = list ?? (() => new KindProvider(ctx.env, ctx.signal).listClusters());
  const look = await lookForCluster(ctx, lister);
  const err = missingCluster(look);
  if (err) throw err;
  return look;
}
