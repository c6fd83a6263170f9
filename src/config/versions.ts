/**
 * The versions table (configs/versions.yaml): pinned kind and kubectl (with checksums) and the
 * kind node image, pinned by digest, for each Kubernetes minor. Parsed strictly.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { paths } from '../core/paths.js';
import { UserError } from '../core/errors.js';
import { isPlain, unknownKeys, type Problem, throwIfProblems, type Plain } from './problems.js';

export type ToolName = 'kind' | 'kubectl';

export interface ToolPin {
  version: string;
  /** URL template with {version}, {os}, {arch}. */
  url: string;
  /** The release's own checksum file (used when `sha256` has no entry for the platform). */
  checksumUrl: string;
  /** "<os>-<arch>" → sha256 hex, from a trustworthy source only. */
  sha256: Record<string, string>;
}

export interface VersionsTable {
  kind: ToolPin;
  kubectl: ToolPin;
  /** Default Kubernetes minor, e.g. "1.35". */
  default: string;
  /** Kubernetes minor ("1.33") → kind node image pinned by digest. */
  images: Record<string, string>;
}

/** Kubernetes minors `proxylab config` renders for (a cluster needs an entry in `images`). */
export const CONFIG_MINORS = { min: 27, max: 37 } as const;

export const IMAGE_RE = /^kindest\/node:v(\d+)\.(\d+)\.(\d+)@sha256:([0-9a-f]{64})$/;
const SHA_RE = /^[0-9a-f]{64}$/;
const VERSION_RE = /^v\d+\.\d+\.\d+$/;
const PLATFORM_RE = /^(linux|darwin)-(amd64|arm64)$/;

export function versionsFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.PROXYLAB_VERSIONS_FILE ?? join(paths.configs, 'versions.yaml');
}

function checkTool(name: ToolName, v: unknown, problems: Problem[]): void {
  if (!isPlain(v)) {
    problems.push({ at: name, message: 'missing (a map with version, url, checksumUrl, sha256)' });
    return;
  }
  unknownKeys(v, ['version', 'url', 'checksumUrl', 'sha256'], name, problems);
  if (typeof v.version !== 'string' || !VERSION_RE.test(v.version))
    problems.push({ at: `${name}.version`, message: 'must look like v1.2.3' });
  for (const k of ['url', 'checksumUrl'] as const) {
    const u = v[k];
    if (
      typeof u !== 'string' ||
      !/^https:\/\//.test(u) ||
      !u.includes('{version}') ||
      !u.includes('{os}') ||
      !u.includes('{arch}')
    )
      problems.push({
        at: `${name}.${k}`,
        message: 'must be an https URL template with {version}, {os} and {arch}',
      });
  }
  if (!isPlain(v.sha256))
    problems.push({ at: `${name}.sha256`, message: 'must be a map "<os>-<arch>: <sha256>"' });
  else
    for (const [p, h] of Object.entries(v.sha256)) {
      if (!PLATFORM_RE.test(p))
        problems.push({
          at: `${name}.sha256.${p}`,
          message: 'platform must be linux|darwin-amd64|arm64',
        });
      if (typeof h !== 'string' || !SHA_RE.test(h))
        problems.push({ at: `${name}.sha256.${p}`, message: 'must be 64 lowercase hex digits' });
    }
}

/** Check a parsed table; returns every problem found. */
export function checkVersions(doc: unknown): Problem[] {
  const problems: Problem[] = [];
  if (!isPlain(doc)) return [{ at: 'versions.yaml', message: 'must be a YAML map' }];
  unknownKeys(doc, ['kind', 'kubectl', 'default', 'images'], '', problems);
  checkTool('kind', doc.kind, problems);
  checkTool('kubectl', doc.kubectl, problems);
  const images = doc.images;
  if (!isPlain(images) || !Object.keys(images).length)
    problems.push({ at: 'images', message: 'must map Kubernetes minors ("1.33") to node images' });
  else {
    const digests = new Set<string>();
    for (const [minor, image] of Object.entries(images)) {
      const mm = /^1\.(\d+)$/.exec(minor);
      if (!mm)
        problems.push({
          at: `images.${minor}`,
          message: 'key must be a Kubernetes minor like "1.33"',
        });
      const m = typeof image === 'string' ? IMAGE_RE.exec(image) : null;
      if (!m) {
        problems.push({
          at: `images.${minor}`,
          message: 'must be kindest/node:vX.Y.Z@sha256:<64 hex> (pinned by digest)',
        });
        continue;
      }
      if (mm && `${m[1]}.${m[2]}` !== minor)
        problems.push({
          at: `images.${minor}`,
          message: `image is Kubernetes ${m[1]}.${m[2]}, not ${minor}`,
        });
      if (digests.has(m[4]!))
        problems.push({ at: `images.${minor}`, message: 'same digest as another entry' });
      digests.add(m[4]!);
    }
    if (typeof doc.default !== 'string' || !(doc.default in images))
      problems.push({ at: 'default', message: 'must be one of the minors in images' });
  }
  return problems;
}

let cache: { file: string; table: VersionsTable } | undefined;

export function loadVersions(env: NodeJS.ProcessEnv = process.env): VersionsTable {
  const file = versionsFile(env);
  if (cache?.file === file) return cache.table;
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UserError(
      `cannot read the versions table ${file}: ${(e as Error).message.split('\n')[0]}`,
      'restore configs/versions.yaml from git',
    );
  }
  throwIfProblems(`invalid versions table ${file}`, checkVersions(doc));
  const table = doc as Plain as unknown as VersionsTable;
  cache = { file, table };
  return table;
}

/** "1.33", "v1.33", "1.33.7" → 33; undefined when it is not a 1.x version. */
export function parseMinor(v: string): number | undefined {
  const m = /^v?1\.(\d+)(?:\.\d+)?$/.exec(v.trim());
  return m ? Number(m[1]) : undefined;
}

/** The pinned node image for a minor, or a UserError listing the minors there are. */
export function imageFor(table: VersionsTable, minor: number): { image: string; version: string } {
  const image = table.images[`1.${minor}`];
  if (!image) {
    throw new UserError(
      `no kind node image is pinned for Kubernetes 1.${minor}`,
      `pinned: ${Object.keys(table.images).sort(byMinor).join(', ')} (configs/versions.yaml, kind ${table.kind.version})`,
      2,
    );
  }
  const m = IMAGE_RE.exec(image)!;
  return { image, version: `v${m[1]}.${m[2]}.${m[3]}` };
}

export function byMinor(a: string, b: string): number {
  return Number(a.split('.')[1]) - Number(b.split('.')[1]);
}

export function platform(): { os: string; arch: string } {
  const os =
    process.platform === 'darwin' ? 'darwin' : process.platform === 'win32' ? 'windows' : 'linux';
  const arch = process.arch === 'x64' ? 'amd64' : process.arch === 'arm64' ? 'arm64' : process.arch;
  return { os, arch };
}
