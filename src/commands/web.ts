import { defineCommand, str } from '../core/command.js';
import { runTasks } from '../ui/tasks.js';
import { requireCluster } from '../cluster/guard.js';
import { kubeFor, newState } from '../steps/flows.js';
import { withLock } from '../steps/state.js';
import { applyWeb, validateWebOptions } from '../steps/web.js';

export default defineCommand({
  name: 'web',
  summary: 'deploy the nginx web sample (ClusterIP + NodePort services)',
  usage: 'proxylab web [--replicas N] [--affinity ClientIP [--affinity-timeout S]]',
  interrupted:
    'the web sample may be applied only in part (kube-proxy mode and everything else unchanged); `proxylab status` shows what is there',
  details: `
Applies configs/manifests/web.yaml: the nginx Deployment "web" (2 replicas by default) whose
pods answer with their own name, a ClusterIP Service on port 80 and a NodePort Service, then
waits until the pods are ready. A re-run converges to what you ask (replicas, affinity).
With --affinity ClientIP, ipvsadm shows "persistent <timeout>" on the service.`,
  options: {
    replicas: { type: 'string', arg: 'N', description: 'number of web pods', default: '2' },
    affinity: {
      type: 'string',
      arg: 'ClientIP|None',
      description: 'session affinity of both services',
      default: 'None',
    },
    'affinity-timeout': {
      type: 'string',
      arg: 'S',
      description: 'ClientIP affinity timeout in seconds (default 10800)',
    },
    namespace: { type: 'string', arg: 'NS', description: 'namespace', default: 'default' },
    timeout: {
      type: 'string',
      arg: 'SECONDS',
      description: 'limit for the pods to become ready',
      default: '180',
    },
  },
  async run(ctx, args) {
    const o = validateWebOptions({
      replicas: str(args, 'replicas'),
      affinity: str(args, 'affinity'),
      affinityTimeout: str(args, 'affinity-timeout'),
    });
    const namespace = str(args, 'namespace') ?? 'default';
    const timeoutS = Number(str(args, 'timeout') ?? '180');
    await requireCluster(ctx);
    const st = newState();
    let applied: string[] = [];
    await withLock(ctx.env, ctx.cluster, 'web', () =>
      runTasks(
        ctx,
        [
          {
            title: `web sample: ${o.replicas} pod(s), affinity ${o.affinity}${o.affinityTimeoutS ? ` ${o.affinityTimeoutS}s` : ''}`,
            task: async (_c, task) => {
              const kube = await kubeFor(ctx, st);
              applied = await applyWeb(
                kube,
                { ...o, namespace },
                timeoutS,
                (t) => (task.output = t),
                ctx.signal,
              );
            },
          },
        ],
        {},
      ),
    );
    for (const l of applied) ctx.io.info(`  ${l}`);
    ctx.io.info('  next: `proxylab traffic` sends requests and counts the answering pods');
    return 0;
  },
});
