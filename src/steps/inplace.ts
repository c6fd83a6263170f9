/**
 * After Ctrl-C: what is in place, read from the cluster rather than guessed from where the
 * run stopped (a step of the lab doc may have been running `make ipvs`, which restored or
 * not on its own). One ConfigMap read and one /proxyMode per node, under a limit of their
 * own: the command's signal is already aborted.
 */
import type { Context } from '../core/context.js';
import { connect, errorText } from './kube.js';
import { getConfigMap, verifyNodes } from './mode.js';
import { effectiveMode, readSettings } from './configmap.js';
import { listBackups } from './state.js';

/** How long reading the state in place may take after an interrupt. */
const READ_LIMIT_MS = 20_000;

/**
 * One sentence starting "in place:" naming kube-proxy's mode on the nodes and in the
 * ConfigMap, e.g. "in place: kube-proxy runs ipvs on every node (3); its ConfigMap asks
 * for ipvs". Never throws.
 */
export async function modeInPlace(ctx: Context): Promise<string> {
  const signal = AbortSignal.timeout(READ_LIMIT_MS);
  const c: Context = { ...ctx, signal };
  try {
    const kube = await connect(c);
    try {
      await kube.nodes(signal);
    } catch (e) {
      if (/does not exist/.test(errorText(e)))
        return `in place: no cluster "${ctx.cluster}" (nothing of kube-proxy to restore)`;
      throw e;
    }
    const cm = effectiveMode(readSettings(await getConfigMap(kube, signal, 15)));
    // the mode each node's kube-proxy answers; `want` only shapes the verdicts, not read here
    const nodes = await verifyNodes(kube, cm, signal);
    const answered = nodes.filter((n) => n.proxyMode);
    const modes = [...new Set(answered.map((n) => n.proxyMode!))];
    const silent = nodes.filter((n) => !n.proxyMode).map((n) => n.node);
    const onNodes =
      modes.length === 1 && !silent.length
        ? `kube-proxy runs ${modes[0]} on every node (${nodes.length})`
        : [
            ...modes.map(
              (m) =>
                `kube-proxy runs ${m} on ${answered
                  .filter((n) => n.proxyMode === m)
                  .map((n) => n.node)
                  .join(', ')}`,
            ),
            ...(silent.length ? [`no answer from kube-proxy on ${silent.join(', ')}`] : []),
          ].join('; ');
    return `in place: ${onNodes}; its ConfigMap asks for ${cm}`;
  } catch (e) {
    return `the mode in place could not be read (${errorText(e)}): \`proxylab status\` shows it`;
  }
}

/** Backups of the cluster's ConfigMap that were not there before (this run's). */
export function backupsSince(ctx: Context, before: readonly string[]): string[] {
  const had = new Set(before);
  return listBackups(ctx.env, ctx.cluster).filter((f) => !had.has(f));
}

/** Where the oldest backup of this run is and the commands that put it back. */
export function restoreSentence(ctx: Context, file: string, mode: string): string {
  const k = `kubectl --kubeconfig ${ctx.kubeconfig} -n kube-system`;
  return `the ConfigMap as it was before this run changed it (mode ${mode}) is backed up in ${file}; to put it back: ${k} replace -f ${file} && ${k} rollout restart daemonset/kube-proxy`;
}
