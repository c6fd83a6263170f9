/**
 * Builds the micro-VM the bare lab runs in, from Debian packages only:
 *
 *   1. `apt-get download` Debian's kernel (linux-image-amd64 → linux-image-<ver>-amd64) and
 *      the user-space tools (busybox-static, ipvsadm, ipset, iptables, iproute2) with the
 *      library packages they depend on;
 *   2. `dpkg-deb -x` them into a scratch folder (nothing is installed on the host);
 *   3. pick the kernel modules the lab needs plus everything they depend on (read from each
 *      module's own `depends=` field), and the shared libraries of each binary (`ldd`);
 *   4. write a gzip'd cpio initramfs with our /init (see guest-init.ts).
 *
 * The result lives in .cache/bare/vm/<hash>/ where <hash> covers every input of the recipe
 * (package and module lists, init script, builder version): it is rebuilt only when those
 * change, or when the cache folder is removed.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile, rename } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { run, output } from '../../core/exec.js';
import { EXIT, UserError } from '../../core/errors.js';
import { paths } from '../../core/paths.js';
import { gzipCpio, type CpioEntry } from './cpio.js';
import { guestInit } from './guest-init.js';

/** Bump when the layout of the image changes in a way the recipe below does not show. */
const BUILDER_VERSION = 4;

/** Top-level packages; their `lib*` dependencies are added by walking `apt-cache depends`. */
export const TOOL_PACKAGES = [
  'busybox-static',
  'ipvsadm',
  'ipset',
  'iptables',
  'iproute2',
  'nftables',
  'netbase',
] as const;
export const KERNEL_META = 'linux-image-amd64';
/** Only used on the host while building: `xz` unpacks the kernel (see unpackKernel). */
export const BUILD_PACKAGES = ['xz-utils', 'liblzma5'] as const;

/** Modules loaded at boot (their dependencies are added automatically). */
export const GUEST_MODULES = [
  // first: libcrc32c (needed by conntrack and IPVS) only loads once a crc32c implementation is there
  'crc32c_generic',
  'dummy',
  'veth',
  'bridge',
  'br_netfilter',
  'ip_vs',
  'ip_vs_rr',
  'ip_vs_wrr',
  'ip_vs_sh',
  'nf_conntrack',
  'nf_nat',
  'x_tables',
  'ip_tables',
  'iptable_nat',
  'iptable_filter',
  'xt_tcpudp',
  'xt_statistic',
  'xt_comment',
  'xt_mark',
  'xt_MASQUERADE',
  'xt_nat',
  'xt_conntrack',
  'xt_addrtype',
  'xt_set',
  'ip_set',
  'ip_set_hash_ip',
  'ip_set_hash_ipport',
  'ip_set_hash_ipportip',
  'ip_set_hash_ipportnet',
  'ip_set_bitmap_port',
  'nf_tables',
  'nft_compat',
  'nft_chain_nat',
  // what kube-proxy's nftables mode uses (for labs comparing the modes in the guest)
  'nft_ct',
  'nft_nat',
  'nft_masq',
  'nft_numgen',
  'nft_hash',
] as const;

/** Binaries copied from the extracted packages: source path → path in the guest. */
const BINARIES: ReadonlyArray<[string, string]> = [
  ['bin/busybox', 'usr/bin/busybox'],
  ['sbin/ipvsadm', 'usr/sbin/ipvsadm'],
  ['usr/sbin/ipset', 'usr/sbin/ipset'],
  ['bin/ip', 'usr/sbin/ip'],
  ['usr/sbin/xtables-nft-multi', 'usr/sbin/xtables-nft-multi'],
  ['usr/sbin/xtables-legacy-multi', 'usr/sbin/xtables-legacy-multi'],
  ['usr/sbin/nft', 'usr/sbin/nft'],
];

const XTABLES_LINKS: ReadonlyArray<[string, string]> = [
  ['iptables', 'xtables-nft-multi'],
  ['iptables-save', 'xtables-nft-multi'],
  ['iptables-restore', 'xtables-nft-multi'],
  ['iptables-nft', 'xtables-nft-multi'],
  ['iptables-nft-save', 'xtables-nft-multi'],
  ['iptables-nft-restore', 'xtables-nft-multi'],
  ['iptables-legacy', 'xtables-legacy-multi'],
  ['iptables-legacy-save', 'xtables-legacy-multi'],
  ['iptables-legacy-restore', 'xtables-legacy-multi'],
];

