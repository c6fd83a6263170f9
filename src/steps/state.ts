/**
 * proxylab's local state for the lab steps: ConfigMap backups and the per-cluster lock.
 * The state folder is `.proxylab/` in the checkout; PROXYLAB_STATE_DIR moves it (tests).
 */
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { paths } from '../core/paths.js';
import { UserError } from '../core/errors.js';

export function stateDir(env: NodeJS.ProcessEnv): string {
  return env.PROXYLAB_STATE_DIR || paths.state;
}

function safeName(cluster: string): string {
  return cluster.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/** 2026-11-21T22-40-01-123Z: sortable, valid in file names everywhere. */
function stamp(d = new Date()): string {
  return d.toISOString().replace(/:/g, '-').replace('.', '-');
}

/** Save the ConfigMap text exactly as fetched; returns the file path. */
export function saveBackup(env: NodeJS.ProcessEnv, cluster: string, text: string): string {
  const dir = join(stateDir(env), 'backups');
  mkdirSync(dir, { recursive: true });
  let file = join(dir, `${safeName(cluster)}-${stamp()}.yaml`);
  for (let n = 1; ; n++) {
    try {
      writeFileSync(file, text, { flag: 'wx' });
      return file;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      file = join(dir, `${safeName(cluster)}-${stamp()}-${n}.yaml`);
    }
  }
}

export function readBackup(file: string): string {
  return readFileSync(file, 'utf8');
}

/** Backups of one cluster, oldest first. */
export function listBackups(env: NodeJS.ProcessEnv, cluster: string): string[] {
  const dir = join(stateDir(env), 'backups');
  try {
    const prefix = `${safeName(cluster)}-`;
    return readdirSync(dir)
      .filter(
        (f) =>
          f.startsWith(prefix) && f.endsWith('.yaml') && /^\d{4}-/.test(f.slice(prefix.length)),
      )
      .sort()
      .map((f) => join(dir, f));
  } catch {
    return [];
  }
}

export interface LockInfo {
  pid: number;
  host: string;
  command: string;
  since: string;
}

export interface Lock {
  file: string;
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const heldHere = new Map<string, number>();

export function lockFile(env: NodeJS.ProcessEnv, cluster: string): string {
  return join(stateDir(env), 'locks', `${safeName(cluster)}.lock`);
}

/**
 * Take the cluster's lock (created exclusively). A lock left by a process that no longer
 * runs on this host is stale and taken over, saying so.
 */
export function acquireLock(
  env: NodeJS.ProcessEnv,
  cluster: string,
  command: string,
  note?: (t: string) => void,
): Lock {
  const file = lockFile(env, cluster);
  const depth = heldHere.get(file) ?? 0;
  if (depth > 0) {
    // re-entrant: `lab` holds the lock and runs `mode`, which asks for it again
    heldHere.set(file, depth + 1);
    let released = false;
    return {
      file,
      release() {
        if (released) return;
        released = true;
        heldHere.set(file, (heldHere.get(file) ?? 1) - 1);
      },
    };
  }
  mkdirSync(join(stateDir(env), 'locks'), { recursive: true });
  const me: LockInfo = {
    pid: process.pid,
    host: hostname(),
    command,
    since: new Date().toISOString(),
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, `${JSON.stringify(me)}\n`);
      closeSync(fd);
      heldHere.set(file, 1);
      let released = false;
      return {
        file,
        release() {
          if (released) return;
          released = true;
          heldHere.delete(file);
          try {
            const cur = JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
            if (cur.pid === me.pid && cur.host === me.host) rmSync(file, { force: true });
          } catch {
            /* already gone */
          }
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let held: LockInfo | undefined;
    try {
      held = JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
    } catch {
      held = undefined; // unreadable or half-written: treat as stale
    }
    if (held && held.host === me.host && alive(held.pid) && held.pid !== process.pid) {
      throw new UserError(
        `another proxylab run (pid ${held.pid}, \`proxylab ${held.command}\`, since ${held.since}) is changing cluster "${cluster}"`,
        `wait for it to finish; if it is gone, remove ${file}`,
      );
    }
    if (held && held.host !== me.host) {
      throw new UserError(
        `cluster "${cluster}" is locked by proxylab on host ${held.host} (pid ${held.pid}, \`proxylab ${held.command}\`)`,
        `if that run is over, remove ${file}`,
      );
    }
    note?.(`removing a stale lock left by pid ${held?.pid ?? '?'} (no longer running)`);
    rmSync(file, { force: true });
  }
  throw new UserError(
    `could not take the lock ${file}`,
    'remove it if no other proxylab run is active',
  );
}

/** Run fn while holding the cluster lock; always released. */
export async function withLock<T>(
  env: NodeJS.ProcessEnv,
  cluster: string,
  command: string,
  fn: () => Promise<T>,
  note?: (t: string) => void,
): Promise<T> {
  const lock = acquireLock(env, cluster, command, note);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
