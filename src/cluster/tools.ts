/**
 * Where kind, kubectl and docker come from, and `proxylab tools`: the pinned kind and kubectl
 * in ./.bin — a system binary of the right version is reused (linked), otherwise the release
 * asset is downloaded and its sha256 checked against the pinned table (or, where the table
 * has no entry for the platform, against the release's own checksum file) BEFORE it is made
 * executable. Nothing downloaded is ever run through a shell.
 */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  lstatSync,
  readlinkSync,
} from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { accessSync, constants } from 'node:fs';
import { run } from '../core/exec.js';
import { UserError } from '../core/errors.js';
import { paths } from '../core/paths.js';
import {
  loadVersions,
  platform,
  type ToolName,
  type ToolPin,
  type VersionsTable,
} from '../config/versions.js';

export type Tool = ToolName | 'docker';

/** ./.bin, or PROXYLAB_BIN_DIR (tests). */
export function binDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.PROXYLAB_BIN_DIR ? resolve(env.PROXYLAB_BIN_DIR) : paths.bin;
}

/** The first executable `name` on PATH, or undefined. */
export function which(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/**
 * The program to run for a tool: ./.bin/<tool> when present (kind, kubectl), else the name
 * (found on PATH). PROXYLAB_TOOLS=path skips ./.bin (tests force the fake toolchain with it).
 */
export function resolveTool(
  tool: Tool,
  ctx: { env: NodeJS.ProcessEnv } = { env: process.env },
): string {
  if (tool === 'docker' || ctx.env.PROXYLAB_TOOLS === 'path') return tool;
  const local = join(binDir(ctx.env), tool);
  return existsSync(local) ? local : tool;
}

/** Parse `kind version` / `kind --version` output → "v0.31.0". */
export function parseKindVersion(out: string): string | undefined {
  const m = /\bkind (?:version )?v?(\d+\.\d+\.\d+(?:-[\w.]+)?)/.exec(out);
  return m ? `v${m[1]}` : undefined;
}

/** Parse `kubectl version --client -o json` (or the text form) → "v1.35.0". */
export function parseKubectlVersion(out: string): string | undefined {
  try {
    const j = JSON.parse(out) as { clientVersion?: { gitVersion?: string } };
    if (j.clientVersion?.gitVersion) return /^v\d+\.\d+\.\d+/.exec(j.clientVersion.gitVersion)?.[0];
  } catch {
    /* text form */
  }
  return /Client Version: (v\d+\.\d+\.\d+)/.exec(out)?.[1];
}

/** The version a binary reports, or undefined when it cannot be run. */
export async function toolVersion(
  tool: ToolName,
  bin: string,
  signal?: AbortSignal,
): Promise<string | undefined> {
  try {
    if (tool === 'kind') {
      const r = await run([bin, 'version'], { timeoutMs: 15_000, reject: false, signal });
      return parseKindVersion(r.stdout + r.stderr);
    }
    const r = await run([bin, 'version', '--client', '-o', 'json'], {
      timeoutMs: 15_000,
      reject: false,
      signal,
    });
    return parseKubectlVersion(r.stdout);
  } catch {
    return undefined;
  }
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function fillUrl(template: string, pin: ToolPin, os: string, arch: string): string {
  return template
    .replaceAll('{version}', pin.version)
    .replaceAll('{os}', os)
    .replaceAll('{arch}', arch);
}

/** Override the download host for tests (a server on 127.0.0.1): PROXYLAB_DOWNLOAD_BASE replaces the scheme+host. */
export function withBase(url: string, env: NodeJS.ProcessEnv): string {
  const base = env.PROXYLAB_DOWNLOAD_BASE;
  if (!base) return url;
  const u = new URL(url);
  return `${base.replace(/\/$/, '')}/${u.host}${u.pathname}`;
}

async function fetchBytes(url: string, what: string, signal?: AbortSignal): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, { signal: signal ?? AbortSignal.timeout(120_000), redirect: 'follow' });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (e as Error).message;
    throw new UserError(
      `could not download ${what} from ${new URL(url).host} (${why}): this machine looks offline or cannot reach it`,
      `connect to the internet and run \`proxylab tools\` again, or install it yourself and put it on PATH (proxylab reuses a binary of the pinned version)`,
    );
  }
  if (!res.ok) {
    throw new UserError(
      `could not download ${what}: ${url} answered HTTP ${res.status}`,
      'check the pinned version in configs/versions.yaml, or try again later',
    );
  }
  return new Uint8Array(await res.arrayBuffer());
}

export interface ToolResult {
  tool: ToolName;
  version: string;
  path: string;
  /** What was done: already there, linked a system binary, or downloaded. */
  action: 'present' | 'linked' | 'downloaded';
  /** How the download was verified (pinned table / the release's checksum file). */
  verified?: 'pinned' | 'release-checksum-file';
  sha256?: string;
  source?: string;
}

