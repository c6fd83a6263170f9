/**
 * Switch kube-proxy's mode on a running cluster, safely:
 * back up the ConfigMap, change only mode/scheduler/strictARP, restart the DaemonSet one pod
 * at a time, verify every node (its /proxyMode endpoint and its logs), and on any failure
 * (crash-loop, timeout, wrong mode, Ctrl-C) put the backup back byte-identical and restart
 * again. The caller holds the cluster lock.
 */
import { inPlace } from '../core/interrupt.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { CommandError, UserError, EXIT } from '../core/errors.js';
import { describeWait, waitFor, WaitGiveUp } from '../core/wait.js';
import type { Context } from '../core/context.js';
import { parseKubeProxyLog } from '../inspect/kubeproxylog.js';
import {
  alreadyAsRequested,
  comparable,
  configConf,
  editConfigMap,
  effectiveMode,
  forReplace,
  readSettings,
  readTcpBeLiberal,
  type Change,
  type ProxyMode,
  type ProxySettings,
} from './configmap.js';
import { saveBackup } from './state.js';
import { run } from '../core/exec.js';
import { resolveTool } from '../cluster/tools.js';
import { errorText, onEveryNode, type Kube } from './kube.js';

export const NFTABLES_MIN_MINOR = 31;

export interface NodeVerdict {
  node: string;
  /** What /proxyMode answered (undefined: no answer). */
  proxyMode?: string;
  /** The mode the pod's logs announce. */
  logMode?: string;
  /** The node's kube-proxy pod and when it started (status.startTime). */
  pod?: string;
  podStartedAt?: string;
  warnings: string[];
  problem?: string;
}

export interface SwitchReport {
  outcome: 'unchanged' | 'switched';
  from: ProxySettings;
  to: Change;
  backup?: string;
  nodes: NodeVerdict[];
  warnings: string[];
}

export interface Progress {
  (title: string): void;
}

const KP = ['-n', 'kube-system'];

export async function getConfigMap(
  kube: Kube,
  signal?: AbortSignal,
  timeoutS?: number,
): Promise<string> {
  const r = await kube.kubectl([...KP, 'get', 'configmap', 'kube-proxy', '-o', 'yaml'], {
    signal,
    // the command's --timeout, when it has one (kube.kubectl's default otherwise)
    ...(timeoutS !== undefined ? { timeoutMs: timeoutS * 1000 } : {}),
  });
  return r.stdout;
}

let lastRestartAt = 0;

/** Restart kube-proxy one pod at a time and wait for the rollout (with a stated limit). */
export async function rollKubeProxy(
  kube: Kube,
  timeoutS: number,
  progress: Progress,
  signal?: AbortSignal,
): Promise<void> {
  // `rollout restart` stamps the pod template with the time in whole seconds: a second
  // restart within the same second (a restore right after an interrupted switch) would leave
  // the template unchanged and restart nothing. Wait for the next second first.
  const sinceLast = Date.now() - lastRestartAt;
  if (sinceLast < 1000) await sleep(1000 - (Date.now() % 1000) + 50);
  lastRestartAt = Date.now();
  await kube.kubectl([...KP, 'rollout', 'restart', 'daemonset/kube-proxy'], { signal });
  progress(
    describeWait({
      what: 'the kube-proxy DaemonSet to restart its pods one at a time',
      timeoutMs: timeoutS * 1000,
    }),
  );
  const r = await kube.kubectl(
    [...KP, 'rollout', 'status', 'daemonset/kube-proxy', `--timeout=${timeoutS}s`],
    {
      signal,
      timeoutMs: (timeoutS + 30) * 1000,
      reject: false,
    },
  );
  if (r.exitCode !== 0) {
    const pods = await crashingPods(kube, signal).catch(() => [] as string[]);
    throw new UserError(
      pods.length
        ? `kube-proxy did not come up: ${pods.join(', ')}`
        : `kube-proxy's rollout did not finish within ${timeoutS} s (${(r.stderr || r.stdout).trim().split('\n').pop() ?? ''})`,
      'look at `kubectl -n kube-system logs -l k8s-app=kube-proxy --tail 20`',
    );
  }
}

