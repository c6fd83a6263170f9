/**
 * Where the by-hand lab runs. Both backends run the same lab (the same commands, as argv
 * lists): they differ only in where those commands run and how the small HTTP servers
 * and the clients are started.
 *
 * - native: this machine's kernel has IPVS and dummy interfaces (or can load them) and we
 *   are root. Every command runs in network namespaces made for the lab ("node", pods);
 *   nothing is added to the host's own namespace.
 * - vm: a QEMU micro-VM booted from Debian's kernel and a small initramfs (src/bare/vm/).
 *   The commands of one lab phase become one shell script in the guest (process starts are
 *   slow under emulation, so they are batched).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkModules, hostRoots } from '../cluster/host.js';
import { run, type RunResult } from '../core/exec.js';
import { UserError } from '../core/errors.js';
import { ensureImage, buildPrerequisites, type VmImage } from './vm/image.js';
import { GuestVm, shQuote } from './vm/runner.js';
import { bootGuest, describeAccel } from './vm/accel.js';

/** One command of a lab phase. */
export interface Cmd {
  argv: string[];
  /** Text fed to stdin (e.g. `ipset restore`, `iptables-restore`). */
  input?: string;
  /** Exit codes that count as success (default [0]); 'any' to never fail. */
  ok?: number[] | 'any';
}

export interface CmdResult {
  argv: string[];
  /** stdout and stderr together, as a person at a terminal would see them. */
  output: string;
  exitCode: number;
}

export type BackendName = 'native' | 'vm';

export interface Backend {
  name: BackendName;
  /** One line saying what it is ("QEMU micro-VM, Debian kernel 6.1.0-…, TCG"). */
  describe(): string;
  /** Run commands in order; returns one result per command (never throws for exit codes). */
  exec(cmds: readonly Cmd[]): Promise<CmdResult[]>;
  /** Start the HTTP server of a pod: answers every GET with `<name>\n` on port 80. */
  startServer(ns: string, name: string): Promise<void>;
  /** A command run in `ns` that sends `n` GETs to `url`, one connection each, printing each answer on a line. */
  requests(ns: string, url: string, n: number): Cmd;
  /** Stop servers and whatever else the backend runs; for vm: power the guest off. */
  close(): Promise<void>;
}

/** The native HTTP server and client: node itself, inside the namespace. */
const NODE_SERVER = `const name = process.argv[1];
require('http').createServer((q, s) => { s.setHeader('connection', 'close'); s.end(name + '\\n'); }).listen(80, '0.0.0.0');`;
const NODE_CLIENT = `const [url, n] = process.argv.slice(1);
const http = require('http');
(async () => {
  for (let i = 0; i < Number(n); i++) {
    const body = await new Promise((resolve) => {
      const req = http.get(url, { agent: false, timeout: 2000 }, (res) => { let b = ''; res.on('data', (d) => (b += d)); res.on('end', () => resolve(b)); });
      req.on('timeout', () => { req.destroy(); resolve('timeout\\n'); });
      req.on('error', (e) => resolve('error ' + e.code + '\\n'));
    });
    process.stdout.write(body.endsWith('\\n') ? body : body + '\\n');
  }
})();`;

export class NativeBackend implements Backend {
  readonly name = 'native' as const;

  describe(): string {
    return `this machine's kernel (${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}), in network namespaces`;
  }

  async exec(cmds: readonly Cmd[]): Promise<CmdResult[]> {
    const out: CmdResult[] = [];
    for (const c of cmds) {
      const r: RunResult = await run(c.argv, {
        reject: false,
        ...(c.input !== undefined ? { input: c.input } : {}),
        timeoutMs: 120_000,
      });
      out.push({ argv: c.argv, output: r.stdout + r.stderr, exitCode: r.exitCode });
    }
    return out;
  }

