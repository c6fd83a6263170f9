// The simulated kind cluster: nodes (containers), Kubernetes objects, and the little
// controllers that keep pods, endpoints and kube-proxy in line with them.
import { next, suffix, hex, nowIso } from './state.mjs';
import { IPVS_DEPRECATION, NODE_BASE, kubeProxyLogFacts } from '../model/k8s-versions.mjs';

export const DEFAULT_IMAGE = 'kindest/node:v1.35.0';

/** Parse "kindest/node:v1.33.1@sha256:..." → "v1.33.1" */
export function versionFromImage(image) {
  const m = /:(v\d+\.\d+\.\d+)/.exec(image);
  return m ? m[1] : 'v1.35.0';
}

export function minorOf(version) {
  const m = /^v?(\d+)\.(\d+)/.exec(version);
  return m ? Number(m[2]) : 0;
}

export function key(kind, namespace, name) {
  return `${kind}/${namespace ?? ''}/${name}`;
}

export function getObj(cluster, kind, namespace, name) {
  return cluster.objects[key(kind, namespace, name)];
}

export function putObj(state, cluster, obj) {
  const ns = NAMESPACED.has(obj.kind) ? (obj.metadata.namespace ??= 'default') : undefined;
  const k = key(obj.kind, ns, obj.metadata.name);
  const prev = cluster.objects[k];
  obj.metadata.uid ??= prev?.metadata?.uid ?? uid(state);
  obj.metadata.creationTimestamp ??= prev?.metadata?.creationTimestamp ?? nowIso();
  obj.metadata.resourceVersion = String(1000 + next(state));
  if (prev?.metadata?.generation !== undefined || obj.spec) {
    const same = prev && JSON.stringify(prev.spec) === JSON.stringify(obj.spec);
    obj.metadata.generation = (prev?.metadata?.generation ?? 0) + (same ? 0 : 1);
  }
  cluster.objects[k] = obj;
  return obj;
}

export function delObj(cluster, kind, namespace, name) {
  const k = key(kind, NAMESPACED.has(kind) ? (namespace ?? 'default') : undefined, name);
  const had = k in cluster.objects;
  delete cluster.objects[k];
  return had;
}

export function list(cluster, kind, namespace) {
  return Object.values(cluster.objects).filter(
    (o) =>
      o.kind === kind &&
      (namespace === undefined || !NAMESPACED.has(kind) || o.metadata.namespace === namespace),
  );
}

export const NAMESPACED = new Set([
  'Pod',
  'Service',
  'Endpoints',
  'ConfigMap',
  'DaemonSet',
  'Deployment',
  'ReplicaSet',
  'Event',
  'ServiceAccount',
  'Secret',
  'EndpointSlice',
]);

export const API_VERSION = {
  Pod: 'v1',
  Service: 'v1',
  Endpoints: 'v1',
  ConfigMap: 'v1',
  Node: 'v1',
  Namespace: 'v1',
  Event: 'v1',
  ServiceAccount: 'v1',
  Secret: 'v1',
  DaemonSet: 'apps/v1',
  Deployment: 'apps/v1',
  ReplicaSet: 'apps/v1',
  EndpointSlice: 'discovery.k8s.io/v1',
};

