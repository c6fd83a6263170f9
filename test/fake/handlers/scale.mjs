// What `proxylab scale` reads inside a node, derived from the simulated cluster's Services:
//
// - kube-proxy's metrics page (`curl ... http://127.0.0.1:10249/metrics`): the
//   kubeproxy_sync_proxy_rules_duration_seconds and kubeproxy_network_programming_duration_seconds
//   histograms in Prometheus text format (kube-proxy's buckets: 1 ms × 2^0..14). `reconcile`
//   records one sync per node whenever the number of Services changed, lasting
//   FAKE_SCALE_SYNC_<MODE>_US microseconds per Service (defaults: iptables 20, nftables 4,
//   ipvs 2) plus 1 ms — deterministic, so a flow test can check the differencing.
// - the datapath the mode programs, one entry per Service port with endpoints:
//   `iptables-save -t nat` (KUBE-SERVICES/KUBE-SVC/KUBE-SEP), `nft -j list table ip kube-proxy`
//   and `nft list map ip kube-proxy service-ips`, `cat /proc/net/ip_vs`.
// - the probe loop (`sh -c '<curl loop>' probe COUNT VIP:PORT`): COUNT lines
//   "time_connect time_total"; a VIP that is no Service's gets curl's failure line.
// Knob: FAKE_SCALE_METRICS_DOWN=1 makes the metrics page refuse connections (curl exit 7).
import { createHash } from 'node:crypto';
import { list } from '../lib/cluster.mjs';

const BOUNDS = Array.from({ length: 15 }, (_, i) => +(0.001 * 2 ** i).toPrecision(6));
const PER_SERVICE_US = { iptables: 20, nftables: 4, ipvs: 2 };

function modeOf(node) {
  return node.datapath?.kubeProxy?.mode || 'iptables';
}

/** Service ports with a ClusterIP and their ready endpoints (EndpointSlices, else Endpoints). */
function servicePorts(cluster) {
  const slices = list(cluster, 'EndpointSlice');
  const out = [];
  for (const s of list(cluster, 'Service')) {
    const ip = s.spec?.clusterIP;
    if (!ip || ip === 'None') continue;
    const ns = s.metadata.namespace;
    const mine = slices.filter(
      (x) =>
        x.metadata.namespace === ns &&
        x.metadata.labels?.['kubernetes.io/service-name'] === s.metadata.name,
    );
    for (const port of s.spec.ports ?? []) {
      let eps = [];
      if (mine.length) {
        for (const sl of mine) {
          const sp =
            (sl.ports ?? []).find((p) => (p.name ?? '') === (port.name ?? '')) ?? sl.ports?.[0];
          for (const e of sl.endpoints ?? [])
            if (e.conditions?.ready !== false)
              for (const a of e.addresses ?? [])
                eps.push(`${a}:${sp?.port ?? port.targetPort ?? port.port}`);
        }
      } else {
        const ep = list(cluster, 'Endpoints').find(
          (x) => x.metadata.namespace === ns && x.metadata.name === s.metadata.name,
        );
        for (const sub of ep?.subsets ?? [])
          for (const a of sub.addresses ?? [])
            eps.push(`${a.ip}:${sub.ports?.[0]?.port ?? port.port}`);
      }
      out.push({
        ns,
        name: s.metadata.name,
        portName: port.name ?? '',
        ip,
        port: port.port,
        proto: (port.protocol ?? 'TCP').toLowerCase(),
        eps,
      });
    }
  }
  return out;
}

