/**
 * Input every command shares, checked before any work (exit 2 with what was wrong and what
 * to do): cluster names as kind accepts them, files and folders proxylab will write,
 * durations in seconds, Kubernetes namespaces.
 */
import { accessSync, constants, lstatSync, statSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { UsageError } from './errors.js';

/**
 * kind v0.31.0 accepts cluster names matching ^[a-z0-9.-]+$
 * (pkg/internal/apis/config/validate.go, validNameRE) and warns above 50 characters that
 * the name "might not work properly" (pkg/cluster/internal/create/create.go, clusterNameMax):
 * node containers are named <cluster>-control-plane, <cluster>-worker2…, and those names are
 * the nodes' hostnames (63 characters at most).
 */
export const CLUSTER_NAME_RE = /^[a-z0-9.-]+$/;
export const CLUSTER_NAME_MAX = 50;

export function checkClusterName(name: string, from: string): void {
  const shown = JSON.stringify(name.length > 60 ? `${name.slice(0, 57)}...` : name);
  if (!CLUSTER_NAME_RE.test(name))
    throw new UsageError(
      `${from} ${shown} is not a cluster name kind accepts: lower-case letters, digits, "." and "-" only`,
      'e.g. --cluster proxylab or --cluster lab-2',
    );
  if (name.length > CLUSTER_NAME_MAX)
    throw new UsageError(
      `${from} is ${name.length} characters long; kind names its node containers after the cluster and warns above ${CLUSTER_NAME_MAX}`,
      `use a name of at most ${CLUSTER_NAME_MAX} characters`,
    );
}

/** Kernel and device file systems: nothing proxylab writes belongs there. */
const VIRTUAL = ['/proc', '/sys', '/dev'];

/**
 * A file (or folder, `dir`) proxylab will write: not in /proc, /sys or /dev, not a dangling
 * symbolic link, not a folder (for a file), and the nearest existing folder above it is one
 * this user may write into (proxylab creates the folders below it).
 */
export function checkOutputPath(
  flag: string,
  value: string,
  opts: { dir?: boolean; write?: boolean } = {},
): void {
  const bad = (why: string, hint = `give ${flag} a path in a folder you can write to`) => {
    throw new UsageError(`${flag} ${value}: ${why}`, hint);
  };
  if (value.trim() === '') bad('is empty');
  const path = resolve(value);
  if (VIRTUAL.some((v) => path === v || path.startsWith(`${v}${sep}`)))
    bad(
      `is under ${VIRTUAL.find((v) => path === v || path.startsWith(`${v}${sep}`))}, a kernel file system`,
    );
  let link: ReturnType<typeof lstatSync> | undefined;
  try {
    link = lstatSync(path);
  } catch {
    link = undefined;
  }
  if (link) {
    let target: ReturnType<typeof statSync> | undefined;
    try {
      target = statSync(path);
    } catch {
      bad('is a symbolic link to something that does not exist');
    }
    if (!opts.dir && target!.isDirectory()) bad('is a folder, not a file');
    if (opts.dir && !target!.isDirectory()) bad('is a file, not a folder');
    if (!opts.dir && !target!.isFile()) bad('is not a regular file');
    if (opts.write === false) return;
    try {
      accessSync(path, constants.W_OK);
    } catch {
      bad('is not writable by this user');
    }
    return;
  }
  // the nearest existing folder above: proxylab creates what is missing below it
  let up = dirname(path);
  for (;;) {
    let st: ReturnType<typeof statSync> | undefined;
    let dangling = false;
    try {
      st = statSync(up);
    } catch {
      try {
        lstatSync(up);
        dangling = true;
      } catch {
        st = undefined;
      }
    }
    if (dangling) bad(`${up} is a symbolic link to something that does not exist`);
    if (st) {
      if (!st.isDirectory()) bad(`${up} is a file, not a folder`);
      try {
        accessSync(up, constants.W_OK | constants.X_OK);
      } catch {
        bad(`${up} is not writable by this user`);
      }
      return;
    }
    const next = dirname(up);
    if (next === up) return;
    up = next;
  }
}

/** A whole, positive number of seconds. */
export function checkSeconds(flag: string, value: string): number {
  const n = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new UsageError(`${flag} "${value}" is not a whole number of seconds`, `e.g. ${flag} 180`);
  return n;
}

/** A Kubernetes namespace name (an RFC 1123 label: what the API server accepts). */
export function checkNamespace(flag: string, value: string): void {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(value) || value.length > 63)
    throw new UsageError(
      `${flag} "${value.length > 60 ? `${value.slice(0, 57)}...` : value}" is not a Kubernetes namespace name: lower-case letters, digits and "-", at most 63, starting and ending with a letter or digit`,
      `e.g. ${flag} default`,
    );
}