/** Pods of the DaemonSet that are not ready, with their reason (CrashLoopBackOff ...). */
async function crashingPods(kube: Kube, signal?: AbortSignal): Promise<string[]> {
  const r = await kube.kubectl([...KP, 'get', 'pods', '-l', 'k8s-app=kube-proxy', '-o', 'json'], {
    signal,
  });
  const items = (
    JSON.parse(r.stdout) as {
      items: {
        metadata: { name: string };
        spec?: { nodeName?: string };
        status?: {
          containerStatuses?: {
            ready: boolean;
            restartCount?: number;
            state?: Record<string, { reason?: string }>;
          }[];
        };
      }[];
    }
  ).items;
  const out: string[] = [];
  for (const p of items) {
    for (const s of p.status?.containerStatuses ?? []) {
      if (s.ready) continue;
      const reason = Object.values(s.state ?? {})[0]?.reason ?? 'not ready';
      out.push(
        `${p.metadata.name} on ${p.spec?.nodeName ?? '?'} is ${reason}${s.restartCount ? ` (${s.restartCount} restarts)` : ''}`,
      );
    }
  }
  return out;
}

interface PodLog {
  pod: string;
  startedAt?: string;
  mode?: string;
  deprecation: boolean;
  fatal: string | null;
}

/** The kube-proxy logs of every pod, in ONE kubectl call, split per node. */
async function logsPerNode(kube: Kube, signal?: AbortSignal): Promise<Map<string, PodLog>> {
  const pods = await kube.kubectl(
    [...KP, 'get', 'pods', '-l', 'k8s-app=kube-proxy', '-o', 'json'],
    { signal },
  );
  const podNode = new Map<string, { node: string; startedAt?: string }>();
  for (const p of (
    JSON.parse(pods.stdout) as {
      items: {
        metadata: { name: string; deletionTimestamp?: string };
        spec?: { nodeName?: string };
        status?: { startTime?: string };
      }[];
    }
  ).items) {
    // a pod on its way out is not the one that will answer
    if (p.spec?.nodeName && !p.metadata.deletionTimestamp)
      podNode.set(p.metadata.name, {
        node: p.spec.nodeName,
        ...(p.status?.startTime ? { startedAt: p.status.startTime } : {}),
      });
  }
  const r = await kube.kubectl(
    [...KP, 'logs', '-l', 'k8s-app=kube-proxy', '--prefix', '--tail=200'],
    { signal, reject: false },
  );
  const parsed = parseKubeProxyLog(r.stdout);
  const out = new Map<string, PodLog>();
  for (const s of parsed.sources) {
    const at = podNode.get(s.source);
    if (!at) continue;
    out.set(at.node, {
      pod: s.source,
      ...(at.startedAt ? { startedAt: at.startedAt } : {}),
      ...(s.mode ? { mode: s.mode } : {}),
      deprecation: s.deprecationWarning,
      fatal: s.fatal,
    });
  }
  return out;
}

/** /proxyMode on every node (one `docker exec` per node) + the logs (one kubectl call). */
export async function verifyNodes(
  kube: Kube,
  want: string,
  signal?: AbortSignal,
): Promise<NodeVerdict[]> {
  const nodes = await kube.nodes(signal);
  const answers = await onEveryNode(nodes, (n) =>
    kube.exec(n.name, ['curl', '-s', '--max-time', '5', 'http://127.0.0.1:10249/proxyMode'], {
      signal,
      reject: false,
      timeoutMs: 20_000,
    }),
  );
  const logs = await logsPerNode(kube, signal).catch(() => new Map<string, PodLog>());
  return answers.map(({ node, value, error }) => {
    const v: NodeVerdict = { node: node.name, warnings: [] };
    const log = logs.get(node.name);
    if (log?.mode) v.logMode = log.mode;
    if (log?.pod) v.pod = log.pod;
    if (log?.startedAt) v.podStartedAt = log.startedAt;
    if (log?.deprecation)
      v.warnings.push(
        'kube-proxy logs that the ipvs proxier is deprecated since Kubernetes 1.35 (use nftables for new work)',
      );
    if (error) v.problem = `could not ask kube-proxy for its mode: ${errorText(error)}`;
    else if (value && value.exitCode !== 0) {
      const said = value.stderr.trim().split('\n').pop() ?? '';
      v.problem = log?.fatal
        ? `kube-proxy is not running: ${log.fatal}`
        : said && !/^curl:/.test(said)
          ? `could not ask kube-proxy for its mode: ${said}`
          : 'kube-proxy does not answer on 127.0.0.1:10249 (not running?)';
    } else {
      const answer = (value?.stdout ?? '').trim();
      v.proxyMode = answer;
      if (answer !== want)
        v.problem = `kube-proxy reports mode "${answer || '(empty)'}", not ${want}`;
      else if (log?.mode && log.mode !== want)
        v.problem = `kube-proxy's logs say "${log.mode}", not ${want}`;
    }
    return v;
  });
}