const LIBDIR = 'usr/lib/x86_64-linux-gnu';

export interface VmImage {
  dir: string;
  kernel: string;
  initrd: string;
  kernelRelease: string;
  /** Hash of the recipe: the cache key. */
  key: string;
  /** True when this call built it, false when it came from the cache. */
  built: boolean;
  initrdBytes: number;
  packages: string[];
}

export interface BuildLog {
  (line: string): void;
}

export function recipeKey(): string {
  const h = createHash('sha256');
  h.update(
    JSON.stringify({
      BUILDER_VERSION,
      TOOL_PACKAGES,
      BUILD_PACKAGES,
      KERNEL_META,
      GUEST_MODULES,
      BINARIES,
      XTABLES_LINKS,
      init: guestInit(GUEST_MODULES),
    }),
  );
  return h.digest('hex').slice(0, 16);
}

export function imageDir(key = recipeKey()): string {
  return join(paths.cache, 'bare', 'vm', key);
}

/** The cached image if it is complete, else undefined. */
export async function cachedImage(): Promise<VmImage | undefined> {
  const dir = imageDir();
  const manifest = join(dir, 'manifest.json');
  if (!existsSync(manifest)) return undefined;
  try {
    const m = JSON.parse(await readFile(manifest, 'utf8')) as Omit<
      VmImage,
      'built' | 'dir' | 'kernel' | 'initrd'
    >;
    const kernel = join(dir, 'vmlinux');
    const initrd = join(dir, 'initrd.gz');
    if (!existsSync(kernel) || !existsSync(initrd)) return undefined;
    return { ...m, dir, kernel, initrd, built: false };
  } catch {
    return undefined;
  }
}

async function have(cmd: string): Promise<boolean> {
  const r = await run(['sh', '-c', 'command -v "$1"', 'sh', cmd], { reject: false }).catch(
    () => undefined,
  );
  return r?.exitCode === 0;
}

/** What the image build needs on this machine; missing items come with the command fixing them. */
export async function buildPrerequisites(): Promise<{ missing: string[]; fix: string[] }> {
  const missing: string[] = [];
  const fix: string[] = [];
  for (const c of ['apt-get', 'apt-cache', 'dpkg-deb']) if (!(await have(c))) missing.push(c);
  if (missing.length)
    fix.push('run on a Debian or Ubuntu machine (the VM is built from Debian packages with apt)');
  if (!(await have('ldd'))) {
    missing.push('ldd');
    fix.push('apt-get install libc-bin');
  }
  return { missing, fix };
}

/** Parse `apt-cache depends` output for several packages: package → its Depends/PreDepends. */
export function parseAptDepends(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of text.split('\n')) {
    if (/^\S/.test(line)) {
      current = [];
      out.set(line.trim(), current);
      continue;
    }
    const m = /^\s+\|?(?:Pre)?Depends:\s+(\S+)/.exec(line);
    if (m && current && !m[1]!.startsWith('<')) current.push(m[1]!.replace(/:any$/, ''));
  }
  return out;
}

async function aptCache(args: string[]): Promise<string> {
  return output(['apt-cache', ...args], { timeoutMs: 120_000 });
}

/** Make sure apt knows the packages; run `apt-get update` once if it does not. */
async function ensureAptLists(log: BuildLog, signal?: AbortSignal): Promise<void> {
  const r = await run(['apt-cache', 'show', KERNEL_META], { reject: false, timeoutMs: 120_000 });
  if (r.exitCode === 0 && r.stdout.trim()) return;
  if (process.getuid?.() !== 0) {
    throw new UserError(
      `apt does not know the package ${KERNEL_META} yet, and updating its lists needs root`,
      'run `sudo apt-get update`, then run proxylab bare again',
    );
  }
  log('apt-get update (apt has no package lists yet)');
  await run(['apt-get', 'update'], { timeoutMs: 600_000, ...(signal ? { signal } : {}) });
}