function uid(state) {
  const h = hex(state, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export function matchesSelector(labels = {}, selector = {}) {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** Parse a kubectl -l selector: "a=b,c!=d,e" */
export function parseSelector(text) {
  const terms = text
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  return (labels = {}) =>
    terms.every((t) => {
      let m;
      if ((m = /^([^!=]+)!=(.*)$/.exec(t))) return labels[m[1]] !== m[2];
      if ((m = /^([^=]+)==?(.*)$/.exec(t))) return labels[m[1]] === m[2];
      if (t.startsWith('!')) return !(t.slice(1) in labels);
      return t in labels;
    });
}

// ---------------------------------------------------------------------------------------
// kube-proxy ConfigMap, shaped like kubeadm's (fixture kubectl/27-v1.34-...).

export function kubeProxyConfigConf({
  mode = '',
  scheduler = '',
  clusterCIDR = '10.244.0.0/16',
  minor = 35,
}) {
  const nft =
    minor >= 29
      ? `nftables:\n  masqueradeAll: false\n  masqueradeBit: null\n  minSyncPeriod: 0s\n  syncPeriod: 0s\n`
      : '';
  return (
    `apiVersion: kubeproxy.config.k8s.io/v1alpha1\n` +
    `bindAddress: 0.0.0.0\n` +
    `bindAddressHardFail: false\n` +
    `clientConnection:\n  acceptContentTypes: ""\n  burst: 0\n  contentType: ""\n  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf\n  qps: 0\n` +
    `clusterCIDR: ${clusterCIDR}\n` +
    `configSyncPeriod: 0s\n` +
    `conntrack:\n  maxPerCore: 0\n  min: null\n  tcpBeLiberal: false\n  tcpCloseWaitTimeout: null\n  tcpEstablishedTimeout: null\n  udpStreamTimeout: 0s\n  udpTimeout: 0s\n` +
    `detectLocal:\n  bridgeInterface: ""\n  interfaceNamePrefix: ""\n` +
    `detectLocalMode: ""\n` +
    `enableProfiling: false\n` +
    `healthzBindAddress: ""\n` +
    `hostnameOverride: ""\n` +
    `iptables:\n  localhostNodePorts: null\n  masqueradeAll: false\n  masqueradeBit: null\n  minSyncPeriod: 1s\n  syncPeriod: 0s\n` +
    `ipvs:\n  excludeCIDRs: null\n  minSyncPeriod: 0s\n  scheduler: "${scheduler}"\n  strictARP: false\n  syncPeriod: 0s\n  tcpFinTimeout: 0s\n  tcpTimeout: 0s\n  udpTimeout: 0s\n` +
    `kind: KubeProxyConfiguration\n` +
    `logging:\n  flushFrequency: 0\n  options:\n    json:\n      infoBufferSize: "0"\n    text:\n      infoBufferSize: "0"\n  verbosity: 0\n` +
    `metricsBindAddress: ""\n` +
    `mode: ${mode === '' ? '""' : mode}\n` +
    nft +
    `nodePortAddresses: null\n` +
    `oomScoreAdj: null\n` +
    `portRange: ""\n` +
    `showHiddenMetricsForVersion: ""\n` +
    `winkernel:\n  enableDSR: false\n  forwardHealthCheckVip: false\n  networkName: ""\n  rootHnsEndpointName: ""\n  sourceVip: ""`
  );
}

export function kubeProxyKubeconfigConf(cluster) {
  return (
    `apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt\n` +
    `    server: https://${cluster.name}-control-plane:6443\n  name: default\ncontexts:\n- context:\n    cluster: default\n    namespace: default\n    user: default\n  name: default\n` +
    `current-context: default\nusers:\n- name: default\n  user:\n    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token`
  );
}

/** Read mode and scheduler back from the ConfigMap's config.conf (the way kube-proxy would). */
export function readKubeProxyConfig(cluster) {
  const cm = getObj(cluster, 'ConfigMap', 'kube-system', 'kube-proxy');
  const text = cm?.data?.['config.conf'] ?? '';
  const mode = (/^mode:\s*"?([a-z]*)"?\s*$/m.exec(text)?.[1] ?? '').trim();
  const ipvsBlock = /^ipvs:\n((?:[ \t]+.*\n?)*)/m.exec(text)?.[1] ?? '';
  const scheduler = (
    /^\s+scheduler:\s*"?([A-Za-z0-9_-]*)"?\s*$/m.exec(ipvsBlock)?.[1] ?? ''
  ).trim();
  return { mode: mode || 'iptables', configuredMode: mode, scheduler };
}

// ---------------------------------------------------------------------------------------
// Cluster creation

export function newCluster(state, { name, image, config, kindVersion }) {
  const version = versionFromImage(image);
  const roles = (config.nodes?.length ? config.nodes : [{ role: 'control-plane' }]).map(
    (n) => n.role ?? 'control-plane',
  );
  const cluster = {
    name,
    image,
    k8sVersion: version,
    kindVersion,
    createdAt: nowIso(),
    apiPort: 33000 + ((next(state) * 7919) % 9000),
    status: 'creating',
    kubeProxyMode: config.networking?.kubeProxyMode ?? 'iptables',
    podSubnet: config.networking?.podSubnet ?? '10.244.0.0/16',
    serviceSubnet: config.networking?.serviceSubnet ?? '10.96.0.0/16',
    kindConfig: config,
    nodes: [],
    objects: {},
  };
  let cp = 0;
  let wk = 0;
  roles.forEach((role, i) => {
    const base =
      role === 'control-plane'
        ? `${name}-control-plane${cp++ ? cp : ''}`
        : `${name}-worker${wk++ ? wk : ''}`;
    cluster.nodes.push({
      name: base,
      role,
      ip: `172.18.0.${i + 2}`,
      containerId: hex(state, 64),
      running: true,
      ready: false,
      podCIDR: `10.244.${i}.0/24`,
      nextPodIp: 2,
      kernel: '6.1.0-40-amd64',
      /** Free room for handlers: the node's datapath (ipvs, iptables, ipset, links...). */
      datapath: {},
      /** Files readable with `docker exec NODE cat PATH`. */
      files: {},
      /** Binaries installed in the node beyond kind's image (apt-get install). */
      packages: [],
    });
  });
  return cluster;
}

/** What kubeadm + kind put in a fresh cluster: nodes, system pods, services, kube-proxy. */
export function bootstrap(state, cluster) {
  const minor = minorOf(cluster.k8sVersion);
  for (const n of cluster.nodes) n.ready = true;
  for (const ns of [
    'default',
    'kube-system',
    'kube-public',
    'kube-node-lease',
    'local-path-storage',
  ])
    putObj(state, cluster, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });
  for (const n of cluster.nodes) putObj(state, cluster, nodeObject(cluster, n));
  const patch = kubeProxyPatch(cluster.kindConfig);
  // kind always writes the mode: its kubeadm template has `mode: "{{ .KubeProxyMode }}"`
  // and KubeProxyMode defaults to iptables (kubernetes-sigs/kind v0.31.0
  // pkg/cluster/internal/kubeadm/config.go), so a new cluster's ConfigMap says
  // `mode: iptables`, never "" (a KubeProxyConfiguration patch can still override it)
  const mode = patch.mode ?? cluster.kubeProxyMode;
  putObj(state, cluster, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'kube-proxy',
      namespace: 'kube-system',
      labels: { app: 'kube-proxy' },
      annotations: { 'kubeadm.kubernetes.io/component-config.hash': `sha256:${hex(state, 64)}` },
    },
    data: {
      'config.conf': kubeProxyConfigConf({
        mode,
        scheduler: patch.scheduler ?? '',
        clusterCIDR: cluster.podSubnet,
        minor,
      }),
      'kubeconfig.conf': kubeProxyKubeconfigConf(cluster),
    },
  });
  putObj(state, cluster, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: { component: 'apiserver', provider: 'kubernetes' },
    },
    spec: {
      type: 'ClusterIP',
      clusterIP: '10.96.0.1',
      clusterIPs: ['10.96.0.1'],
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }],
      sessionAffinity: 'None',
    },
  });
  putObj(state, cluster, {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' },
    },
    subsets: [
      {
        addresses: cluster.nodes
          .filter((n) => n.role === 'control-plane')
          .map((n) => ({ ip: n.ip })),
        ports: [{ name: 'https', port: 6443, protocol: 'TCP' }],
      },
    ],
  });
  putObj(state, cluster, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'kube-dns',
      namespace: 'kube-system',
      labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/name': 'CoreDNS' },
    },
    spec: {
      type: 'ClusterIP',
      clusterIP: '10.96.0.10',
      clusterIPs: ['10.96.0.10'],
      selector: { 'k8s-app': 'kube-dns' },
      sessionAffinity: 'None',
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
        { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
      ],
    },
  });
  const tag = cluster.k8sVersion;
  putObj(
    state,
    cluster,
    daemonSet('kube-proxy', { 'k8s-app': 'kube-proxy' }, `registry.k8s.io/kube-proxy:${tag}`),
  );
  putObj(
    state,
    cluster,
    daemonSet(
      'kindnet',
      { app: 'kindnet', 'k8s-app': 'kindnet', tier: 'node' },
      'docker.io/kindest/kindnetd:v20250512-df8de77b',
    ),
  );
  putObj(
    state,
    cluster,
    deployment(
      'coredns',
      'kube-system',
      2,
      { 'k8s-app': 'kube-dns' },
      'registry.k8s.io/coredns/coredns:v1.12.0',
      true,
    ),
  );
  putObj(
    state,
    cluster,
    deployment(
      'local-path-provisioner',
      'local-path-storage',
      1,
      { app: 'local-path-provisioner' },
      'docker.io/kindest/local-path-provisioner:v20250214-acbabc1a',
      true,
    ),
  );
  const cpNode = cluster.nodes.find((n) => n.role === 'control-plane') ?? cluster.nodes[0];
  for (const c of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) {
    putObj(
      state,
      cluster,
      staticPod(
        cluster,
        c,
        cpNode,
        c === 'etcd' ? 'registry.k8s.io/etcd:3.5.21-0' : `registry.k8s.io/${c}:${tag}`,
      ),
    );
  }
  cluster.status = 'running';
  reconcile(state, cluster);
}