  async startServer(ns: string, name: string): Promise<void> {
    // detached (setsid -f) so that it outlives this command with --keep; the lab's teardown
    // stops every process of the namespace (`ip netns pids`)
    await run([
      'sh',
      '-c',
      'exec setsid -f "$@" </dev/null >/dev/null 2>&1',
      'sh',
      'ip',
      'netns',
      'exec',
      ns,
      process.execPath,
      '-e',
      NODE_SERVER,
      name,
    ]);
  }

  requests(ns: string, url: string, n: number): Cmd {
    return {
      argv: ['ip', 'netns', 'exec', ns, process.execPath, '-e', NODE_CLIENT, url, String(n)],
    };
  }

  async close(): Promise<void> {}
}

/**
 * Programs the guest has as real binaries. Its shell (busybox) prefers its own applets over
 * PATH, and busybox's `ip` has no `netns`: these are called by their full path.
 */
const GUEST_REAL = new Set([
  'ip',
  'ipvsadm',
  'ipset',
  'iptables',
  'iptables-save',
  'iptables-restore',
  'iptables-legacy',
  'iptables-legacy-save',
  'iptables-legacy-restore',
  'iptables-nft',
  'iptables-nft-save',
  'iptables-nft-restore',
  'nft',
]);

/** Turn commands into one guest script that frames each command's output. */
export function guestScript(cmds: readonly Cmd[]): string {
  const lines: string[] = [];
  cmds.forEach((c, i) => {
    const [first, ...rest] = c.argv;
    const prog = first && GUEST_REAL.has(first) ? `/usr/sbin/${first}` : (first ?? 'true');
    const argv = [prog, ...rest].map(shQuote).join(' ');
    lines.push(`echo '@@B ${i}'`);
    if (c.input !== undefined) {
      let tag = 'PROXYLAB_EOF';
      while (c.input.includes(tag)) tag += '_';
      lines.push(
        `${argv} 2>&1 <<'${tag}'`,
        c.input.endsWith('\n') ? c.input.slice(0, -1) : c.input,
        tag,
      );
    } else {
      lines.push(`${argv} 2>&1`);
    }
    lines.push(`rc=$?; echo; echo "@@E ${i} $rc"`);
  });
  return `${lines.join('\n')}\n`;
}

/** Split the guest's output back into one result per command. */
export function splitGuestOutput(cmds: readonly Cmd[], text: string): CmdResult[] {
  const out: CmdResult[] = [];
  cmds.forEach((c, i) => {
    const b = text.indexOf(`@@B ${i}\n`);
    const endRe = new RegExp(`\\n@@E ${i} (\\d+)\\n`);
    const rest = b >= 0 ? text.slice(b + `@@B ${i}\n`.length) : '';
    const m = endRe.exec(rest);
    if (b < 0 || !m) {
      out.push({ argv: c.argv, output: rest, exitCode: -1 });
      return;
    }
    out.push({ argv: c.argv, output: rest.slice(0, m.index), exitCode: Number(m[1]) });
  });
  return out;
}

export class VmBackend implements Backend {
  readonly name = 'vm' as const;
  constructor(
    readonly vm: GuestVm,
    readonly image: VmImage,
  ) {}

  describe(): string {
    return `QEMU micro-VM (Debian kernel ${this.vm.kernelRelease}, booted in ${(this.vm.bootMs / 1000).toFixed(1)} s, no network card), accelerator ${describeAccel(this.vm)}`;
  }

  async exec(cmds: readonly Cmd[]): Promise<CmdResult[]> {
    const r = await this.vm.run(guestScript(cmds), { timeoutMs: 300_000 });
    return splitGuestOutput(cmds, r.output);
  }

  async startServer(ns: string, name: string): Promise<void> {
    // busybox httpd forks into the background by itself
    const res = await this.exec([
      { argv: ['mkdir', '-p', `/srv/${name}`] },
      { argv: ['sh', '-c', 'cat > "$1"', 'sh', `/srv/${name}/index.html`], input: `${name}\n` },
      { argv: ['/usr/sbin/ip', 'netns', 'exec', ns, 'httpd', '-p', '80', '-h', `/srv/${name}`] },
    ]);
    const bad = res.find((r) => r.exitCode !== 0);
    if (bad)
      throw new UserError(
        `could not start the HTTP server of ${name} in the VM: ${bad.output.trim()}`,
      );
  }