async function resolvePackages(log: BuildLog): Promise<string[]> {
  const kdeps = parseAptDepends(await aptCache(['depends', KERNEL_META])).get(KERNEL_META) ?? [];
  const kernelPkg = kdeps.find((d) => d.startsWith('linux-image-'));
  if (!kernelPkg)
    throw new UserError(
      `could not find which kernel package ${KERNEL_META} points to`,
      `check \`apt-cache depends ${KERNEL_META}\``,
    );
  const seen = new Set<string>([...TOOL_PACKAGES]);
  let frontier: string[] = [...TOOL_PACKAGES];
  while (frontier.length) {
    const deps = parseAptDepends(
      await aptCache([
        'depends',
        '--no-recommends',
        '--no-suggests',
        '--no-conflicts',
        '--no-breaks',
        '--no-replaces',
        '--no-enhances',
        ...frontier,
      ]),
    );
    const next: string[] = [];
    for (const list of deps.values()) {
      for (const d of list) {
        if (!/^(lib|zlib)/.test(d) || seen.has(d)) continue;
        seen.add(d);
        next.push(d);
      }
    }
    frontier = next;
  }
  const pkgs = [kernelPkg, ...[...seen].sort(), ...BUILD_PACKAGES.filter((p) => !seen.has(p))];
  log(`packages: ${kernelPkg} + ${pkgs.length - 1} user-space packages`);
  return pkgs;
}

async function walkFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walkFiles(p)));
    else out.push(p);
  }
  return out;
}

/** Read a module's `depends=` and `softdep=pre:` fields from its .modinfo strings. */
export function moduleDepends(ko: Buffer): { depends: string[]; softPre: string[] } {
  const text = ko.toString('latin1');
  const dep = /\0depends=([^\0]*)\0/.exec(text);
  const soft = /\0softdep=pre:\s*([^\0]*?)(?:\s+post:[^\0]*)?\0/.exec(text);
  const split = (s: string | undefined, sep: RegExp) =>
    s
      ? s
          .split(sep)
          .map((x) => x.trim())
          .filter(Boolean)
      : [];
  return { depends: split(dep?.[1], /,/), softPre: split(soft?.[1], /\s+/) };
}

const norm = (m: string) => m.replace(/-/g, '_');

interface ModulePlan {
  /** Paths relative to lib/modules/<release>/, dependencies first. */
  ordered: string[];
  deps: Map<string, string[]>;
}

export async function planModules(modDir: string, wanted: readonly string[]): Promise<ModulePlan> {
  const files = (await walkFiles(join(modDir, 'kernel'))).filter((f) => f.endsWith('.ko'));
  const byName = new Map<string, string>();
  for (const f of files) byName.set(norm(basename(f, '.ko')), relative(modDir, f));
  const builtin = new Set(
    (existsSync(join(modDir, 'modules.builtin'))
      ? await readFile(join(modDir, 'modules.builtin'), 'utf8')
      : ''
    )
      .split('\n')
      .filter(Boolean)
      .map((l) => norm(basename(l, '.ko'))),
  );
  const ordered: string[] = [];
  const deps = new Map<string, string[]>();
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = async (name: string, required: boolean): Promise<void> => {
    const n = norm(name);
    if (state.get(n)) return;
    const rel = byName.get(n);
    if (!rel) {
      if (builtin.has(n) || !required) return;
      throw new UserError(
        `the kernel package has no module ${name}`,
        'the Debian kernel changed; report this with `proxylab bare --debug` output',
      );
    }
    state.set(n, 'visiting');
    const info = moduleDepends(await readFile(join(modDir, rel)));
    for (const s of info.softPre) await visit(s, false);
    for (const d of info.depends) await visit(d, true);
    deps.set(
      rel,
      info.depends.map((d) => byName.get(norm(d))).filter((x): x is string => Boolean(x)),
    );
    state.set(n, 'done');
    ordered.push(rel);
  };
  for (const w of wanted) await visit(w, true);
  return { ordered, deps };
}

