/**
 * proxylab's local state for the lab steps: ConfigMap backups and the per-cluster lock.
 * The state folder is `.proxylab/` in the checkout; PROXYLAB_STATE_DIR moves it (tests).
 */
import {
  linkSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
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
  // one time stamp for every try: a -N retry must sort right after the file it collided
  // with, not after a backup taken in the next millisecond
  const at = stamp();
  let file = join(dir, `${safeName(cluster)}-${at}.yaml`);
  for (let n = 1; ; n++) {
    try {
      writeFileSync(file, text, { flag: 'wx' });
      pruneBackups(env, cluster);
      return file;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      file = join(dir, `${safeName(cluster)}-${at}-${n}.yaml`);
    }
  }
}

/** How many ConfigMap backups to keep per cluster (the newest). */
export const KEEP_BACKUPS = 10;

/** Remove all but the newest KEEP_BACKUPS backups of a cluster. */
function pruneBackups(env: NodeJS.ProcessEnv, cluster: string): void {
  const all = listBackups(env, cluster);
  for (const f of all.slice(0, Math.max(0, all.length - KEEP_BACKUPS))) rmSync(f, { force: true });
}

export function readBackup(file: string): string {
  return readFileSync(file, 'utf8');
}

/** A backup's name as a sortable key: its time stamp, then the -N of a same-millisecond one. */
function order(name: string): string {
  const m = /^(.*?Z)(?:-(\d+))?\.yaml$/.exec(name);
  return m ? `${m[1]}#${(m[2] ?? '0').padStart(6, '0')}` : name;
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
      .sort((x, y) => order(x).localeCompare(order(y)))
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
  const mine = `${JSON.stringify(me)}\n`;
  for (let attempt = 0; attempt < 50; attempt++) {
    if (publish(file, mine)) {
      heldHere.set(file, 1);
      let released = false;
      return {
        file,
        release() {
          if (released) return;
          released = true;
          heldHere.delete(file);
          try {
            if (readFileSync(file, 'utf8') === mine) rmSync(file, { force: true });
          } catch {
            /* already gone */
          }
        },
      };
    }
    let text: string | undefined;
    let held: LockInfo | undefined;
    try {
      text = readFileSync(file, 'utf8');
      held = JSON.parse(text) as LockInfo;
    } catch {
      // gone since (try again), or not a lock proxylab wrote: only complete files are
      // ever visible under the lock's name (see publish), so this one is stale
      held = undefined;
    }
    if (text === undefined) continue;
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
    const removed = removeStale(file, text);
    if (removed === true)
      note?.(`removed a stale lock left by pid ${held?.pid ?? '?'} (no longer running)`);
    else if (removed === 'busy') pause(10); // another run is taking it over: see who won
  }
  throw new UserError(
    `could not take the lock ${file}`,
    'remove it if no other proxylab run is active',
  );
}

/** Wait without giving the event loop a turn (the lock is taken synchronously). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Make `text` appear under `file` only if nothing is there, complete or not at all: it is
 * written to a file of its own first, then hard-linked to the lock's name (link(2) fails
 * when the name exists, atomically). Nobody can ever read a half-written lock.
 */
function publish(file: string, text: string): boolean {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, text, { flag: 'wx' });
  try {
    linkSync(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return false;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * Remove a stale lock, but only the one judged stale: several runs may judge it at once,
 * and the first to take over must not have its fresh lock removed by the second. The
 * takeover is serialised by a directory (mkdir is atomic); inside it, the lock is removed
 * only if it still holds the text that was judged stale. A takeover directory older than
 * 10 s was left by a run that died inside it.
 */
function removeStale(file: string, staleText: string): boolean | 'busy' {
  const gate = `${file}.takeover`;
  try {
    mkdirSync(gate);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    try {
      if (Date.now() - statSync(gate).mtimeMs > 10_000) rmSync(gate, { recursive: true });
    } catch {
      /* gone meanwhile */
    }
    return 'busy';
  }
  try {
    let now: string | undefined;
    try {
      now = readFileSync(file, 'utf8');
    } catch {
      now = undefined;
    }
    if (now !== staleText) return false;
    rmSync(file, { force: true });
    return true;
  } finally {
    rmSync(gate, { recursive: true, force: true });
  }
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