/** The KubeProxyConfiguration patch in a kind config's kubeadmConfigPatches, if any. */
export function kubeProxyPatch(config) {
  const out = {};
  for (const p of config.kubeadmConfigPatches ?? []) {
    if (typeof p !== 'string' || !/kind:\s*KubeProxyConfiguration/.test(p)) continue;
    const mode = /^mode:\s*"?([a-z]*)"?\s*$/m.exec(p)?.[1];
    if (mode !== undefined) out.mode = mode;
    const sched = /^\s+scheduler:\s*"?([A-Za-z0-9_-]*)"?\s*$/m.exec(p)?.[1];
    if (sched !== undefined) out.scheduler = sched;
  }
  return out;
}

export function nodeObject(cluster, n) {
  const labels = {
    'beta.kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'kubernetes.io/hostname': n.name,
    'kubernetes.io/os': 'linux',
  };
  if (n.role === 'control-plane') labels['node-role.kubernetes.io/control-plane'] = '';
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: n.name, labels, annotations: { 'node.alpha.kubernetes.io/ttl': '0' } },
    spec: {
      podCIDR: n.podCIDR,
      podCIDRs: [n.podCIDR],
      providerID: `kind://docker/${cluster.name}/${n.name}`,
      ...(n.role === 'control-plane'
        ? { taints: [{ effect: 'NoSchedule', key: 'node-role.kubernetes.io/control-plane' }] }
        : {}),
    },
    status: {
      addresses: [
        { address: n.ip, type: 'InternalIP' },
        { address: n.name, type: 'Hostname' },
      ],
      conditions: [
        {
          type: 'Ready',
          status: n.ready ? 'True' : 'False',
          reason: n.ready ? 'KubeletReady' : 'KubeletNotReady',
          message: n.ready
            ? 'kubelet is posting ready status'
            : 'container runtime network not ready',
        },
      ],
      nodeInfo: {
        architecture: 'amd64',
        containerRuntimeVersion: NODE_BASE.containerRuntimeVersion,
        kernelVersion: n.kernel,
        kubeletVersion: cluster.k8sVersion,
        operatingSystem: 'linux',
        osImage: NODE_BASE.osImage,
      },
    },
  };
}

