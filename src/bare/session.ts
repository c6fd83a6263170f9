/**
 * A lab that stays up between commands, so a person (or a lab doc checked by
 * `proxylab check`) can type the steps one by one:
 *
 *   proxylab bare up                         pods + node namespaces (VM booted when needed)
 *   proxylab bare exec -- ipvsadm -Ln        run a command in the node namespace
 *   proxylab bare exec --ns web-1 -- ip addr run it in a pod
 *   proxylab bare requests --from client -n 100   who answered, per pod
 *   proxylab bare down                       remove everything (VM powered off)
 *
 * The session is remembered in .proxylab/bare/session.json (backend, VM folder).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError, UsageError } from '../core/errors.js';
import { paths } from '../core/paths.js';
import {
  chooseBackend,
  detect,
  ensureQemu,
  NativeBackend,
  VmBackend,
  type Backend,
  type BackendName,
} from './backend.js';
import { ALL_NS, NET, URL, distribution } from './lab.js';
import { cleanStale, setupPods, teardown } from './run.js';
import { ensureImage } from './vm/image.js';
import { GuestVm } from './vm/runner.js';
import { bootGuest } from './vm/accel.js';

interface SessionState {
  backend: BackendName;
  vmDir?: string;
  startedAt: string;
}

const stateFile = () => join(process.env.PROXYLAB_STATE_DIR ?? paths.state, 'bare', 'session.json');

async function readState(): Promise<SessionState | undefined> {
  if (!existsSync(stateFile())) return undefined;
  return JSON.parse(await readFile(stateFile(), 'utf8')) as SessionState;
}

/** Namespace for a role: node (default), client, web-1..3, or a full plb-* name. */
export function nsFor(role: string | undefined): string {
  const r = role ?? 'node';
  const all: Record<string, string> = {
    node: NET.node,
    client: NET.client,
    ...Object.fromEntries(NET.pods.map((p) => [p.name, p.ns])),
  };
  const ns = all[r] ?? ((ALL_NS as readonly string[]).includes(r) ? r : undefined);
  if (!ns)
    throw new UsageError(
      `--ns ${r}: no such namespace in the lab`,
      `use one of ${Object.keys(all).join(', ')}`,
    );
  return ns;
}

async function open(): Promise<{
  backend: Backend;
  release: () => Promise<void>;
  state: SessionState;
}> {
  const state = await readState();
  if (!state) throw new UserError('no bare lab is up', 'start one with `proxylab bare up`');
  if (state.backend === 'native')
    return { backend: new NativeBackend(), release: async () => {}, state };
  const vm = await GuestVm.attach(state.vmDir ?? '');
  const b = new VmBackend(vm, {
    dir: '',
    kernel: '',
    initrd: '',
    kernelRelease: vm.kernelRelease,
    key: '',
    built: false,
    initrdBytes: 0,
    packages: [],
  });
  return { backend: b, release: async () => vm.disconnect(), state };
}

export async function sessionUp(opts: {
  wanted?: BackendName;
  log: (l: string) => void;
  signal?: AbortSignal;
}): Promise<{ backend: BackendName; describe: string; reused: boolean }> {
  const existing = await readState();
  if (existing) {
    const s = await open().catch(() => undefined);
    if (s) {
      await s.release();
      return {
        backend: existing.backend,
        describe: `already up (${existing.backend}, since ${existing.startedAt})`,
        reused: true,
      };
    }
    await rm(stateFile(), { force: true });
  }
  const d = await detect();
  const name = await chooseBackend(d, opts.wanted);
  let backend: Backend;
  let vmDir: string | undefined;
  let vm: GuestVm | undefined;
  if (name === 'native') backend = new NativeBackend();
  else {
    await ensureQemu(opts.log, opts.signal);
    const image = await ensureImage({
      log: opts.log,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    vm = await bootGuest({
      image,
      detach: true,
      note: opts.log,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    vmDir = vm.dir;
    backend = new VmBackend(vm, image);
  }
  try {
    await cleanStale(backend);
    await setupPods(backend);
    await mkdir(join(stateFile(), '..'), { recursive: true });
    const state: SessionState = {
      backend: name,
      ...(vmDir ? { vmDir } : {}),
      startedAt: new Date().toISOString(),
    };
    await writeFile(stateFile(), `${JSON.stringify(state, null, 2)}\n`);
    const describe = backend.describe();
    vm?.disconnect();
    return { backend: name, describe, reused: false };
  } catch (e) {
    await teardown(backend).catch(() => undefined);
    if (vm) await vm.shutdown().catch(() => undefined);
    throw e;
  }
}

/** Run argv in a lab namespace; returns its output and exit code. */
export async function sessionExec(
  role: string | undefined,
  argv: string[],
  input?: string,
): Promise<{ output: string; exitCode: number }> {
  const ns = nsFor(role);
  const s = await open();
  try {
    const [r] = await s.backend.exec([
      { argv: ['ip', 'netns', 'exec', ns, ...argv], ...(input !== undefined ? { input } : {}) },
    ]);
    return { output: r?.output ?? '', exitCode: r?.exitCode ?? 1 };
  } finally {
    await s.release();
  }
}

/** Send n requests to the VIP (or a URL) from a namespace; count who answered. */
export async function sessionRequests(
  role: string | undefined,
  n: number,
  url: string = URL,
): Promise<Record<string, number>> {
  const ns = nsFor(role ?? 'client');
  const s = await open();
  try {
    const [r] = await s.backend.exec([s.backend.requests(ns, url, n)]);
    return distribution(r?.output ?? '');
  } finally {
    await s.release();
  }
}

export async function sessionDown(): Promise<{ removed: boolean; leftovers: string[] }> {
  const state = await readState();
  if (!state) return { removed: false, leftovers: [] };
  const s = await open().catch(() => undefined);
  let left: string[] = [];
  if (s) {
    left = await teardown(s.backend);
    if (s.backend instanceof VmBackend) await s.backend.vm.shutdown();
  }
  await rm(stateFile(), { force: true });
  return { removed: true, leftovers: left };
}