  requests(ns: string, url: string, n: number): Cmd {
    return {
      argv: [
        '/usr/sbin/ip',
        'netns',
        'exec',
        ns,
        'sh',
        '-c',
        'i=0; while [ $i -lt "$1" ]; do wget -q -O - "$2" 2>/dev/null || echo error; i=$((i+1)); done',
        'sh',
        String(n),
        url,
      ],
    };
  }

  async close(): Promise<void> {
    await this.vm.shutdown();
  }
}

// ---------------------------------------------------------------------------------------
// Choosing a backend

export interface Detection {
  native: { ok: boolean; why: string };
  vm: { ok: boolean; why: string; fix?: string };
}

async function have(cmd: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const r = await run(['sh', '-c', 'command -v "$1"', 'sh', cmd], { reject: false, env }).catch(
    () => undefined,
  );
  return r?.exitCode === 0;
}

/** What decides whether the native backend can run, gathered by `nativeFacts`. */
export interface NativeFacts {
  release: string;
  /** IPVS in this kernel: active (/proc/net/ip_vs), loadable (a module to load), missing. */
  ipvs: 'active' | 'loadable' | 'missing';
  /** Dummy interfaces: ok (made one), missing (no module, or `ip link add … dummy` refused), unknown. */
  dummy: 'ok' | 'missing' | 'unknown';
  root: boolean;
  ipvsadm: boolean;
  ip: boolean;
}

/**
 * The native backend's verdict, deciding reason first: what the kernel cannot do (no
 * installing helps), then what the user can fix (root, then the programs).
 */
export function nativeVerdict(f: NativeFacts): Detection['native'] {
  if (f.ipvs === 'missing')
    return {
      ok: false,
      why: `this kernel (${f.release}) has no IPVS: ip_vs is not built in, not loaded and not loadable`,
    };
  if (f.dummy === 'missing')
    return {
      ok: false,
      why: `this kernel (${f.release}) has no dummy interfaces (no dummy module)`,
    };
  if (!f.root) return { ok: false, why: 'not root (namespaces, IPVS and iptables need root)' };
  if (!f.ipvsadm) return { ok: false, why: 'ipvsadm is not installed (apt-get install ipvsadm)' };
  if (!f.ip) return { ok: false, why: 'iproute2 is not installed' };
  return { ok: true, why: 'this kernel has IPVS and dummy interfaces' };
}

/** Look at this machine: kernel first (module files, /proc), then root and the programs. */
export async function nativeFacts(env: NodeJS.ProcessEnv = process.env): Promise<NativeFacts> {
  const h = hostRoots(env);
  const roots = { proc: h.proc, modules: h.modules, release: h.kernel };
  const root = process.getuid?.() === 0;
  const state = (m: string) => checkModules([m], roots).modules[0]!.state;
  const ipvsActive = () => existsSync(join(h.proc, 'net', 'ip_vs'));
  let ipvs: NativeFacts['ipvs'] = ipvsActive()
    ? 'active'
    : state('ip_vs') === 'missing'
      ? 'missing'
      : 'loadable';
  if (ipvs === 'loadable' && root) {
    await run(['modprobe', 'ip_vs'], { reject: false, env }).catch(() => undefined);
    ipvs = ipvsActive() ? 'active' : 'missing';
  }
  let dummy: NativeFacts['dummy'] = state('dummy') === 'missing' ? 'unknown' : 'ok';
  const [ipvsadm, ip] = [await have('ipvsadm', env), await have('ip', env)];
  if (ipvs !== 'missing' && root && ip) {
    // modules.builtin may be absent (a kernel without /lib/modules): ask the kernel itself
    const probe = `plb-probe-${process.pid}`;
    const r = await run(['ip', 'link', 'add', probe, 'type', 'dummy'], {
      reject: false,
      env,
    }).catch(() => undefined);
    if (r?.exitCode === 0) {
      await run(['ip', 'link', 'del', probe], { reject: false, env });
      dummy = 'ok';
    } else dummy = 'missing';
  }
  return { release: h.kernel, ipvs, dummy, root, ipvsadm, ip };
}

