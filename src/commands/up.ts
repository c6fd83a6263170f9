import { chmodSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tmpdir } from 'node:os';
import { stringify } from 'yaml';
import { defineCommand, str, bool } from '../core/command.js';
import { EXIT, UserError, UsageError, CommandError } from '../core/errors.js';
import { waitFor } from '../core/wait.js';
import type { Context } from '../core/context.js';
import { runTasks } from '../ui/tasks.js';
import { KindProvider } from '../cluster/kind.js';
import { ensurePinnedTools } from '../cluster/tools.js';
import { Kubectl, readyNodes, modeFromConfigConf, type NodeList } from '../cluster/kubectl.js';
import { saveRecord } from '../cluster/records.js';
import { acquireLock } from '../steps/state.js';
import { loadVersions, imageFor } from '../config/versions.js';
import { resolveOptions, type LabOptions } from '../config/options.js';
import { kindDocument } from '../config/kind.js';
import { ipvsSupport } from '../cluster/host.js';

export interface UpResult {
  cluster: string;
  created: boolean;
  kubernetes: string;
  mode: string;
  nodes: string[];
  kubeconfig: string;
  image?: string;
}

export function shortPath(p: string): string {
  const r = relative(process.cwd(), p);
  return r && !r.startsWith('..') ? `./${r}` : p;
}

/** What an existing cluster runs: Kubernetes version, configured kube-proxy mode, nodes. */
async function describeExisting(
  ctx: Context,
  provider: KindProvider,
): Promise<Omit<UpResult, 'created' | 'image'>> {
  const nodes = await provider.nodes(ctx.cluster);
  if (!nodes.length)
    throw new UserError(
      `cluster "${ctx.cluster}" has no nodes`,
      'run `proxylab down` then `proxylab up` to recreate it',
    );
  if (!existsSync(ctx.kubeconfig)) await provider.writeKubeconfig(ctx.cluster, ctx.kubeconfig);
  const kubectl = new Kubectl(ctx.kubeconfig, ctx.env, ctx.signal);
  const cp = nodes.find((n) => n.role === 'control-plane') ?? nodes[0]!;
  const version = (await provider.nodeVersion(cp.name)) ?? 'unknown';
  let mode = 'unknown';
  try {
    const r = await kubectl.run(
      [
        '-n',
        'kube-system',
        'get',
        'configmap',
        'kube-proxy',
        '-o',
        'jsonpath={.data.config\\.conf}',
      ],
      { timeoutMs: 30_000 },
    );
    mode = modeFromConfigConf(r.stdout);
  } catch {
    /* API not answering: reported as unknown */
  }
  return {
    cluster: ctx.cluster,
    kubernetes: version,
    mode,
    nodes: nodes.map((n) => n.name),
    kubeconfig: ctx.kubeconfig,
  };
}

