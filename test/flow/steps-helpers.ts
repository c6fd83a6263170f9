/** Shared set-up for the lab-step flow tests: a fake cluster, a fake host kernel, state dirs. */
import { mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { createFake, createFakeCluster, type Fake } from '../helpers/fake.js';
import { runCli, type CliResult } from '../helpers/cli.js';

export interface Lab {
  fake: Fake;
  env: NodeJS.ProcessEnv;
  cli(args: string[], extraEnv?: Record<string, string>): Promise<CliResult>;
  kubectl(args: string[], input?: string): { code: number; stdout: string; stderr: string };
  /** modprobe calls recorded by the fake modprobe on PATH (one line each). */
  modprobeLog: string;
}

/** A host kernel under a temp dir: which IPVS modules are built in / loaded / loadable. */
export function fakeKernel(
  dir: string,
  o: { loaded?: string[]; loadable?: string[]; release?: string } = {},
): Record<string, string> {
  const rel = o.release ?? '6.1.0-27-amd64';
  mkdirSync(join(dir, 'proc'), { recursive: true });
  mkdirSync(join(dir, 'lib', rel), { recursive: true });
  const loaded = o.loaded ?? [
    'ip_vs',
    'ip_vs_rr',
    'ip_vs_wrr',
    'ip_vs_sh',
    'ip_vs_lc',
    'ip_vs_wlc',
    'ip_vs_lblc',
    'ip_vs_lblcr',
    'ip_vs_dh',
    'ip_vs_sed',
    'ip_vs_nq',
    'ip_vs_mh',
    'nf_conntrack',
  ];
  writeFileSync(
    join(dir, 'proc', 'modules'),
    loaded.map((m) => `${m} 204800 0 - Live 0x0000000000000000\n`).join(''),
  );
  writeFileSync(join(dir, 'lib', rel, 'modules.builtin'), '');
  writeFileSync(
    join(dir, 'lib', rel, 'modules.dep'),
    (o.loadable ?? []).map((m) => `kernel/net/netfilter/ipvs/${m}.ko.xz:\n`).join(''),
  );
  return {
    PROXYLAB_PROC_ROOT: join(dir, 'proc'),
    PROXYLAB_MODULES_ROOT: join(dir, 'lib'),
    PROXYLAB_KERNEL_RELEASE: rel,
    PROXYLAB_MODULES_LOAD_D: join(dir, 'modules-load.d'),
  };
}

export function newLab(
  opts: {
    mode?: string;
    env?: Record<string, string>;
    kernel?: Parameters<typeof fakeKernel>[1];
    k8s?: string;
    modprobe?: 'ok' | 'denied' | 'absent';
  } = {},
): Lab {
  const fake = createFake({ env: opts.env ?? {} });
  const r = createFakeCluster(fake, {
    mode: opts.mode ?? 'iptables',
    image: opts.k8s ?? 'v1.35.0',
  });
  if (r.code !== 0) throw new Error(`fake kind create failed: ${r.stderr}`);
  // a modprobe on PATH that records its calls (or refuses, like a non-root modprobe)
  const bin = join(fake.dir, 'hostbin');
  mkdirSync(bin, { recursive: true });
  const modprobeLog = join(fake.dir, 'modprobe.log');
  if (opts.modprobe !== 'absent') {
    const body =
      opts.modprobe === 'denied'
        ? `echo "modprobe: ERROR: could not insert '$2': Operation not permitted" >&2; exit 1`
        : `echo "$*" >> ${modprobeLog}`;
    writeFileSync(join(bin, 'modprobe'), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, 'modprobe'), 0o755);
  }
  const env: NodeJS.ProcessEnv = {
    ...fake.env,
    PATH: `${fake.env.PATH}:${bin}:/usr/bin:/bin`,
    PROXYLAB_STATE_DIR: join(fake.dir, 'proxylab-state'),
    PROXYLAB_DEB_CACHE: join(fake.dir, 'node-debs'),
    ...fakeKernel(join(fake.dir, 'kernel'), opts.kernel),
    ...(opts.env ?? {}),
  };
  return {
    fake,
    env,
    modprobeLog,
    cli: (args, extraEnv = {}) =>
      runCli(['--kubeconfig', fake.kubeconfig, ...args], {
        env: { ...env, ...extraEnv },
        timeoutMs: 120_000,
      }),
    kubectl: (args, input) =>
      fake.tool('kubectl', ['--kubeconfig', fake.kubeconfig, ...args], input),
  };
}

export function cmYaml(lab: Lab): string {
  return lab.kubectl(['-n', 'kube-system', 'get', 'configmap', 'kube-proxy', '-o', 'yaml']).stdout;
}

export function nodeExec(lab: Lab, node: string, argv: string[]): string {
  return lab.fake.tool('docker', ['exec', node, ...argv]).stdout;
}

/** The node's nat table (`iptables-save -t nat`), leftovers of earlier modes included. */
export function natSave(lab: Lab, node: string): string {
  return nodeExec(lab, node, ['iptables-save', '-t', 'nat']);
}
