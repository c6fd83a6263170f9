// Core fake `kind`: create/delete/get clusters, nodes, kubeconfig; export logs; version.
import { mkdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import YAML from '../lib/yaml.mjs';
import { engineDown, ENGINE_DOWN } from './docker.mjs';
import {
  newCluster,
  bootstrap,
  kubeconfigYaml,
  DEFAULT_IMAGE,
  putObj,
  nodeObject,
} from '../lib/cluster.mjs';
import { sleepSync } from '../lib/state.mjs';

export function kindVersion(env) {
  return env.FAKE_KIND_VERSION ?? 'v0.31.0';
}

function opts(argv) {
  const o = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const [k, v] = a.slice(2).split(/=(.*)/s);
      if (v !== undefined) o[k] = v;
      else if (['retain', 'help'].includes(k)) o[k] = true;
      else o[k] = argv[++i];
    } else if (a === '-q') o.quiet = true;
    else o._.push(a);
  }
  return o;
}

function dockerListFailure(name) {
  return `ERROR: failed to create cluster: failed to list nodes: command "docker ps -a --filter label=io.x-k8s.kind.cluster=${name} --format '{{.Names}}'" failed with error: exit status 1\nCommand Output: ${ENGINE_DOWN}`;
}

/** Merge kind's context into a kubeconfig file, as `kind create/export kubeconfig` does. */
export function writeKubeconfig(file, cluster) {
  mkdirSync(dirname(file), { recursive: true });
  const mine = YAML.parse(kubeconfigYaml(cluster));
  let doc = mine;
  if (existsSync(file)) {
    const old = YAML.parse(readFileSync(file, 'utf8'));
    if (old && typeof old === 'object' && old.kind === 'Config') {
      const merge = (key) => [
        ...(old[key] ?? []).filter((e) => e.name !== `kind-${cluster.name}`),
        ...mine[key],
      ];
      doc = {
        ...old,
        clusters: merge('clusters'),
        contexts: merge('contexts'),
        users: merge('users'),
        'current-context': `kind-${cluster.name}`,
      };
    }
  }
  writeFileSync(file, YAML.stringify(doc), { mode: 0o600 });
}

/** Remove kind's context from a kubeconfig file, as `kind delete cluster` does (the file stays). */
export function unmergeKubeconfig(file, name) {
  if (!existsSync(file)) return;
  const doc = YAML.parse(readFileSync(file, 'utf8'));
  if (!doc || typeof doc !== 'object') return;
  const drop = (key) => {
    const left = (doc[key] ?? []).filter((e) => e.name !== `kind-${name}`);
    doc[key] = left.length ? left : null;
  };
  drop('clusters');
  drop('contexts');
  drop('users');
  if (doc['current-context'] === `kind-${name}`) doc['current-context'] = '';
  writeFileSync(file, YAML.stringify(doc), { mode: 0o600 });
}

