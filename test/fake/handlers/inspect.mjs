// Fake handlers for `proxylab inspect` (issue 4):
// - the node snapshot script (src/inspect/snapshot.ts SNAPSHOT_SCRIPT): each section's
//   command is dispatched inside the node like a separate `docker exec` would be (so the
//   steps handlers' ipvsadm / iptables-save / ipset / ip / curl answers are reused), and
//   printed between the same markers the real script prints, with the command's exit code;
// - `kubectl get ...endpointslices... -o json`: the fake cluster keeps v1 Endpoints only;
//   this answers with EndpointSlices mirrored from them, as the EndpointSlice controller does.
// Knob: FAKE_INSPECT_CUT=<node> cuts that node's script output after the ipvsadm section.
import { parseKubectl, connect } from '../core/kubectl.mjs';
import { list } from '../lib/cluster.mjs';
import { createHash } from 'node:crypto';

const MARK = '@@proxylab-inspect';

/** The section commands of the real script, in order (kept in step with SNAPSHOT_SCRIPT by a test). */
export const SECTIONS = [
  ['ipvsadm', ['ipvsadm', '-Ln']],
  ['iptables-save', ['iptables-save']],
  ['ipset', ['ipset', 'list']],
  ['kube-ipvs0', ['ip', 'addr', 'show', 'kube-ipvs0']],
  ['nft', ['nft', 'list', 'table', 'ip', 'kube-proxy']],
  ['proxy-mode', ['curl', '-s', '--max-time', '3', 'http://127.0.0.1:10249/proxyMode']],
];

function isExit(e) {
  return e && typeof e === 'object' && typeof e.code === 'number' && 'stderr' in e;
}

function sliceName(ns, name) {
  return `${name}-${createHash('sha256').update(`${ns}/${name}`).digest('hex').slice(0, 5)}`;
}

/** EndpointSlices mirrored from v1 Endpoints (ready and not-ready addresses). */
function slicesFrom(cluster, ns) {
  const out = [];
  for (const ep of list(cluster, 'Endpoints', ns)) {
    for (const sub of ep.subsets ?? []) {
      const endpoints = [
        ...(sub.addresses ?? []).map((a) => ({ a, ready: true })),
        ...(sub.notReadyAddresses ?? []).map((a) => ({ a, ready: false })),
      ].map(({ a, ready }) => ({
        addresses: [a.ip],
        conditions: { ready, serving: ready, terminating: false },
        ...(a.nodeName ? { nodeName: a.nodeName } : {}),
        ...(a.targetRef ? { targetRef: a.targetRef } : {}),
      }));
      out.push({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: sliceName(ep.metadata.namespace, ep.metadata.name),
          namespace: ep.metadata.namespace,
          labels: {
            'kubernetes.io/service-name': ep.metadata.name,
            'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
          },
        },
        addressType: 'IPv4',
        endpoints,
        ports: (sub.ports ?? []).map((p) => ({
          name: p.name ?? '',
          port: p.port,
          protocol: p.protocol ?? 'TCP',
        })),
      });
    }
  }
  return out;
}

const SLICE_WORDS = new Set([
  'endpointslice',
  'endpointslices',
  'endpointslice.discovery.k8s.io',
  'endpointslices.discovery.k8s.io',
]);
const SERVICE_WORDS = new Set(['svc', 'service', 'services']);

export const handlers = [
  {
    tool: 'node',
    name: 'proxylab inspect snapshot script',
    match: (c) =>
      c.argv[0] === 'sh' &&
      c.argv[1] === '-c' &&
      typeof c.argv[2] === 'string' &&
      c.argv[2].includes(MARK),
    run(c) {
      const cut = (c.env.FAKE_INSPECT_CUT ?? '') === c.node.name;
      for (const [name, argv] of SECTIONS) {
        c.out(`\n${MARK} begin ${name}@@\n`);
        let code = 0;
        try {
          code = c.inNode(c.cluster, c.node, argv) ?? 0;
        } catch (e) {
          if (!isExit(e)) throw e;
          // The script merges stderr into stdout; sh reports a missing program itself.
          const msg = e.code === 127 ? `sh: 1: ${argv[0]}: not found\n` : e.stderr;
          c.out(msg);
          code = e.code;
        }
        c.out(`\n${MARK} end ${name} ${code}@@\n`);
        if (cut) return 0;
      }
      c.out(`\n${MARK} done@@\n`);
      return 0;
    },
  },
  {
    tool: 'kubectl',
    name: 'get services,endpointslices -o json',
    match: (c) => {
      const p = parseKubectl(c.argv);
      return (
        p.pos[0] === 'get' &&
        (p.pos[1] ?? '').split(',').some((w) => SLICE_WORDS.has(w.toLowerCase()))
      );
    },
    run(c) {
      const p = parseKubectl(c.argv);
      const cluster = connect(c, p);
      if (p.f('-o', '--output') !== 'json')
        c.fail(1, 'fake kubectl (inspect handler): only -o json is simulated for endpointslices');
      const ns = p.f('-A', '--all-namespaces')
        ? undefined
        : (p.f('-n', '--namespace') ?? 'default');
      const items = [];
      for (const w of p.pos[1].split(',')) {
        const word = w.toLowerCase();
        if (SERVICE_WORDS.has(word)) items.push(...list(cluster, 'Service', ns));
        else if (SLICE_WORDS.has(word)) items.push(...slicesFrom(cluster, ns));
        else
          c.fail(
            1,
            `fake kubectl (inspect handler): ${w} is not simulated together with endpointslices`,
          );
      }
      c.out(
        `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items, metadata: { resourceVersion: '' } }, null, 4)}\n`,
      );
      return 0;
    },
  },
];
