/**
 * A kind cluster in ipvs mode as seed 001 shows it (web service 10.96.119.228 with pods
 * 10.244.1.6 and 10.244.2.4, CoreDNS, the API server), assembled into the marker output
 * of the inspect node script, plus the kubectl JSON for the same cluster.
 */
import type { SectionName } from '../../../src/inspect/snapshot.js';
import { seed, real } from '../../helpers/fixtures.js';
import type {
  K8sConfigMap,
  K8sEndpointSlice,
  K8sList,
  K8sService,
} from '../../../src/inspect/join.js';

export type Sections = Partial<Record<SectionName, { out: string; code?: number }>>;

export function nodeOutput(s: Sections, done = true): string {
  let t = '';
  for (const [name, v] of Object.entries(s)) {
    t += `\n@@proxylab-inspect begin ${name}@@\n${v.out}\n@@proxylab-inspect end ${name} ${v.code ?? 0}@@\n`;
  }
  return done ? `${t}\n@@proxylab-inspect done@@\n` : t;
}

export const IPVSADM = seed('001-ipvsadm-ln-kind-web.txt').body;
export const IPSET = seed('001-ipset-KUBE-CLUSTER-IP.txt').body;
/** seed 001 shows the ipvs-mode KUBE-SERVICES chain with -nvL; this is its iptables-save form. */
export const NAT_IPVS = `*nat
:PREROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-MARK-MASQ - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A KUBE-SERVICES ! -s 10.244.0.0/16 -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ
-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT
-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT
COMMIT
`;
/** kube-ipvs0 carrying every ClusterIP of the ipset above. */
export const KUBE_IPVS0 = [
  '7: kube-ipvs0: <BROADCAST,NOARP> mtu 1500 qdisc noop state DOWN group default',
  '    link/ether 22:76:01:f0:71:9f brd ff:ff:ff:ff:ff:ff',
  ...[
    '10.96.0.10',
    '10.96.0.1',
    '10.96.148.225',
    '10.96.68.46',
    '10.96.10.207',
    '10.96.159.35',
    '10.96.119.228',
  ].flatMap((ip) => [
    `    inet ${ip}/32 scope global kube-ipvs0`,
    '       valid_lft forever preferred_lft forever',
  ]),
].join('\n');

/** What nft 1.0.6 prints (exit 1) for a table that is not there (run on this project's machine). */
export const NO_NFT_TABLE = `Error: No such file or directory
list table ip kube-proxy
              ^^^^^^^^^^`;

export function ipvsNode(over: Sections = {}): string {
  return nodeOutput({
    ipvsadm: { out: IPVSADM },
    'iptables-save': { out: NAT_IPVS },
    ipset: { out: IPSET },
    'kube-ipvs0': { out: KUBE_IPVS0 },
    nft: { out: NO_NFT_TABLE, code: 1 },
    'proxy-mode': { out: 'ipvs' },
    ...over,
  });
}

function svc(
  ns: string,
  name: string,
  ip: string,
  ports: { name?: string; port: number; protocol?: string }[],
): K8sService {
  return { metadata: { namespace: ns, name }, spec: { type: 'ClusterIP', clusterIP: ip, ports } };
}
function slice(
  ns: string,
  name: string,
  ports: { name?: string; port: number; protocol?: string }[],
  eps: [string, boolean, string?][],
): K8sEndpointSlice {
  return {
    metadata: {
      namespace: ns,
      name: `${name}-abcde`,
      labels: { 'kubernetes.io/service-name': name },
    },
    addressType: 'IPv4',
    ports: ports.map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' })),
    endpoints: eps.map(([ip, ready, pod]) => ({
      addresses: [ip],
      conditions: { ready },
      ...(pod ? { targetRef: { name: pod } } : {}),
    })),
  };
}

export function cluster(
  opts: { webReady?: [string, boolean][]; scheduler?: string; mode?: string } = {},
) {
  const services: K8sList<K8sService> = {
    kind: 'List',
    items: [
      svc('default', 'kubernetes', '10.96.0.1', [{ name: 'https', port: 443 }]),
      svc('kube-system', 'kube-dns', '10.96.0.10', [
        { name: 'dns', port: 53, protocol: 'UDP' },
        { name: 'dns-tcp', port: 53 },
        { name: 'metrics', port: 9153 },
      ]),
      svc('default', 'web', '10.96.119.228', [{ port: 80 }]),
    ],
  };
  const web = opts.webReady ?? [
    ['10.244.1.6', true],
    ['10.244.2.4', true],
  ];
  const endpoints: K8sList<K8sEndpointSlice> = {
    kind: 'List',
    items: [
      slice('default', 'kubernetes', [{ name: 'https', port: 6443 }], [['192.168.224.3', true]]),
      slice(
        'kube-system',
        'kube-dns',
        [
          { name: 'dns', port: 53, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53 },
          { name: 'metrics', port: 9153 },
        ],
        [
          ['10.244.0.3', true, 'coredns-6f6b679f8f-4xk2p'],
          ['10.244.0.4', true, 'coredns-6f6b679f8f-9zqvd'],
        ],
      ),
      slice(
        'default',
        'web',
        [{ port: 80 }],
        web.map(
          ([ip, r], i) =>
            [ip, r, `web-96d5df5c8-${['6bgpr', 'wkfrb', 'x2x2x'][i] ?? 'zzzzz'}`] as [
              string,
              boolean,
              string,
            ],
        ),
      ),
    ],
  };
  const configMap: K8sConfigMap = {
    data: {
      'config.conf': `apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nipvs:\n  scheduler: "${opts.scheduler ?? ''}"\n  strictARP: false\nmode: "${opts.mode ?? 'ipvs'}"\n`,
    },
  };
  return { services, endpoints, configMap };
}

/** An iptables-mode node whose KUBE-SVC chain for web points at the given pods. */
export function iptablesNode(pods: string[]): string {
  const rules = [
    '*nat',
    ':KUBE-SERVICES - [0:0]',
    '-A KUBE-SERVICES -d 10.96.119.228/32 -p tcp -m comment --comment "default/web cluster IP" -m tcp --dport 80 -j KUBE-SVC-LOLE4ISW44XBNF3G',
    ...pods.flatMap((p, i) => [
      `-A KUBE-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web -> ${p}:80"${i < pods.length - 1 ? ` -m statistic --mode random --probability ${(1 / (pods.length - i)).toFixed(11)}` : ''} -j KUBE-SEP-WEB${i}`,
      `-A KUBE-SEP-WEB${i} -p tcp -m comment --comment "default/web" -m tcp -j DNAT --to-destination ${p}:80`,
    ]),
    'COMMIT',
  ].join('\n');
  return nodeOutput({
    ipvsadm: { out: 'sh: 1: ipvsadm: not found', code: 127 },
    'iptables-save': { out: rules },
    ipset: { out: 'sh: 1: ipset: not found', code: 127 },
    'kube-ipvs0': { out: 'Device "kube-ipvs0" does not exist.', code: 1 },
    nft: { out: NO_NFT_TABLE, code: 1 },
    'proxy-mode': { out: 'iptables' },
  });
}

/** Leftover iptables-mode chains (shared fixture 17) appended to the ipvs-mode nat table. */
export const STALE_NAT = NAT_IPVS.replace(
  'COMMIT\n',
  `${real('iptables/17-hwchiu-2018-save-grep-nodeport.txt').body.trim()}\nCOMMIT\n`,
);