/** The shared libraries an ELF file needs, as ldd resolves them against the extracted tree. */
async function neededLibs(
  file: string,
  libPath: string,
): Promise<{ sonames: string[]; loader?: string }> {
  const r = await run(['ldd', file], { reject: false, env: { LD_LIBRARY_PATH: libPath } });
  if (r.exitCode !== 0) return { sonames: [] }; // static (busybox) or not an ELF
  const sonames: string[] = [];
  let loader: string | undefined;
  for (const line of r.stdout.split('\n')) {
    const m = /^\s*(\S+)\s+=>\s+(\S+)/.exec(line);
    if (m) {
      sonames.push(m[1]!);
      continue;
    }
    const l = /^\s*(\/\S*ld-linux\S*)\s+\(/.exec(line);
    if (l) loader = l[1];
  }
  return { sonames, ...(loader ? { loader } : {}) };
}

async function findLib(root: string, soname: string): Promise<string | undefined> {
  for (const d of ['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu', 'lib64', 'lib']) {
    const p = join(root, d, soname);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/**
 * Debian ships the kernel as an xz-compressed bzImage. Under software emulation the
 * kernel's own decompressor takes seconds, so we unpack the ELF `vmlinux` once here and
 * boot that directly (QEMU starts it through its PVH entry point). The payload's place is
 * in the bzImage setup header: setup_sects at 0x1f1, payload_offset/length at 0x248/0x24c.
 */
export function kernelPayload(bzImage: Buffer): Buffer {
  if (bzImage.toString('latin1', 0x202, 0x206) !== 'HdrS')
    throw new UserError('the kernel image is not a bzImage', 'check the linux-image package');
  const setupSects = bzImage.readUInt8(0x1f1) || 4;
  const start = (setupSects + 1) * 512 + bzImage.readUInt32LE(0x248);
  return bzImage.subarray(start, start + bzImage.readUInt32LE(0x24c));
}

async function unpackKernel(bzImagePath: string, root: string, dest: string): Promise<void> {
  const payload = kernelPayload(await readFile(bzImagePath));
  if (payload.subarray(0, 6).toString('hex') !== 'fd377a585a00') {
    throw new UserError(
      'the kernel is not xz-compressed as expected',
      'report this with the kernel package version',
    );
  }
  const xz = join(root, 'usr/bin/xz');
  const packed = `${dest}.xz`;
  await writeFile(packed, payload);
  await run([xz, '-d', '-f', '--single-stream', packed], {
    env: {
      LD_LIBRARY_PATH: [
        join(root, 'lib/x86_64-linux-gnu'),
        join(root, 'usr/lib/x86_64-linux-gnu'),
      ].join(':'),
    },
    timeoutMs: 300_000,
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One image build at a time in this project: two runs (say `make bare` and a test) would
 * empty each other's scratch folder. The build lock is a folder made exclusively, holding
 * the builder's pid; a lock whose process is gone is taken over. Waits while another build
 * runs (it usually leaves the image this run wants).
 */
export async function buildLock(
  log: BuildLog,
  signal?: AbortSignal,
  dir = join(paths.cache, 'bare', 'build.lock'),
): Promise<() => Promise<void>> {
  await mkdir(dirname(dir), { recursive: true });
  let said = false;
  for (;;) {
    try {
      await mkdir(dir);
      await writeFile(join(dir, 'pid'), String(process.pid));
      return () => rm(dir, { recursive: true, force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const pid = Number(await readFile(join(dir, 'pid'), 'utf8').catch(() => ''));
    const age = Date.now() - (await stat(dir).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
    // no pid yet: the holder is between mkdir and writeFile (give it a few seconds)
    if ((pid > 0 && !pidAlive(pid)) || (!(pid > 0) && age > 10_000)) {
      await rm(dir, { recursive: true, force: true });
      continue;
    }
    if (!said) {
      log(`waiting for another VM image build (pid ${pid || '?'}) to finish`);
      said = true;
    }
    if (signal?.aborted)
      throw new UserError(
        'interrupted while waiting for the VM image build: nothing was built',
        undefined,
        EXIT.interrupted,
      );
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Build (or reuse) the image. `log` receives one line per thing done. */
export async function ensureImage(opts: {
  log: BuildLog;
  signal?: AbortSignal;
  force?: boolean;
}): Promise<VmImage> {
  const { log, signal } = opts;
  const cached = async () => {
    const hit = await cachedImage();
    if (hit)
      log(
        `using the cached VM image ${relative(paths.root, hit.dir)} (kernel ${hit.kernelRelease})`,
      );
    return hit;
  };
  if (!opts.force) {
    const hit = await cached();
    if (hit) return hit;
  }
  const release = await buildLock(log, signal);
  try {
    // another run may have built it while this one waited
    const hit = opts.force ? undefined : await cached();
    return hit ?? (await buildImage(log, signal));
  } finally {
    await release();
  }
}

async function buildImage(log: BuildLog, signal?: AbortSignal): Promise<VmImage> {
  const pre = await buildPrerequisites();
  if (pre.missing.length)
    throw new UserError(
      `cannot build the VM image: ${pre.missing.join(', ')} missing`,
      pre.fix.join('; '),
    );
  const key = recipeKey();
  const dir = imageDir(key);
  const work = join(paths.cache, 'bare', 'build');
  const debs = join(work, 'debs');
  const root = join(work, 'root');
  await rm(work, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  await mkdir(debs, { recursive: true });

  log(
    `building the VM image (first run, or its recipe changed) into ${relative(paths.root, dir)}/`,
  );
  await ensureAptLists(log, signal);
  log(
    `resolving ${KERNEL_META} and the libraries of ${TOOL_PACKAGES.join(', ')} (apt-cache depends)`,
  );
  const pkgs = await resolvePackages(log);
  log(
    `apt-get download ${pkgs.length} packages into ${relative(paths.root, debs)}/ (nothing is installed on this machine)`,
  );
  await run(['apt-get', 'download', ...pkgs], {
    cwd: debs,
    timeoutMs: 600_000,
    ...(signal ? { signal } : {}),
  });
  const debFiles = (await readdir(debs)).filter((f) => f.endsWith('.deb'));
  log(`dpkg-deb -x ${debFiles.length} packages into a scratch folder`);
  for (const f of debFiles)
    await run(['dpkg-deb', '-x', join(debs, f), root], { timeoutMs: 300_000 });

  const boot = join(root, 'boot');
  const vmlinuz = (await readdir(boot)).find((f) => f.startsWith('vmlinuz-'));
  if (!vmlinuz) throw new UserError('the kernel package held no vmlinuz', `look into ${boot}`);
  const release = vmlinuz.slice('vmlinuz-'.length);
  const modDir = join(root, 'lib', 'modules', release);

  const entries: CpioEntry[] = [];
  const dirs = new Set<string>();
  const addDir = (p: string) => {
    const parts = p.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!dirs.has(d)) {
        dirs.add(d);
        entries.push({ type: 'dir', path: d });
      }
    }
  };
  const addFile = async (src: string, dest: string, mode = 0o644) => {
    addDir(dirname(dest));
    entries.push({ type: 'file', path: dest, data: await readFile(src), mode });
  };
  for (const d of [
    'usr/bin',
    'usr/sbin',
    LIBDIR,
    'usr/lib64',
    'etc',
    'proc',
    'sys',
    'dev',
    'run',
    'tmp',
    'root',
    'srv',
    'var',
  ])
    addDir(d);
  for (const [l, t] of [
    ['bin', 'usr/bin'],
    ['sbin', 'usr/sbin'],
    ['lib', 'usr/lib'],
    ['lib64', 'usr/lib64'],
  ] as const)
    entries.push({ type: 'symlink', path: l, target: t });
  entries.push({ type: 'chardev', path: 'dev/console', major: 5, minor: 1 });

  // modules
  const plan = await planModules(modDir, GUEST_MODULES);
  const guestModDir = `lib/modules/${release}`.replace(/^lib/, 'usr/lib');
  for (const rel of plan.ordered) await addFile(join(modDir, rel), `${guestModDir}/${rel}`);
  // modules.dep lists every module's dependencies transitively, the deepest last (depmod's layout)
  const closure = (rel: string, acc = new Set<string>()): Set<string> => {
    for (const d of plan.deps.get(rel) ?? []) if (!acc.has(d)) closure(d, acc.add(d));
    return acc;
  };
  const pos = new Map(plan.ordered.map((r, i) => [r, i]));
  const depLines = plan.ordered.map((rel) => {
    const all = [...closure(rel)].sort((a, b) => (pos.get(b) ?? 0) - (pos.get(a) ?? 0));
    return `${rel}:${all.map((d) => ` ${d}`).join('')}`;
  });
  addDir(guestModDir);
  entries.push({
    type: 'file',
    path: `${guestModDir}/modules.dep`,
    data: `${depLines.join('\n')}\n`,
  });
  log(
    `${plan.ordered.length} kernel modules (${GUEST_MODULES.length} asked for, the rest are their dependencies)`,
  );

  // binaries, iptables extensions, libraries
  const libPath = [join(root, 'lib/x86_64-linux-gnu'), join(root, 'usr/lib/x86_64-linux-gnu')].join(
    ':',
  );
  const elves: string[] = [];
  for (const [src, dest] of BINARIES) {
    const p = join(root, src);
    if (!existsSync(p)) throw new UserError(`the packages held no ${src}`, `look into ${root}`);
    await addFile(p, dest, 0o755);
    elves.push(p);
  }
  for (const [l, t] of XTABLES_LINKS)
    entries.push({ type: 'symlink', path: `usr/sbin/${l}`, target: t });
  // busybox applets as links, except where a real program of the same name is installed
  const real = new Set([...BINARIES.map(([, d]) => basename(d)), ...XTABLES_LINKS.map(([l]) => l)]);
  const applets = (await output([join(root, 'bin/busybox'), '--list']))
    .split('\n')
    .filter((a) => /^[\w.[-]+$/.test(a));
  for (const a of applets)
    if (!real.has(a) && a !== 'busybox')
      entries.push({ type: 'symlink', path: `usr/bin/${a}`, target: 'busybox' });
  const xtDir = join(root, LIBDIR, 'xtables');
  for (const f of await readdir(xtDir)) {
    await addFile(join(xtDir, f), `${LIBDIR}/xtables/${f}`, 0o755);
    elves.push(join(xtDir, f));
  }
  const libs = new Set<string>();
  let loader: string | undefined;
  const queue = [...elves];
  while (queue.length) {
    const f = queue.shift()!;
    const need = await neededLibs(f, libPath);
    loader ??= need.loader;
    for (const so of need.sonames) {
      if (libs.has(so)) continue;
      const p = await findLib(root, so);
      if (!p)
        throw new UserError(
          `no Debian package in the recipe provides ${so} (needed by ${basename(f)})`,
          'add its package to TOOL_PACKAGES in src/bare/vm/image.ts',
        );
      libs.add(so);
      await addFile(p, `${LIBDIR}/${so}`, 0o755);
      queue.push(p);
    }
  }
  if (!loader)
    throw new UserError(
      'could not find the dynamic loader of the guest binaries',
      'check that `ldd` works on this machine',
    );
  const loaderName = basename(loader);
  const loaderSrc = await findLib(root, loaderName);
  if (!loaderSrc)
    throw new UserError(`the libc6 package held no ${loaderName}`, `look into ${root}`);
  if (!libs.has(loaderName)) await addFile(loaderSrc, `${LIBDIR}/${loaderName}`, 0o755);
  entries.push({
    type: 'symlink',
    path: `usr/lib64/${loaderName}`,
    target: `../lib/x86_64-linux-gnu/${loaderName}`,
  });
  log(`${BINARIES.length} programs, ${libs.size} shared libraries (ldd), the iptables extensions`);

  // /etc and /init
  for (const f of ['protocols', 'services'])
    if (existsSync(join(root, 'etc', f))) await addFile(join(root, 'etc', f), `etc/${f}`);
  entries.push({ type: 'file', path: 'etc/passwd', data: 'root:x:0:0:root:/root:/bin/sh\n' });
  entries.push({ type: 'file', path: 'etc/group', data: 'root:x:0:\n' });
  entries.push({ type: 'file', path: 'init', data: guestInit(GUEST_MODULES), mode: 0o755 });

  const initrd = gzipCpio(entries);
  const tmpDir = `${dir}.tmp`;
  await rm(tmpDir, { recursive: true, force: true });
  await mkdir(tmpDir, { recursive: true });
  await unpackKernel(join(boot, vmlinuz), root, join(tmpDir, 'vmlinux'));
  await writeFile(join(tmpDir, 'initrd.gz'), initrd);
  const manifest = {
    key,
    kernelRelease: release,
    initrdBytes: initrd.length,
    packages: debFiles.sort(),
  };
  await writeFile(join(tmpDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dirname(dir), { recursive: true });
  await rename(tmpDir, dir);
  // images of older recipes are dropped once they are an hour old (a VM started from one
  // a moment ago, e.g. by a concurrent run, keeps its files until then)
  for (const old of await readdir(dirname(dir))) {
    const p = join(dirname(dir), old);
    if (old === basename(dir) || old.endsWith('.tmp')) continue;
    if (Date.now() - (await stat(p)).mtimeMs > 3600_000)
      await rm(p, { recursive: true, force: true });
  }
  await rm(work, { recursive: true, force: true });
  log(
    `initramfs ${(initrd.length / 1e6).toFixed(1)} MB, kernel ${release} → ${relative(paths.root, dir)}/`,
  );
  return {
    dir,
    kernel: join(dir, 'vmlinux'),
    initrd: join(dir, 'initrd.gz'),
    kernelRelease: release,
    key,
    built: true,
    initrdBytes: initrd.length,
    packages: manifest.packages,
  };
}