export const handlers = [
  {
    tool: 'kind',
    name: 'version',
    match: (c) => c.argv[0] === 'version' || c.argv[0] === '--version',
    run(c) {
      const v = kindVersion(c.env);
      c.out(
        c.argv[0] === '--version'
          ? `kind version ${v.replace(/^v/, '')}\n`
          : `kind ${v} go1.25.5 linux/amd64\n`,
      );
      return 0;
    },
  },
  {
    tool: 'kind',
    name: 'create cluster',
    match: (c) => c.argv[0] === 'create' && c.argv[1] === 'cluster',
    run(c) {
      const o = opts(c.argv.slice(2));
      const name = o.name ?? 'kind';
      if (engineDown(c.env)) c.fail(1, dockerListFailure(name));
      if (c.state.clusters[name])
        c.fail(
          1,
          `ERROR: failed to create cluster: node(s) already exist for a cluster with the name "${name}"`,
        );
      let config = {};
      if (o.config) {
        let text;
        if (o.config === '-') text = c.stdin;
        else
          try {
            text = readFileSync(o.config, 'utf8');
          } catch {
            c.fail(
              1,
              `ERROR: failed to create cluster: error reading file: open ${o.config}: no such file or directory`,
            );
          }
        try {
          config = YAML.parse(text) ?? {};
        } catch (e) {
          c.fail(
            1,
            `ERROR: failed to create cluster: unable to decode config: ${e.message.split('\n')[0]}`,
          );
        }
        if (
          config.kind !== 'Cluster' ||
          !/^kind\.x-k8s\.io\/v1alpha4$/.test(config.apiVersion ?? '')
        )
          c.fail(
            1,
            `ERROR: failed to create cluster: unknown apiVersion/kind: ${config.apiVersion}, Kind=${config.kind}`,
          );
        const m = config.networking?.kubeProxyMode;
        if (m !== undefined && !['iptables', 'ipvs', 'nftables', 'none'].includes(m))
          c.fail(1, `ERROR: failed to create cluster: invalid kubeProxyMode: ${m}`);
      }
      const image = o.image ?? config.nodes?.[0]?.image ?? DEFAULT_IMAGE;
      const cluster = newCluster(c.state, { name, image, config, kindVersion: kindVersion(c.env) });
      const shown = image.split('@')[0];
      const e = (s) => c.err(`${s}\n`);
      e(`Creating cluster "${name}" ...`);
      const fail = c.env.FAKE_KIND_CREATE_FAIL;
      if (fail === 'image') {
        e(` ✗ Ensuring node image (${shown}) 🖼`);
        c.fail(
          1,
          `ERROR: failed to create cluster: failed to pull image "${image}": command "docker pull ${image}" failed with error: exit status 1`,
        );
      }
      e(` ✓ Ensuring node image (${shown}) 🖼`);
      c.state.clusters[name] = cluster; // node containers exist from here on
      e(` ✓ Preparing nodes ${cluster.nodes.map(() => '📦').join(' ')}  `);
      e(' ✓ Writing configuration 📜');
      if (fail === 'kubeadm' || fail === 'midway') {
        e(' ✗ Starting control-plane 🕹️');
        const cp = cluster.nodes[0].name;
        c.fail(
          1,
          `Deleted nodes: []\nERROR: failed to create cluster: failed to init node with kubeadm: command "docker exec --privileged ${cp} kubeadm init --config=/kind/kubeadm.conf --skip-token-print --v=6" failed with error: exit status 1\nCommand Output: I1121 22:50:01.000000     250 initconfiguration.go:260] loading configuration from "/kind/kubeadm.conf"\n[kubelet-check] The kubelet is not healthy after 4m0s\nerror execution phase wait-control-plane: could not initialize a Kubernetes cluster`,
        );
      }
      e(' ✓ Starting control-plane 🕹️');
      e(' ✓ Installing CNI 🔌');
      e(' ✓ Installing StorageClass 💾');
      if (cluster.nodes.length > 1) e(' ✓ Joining worker nodes 🚜');
      bootstrap(c.state, cluster);
      for (const h of c.hooks()) h(c.state, cluster);
      if (c.env.FAKE_NODES_NOT_READY === '1')
        for (const n of cluster.nodes) {
          n.ready = false;
          putObj(c.state, cluster, nodeObject(cluster, n));
        }
      if (o.wait) {
        const secs = Number(String(o.wait).replace(/s$/, '')) || 0;
        if (c.env.FAKE_NODES_NOT_READY === '1') {
          sleepSync(Math.min(secs * 1000, Number(c.env.FAKE_HANG_MAX_MS ?? 2000)));
          e(` ✗ Waiting ≤ ${o.wait} for control-plane = Ready ⏳`);
        } else {
          e(` ✓ Waiting ≤ ${o.wait} for control-plane = Ready ⏳`);
          e(' • Ready after 21s 💚');
        }
      }
      const kubeconfig = o.kubeconfig ?? c.env.KUBECONFIG;
      if (!kubeconfig)
        c.fail(
          70,
          'fake kind: refusing to write ~/.kube/config (pass --kubeconfig); proxylab must never touch it',
        );
      writeKubeconfig(kubeconfig, cluster);
      e(`Set kubectl context to "kind-${name}"`);
      e('You can now use your cluster with:\n');
      e(`kubectl cluster-info --context kind-${name} --kubeconfig ${kubeconfig}\n`);
      e('Have a nice day! 👋');
      return 0;
    },
  },
  {
    tool: 'kind',
    name: 'delete cluster(s)',
    match: (c) => c.argv[0] === 'delete' && (c.argv[1] === 'cluster' || c.argv[1] === 'clusters'),
    run(c) {
      const o = opts(c.argv.slice(2));
      if (engineDown(c.env))
        c.fail(
          1,
          `ERROR: failed to delete cluster "${o.name ?? 'kind'}": failed to list nodes: command "docker ps -a --filter label=io.x-k8s.kind.cluster=${o.name ?? 'kind'} --format '{{.Names}}'" failed with error: exit status 1\nCommand Output: ${ENGINE_DOWN}`,
        );
      const names =
        c.argv[1] === 'clusters'
          ? o.all
            ? Object.keys(c.state.clusters)
            : o._
          : [o.name ?? 'kind'];
      for (const name of names) {
        const cl = c.state.clusters[name];
        c.err(`Deleting cluster "${name}" ...\n`);
        if (!cl) continue; // kind says nothing more when there is nothing to delete
        c.err(`Deleted nodes: [${cl.nodes.map((n) => `"${n.name}"`).join(' ')}]\n`);
        delete c.state.clusters[name];
        const kc = o.kubeconfig ?? c.env.KUBECONFIG;
        if (kc) unmergeKubeconfig(kc, name);
      }
      if (c.argv[1] === 'clusters')
        c.err(`Deleted clusters: [${names.map((n) => `"${n}"`).join(' ')}]\n`);
      return 0;
    },
  },
  {
    tool: 'kind',
    name: 'get clusters',
    match: (c) => c.argv[0] === 'get' && c.argv[1] === 'clusters',
    run(c) {
      if (engineDown(c.env))
        c.fail(
          1,
          `ERROR: failed to list clusters: command "docker ps -a --filter label=io.x-k8s.kind.cluster --format '{{.Label "io.x-k8s.kind.cluster"}}'" failed with error: exit status 1\nCommand Output: ${ENGINE_DOWN}`,
        );
      const names = Object.keys(c.state.clusters).sort();
      if (!names.length) c.err('No kind clusters found.\n');
      for (const n of names) c.out(`${n}\n`);
      return 0;
    },
  },
  {
    tool: 'kind',
    name: 'get nodes',
    match: (c) => c.argv[0] === 'get' && c.argv[1] === 'nodes',
    run(c) {
      const o = opts(c.argv.slice(2));
      if (engineDown(c.env))
        c.fail(
          1,
          `ERROR: failed to list nodes: command "docker ps -a --filter label=io.x-k8s.kind.cluster=${o.name ?? 'kind'} --format '{{.Names}}'" failed with error: exit status 1\nCommand Output: ${ENGINE_DOWN}`,
        );
      const names = o['all-clusters'] ? Object.keys(c.state.clusters) : [o.name ?? 'kind'];
      let any = false;
      for (const n of names)
        for (const node of c.state.clusters[n]?.nodes ?? []) {
          any = true;
          c.out(`${node.name}\n`);
        }
      if (!any) c.err(`No kind nodes found for cluster "${o.name ?? 'kind'}".\n`);
      return 0;
    },
  },
  {
    tool: 'kind',
    name: 'get/export kubeconfig',
    match: (c) => (c.argv[0] === 'get' || c.argv[0] === 'export') && c.argv[1] === 'kubeconfig',
    run(c) {
      const o = opts(c.argv.slice(2));
      const name = o.name ?? 'kind';
      if (engineDown(c.env))
        c.fail(1, `ERROR: failed to get cluster internal kubeconfig: ${ENGINE_DOWN}`);
      const cl = c.state.clusters[name];
      if (!cl || cl.status !== 'running')
        c.fail(
          1,
          `ERROR: could not locate any control plane nodes for cluster named '${name}'. Use the --name option to select a different cluster`,
        );
      if (c.argv[0] === 'get') {
        c.out(kubeconfigYaml(cl));
        return 0;
      }
      const kc = o.kubeconfig ?? c.env.KUBECONFIG;
      if (!kc) c.fail(70, 'fake kind: refusing to write ~/.kube/config (pass --kubeconfig)');
      writeKubeconfig(kc, cl);
      c.err(`Set kubectl context to "kind-${name}"\n`);
      return 0;
    },
  },
  {
    tool: 'kind',
    name: 'export logs',
    match: (c) => c.argv[0] === 'export' && c.argv[1] === 'logs',
    run(c) {
      const o = opts(c.argv.slice(2));
      const name = o.name ?? 'kind';
      const cl = c.state.clusters[name];
      if (!cl) c.fail(1, `ERROR: unknown cluster "${name}"`);
      const dir = o._[0] ?? join(c.dir, 'kind-logs');
      for (const n of cl.nodes) {
        mkdirSync(join(dir, n.name), { recursive: true });
        writeFileSync(join(dir, n.name, 'kubelet.log'), `fake kubelet log for ${n.name}\n`);
        writeFileSync(
          join(dir, n.name, 'kube-proxy.log'),
          JSON.stringify(n.datapath.kubeProxy ?? {}) + '\n',
        );
      }
      writeFileSync(
        join(dir, 'kind-version.txt'),
        `kind ${kindVersion(c.env)} go1.25.5 linux/amd64\n`,
      );
      c.err(`Exporting logs for cluster "${name}" to:\n${dir}\n`);
      return 0;
    },
  },
];