function h(text, n) {
  return createHash('sha256')
    .update(text)
    .digest('base64')
    .replace(/[^A-Z2-7]/g, '')
    .padEnd(n, 'A')
    .slice(0, n);
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

function iptablesSave(ports) {
  const chains = [':KUBE-SERVICES - [0:0]', ':KUBE-MARK-MASQ - [0:0]', ':KUBE-POSTROUTING - [0:0]'];
  const rules = [
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000',
  ];
  const services = [];
  for (const p of ports) {
    const spn = `${p.ns}/${p.name}${p.portName ? `:${p.portName}` : ''}`;
    if (!p.eps.length) continue;
    const svc = `KUBE-SVC-${h(spn + p.proto, 16)}`;
    chains.push(`:${svc} - [0:0]`);
    services.push(
      `-A KUBE-SERVICES -d ${p.ip}/32 -p ${p.proto} -m comment --comment "${spn} cluster IP" -m ${p.proto} --dport ${p.port} -j ${svc}`,
    );
    p.eps.forEach((ep, i) => {
      const sep = `KUBE-SEP-${h(spn + p.proto + ep, 16)}`;
      chains.push(`:${sep} - [0:0]`);
      const left = p.eps.length - i;
      rules.push(
        `-A ${svc} -m comment --comment "${spn} -> ${ep}"${left > 1 ? ` -m statistic --mode random --probability ${(1 / left).toFixed(11)}` : ''} -j ${sep}`,
      );
      rules.push(
        `-A ${sep} -p ${p.proto} -m comment --comment "${spn}" -m ${p.proto} -j DNAT --to-destination ${ep}`,
      );
    });
  }
  return [
    '# Generated by iptables-nft-save v1.8.9 (nf_tables)',
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ...chains,
    ...rules,
    ...services,
    'COMMIT',
    '',
  ].join('\n');
}

function nftJson(ports) {
  const t = { family: 'ip', table: 'kube-proxy' };
  const items = [
    { metainfo: { version: '1.0.9', json_schema_version: 1 } },
    { table: { ...t, name: 'kube-proxy', handle: 1 } },
  ];
  const elems = [];
  let rules = 0;
  for (const c of ['services', 'mark-for-masquerade', 'nat-prerouting'])
    items.push({ chain: { ...t, name: c } });
  for (const p of ports.filter((x) => x.eps.length)) {
    const base = `${p.ns}/${p.name}/${p.proto}/${p.portName}`;
    const svc = `service-${h(base, 8)}-${base}`;
    items.push({ chain: { ...t, name: svc } });
    items.push({ rule: { ...t, chain: svc, expr: [] } });
    rules++;
    for (const ep of p.eps) {
      const name = `endpoint-${h(`${base}__${ep}`, 8)}-${base}__${ep.replace(':', '/')}`;
      items.push({ chain: { ...t, name } }, { rule: { ...t, chain: name, expr: [] } });
    }
    elems.push([{ concat: [p.ip, p.proto, p.port] }, { goto: { target: svc } }]);
  }
  items.push({
    map: {
      ...t,
      name: 'service-ips',
      type: ['ipv4_addr', 'inet_proto', 'inet_service'],
      map: 'verdict',
      elem: elems,
    },
  });
  items.push({ rule: { ...t, chain: 'services', expr: [] } });
  void rules;
  return JSON.stringify({ nftables: items });
}

function hex(ip, port) {
  return `${ip
    .split('.')
    .map((o) => Number(o).toString(16).toUpperCase().padStart(2, '0'))
    .join('')}:${Number(port).toString(16).toUpperCase().padStart(4, '0')}`;
}

function procIpvs(ports) {
  const lines = [
    'IP Virtual Server version 1.2.1 (size=4096)',
    'Prot LocalAddress:Port Scheduler Flags',
    '  -> RemoteAddress:Port Forward Weight ActiveConn InActConn',
  ];
  for (const p of ports) {
    lines.push(`${p.proto.toUpperCase()}  ${hex(p.ip, p.port)} rr`);
    for (const ep of p.eps) {
      const [a, b] = ep.split(':');
      lines.push(`  -> ${hex(a, b)}      Masq    1      0          0`);
    }
  }
  return `${lines.join('\n')}\n`;
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
    name: 'iptables-save -t nat (kube-proxy iptables mode)',
    match: (c) => c.argv[0] === 'iptables-save' && modeOf(c.node) === 'iptables',
    run(c) {
      c.out(iptablesSave(servicePorts(c.cluster)));
      return 0;
    },
  },
  {
    tool: 'node',
    name: 'nft list table/map ip kube-proxy',
    match: (c) => c.argv[0] === 'nft' && c.argv.includes('kube-proxy'),
    run(c) {
      if (modeOf(c.node) !== 'nftables')
        c.fail(
          1,
          'Error: No such file or directory; did you mean table ‘kube-proxy’ in family ip?',
        );
      const ports = servicePorts(c.cluster).filter((p) => p.eps.length);
      if (c.argv.includes('-j')) c.out(nftJson(ports));
      else {
        const el = ports.map(
          (p) =>
            `${p.ip} . ${p.proto} . ${p.port} : goto service-${h(`${p.ns}/${p.name}/${p.proto}/${p.portName}`, 8)}-${p.ns}/${p.name}/${p.proto}/${p.portName}`,
        );
        c.out(
          `table ip kube-proxy {\n\tmap service-ips {\n\t\ttype ipv4_addr . inet_proto . inet_service : verdict\n\t\telements = { ${el.join(',\n\t\t\t     ')} }\n\t}\n}\n`,
        );
      }
      return 0;
    },
  },
  {
    tool: 'node',
    name: 'cat /proc/net/ip_vs',
    match: (c) => c.argv[0] === 'cat' && c.argv[1] === '/proc/net/ip_vs',
    run(c) {
      if (modeOf(c.node) !== 'ipvs') {
        c.out(
          'IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n',
        );
        return 0;
      }
      c.out(procIpvs(servicePorts(c.cluster)));
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
        (p) => p.ip === vip && String(p.port) === port && p.eps.length,
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