export interface EnsureOptions {
  env: NodeJS.ProcessEnv;
  table?: VersionsTable;
  signal?: AbortSignal;
  /** Platform override (tests). */
  os?: string;
  arch?: string;
  onProgress?: (message: string) => void;
}

/** Make the pinned `tool` available as ./.bin/<tool>. */
export async function ensureTool(tool: ToolName, o: EnsureOptions): Promise<ToolResult> {
  const table = o.table ?? loadVersions(o.env);
  const pin = table[tool];
  const dir = binDir(o.env);
  const target = join(dir, tool);
  mkdirSync(dir, { recursive: true });
  // 1. Already in ./.bin at the pinned version?
  if (existsSync(target) && (await toolVersion(tool, target, o.signal)) === pin.version) {
    let source: string | undefined;
    try {
      if (lstatSync(target).isSymbolicLink()) source = readlinkSync(target);
    } catch {
      /* plain file */
    }
    return {
      tool,
      version: pin.version,
      path: target,
      action: 'present',
      ...(source ? { source } : {}),
    };
  }
  // 2. A system binary of the pinned version: link it.
  const pathEnv = {
    ...o.env,
    PATH: (o.env.PATH ?? '')
      .split(delimiter)
      .filter((d) => resolve(d) !== dir)
      .join(delimiter),
  };
  const sys = which(tool, pathEnv);
  if (sys) {
    const v = await toolVersion(tool, sys, o.signal);
    if (v === pin.version) {
      rmSync(target, { force: true });
      symlinkSync(sys, target);
      return { tool, version: pin.version, path: target, action: 'linked', source: sys };
    }
    o.onProgress?.(
      `${sys} is ${v ?? 'of unknown version'}, not ${pin.version}: downloading the pinned one`,
    );
  }
  // 3. Download, verify, then install.
  const os = o.os ?? platform().os;
  const arch = o.arch ?? platform().arch;
  const key = `${os}-${arch}`;
  const url = withBase(fillUrl(pin.url, pin, os, arch), o.env);
  o.onProgress?.(`downloading ${tool} ${pin.version} (${key})`);
  const data = await fetchBytes(url, `${tool} ${pin.version}`, o.signal);
  const actual = sha256(data);
  let expected = pin.sha256[key];
  let verified: ToolResult['verified'] = 'pinned';
  if (!expected) {
    const sumUrl = withBase(fillUrl(pin.checksumUrl, pin, os, arch), o.env);
    const text = new TextDecoder().decode(
      await fetchBytes(sumUrl, `the checksum file of ${tool} ${pin.version}`, o.signal),
    );
    expected = /\b([0-9a-f]{64})\b/i.exec(text)?.[1]?.toLowerCase();
    if (!expected)
      throw new UserError(
        `the checksum file ${sumUrl} holds no sha256`,
        'try again later, or install the tool yourself',
      );
    verified = 'release-checksum-file';
  }
  if (actual !== expected) {
    throw new UserError(
      `refusing ${tool} ${pin.version}: its sha256 is ${actual}, expected ${expected} (${verified === 'pinned' ? 'pinned in configs/versions.yaml' : "from the release's checksum file"}); the download was discarded`,
      'the file was corrupted or tampered with on the way: try again on another network, and report it if it persists',
    );
  }
  const tmp = join(dir, `.${tool}.download-${process.pid}`);
  writeFileSync(tmp, data, { mode: 0o755 });
  chmodSync(tmp, 0o755);
  rmSync(target, { force: true });
  renameSync(tmp, target);
  const got = await toolVersion(tool, target, o.signal);
  if (got !== pin.version) {
    rmSync(target, { force: true });
    throw new UserError(
      `the downloaded ${tool} reports version ${got ?? 'nothing'}, not ${pin.version}; removed it`,
      'check configs/versions.yaml',
    );
  }
  return {
    tool,
    version: pin.version,
    path: target,
    action: 'downloaded',
    verified,
    sha256: actual,
    source: url,
  };
}

/**
 * Before a cluster is made: put the pinned kind and kubectl in ./.bin when they are not
 * there yet (reusing a system binary of that version, else a verified download), so that
 * `make lab` works on a machine that has only Docker. PROXYLAB_TOOLS=path leaves PATH alone.
 */
export async function ensurePinnedTools(o: EnsureOptions): Promise<ToolResult[]> {
  if (o.env.PROXYLAB_TOOLS === 'path') return [];
  const done: ToolResult[] = [];
  for (const tool of ['kind', 'kubectl'] as const) {
    if (existsSync(join(binDir(o.env), tool))) continue;
    done.push(await ensureTool(tool, o));
  }
  return done;
}