/**
 * How long a node's kube-proxy may keep answering another mode than the one asked for
 * before that counts as final, when nothing else says so sooner. A pod restarting slowly
 * on a loaded machine does not answer at all (curl fails) until it has read its
 * configuration, so this only ever times a pod that is up and answering the old mode.
 */
export const STALE_AFTER_MS = 30_000;
/** A pod whose own start-up log contradicts its answer: seen twice this far apart. */
const CONTRADICTED_AFTER_MS = 2_000;

/** kube-proxy on a node keeps answering a mode that will not change by waiting. */
export class StaleModeError extends WaitGiveUp {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

function clock(iso: string | number): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toISOString().slice(11, 19);
}

/**
 * Ask every node's kube-proxy for its mode until all answer `want` (or the limit passes),
 * but stop at once when a node's answer is settled: kube-proxy reads its mode once, at
 * start (cmd/kube-proxy/app/server.go, v1.35: the config file is loaded before the proxier
 * is built and a projected ConfigMap update does not restart it), so a pod that is up and
 * answers another mode — while its own log says which proxier it started, or for
 * STALE_AFTER_MS — keeps answering it until it is restarted.
 */
export async function waitForMode(
  kube: Kube,
  want: string,
  o: {
    what: string;
    timeoutMs: number;
    signal: AbortSignal;
    progress?: Progress;
    kubeconfig: string;
    /** What makes it right (e.g. "run `proxylab mode ipvs` again"). */
    retry: string;
  },
  onTry?: (last: NodeVerdict[]) => void,
): Promise<NodeVerdict[]> {
  const t0 = Date.now();
  const seen = new Map<string, { answer: string; pod?: string; since: number }>();
  const grace = Math.min(STALE_AFTER_MS, o.timeoutMs / 2);
  return waitFor(
    async () => {
      const last = await verifyNodes(kube, want, o.signal);
      onTry?.(last);
      if (last.every((n) => !n.problem)) return last;
      const now = Date.now();
      const settled: string[] = [];
      const pods: string[] = [];
      for (const n of last) {
        if (!n.proxyMode || n.proxyMode === want) {
          seen.delete(n.node);
          continue;
        }
        const prev = seen.get(n.node);
        const cur =
          prev && prev.answer === n.proxyMode && prev.pod === n.pod
            ? prev
            : { answer: n.proxyMode, ...(n.pod ? { pod: n.pod } : {}), since: now };
        seen.set(n.node, cur);
        const contradicted = n.logMode !== undefined && now - cur.since >= CONTRADICTED_AFTER_MS;
        if (!contradicted && now - cur.since < grace) continue;
        const pod = n.pod
          ? `pod ${n.pod}${n.podStartedAt ? `, started ${clock(n.podStartedAt)}` : ''}`
          : 'its pod';
        const log =
          n.logMode === undefined
            ? 'its log names no proxier'
            : n.logMode === n.proxyMode
              ? `its log says it started the ${n.logMode} proxier: it read a ConfigMap still asking for ${n.proxyMode}`
              : `its log says it started the ${n.logMode} proxier: something else answers on 127.0.0.1:10249 there`;
        settled.push(
          `${n.node}: kube-proxy reports mode "${n.proxyMode}", not ${want}, since ${clock(cur.since)} (${pod}; ${Math.round((now - cur.since) / 1000)} s after its restart finished; ${log})`,
        );
        if (n.pod) pods.push(`${n.node} ${n.pod}`);
      }
      if (!settled.length) return undefined;
      const k = `kubectl --kubeconfig ${o.kubeconfig} -n kube-system`;
      const [node, pod] = (pods[0] ?? '').split(' ');
      throw new StaleModeError(
        `${settled.join('; ')} — stopped waiting after ${Math.round((now - t0) / 1000)} s of ≤ ${Math.round(o.timeoutMs / 1000)}: kube-proxy reads its mode only when it starts, so this answer will not change by waiting`,
        `see which proxier it started and what answers on its metrics port: ${pod ? `${k} logs ${pod} | grep Proxier` : `${k} logs -l k8s-app=kube-proxy --prefix | grep Proxier`}${node ? ` and docker exec ${node} ss -ltnp 'sport = :10249'` : ''}; ${o.retry}`,
      );
    },
    {
      what: o.what,
      timeoutMs: o.timeoutMs,
      intervalMs: 1000,
      signal: o.signal,
      ...(o.progress ? { onWait: o.progress } : {}),
    },
  );
}