function daemonSet(name, labels, image) {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, namespace: 'kube-system', labels },
    spec: {
      selector: { matchLabels: { 'k8s-app': labels['k8s-app'] ?? name } },
      template: {
        metadata: { labels: { ...labels } },
        spec: { containers: [{ name, image }], tolerations: [{ operator: 'Exists' }] },
      },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
    },
    status: {},
  };
}

function deployment(name, namespace, replicas, labels, image, system = false) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels: { ...labels } },
    spec: {
      replicas,
      selector: { matchLabels: { ...labels } },
      template: {
        metadata: { labels: { ...labels } },
        spec: {
          containers: [{ name: system ? name.replace(/-provisioner$/, '') : name, image }],
          ...(system ? { tolerations: [{ operator: 'Exists' }] } : {}),
        },
      },
    },
    status: {},
  };
}

function staticPod(cluster, component, node, image) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${component}-${node.name}`,
      namespace: 'kube-system',
      labels: { component, tier: 'control-plane' },
    },
    spec: { nodeName: node.name, hostNetwork: true, containers: [{ name: component, image }] },
    status: runningStatus(node, node.ip, component, image),
  };
}

function runningStatus(node, podIP, container, image, restartCount = 0) {
  const t = nowIso();
  return {
    phase: 'Running',
    hostIP: node.ip,
    podIP,
    podIPs: [{ ip: podIP }],
    startTime: t,
    conditions: [
      { type: 'Initialized', status: 'True' },
      { type: 'Ready', status: 'True' },
      { type: 'ContainersReady', status: 'True' },
      { type: 'PodScheduled', status: 'True' },
    ],
    containerStatuses: [
      {
        name: container,
        image,
        ready: true,
        started: true,
        restartCount,
        state: { running: { startedAt: t } },
      },
    ],
  };
}

function podIp(node) {
  const base = node.podCIDR.replace(/\.0\/24$/, '');
  const ip = `${base}.${node.nextPodIp}`;
  node.nextPodIp += 1;
  return ip;
}

function newPod(state, cluster, owner, node, template, name, extraLabels = {}) {
  const c = template.spec.containers[0] ?? { name: 'main', image: 'busybox' };
  const hostNetwork =
    owner.metadata.name === 'kube-proxy' ||
    owner.metadata.name === 'kindnet' ||
    template.spec.hostNetwork === true;
  const ip = hostNetwork ? node.ip : podIp(node);
  return putObj(state, cluster, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: owner.metadata.namespace,
      labels: { ...(template.metadata?.labels ?? {}), ...extraLabels },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: owner.kind === 'Deployment' ? 'ReplicaSet' : owner.kind,
          name: owner.kind === 'Deployment' ? name.replace(/-[^-]+$/, '') : owner.metadata.name,
          controller: true,
        },
      ],
    },
    spec: { ...template.spec, nodeName: node.name, ...(hostNetwork ? { hostNetwork: true } : {}) },
    status: runningStatus(node, ip, c.name, c.image),
  });
}

function schedulable(cluster, template) {
  const tolerant = (template.spec.tolerations ?? []).some((t) => t.operator === 'Exists');
  const ws = cluster.nodes.filter(
    (n) => n.role !== 'control-plane' || tolerant || cluster.nodes.length === 1,
  );
  return ws.length ? ws : cluster.nodes;
}

/** The controllers: pods for Deployments and DaemonSets, Endpoints for Services, kube-proxy state per node. */
export function reconcile(state, cluster, hooks = []) {
  // Deployments → pods named <name>-<hash>-<5>
  for (const d of list(cluster, 'Deployment')) {
    const tmplHash = templateHash(d.spec.template);
    d.metadata.annotations ??= {};
    const sel = d.spec.selector?.matchLabels ?? {};
    let pods = list(cluster, 'Pod', d.metadata.namespace).filter(
      (p) =>
        matchesSelector(p.metadata.labels, sel) &&
        p.metadata.ownerReferences?.[0]?.kind === 'ReplicaSet',
    );
    for (const p of pods)
      if (p.metadata.labels['pod-template-hash'] !== tmplHash)
        delObj(cluster, 'Pod', p.metadata.namespace, p.metadata.name);
    pods = pods.filter((p) => p.metadata.labels['pod-template-hash'] === tmplHash);
    const want = d.spec.replicas ?? 1;
    const nodes = schedulable(cluster, d.spec.template);
    while (pods.length > want) {
      const p = pods.pop();
      delObj(cluster, 'Pod', p.metadata.namespace, p.metadata.name);
    }
    for (let i = pods.length; i < want; i++) {
      const node = nodes[(next(state) + i) % nodes.length];
      pods.push(
        newPod(
          state,
          cluster,
          d,
          node,
          d.spec.template,
          `${d.metadata.name}-${tmplHash}-${suffix(state, 5)}`,
          { 'pod-template-hash': tmplHash },
        ),
      );
    }
    d.status = {
      observedGeneration: d.metadata.generation ?? 1,
      replicas: want,
      readyReplicas: want,
      availableReplicas: want,
      updatedReplicas: want,
      conditions: [
        { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' },
        { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' },
      ],
    };
  }
  // DaemonSets → one pod per (schedulable) node; a restart annotation change replaces them all.
  for (const ds of list(cluster, 'DaemonSet')) {
    const tmplHash = templateHash(ds.spec.template);
    const sel = ds.spec.selector?.matchLabels ?? {};
    const pods = list(cluster, 'Pod', ds.metadata.namespace).filter((p) =>
      matchesSelector(p.metadata.labels, sel),
    );
    const nodes = schedulable(cluster, ds.spec.template);
    for (const p of pods) {
      if (
        p.metadata.labels['controller-revision-hash'] !== tmplHash ||
        !nodes.some((n) => n.name === p.spec.nodeName)
      )
        delObj(cluster, 'Pod', p.metadata.namespace, p.metadata.name);
    }
    for (const node of nodes) {
      const has = list(cluster, 'Pod', ds.metadata.namespace).some(
        (p) => matchesSelector(p.metadata.labels, sel) && p.spec.nodeName === node.name,
      );
      if (!has) {
        const pod = newPod(
          state,
          cluster,
          ds,
          node,
          ds.spec.template,
          `${ds.metadata.name}-${suffix(state, 5)}`,
          {
            'controller-revision-hash': tmplHash,
            'pod-template-generation': String(ds.metadata.generation ?? 1),
          },
        );
        if (ds.metadata.name === 'kube-proxy') startKubeProxy(cluster, node, pod, state);
      }
    }
    const n = nodes.length;
    ds.status = {
      currentNumberScheduled: n,
      desiredNumberScheduled: n,
      numberAvailable: n,
      numberReady: n,
      updatedNumberScheduled: n,
      numberMisscheduled: 0,
      observedGeneration: ds.metadata.generation ?? 1,
    };
  }
  // Services → Endpoints from ready pods; ClusterIPs and NodePorts allocated.
  for (const svc of list(cluster, 'Service')) {
    svc.spec.type ??= 'ClusterIP';
    svc.spec.sessionAffinity ??= 'None';
    if (!svc.spec.clusterIP) {
      const n = next(state);
      svc.spec.clusterIP = `10.96.${((n * 37) % 250) + 2}.${((n * 101) % 250) + 3}`;
      svc.spec.clusterIPs = [svc.spec.clusterIP];
    }
    for (const p of svc.spec.ports ?? []) {
      p.protocol ??= 'TCP';
      p.targetPort ??= p.port;
      if ((svc.spec.type === 'NodePort' || svc.spec.type === 'LoadBalancer') && !p.nodePort)
        p.nodePort = 30000 + ((next(state) * 7477) % 2767);
    }
    if (!svc.spec.selector) continue;
    const pods = list(cluster, 'Pod', svc.metadata.namespace).filter(
      (p) => matchesSelector(p.metadata.labels, svc.spec.selector) && p.status?.phase === 'Running',
    );
    const subsets = pods.length
      ? [
          {
            addresses: pods.map((p) => ({
              ip: p.status.podIP,
              nodeName: p.spec.nodeName,
              targetRef: { kind: 'Pod', name: p.metadata.name, namespace: p.metadata.namespace },
            })),
            ports: (svc.spec.ports ?? []).map((p) => ({
              name: p.name,
              port: typeof p.targetPort === 'number' ? p.targetPort : p.port,
              protocol: p.protocol,
            })),
          },
        ]
      : [];
    const ep = getObj(cluster, 'Endpoints', svc.metadata.namespace, svc.metadata.name);
    if (!ep || JSON.stringify(ep.subsets) !== JSON.stringify(subsets))
      putObj(state, cluster, {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: {
          name: svc.metadata.name,
          namespace: svc.metadata.namespace,
          labels: { ...(svc.metadata.labels ?? {}) },
        },
        subsets,
      });
  }
  for (const ep of list(cluster, 'Endpoints'))
    if (!getObj(cluster, 'Service', ep.metadata.namespace, ep.metadata.name))
      delObj(cluster, 'Endpoints', ep.metadata.namespace, ep.metadata.name);
  for (const h of hooks) h(state, cluster);
}

/** kube-proxy (re)starts on a node: it reads its ConfigMap now, as the real one does. */
export function startKubeProxy(cluster, node, pod, state) {
  const cfg = readKubeProxyConfig(cluster);
  node.datapath.kubeProxy = {
    mode: cfg.mode,
    configuredMode: cfg.configuredMode,
    scheduler: cfg.scheduler,
    pod: pod.metadata.name,
    startedAt: pod.status.startTime,
    healthy: true,
  };
  // 1.35+: createProxier in IPVS mode records a Warning Event "IPVSDeprecation" (action
  // "StartKubeProxy") on its Node with the deprecation message (cmd/kube-proxy/app/
  // server_linux.go, s.Recorder.Eventf(s.NodeRef, ...)); Node events live in "default"
  if (state && cfg.mode === 'ipvs' && kubeProxyLogFacts(cluster.k8sVersion).ipvsDeprecation) {
    const at = pod.status.startTime ?? nowIso();
    putObj(state, cluster, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: {
        name: `${node.name}.${pod.metadata.name}`,
        namespace: 'default',
        creationTimestamp: at,
      },
      involvedObject: { kind: 'Node', name: node.name, apiVersion: 'v1' },
      reason: 'IPVSDeprecation',
      action: 'StartKubeProxy',
      type: 'Warning',
      message: IPVS_DEPRECATION,
      reportingComponent: 'kube-proxy',
      reportingInstance: `kube-proxy-${node.name}`,
      source: { component: 'kube-proxy', host: node.name },
      firstTimestamp: null,
      lastTimestamp: null,
      eventTime: at,
      count: 1,
    });
  }
}

export { IPVS_DEPRECATION };

export function templateHash(template) {
  const s = JSON.stringify(template);
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  const ALPHA = 'bcdfghjklmnpqrstvwxz2456789';
  let out = '';
  for (let i = 0; i < 10; i++) {
    out += ALPHA[h % ALPHA.length];
    h = Math.imul(h ^ (i + 31), 2246822519) >>> 0;
  }
  return out;
}

export function kubeconfigYaml(cluster) {
  const ctx = `kind-${cluster.name}`;
  const b64 = (s) => Buffer.from(s).toString('base64');
  return (
    `apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: ${b64(`FAKE CA for ${cluster.name}`)}\n    server: https://127.0.0.1:${cluster.apiPort}\n  name: ${ctx}\n` +
    `contexts:\n- context:\n    cluster: ${ctx}\n    user: ${ctx}\n  name: ${ctx}\ncurrent-context: ${ctx}\nkind: Config\npreferences: {}\n` +
    `users:\n- name: ${ctx}\n  user:\n    client-certificate-data: ${b64(`FAKE CERT ${cluster.name}`)}\n    client-key-data: ${b64(`FAKE KEY ${cluster.name}`)}\n`
  );
}
