/**
 * Every command proxylab has, in the order `proxylab --help` lists them. Modules load lazily.
 * To add a command: write src/commands/<name>.ts exporting `default defineCommand({...})`,
 * then add one line here.
 */
import type { Command } from '../core/command.js';

export type Group = 'setup' | 'lab steps' | 'inspect' | 'checks' | 'cleanup';

export interface Entry {
  name: string;
  group: Group;
  summary: string;
  load: () => Promise<{ default: Command }>;
}

/** Loaded by name so that a command's module is read only when that command runs. */
function load(name: string): Promise<{ default: Command }> {
  return import(`./${name}.js`) as Promise<{ default: Command }>;
}

export const registry: Entry[] = [
  {
    name: 'doctor',
    group: 'setup',
    summary: 'check this machine: Docker engine, kind, kubectl, IPVS modules, limits',
    load: () => load('doctor'),
  },
  {
    name: 'tools',
    group: 'setup',
    summary: 'put the pinned kind and kubectl in ./.bin (checksum-verified)',
    load: () => load('tools'),
  },
  {
    name: 'config',
    group: 'setup',
    summary: 'print generated configs (kubeadm, kind) for a Kubernetes version and mode',
    load: () => load('config'),
  },
  {
    name: 'up',
    group: 'setup',
    summary: 'create the kind cluster (or reuse it) and wait for its nodes',
    load: () => load('up'),
  },
  {
    name: 'lab',
    group: 'setup',
    summary: 'the whole lab: cluster up, kube-proxy in the chosen mode, web sample, checks',
    load: () => load('lab'),
  },
  {
    name: 'modules',
    group: 'lab steps',
    summary: 'load the IPVS kernel modules on the host',
    load: () => load('modules'),
  },
  {
    name: 'node-tools',
    group: 'lab steps',
    summary: 'install ipvsadm, ipset and conntrack in every node',
    load: () => load('node-tools'),
  },
  {
    name: 'mode',
    group: 'lab steps',
    summary:
      'switch kube-proxy to iptables, ipvs or nftables (backed up, verified, rolled back on failure)',
    load: () => load('mode'),
  },
  {
    name: 'scheduler',
    group: 'lab steps',
    summary: 'switch the IPVS scheduler (rr, wrr, lc, wlc, lblc, lblcr, sh, dh, sed, nq, mh)',
    load: () => load('scheduler'),
  },
  {
    name: 'flush-nat',
    group: 'lab steps',
    summary: 'remove the rules the previous proxy mode left on the nodes',
    load: () => load('flush-nat'),
  },
  {
    name: 'web',
    group: 'lab steps',
    summary: 'deploy the nginx web sample (ClusterIP + NodePort services)',
    load: () => load('web'),
  },
  {
    name: 'traffic',
    group: 'lab steps',
    summary: 'send requests to the web service and count which pod answered',
    load: () => load('traffic'),
  },
  {
    name: 'bare',
    group: 'lab steps',
    summary: 'build IPVS NAT and DR mode by hand, without Docker or Kubernetes',
    load: () => load('bare'),
  },
  {
    name: 'scale',
    group: 'lab steps',
    summary: 'measure iptables vs IPVS vs nftables as services grow',
    load: () => load('scale'),
  },
  {
    name: 'inspect',
    group: 'inspect',
    summary: "snapshot each node's datapath and join it to the Services",
    load: () => load('inspect'),
  },
  {
    name: 'parse',
    group: 'inspect',
    summary: 'parse ipvsadm, iptables, ipset, ip addr or kube-proxy log output into JSON',
    load: () => load('parse'),
  },
  {
    name: 'status',
    group: 'inspect',
    summary: 'cluster, version, mode per node, web sample, last check',
    load: () => load('status'),
  },
  {
    name: 'check',
    group: 'checks',
    summary: "run a lab's steps and compare each output with the doc",
    load: () => load('check'),
  },
  {
    name: 'match',
    group: 'checks',
    summary: 'compare one expected output with one actual output',
    load: () => load('match'),
  },
  {
    name: 'down',
    group: 'cleanup',
    summary: 'delete the cluster and its kubeconfig',
    load: () => load('down'),
  },
];

export function findEntry(name: string): Entry | undefined {
  return registry.find((e) => e.name === name);
}
