/**
 * What proxylab remembers about the clusters it created (so `proxylab down --all` removes
 * those and nothing else): .proxylab/clusters/<name>.json with the kubeconfig it wrote.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stateDir } from '../steps/state.js';

export interface ClusterRecord {
  name: string;
  kubeconfig: string;
  image: string;
  mode: string;
  createdAt: string;
}

function dir(env: NodeJS.ProcessEnv): string {
  return join(stateDir(env), 'clusters');
}

function safe(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, '_');
}

export function saveRecord(env: NodeJS.ProcessEnv, r: ClusterRecord): void {
  mkdirSync(dir(env), { recursive: true });
  writeFileSync(join(dir(env), `${safe(r.name)}.json`), `${JSON.stringify(r, null, 2)}\n`);
}

export function listRecords(env: NodeJS.ProcessEnv): ClusterRecord[] {
  let files: string[];
  try {
    files = readdirSync(dir(env)).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  const out: ClusterRecord[] = [];
  for (const f of files) {
    try {
      out.push(JSON.parse(readFileSync(join(dir(env), f), 'utf8')) as ClusterRecord);
    } catch {
      /* unreadable: ignored */
    }
  }
  return out;
}

export function removeRecord(env: NodeJS.ProcessEnv, name: string): void {
  rmSync(join(dir(env), `${safe(name)}.json`), { force: true });
}

/** A kubeconfig file proxylab may delete: it belongs to kind cluster `name` (or is empty). */
export function kubeconfigBelongsTo(file: string, name: string): boolean {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return false;
  }
  const ctx = /^current-context:\s*"?([^"\n]*)"?\s*$/m.exec(text)?.[1] ?? '';
  if (ctx === `kind-${name}`) return true;
  // what `kind delete` leaves behind: a Config with no clusters and no context
  return ctx === '' && /^kind:\s*Config\s*$/m.test(text) && !/server:/.test(text);
}
