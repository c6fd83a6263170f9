import { defineCommand, str } from '../core/command.js';
import { requireCluster } from '../cluster/guard.js';
import { kubeFor, newState } from '../steps/flows.js';
import { loadWebObjects, webNames } from '../steps/web.js';
import { sendTraffic, trafficTable, validateTraffic } from '../steps/traffic.js';

export default defineCommand({
  name: 'traffic',
  summary: 'send requests to the web service and count which pod answered',
  usage: 'proxylab traffic [--from node|pod|host] [--to clusterip|nodeport] [-n N]',
  details: `
Sends N requests (20 by default) to the web sample and prints how many each backend pod
answered, and how many failed. With the rr scheduler the answers spread evenly; with sh or
ClientIP affinity one pod answers them all.
  --from node   from inside a worker node (default)
  --from pod    from inside a web pod (kubectl exec)
  --from host   from this machine (NodePort only; Linux hosts reach kind's node IPs)`,
  options: {
    from: { type: 'string', arg: 'WHERE', description: 'node, pod or host', default: 'node' },
    to: { type: 'string', arg: 'WHAT', description: 'clusterip or nodeport', default: 'clusterip' },
    requests: {
      type: 'string',
      short: 'n',
      arg: 'N',
      description: 'number of requests',
      default: '20',
    },
    namespace: {
      type: 'string',
      arg: 'NS',
      description: 'namespace of the web sample',
      default: 'default',
    },
  },
  json: true,
  async run(ctx, args) {
    const o = validateTraffic({
      from: str(args, 'from'),
      to: str(args, 'to'),
      n: str(args, 'requests'),
    });
    await requireCluster(ctx);
    const kube = await kubeFor(ctx, newState());
    const r = await sendTraffic(
      kube,
      { ...o, namespace: str(args, 'namespace') ?? 'default', names: webNames(loadWebObjects()) },
      ctx.signal,
    );
    if (ctx.json) ctx.io.out(JSON.stringify(r, null, 2));
    else ctx.io.out(trafficTable(r).join('\n'));
    return r.failures > 0 ? 1 : 0;
  },
});
