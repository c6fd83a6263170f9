/**
 * The `web` sample: nginx pods that answer with their own name, a ClusterIP Service on port
 * 80 and a NodePort Service. Taken from configs/manifests/web.yaml, with the replicas and
 * session affinity asked for; `kubectl apply` converges a re-run to that state.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { paths } from '../core/paths.js';
import { UserError, UsageError } from '../core/errors.js';
import { describeWait } from '../core/wait.js';
import type { Kube } from './kube.js';

export const WEB_MANIFEST = join(paths.configs, 'manifests', 'web.yaml');

export interface WebOptions {
  replicas: number;
  affinity: 'None' | 'ClientIP';
  affinityTimeoutS?: number;
  namespace: string;
}

type Obj = {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
};

export function loadWebObjects(file = WEB_MANIFEST): Obj[] {
  if (!existsSync(file))
    throw new UserError(
      `the web sample's manifest ${file} is missing`,
      'restore it from git: `git checkout configs/manifests/web.yaml`',
    );
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  const objs = docs
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => !!o && typeof o === 'object' && 'kind' in o);
  if (!objs.some((o) => o.kind === 'Deployment'))
    throw new UserError(
      `${file} has no Deployment`,
      'restore it from git: `git checkout configs/manifests/web.yaml`',
    );
  return objs;
}

export function validateWebOptions(o: {
  replicas?: string;
  affinity?: string;
  affinityTimeout?: string;
}): Omit<WebOptions, 'namespace'> {
  const replicas = o.replicas === undefined ? 2 : Number(o.replicas);
  if (!Number.isInteger(replicas) || replicas < 0 || replicas > 50)
    throw new UsageError(
      `--replicas must be a whole number from 0 to 50 (got "${o.replicas}")`,
      'e.g. --replicas 3',
    );
  const aff = o.affinity ?? 'None';
  const affinity =
    aff.toLowerCase() === 'clientip'
      ? 'ClientIP'
      : aff.toLowerCase() === 'none'
        ? 'None'
        : undefined;
  if (!affinity)
    throw new UsageError(
      `--affinity must be ClientIP or None (got "${aff}")`,
      'e.g. --affinity ClientIP --affinity-timeout 60',
    );
  let affinityTimeoutS: number | undefined;
  if (o.affinityTimeout !== undefined) {
    if (affinity !== 'ClientIP')
      throw new UsageError(
        '--affinity-timeout needs --affinity ClientIP',
        'e.g. --affinity ClientIP --affinity-timeout 60',
      );
    affinityTimeoutS = Number(o.affinityTimeout);
    if (!Number.isInteger(affinityTimeoutS) || affinityTimeoutS < 1 || affinityTimeoutS > 86400) {
      throw new UsageError(
        `--affinity-timeout must be 1..86400 seconds (got "${o.affinityTimeout}")`,
        'kube-proxy’s default is 10800 (3 hours)',
      );
    }
  }
  return { replicas, affinity, ...(affinityTimeoutS !== undefined ? { affinityTimeoutS } : {}) };
}

/** The objects with the requested replicas and affinity, as one multi-document YAML. */
export function renderWeb(objs: Obj[], o: WebOptions): string {
  const out = objs.map((orig) => {
    const obj = structuredClone(orig);
    obj.metadata.namespace = o.namespace;
    if (obj.kind === 'Deployment') obj.spec.replicas = o.replicas;
    if (obj.kind === 'Service') {
      obj.spec.sessionAffinity = o.affinity;
      if (o.affinity === 'ClientIP')
        obj.spec.sessionAffinityConfig = {
          clientIP: { timeoutSeconds: o.affinityTimeoutS ?? 10800 },
        };
      else delete obj.spec.sessionAffinityConfig;
    }
    return stringify(obj);
  });
  return out.join('---\n');
}

export function webNames(objs: Obj[]): {
  deployment: string;
  clusterIP?: string;
  nodePort?: string;
} {
  const dep = objs.find((o) => o.kind === 'Deployment')!.metadata.name;
  const svcs = objs.filter((o) => o.kind === 'Service');
  const nodePort = svcs.find((s) => s.spec.type === 'NodePort')?.metadata.name;
  const clusterIP = svcs.find((s) => (s.spec.type ?? 'ClusterIP') === 'ClusterIP')?.metadata.name;
  return {
    deployment: dep,
    ...(clusterIP ? { clusterIP } : {}),
    ...(nodePort ? { nodePort } : {}),
  };
}

export async function applyWeb(
  kube: Kube,
  o: WebOptions,
  timeoutS: number,
  progress: (t: string) => void,
  signal?: AbortSignal,
): Promise<string[]> {
  const objs = loadWebObjects();
  const r = await kube.kubectl(['apply', '-f', '-'], { input: renderWeb(objs, o), signal });
  const lines = r.stdout.split('\n').filter(Boolean);
  const { deployment } = webNames(objs);
  progress(
    describeWait({
      what: `deployment/${deployment} to have ${o.replicas} ready pods`,
      timeoutMs: timeoutS * 1000,
    }),
  );
  const st = await kube.kubectl(
    ['-n', o.namespace, 'rollout', 'status', `deployment/${deployment}`, `--timeout=${timeoutS}s`],
    {
      signal,
      reject: false,
      timeoutMs: (timeoutS + 30) * 1000,
    },
  );
  if (st.exitCode !== 0) {
    throw new UserError(
      `the web pods did not become ready within ${timeoutS} s`,
      `look at \`kubectl -n ${o.namespace} get pods -l app=web\` and \`kubectl -n ${o.namespace} describe pods -l app=web\` (image pulls need network)`,
    );
  }
  return lines;
}