export default defineCommand({
  name: 'up',
  summary: 'create the kind cluster (or reuse it) and wait for its nodes',
  usage: 'proxylab up [--mode M] [--k8s V] [--scheduler S] [--nodes N] [--timeout SECONDS]',
  details: `Creates the kind cluster (1 control plane + 2 workers by default) with the node image
pinned by digest for the Kubernetes version (configs/versions.yaml) and kube-proxy in the
chosen mode (kind's networking.kubeProxyMode; the IPVS scheduler through a
KubeProxyConfiguration patch), writes the kubeconfig (./kubeconfig, never ~/.kube/config) and
waits for every node to be Ready.

Run it again: the existing cluster is reused, and its Kubernetes version and kube-proxy mode
are reported (switch modes with \`proxylab mode\`; recreate with \`proxylab down\` first).
If creating fails, whatever was created is deleted and the reason shown.`,
  options: {
    mode: {
      type: 'string',
      arg: 'MODE',
      description: 'kube-proxy mode: iptables, ipvs or nftables (default iptables)',
    },
    k8s: {
      type: 'string',
      arg: 'MINOR',
      description:
        'Kubernetes minor with a pinned node image (default: configs/versions.yaml default)',
    },
    scheduler: { type: 'string', arg: 'S', description: 'IPVS scheduler (with --mode ipvs)' },
    nodes: { type: 'string', arg: 'N', description: 'nodes, control plane included (default 3)' },
    timeout: {
      type: 'string',
      arg: 'SECONDS',
      description: 'how long to wait for the nodes to be Ready',
      default: '300',
    },
    'keep-on-failure': {
      type: 'boolean',
      description: 'keep a cluster whose creation failed (to debug it)',
    },
  },
  json: true,
  async run(ctx, args) {
    const table = loadVersions(ctx.env);
    const { options, warnings } = resolveOptions(
      {
        k8s: str(args, 'k8s'),
        mode: str(args, 'mode'),
        scheduler: str(args, 'scheduler'),
        nodes: str(args, 'nodes'),
      },
      { table, requireImage: true },
    );
    const timeoutS = Number(str(args, 'timeout'));
    if (!Number.isInteger(timeoutS) || timeoutS < 1)
      throw new UsageError(
        `--timeout "${str(args, 'timeout')}" must be a whole number of seconds`,
        'e.g. --timeout 300',
      );
    for (const w of warnings) ctx.io.warn(`⚠ ${w}`);
    const { image, version } = imageFor(table, options.minor);
    const provider = new KindProvider(ctx.env, ctx.signal);
    const lock = acquireLock(ctx.env, ctx.cluster, 'up', (t) => ctx.io.warn(t));
    let result: UpResult | undefined;
    try {
      result = await createOrReuse(
        ctx,
        provider,
        options,
        image,
        version,
        timeoutS,
        bool(args, 'keep-on-failure'),
      );
    } finally {
      lock.release();
    }
    if (ctx.json) ctx.io.out(JSON.stringify(result, null, 2));
    else if (result.created)
      ctx.io.out(
        `✔ cluster "${result.cluster}" is up: Kubernetes ${result.kubernetes}, ${result.nodes.length} nodes Ready, kube-proxy mode ${result.mode}\n  kubeconfig: ${shortPath(result.kubeconfig)} (use: kubectl --kubeconfig ${shortPath(result.kubeconfig)} get nodes)`,
      );
    else {
      ctx.io.out(
        `✔ cluster "${result.cluster}" already exists: reused it (Kubernetes ${result.kubernetes}, ${result.nodes.length} nodes, kube-proxy mode ${result.mode})\n  kubeconfig: ${shortPath(result.kubeconfig)}`,
      );
      if (
        args.values.mode !== undefined &&
        str(args, 'mode') !== result.mode &&
        result.mode !== 'unknown'
      )
        ctx.io.warn(
          `⚠ it runs kube-proxy in ${result.mode} mode, not ${options.mode}: switch with \`proxylab mode ${options.mode}\`, or recreate with \`proxylab down\` then \`proxylab up --mode ${options.mode}\``,
        );
      if (
        result.kubernetes !== 'unknown' &&
        result.kubernetes !== version &&
        str(args, 'k8s') !== undefined
      )
        ctx.io.warn(
          `⚠ it runs Kubernetes ${result.kubernetes}, not ${version}: recreate with \`proxylab down\` then \`proxylab up --k8s ${str(args, 'k8s')}\``,
        );
    }
    return EXIT.ok;
  },
});

