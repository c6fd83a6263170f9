// What `proxylab scale` reads inside a node, derived from the simulated cluster's Services:
//
// - kube-proxy's metrics page (`curl ... http://127.0.0.1:10249/metrics`): the
//   kubeproxy_sync_proxy_rules_duration_seconds and kubeproxy_network_programming_duration_seconds
//   histograms in Prometheus text format (kube-proxy's buckets: 1 ms × 2^0..14). `reconcile`
//   records one sync per node whenever the number of Services changed, lasting
//   FAKE_SCALE_SYNC_<MODE>_US microseconds per Service (defaults: iptables 20, nftables 4,
//   ipvs 2) plus 1 ms — deterministic, so a flow test can check the differencing.
// - the datapath each mode programs is not here: iptables-save, /proc/net/ip_vs and ipvsadm
//   come from the one node datapath model in steps.mjs, nft from labs.mjs, both fed by the
//   shared service model (lib/services.mjs).
// - the probe loop (`sh -c '<curl loop>' probe COUNT VIP:PORT`): COUNT lines
//   "time_connect time_total"; a VIP that is no Service's gets curl's failure line.
// Knob: FAKE_SCALE_METRICS_DOWN=1 makes the metrics page refuse connections (curl exit 7).
import { servicePorts } from '../lib/services.mjs';

const BOUNDS = Array.from({ length: 15 }, (_, i) => +(0.001 * 2 ** i).toPrecision(6));
const PER_SERVICE_US = { iptables: 20, nftables: 4, ipvs: 2 };

function modeOf(node) {
  return node.datapath?.kubeProxy?.mode || 'iptables';
}

function ext(state, cluster, node) {
  state.ext.scale ??= {};
  const k = `${cluster.name}/${node.name}`;
  return (state.ext.scale[k] ??= { services: -1, mode: '', syncs: [], netprog: [] });
}

export function reconcile(state, cluster) {
  const n = servicePorts(cluster).length;
  for (const node of cluster.nodes ?? []) {
    const e = ext(state, cluster, node);
    const mode = modeOf(node);
    if (e.mode !== mode) {
      // a restarted kube-proxy starts its counters from zero
      e.mode = mode;
      e.syncs = [];
      e.netprog = [];
      e.services = -1;
    }
    if (e.services !== n) {
      const per = Number(
        process.env[`FAKE_SCALE_SYNC_${mode.toUpperCase()}_US`] ?? PER_SERVICE_US[mode] ?? 10,
      );
      const secs = 0.001 + (n * per) / 1e6;
      e.syncs.push(+secs.toFixed(6));
      if (e.services >= 0) e.netprog.push(+(secs + 0.5).toFixed(6));
      e.services = n;
    }
  }
}

function histogram(name, help, values) {
  const lines = [`# HELP ${name} [ALPHA] ${help}`, `# TYPE ${name} histogram`];
  for (const b of BOUNDS)
    lines.push(`${name}_bucket{le="${b}"} ${values.filter((v) => v <= b).length}`);
  lines.push(`${name}_bucket{le="+Inf"} ${values.length}`);
  lines.push(`${name}_sum ${+values.reduce((a, v) => a + v, 0).toFixed(6)}`);
  lines.push(`${name}_count ${values.length}`);
  return lines.join('\n');
}

export const handlers = [
  {
    tool: 'node',
    name: 'curl 127.0.0.1:10249/metrics',
    match: (c) =>
      c.argv[0] === 'curl' &&
      c.argv.some((a) => /(127\.0\.0\.1|localhost):10249\/metrics$/.test(a)),
    run(c) {
      const kp = c.node.datapath?.kubeProxy;
      if (!kp || kp.healthy === false || c.env.FAKE_SCALE_METRICS_DOWN === '1') return 7;
      const e = ext(c.state, c.cluster, c.node);
      c.out(
        [
          histogram(
            'kubeproxy_network_programming_duration_seconds',
            'In Cluster Network Programming Latency in seconds',
            e.netprog,
          ),
          histogram(
            'kubeproxy_sync_proxy_rules_duration_seconds',
            'SyncProxyRules latency in seconds',
            e.syncs,
          ),
          '# HELP kubeproxy_sync_proxy_rules_last_timestamp_seconds [ALPHA] The last time proxy rules were successfully synced',
          '# TYPE kubeproxy_sync_proxy_rules_last_timestamp_seconds gauge',
          'kubeproxy_sync_proxy_rules_last_timestamp_seconds 1.7636688e+09',
          '',
        ].join('\n'),
      );
      return 0;
    },
  },
  {
    tool: 'node',
    name: 'sh -c <curl probe loop> probe COUNT VIP:PORT',
    match: (c) =>
      c.argv[0] === 'sh' &&
      c.argv[1] === '-c' &&
      c.argv[3] === 'probe' &&
      /curl/.test(c.argv[2] ?? ''),
    run(c) {
      const count = Number(c.argv[4]);
      const [vip, port] = (c.argv[5] ?? '').split(':');
      const ok = servicePorts(c.cluster).some(
        (p) => p.vip === vip && String(p.port) === port && p.eps.length,
      );
      const lines = [];
      for (let i = 0; i < count; i++)
        lines.push(
          ok
            ? `0.000${String(200 + (i % 50)).padStart(3, '0')} 0.00${String(400 + (i % 100)).padStart(4, '0')}`
            : 'error',
        );
      c.out(`${lines.join('\n')}\n`);
      return 0;
    },
  },
];