export interface SwitchOptions {
  change: Change;
  /** Limit for the rollout and for the verification, each (seconds). */
  timeoutS: number;
  progress: Progress;
}

/**
 * Does the container engine run rootless? kind v0.31.0 asks `docker info --format '{{json .}}'`
 * and looks for "name=rootless" in SecurityOptions (pkg/cluster/internal/providers/docker/
 * provider.go, Info); a rootless node cannot set conntrack sysctls.
 */
async function rootlessEngine(env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<boolean> {
  try {
    const r = await run(
      [resolveTool('docker', { env }), 'info', '--format', '{{json .SecurityOptions}}'],
      { timeoutMs: 20_000, reject: false, signal },
    );
    return r.exitCode === 0 && /name=rootless/.test(r.stdout);
  } catch {
    return false;
  }
}

/**
 * Perform the switch. Returns what happened; throws a UserError (exit 1, or 130 on Ctrl-C)
 * after restoring the backup when the switch did not complete.
 */
export async function switchMode(
  ctx: Context,
  kube: Kube,
  o: SwitchOptions,
): Promise<SwitchReport> {
  const { progress } = o;
  let change = o.change;
  const signal = ctx.signal;
  const minor = await kube.k8sMinor();
  if (change.mode === 'nftables' && minor < NFTABLES_MIN_MINOR) {
    throw new UserError(
      `kube-proxy's nftables mode needs Kubernetes 1.${NFTABLES_MIN_MINOR} or newer; this cluster runs 1.${minor}`,
      'use `proxylab mode ipvs` or `proxylab mode iptables`, or recreate the cluster with `proxylab up --k8s 1.33`',
      EXIT.usage,
    );
  }
  // kind v0.31.0 writes `conntrack.tcpBeLiberal: true` into the KubeProxyConfiguration of a
  // cluster it creates in nftables mode, unless the provider is rootless
  // (pkg/cluster/internal/kubeadm/config.go, both kubeadm templates, k/k#117924): kube-proxy
  // then sets net.netfilter.nf_conntrack_tcp_be_liberal=1 at start (cmd/kube-proxy/app,
  // Conntrack.TCPBeLiberal → SetTCPBeLiberal). The nftables proxier installs no DROP rule for
  // conntrack-INVALID packets (the iptables proxier does, unless that sysctl is set:
  // pkg/proxy/iptables/proxier.go NewProxier), so on kernels before 6.1 an out-of-window
  // packet can reset a long-lived connection. kube-proxy reads the setting only from its
  // ConfigMap at start, and a cluster created in iptables mode has `tcpBeLiberal: false`:
  // a switch to nftables does what kind does at creation. (Switching away leaves it: the
  // sysctl stays set in the node's network namespace whatever the ConfigMap says.)
  if (change.mode === 'nftables' && change.tcpBeLiberal === undefined)
    change = { ...change, tcpBeLiberal: !(await rootlessEngine(ctx.env, signal)) };
  const original = await getConfigMap(kube, signal, o.timeoutS);
  const from = readSettings(original);
  if (
    alreadyAsRequested(from, change) &&
    (change.tcpBeLiberal === undefined || readTcpBeLiberal(original) === change.tcpBeLiberal)
  ) {
    progress(`the ConfigMap already asks for ${describe(change)}; checking the nodes`);
    const nodes = await verifyNodes(kube, change.mode, signal);
    if (nodes.every((n) => !n.problem)) {
      return {
        outcome: 'unchanged',
        from,
        to: change,
        nodes,
        warnings: [...new Set(nodes.flatMap((n) => n.warnings))],
      };
    }
    progress('some nodes do not run it yet: restarting kube-proxy');
  }
  let edited: string;
  try {
    edited = editConfigMap(original, change);
  } catch (e) {
    // its hint edits by hand: on this cluster's kubeconfig, not ~/.kube/config's cluster
    if (e instanceof UserError && e.hint)
      throw new UserError(
        e.message,
        e.hint.replace(/`kubectl /g, `\`kubectl --kubeconfig ${ctx.kubeconfig} `),
        e.exitCode,
        { cause: e },
      );
    throw e;
  }
  const backup = saveBackup(ctx.env, ctx.cluster, original);
  progress(`backed up the kube-proxy ConfigMap to ${backup}`);
  // what a second Ctrl-C (exit at once) can still say truthfully
  const noLongerInPlace = inPlace(
    `the kube-proxy ConfigMap may be switched to ${describe(change)} half-way; the ${effectiveMode(from)} one is backed up in ${backup}: ${restoreByHand(ctx.kubeconfig, backup)}`,
  );

  let applied = false;
  try {
    if (signal.aborted) throw signal.reason;
    if (edited !== original) {
      try {
        await kube.kubectl([...KP, 'replace', '-f', '-'], { input: edited, signal });
      } catch (e) {
        // refused by the API server: nothing changed, nothing to restore. Cut short (Ctrl-C,
        // timeout): it may have landed, so from here on a failure restores.
        const refused =
          e instanceof CommandError && e.exitCode !== null && !e.timedOut && e.signal === null;
        if (!refused) applied = true;
        throw e;
      }
      applied = true;
      progress(`ConfigMap: mode ${effectiveMode(from)} → ${describe(change)}`);
    }
    applied = true;
    await rollKubeProxy(kube, o.timeoutS, progress, signal);
    let last: NodeVerdict[] = [];
    const nodes = await waitForMode(
      kube,
      change.mode,
      {
        what: `kube-proxy on every node to report ${change.mode} on /proxyMode`,
        timeoutMs: o.timeoutS * 1000,
        signal,
        progress,
        kubeconfig: ctx.kubeconfig,
        retry: `then run \`proxylab mode ${change.mode}\` again (it restarts kube-proxy)`,
      },
      (l) => (last = l),
    ).catch((e: unknown) => {
      if (signal.aborted) throw signal.reason;
      if (e instanceof StaleModeError) throw e;
      const bad = last.filter((n) => n.problem).map((n) => `${n.node}: ${n.problem}`);
      throw new UserError(
        bad.length ? bad.join('; ') : (e as Error).message,
        undefined,
        EXIT.failed,
        { cause: e },
      );
    });
    return {
      outcome: 'switched',
      from,
      to: change,
      backup,
      nodes,
      warnings: [...new Set(nodes.flatMap((n) => n.warnings))],
    };
  } catch (e) {
    const interrupted = signal.aborted;
    const what = interrupted ? 'interrupted by Ctrl-C' : e instanceof Error ? e.message : String(e);
    if (!applied) {
      throw interrupted
        ? new UserError(
            `interrupted before anything changed; kube-proxy stays in ${effectiveMode(from)} mode`,
            undefined,
            EXIT.interrupted,
          )
        : e instanceof CommandError
          ? new UserError(
              `the cluster refused the edited kube-proxy ConfigMap (${errorText(e)}); nothing changed: kube-proxy stays in ${effectiveMode(from)} mode`,
              'look at the refusal above; `proxylab doctor` checks the cluster',
              EXIT.failed,
              { cause: e },
            )
          : e;
    }
    progress(`switch failed (${what}): restoring the ConfigMap from ${backup}`);
    const restored = await restore(kube, backup, original, o.timeoutS, progress);
    const tail = !restored.ok
      ? `restoring also failed (${restored.detail}); the backup is ${backup}`
      : restored.lagging.length
        ? `the ConfigMap was restored byte-identical from ${backup} and kube-proxy restarted, but not every node reports ${effectiveMode(from)} again${restored.settled ? '' : ` within ${o.timeoutS}s`} (${restored.lagging.join('; ')}); check with \`proxylab status\``
        : `the ConfigMap was restored byte-identical from ${backup} and kube-proxy runs ${effectiveMode(from)} again on every node`;
    throw new UserError(
      `switching kube-proxy to ${change.mode} failed: ${what}; ${tail}`,
      restored.ok
        ? interrupted
          ? `nothing changed; run the same command again when you are ready`
          : e instanceof StaleModeError
            ? e.hint
            : hintFor(change, what)
        : restoreByHand(ctx.kubeconfig, backup),
      interrupted ? EXIT.interrupted : EXIT.failed,
      { cause: e },
    );
  } finally {
    noLongerInPlace();
  }
}

/** The restore recipe, on this cluster's kubeconfig (not whatever ~/.kube/config points at). */
function restoreByHand(kubeconfig: string, backup: string): string {
  const k = `kubectl --kubeconfig ${kubeconfig} -n kube-system`;
  return `restore it by hand: ${k} replace -f ${backup} && ${k} rollout restart daemonset/kube-proxy`;
}

function hintFor(change: Change, what: string): string {
  // the modules, not any mention of ipvs ("kube-proxy reports mode …, not ipvs" is no module problem)
  if (change.mode === 'ipvs' && /ip_vs|kernel module|modprobe|IPVS proxier/i.test(what))
    return 'load the IPVS modules on the host with `proxylab modules`, then try again';
  return 'look at `kubectl -n kube-system logs -l k8s-app=kube-proxy --tail 20` and `proxylab doctor`';
}

/**
 * Put the saved ConfigMap back (replace, never merge), restart, check the bytes, then ask
 * every node's kube-proxy for its mode until all report the restored one (or `timeoutS`
 * passes: `lagging` names the nodes that still do not, so nobody is told it is back when
 * it is not).
 */
export async function restore(
  kube: Kube,
  backupFile: string,
  original: string,
  timeoutS: number,
  progress: Progress,
): Promise<{ ok: boolean; detail: string; lagging: string[]; settled?: boolean }> {
  // Ctrl-C may have aborted the command's signal: the restore must still run to the end.
  const signal = new AbortController().signal;
  try {
    await kube.kubectl([...KP, 'replace', '-f', '-'], { input: forReplace(original), signal });
    const now = await getConfigMap(kube, signal);
    if (configConf(now) !== configConf(original) || comparable(now) !== comparable(original)) {
      return { ok: false, detail: 'the ConfigMap read back differs from the backup', lagging: [] };
    }
    // the ConfigMap is back, byte-identical: from here on the restore itself succeeded,
    // and what is slow or stuck is kube-proxy's restart (said as such, not "restore failed")
    try {
      await rollKubeProxy(kube, timeoutS, progress, signal);
    } catch (e) {
      return {
        ok: true,
        detail: '',
        lagging: [`kube-proxy's restart did not finish (${errorText(e)})`],
      };
    }
    progress(`restored ${backupFile}; kube-proxy restarted`);
    const mode = effectiveMode(readSettings(original));
    let last: NodeVerdict[] = [];
    let settled: string | undefined;
    const back = await waitForMode(
      kube,
      mode,
      {
        what: `kube-proxy on every node to report ${mode} again`,
        timeoutMs: timeoutS * 1000,
        signal,
        progress,
        kubeconfig: kube.kubeconfig,
        retry: 'then restart kube-proxy on that node',
      },
      (l) => (last = l),
    ).catch((e: unknown) => {
      if (e instanceof StaleModeError) settled = e.message;
      return undefined;
    });
    const lagging = back
      ? []
      : settled
        ? [settled]
        : last.length
          ? last.filter((n) => n.problem).map((n) => `${n.node}: ${n.problem}`)
          : ['no node could be asked'];
    return { ok: true, detail: '', lagging, ...(settled ? { settled: true } : {}) };
  } catch (e) {
    return { ok: false, detail: errorText(e), lagging: [] };
  }
}

export function describe(c: Change): string {
  const parts: string[] = [c.mode];
  if (c.scheduler) parts.push(`scheduler ${c.scheduler}`);
  if (c.strictARP !== undefined) parts.push(`strictARP ${c.strictARP}`);
  return parts.join(', ');
}

export type { ProxyMode };