async function createOrReuse(
  ctx: Context,
  provider: KindProvider,
  o: LabOptions,
  image: string,
  version: string,
  timeoutS: number,
  keep: boolean,
): Promise<UpResult> {
  interface T {
    exists?: boolean;
    result?: UpResult;
  }
  const state = await runTasks<T>(
    ctx,
    [
      {
        title: 'Docker engine',
        task: async (_c, task) => {
          const st = await provider.engine();
          if (!st.ok)
            throw new UserError(
              `the Docker engine is ${st.detail}`,
              'start it — `sudo systemctl start docker` on Linux, or open Docker Desktop — then run `proxylab doctor`',
            );
          task.title = `Docker engine: ${st.detail}`;
        },
      },
      {
        title: 'kind and kubectl at the pinned versions',
        skip: () =>
          ctx.env.PROXYLAB_TOOLS === 'path' &&
          'using kind and kubectl from PATH (PROXYLAB_TOOLS=path)',
        task: async (_c, task) => {
          const got = await ensurePinnedTools({
            env: ctx.env,
            signal: ctx.signal,
            onProgress: (m) => (task.output = m),
          });
          task.title = got.length
            ? `kind and kubectl: ${got.map((t) => `${t.tool} ${t.version} ${t.action === 'linked' ? `reused from ${t.source}` : `downloaded, sha256 verified (${t.verified})`}`).join('; ')}`
            : 'kind and kubectl: already in ./.bin';
        },
      },
      {
        title: `Look for cluster "${ctx.cluster}"`,
        task: async (c, task) => {
          c.exists = (await provider.listClusters()).includes(ctx.cluster);
          task.title = c.exists
            ? `Cluster "${ctx.cluster}" exists: reusing it`
            : `Cluster "${ctx.cluster}" does not exist yet`;
        },
      },
      {
        title: 'Host kernel IPVS support (kind nodes share the host kernel)',
        skip: (c) =>
          c.exists
            ? 'the cluster exists'
            : o.mode !== 'ipvs'
              ? `not needed for ${o.mode} mode`
              : false,
        task: (_c, task) => {
          const r = ipvsSupport(ctx.env);
          if (!r.ok) {
            const missing = r.modules
              .filter((m) => m.state === 'missing' && m.module !== 'nf_conntrack')
              .map((m) => m.module);
            throw new UserError(
              `kube-proxy in ipvs mode needs the IPVS modules of this host's kernel, and ${missing.join(' ')} ${missing.length === 1 ? 'is' : 'are'} not available: kube-proxy would exit and crash-loop`,
              'see `proxylab doctor` for the fix, or use `proxylab up --mode iptables` (or nftables) and switch later with `proxylab mode ipvs`',
            );
          }
          task.title = `Host kernel IPVS support: ${r.modules.map((m) => `${m.module} ${m.state}`).join(', ')}`;
        },
      },
      {
        title: 'Read the existing cluster',
        skip: (c) => !c.exists,
        task: async (c, task) => {
          try {
            c.result = { ...(await describeExisting(ctx, provider)), created: false };
          } catch (e) {
            if (!(e instanceof CommandError)) throw e;
            const why = e.stderr.split('\n').find((l) => l.startsWith('ERROR:')) ?? e.message;
            throw new UserError(
              `cluster "${ctx.cluster}" exists but is not usable (${why.trim()}); it may be left from a create that was interrupted`,
              'recreate it: `proxylab down`, then `proxylab up`',
              EXIT.failed,
              { cause: e },
            );
          }
          task.title = `Existing cluster: Kubernetes ${c.result.kubernetes}, kube-proxy mode ${c.result.mode}`;
        },
      },
      {
        title: `Create cluster "${ctx.cluster}" (Kubernetes ${version}, ${o.nodes} nodes, kube-proxy ${o.mode})`,
        skip: (c) => (c.exists === true ? 'the cluster exists: not created again' : false),
        task: async (c, task) => {
          const dir = mkdtempSync(join(tmpdir(), 'proxylab-kind-'));
          const configFile = join(dir, 'kind.yaml');
          writeFileSync(configFile, stringify(kindDocument(o)));
          try {
            await provider.create({
              cluster: ctx.cluster,
              configFile,
              image,
              kubeconfig: ctx.kubeconfig,
              waitSeconds: 0,
              signal: ctx.signal,
              onOutput: (chunk) => {
                const line = chunk.trim().split('\n').pop();
                if (line) task.output = line;
              },
            });
            // kind writes it 0600 only when it creates the file (os.WriteFile keeps an
            // existing file's mode: pkg/cluster/internal/kubeconfig/internal/kubeconfig/
            // write.go, v0.31.0): it holds the cluster's admin key, so 0600 every time
            if (existsSync(ctx.kubeconfig)) chmodSync(ctx.kubeconfig, 0o600);
            saveRecord(ctx.env, {
              name: ctx.cluster,
              kubeconfig: ctx.kubeconfig,
              image,
              mode: o.mode,
              createdAt: new Date().toISOString(),
            });
            const kubectl = new Kubectl(ctx.kubeconfig, ctx.env, ctx.signal);
            const limit = {
              what: `${o.nodes} node${o.nodes > 1 ? 's' : ''} of "${ctx.cluster}" to be Ready`,
              timeoutMs: timeoutS * 1000,
            };
            const deadline = Date.now() + limit.timeoutMs;
            const nodes = await waitFor(
              async () => {
                // each probe is bounded by the time left, so a stuck kubectl cannot outlast the limit
                const left = Math.max(1000, Math.min(30_000, deadline - Date.now()));
                const list = await kubectl.json<NodeList>(['get', 'nodes'], { timeoutMs: left });
                const { ready, notReady } = readyNodes(list);
                task.output = `Ready: ${ready.length}/${o.nodes}${notReady.length ? ` (waiting for ${notReady.join(', ')})` : ''}`;
                return ready.length >= o.nodes && !notReady.length ? ready : undefined;
              },
              {
                ...limit,
                intervalMs: 1000,
                signal: ctx.signal,
                onWait: (m) => (task.output = m),
                hint: `look at \`kubectl --kubeconfig ${shortPath(ctx.kubeconfig)} describe nodes\`; on a slow machine raise --timeout`,
              },
            );
            c.result = {
              cluster: ctx.cluster,
              created: true,
              kubernetes: version,
              mode: o.mode,
              nodes,
              kubeconfig: ctx.kubeconfig,
              image,
            };
          } catch (e) {
            if (keep) throw e;
            await cleanupFailedCreate(ctx, provider, task);
            if (ctx.signal.aborted)
              throw new UserError(
                `interrupted while creating cluster "${ctx.cluster}": what was created has been deleted`,
                'run `proxylab up` again when you are ready',
                EXIT.interrupted,
              );
            throw explainCreateFailure(e, ctx.cluster);
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        },
      },
    ],
    {},
  );
  return state.result!;
}

async function cleanupFailedCreate(
  ctx: Context,
  provider: KindProvider,
  task: { output?: string },
): Promise<void> {
  task.output = `deleting what was created of "${ctx.cluster}"`;
  try {
    await provider.delete(ctx.cluster, ctx.kubeconfig);
  } catch (e) {
    ctx.io.error(
      `✘ could not delete the partial cluster "${ctx.cluster}": ${(e as Error).message}`,
    );
  }
  rmSync(ctx.kubeconfig, { force: true });
  const { removeRecord } = await import('../cluster/records.js');
  removeRecord(ctx.env, ctx.cluster);
}

function explainCreateFailure(e: unknown, cluster: string): UserError {
  if (e instanceof UserError) {
    return new UserError(
      e.message,
      `${e.hint ? `${e.hint}\n` : ''}the partly created cluster "${cluster}" was deleted (keep it next time with --keep-on-failure)`,
      e.exitCode,
      { cause: e },
    );
  }
  if (e instanceof CommandError) {
    const lines = e.stderr.split('\n').map((l) => l.trim());
    const why =
      lines.find((l) => l.startsWith('ERROR:')) ??
      lines.filter((l) => /error/i.test(l)).pop() ??
      e.stderrTail.split('\n').pop() ??
      '';
    const what = e.timedOut
      ? `kind did not finish within ${Math.round((e.timeoutMs ?? 0) / 1000)} s`
      : why || e.message;
    return new UserError(
      `creating cluster "${cluster}" failed: ${what}`,
      `the partly created cluster was deleted; run \`proxylab doctor\`, and \`proxylab up --keep-on-failure --debug\` to keep it for a look (\`kind export logs --name ${cluster}\`)`,
      EXIT.failed,
      { cause: e },
    );
  }
  return new UserError(
    `creating cluster "${cluster}" failed: ${(e as Error).message}`,
    'the partly created cluster was deleted',
    EXIT.failed,
    { cause: e },
  );
}