export async function detect(env: NodeJS.ProcessEnv = process.env): Promise<Detection> {
  const root = process.getuid?.() === 0;
  const native = nativeVerdict(await nativeFacts(env));
  let vm: Detection['vm'];
  const pre = await buildPrerequisites();
  const qemu = await have('qemu-system-x86_64');
  if (pre.missing.length)
    vm = {
      ok: false,
      why: `cannot build the VM image: ${pre.missing.join(', ')} missing`,
      fix: pre.fix.join('; '),
    };
  else if (qemu) vm = { ok: true, why: 'qemu-system-x86_64 is installed' };
  else if (root && (await have('apt-get')))
    vm = {
      ok: true,
      why: 'qemu is not installed yet; proxylab will install it with apt-get (qemu-system-x86)',
    };
  else
    vm = {
      ok: false,
      why: 'qemu-system-x86_64 is not installed',
      fix: 'sudo apt-get install qemu-system-x86',
    };
  return { native, vm };
}

export async function chooseBackend(d: Detection, wanted?: BackendName): Promise<BackendName> {
  if (wanted === 'native' && !d.native.ok)
    throw new UserError(
      `the native backend cannot run here: ${d.native.why}`,
      d.vm.ok
        ? 'run `proxylab bare --backend vm` (or leave --backend out)'
        : 'run as root on a kernel with IPVS (modprobe ip_vs dummy)',
    );
  if (wanted === 'vm' && !d.vm.ok)
    throw new UserError(
      `the vm backend cannot run here: ${d.vm.why}`,
      d.vm.fix ?? 'apt-get install qemu-system-x86',
    );
  if (wanted) return wanted;
  if (d.native.ok) return 'native';
  if (d.vm.ok) return 'vm';
  throw new UserError(
    `neither backend can run here: native: ${d.native.why}; vm: ${d.vm.why}`,
    `${d.vm.fix ?? 'sudo apt-get install qemu-system-x86'} — or, on a kernel with IPVS, run as root after \`modprobe ip_vs dummy\``,
  );
}

/** Install QEMU with apt when it is missing (vm backend, as root). */
export async function ensureQemu(log: (l: string) => void, signal?: AbortSignal): Promise<void> {
  if (await have('qemu-system-x86_64')) return;
  log('apt-get install qemu-system-x86 (QEMU is not installed)');
  const opts = {
    timeoutMs: 900_000,
    env: { DEBIAN_FRONTEND: 'noninteractive' },
    ...(signal ? { signal } : {}),
  };
  const r = await run(
    ['apt-get', 'install', '-y', '-q', '--no-install-recommends', 'qemu-system-x86'],
    { ...opts, reject: false },
  );
  if (r.exitCode !== 0) {
    await run(['apt-get', 'update', '-q'], opts);
    await run(
      ['apt-get', 'install', '-y', '-q', '--no-install-recommends', 'qemu-system-x86'],
      opts,
    );
  }
}

export async function openVmBackend(opts: {
  log: (l: string) => void;
  /** The one line saying KVM was tried and TCG is used (default: log). */
  note?: (l: string) => void;
  signal?: AbortSignal;
}): Promise<VmBackend> {
  await ensureQemu(opts.log, opts.signal);
  const image = await ensureImage({
    log: opts.log,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const vm = await bootGuest({
    image,
    note: opts.note ?? opts.log,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  return new VmBackend(vm, image);
}
