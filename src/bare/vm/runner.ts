/**
 * A QEMU micro-VM you can run shell scripts in: boot once, run scripts, collect their
 * output and exit codes, shut down.
 *
 *   const vm = await GuestVm.boot({ image: await ensureImage({ log }) });
 *   try {
 *     const r = await vm.run('ipvsadm -Ln');      // { output, exitCode, durationMs }
 *   } finally {
 *     await vm.shutdown();
 *   }
 *
 * The guest has no network card. Scripts go in and results come out over the second
 * serial port (a UNIX socket on the host, see guest-init.ts for the protocol). Kernel
 * messages go to the first serial port, kept as `consoleLog` for when something fails.
 * `boot` runs the accelerator it is given (TCG, software emulation, by default); which one
 * to use — KVM when a short probe boots, else TCG — is decided in accel.ts. Everything QEMU
 * prints itself (stdout/stderr, e.g. "KVM internal error … emulation failure") is kept as
 * `qemuSaid` and shown in every failure, beside the tail of the guest's console.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../core/exec.js';
import { CommandError, UserError, tail } from '../../core/errors.js';
import { DONE_PREFIX, READY_LINE } from './guest-init.js';
import type { VmImage } from './image.js';

export interface BootOptions {
  image: Pick<VmImage, 'kernel' | 'initrd'>;
  memoryMb?: number;
  /** 'tcg' (default) or 'kvm'. */
  accel?: string;
  bootTimeoutMs?: number;
  /**
   * Give up as soon as QEMU itself prints an error while the guest boots, instead of waiting
   * for the boot timeout (the KVM probe: a guest KVM cannot run stops with "KVM internal
   * error" and QEMU waits, paused, for ever).
   */
  failOnQemuError?: boolean;
  signal?: AbortSignal;
  qemu?: string;
  /**
   * Keep the VM running after this process exits (QEMU -daemonize). Reconnect later with
   * `GuestVm.attach(vm.dir)`; stop it with `shutdown()`.
   */
  detach?: boolean;
}

/** A VM failure, with what QEMU itself printed (empty when nothing). */
export class VmError extends UserError {
  constructor(
    message: string,
    hint: string,
    readonly qemuSaid: string,
  ) {
    super(message, hint);
  }
}

export interface GuestResult {
  output: string;
  exitCode: number;
  durationMs: number;
}

export class GuestVm {
  /** Wall-clock milliseconds from starting QEMU to the guest saying it is ready. */
  bootMs = 0;
  /** Guest uptime in seconds when it said ready (kernel + init + modules). */
  guestReadyUptime = 0;
  kernelRelease = '';
  /** The accelerator QEMU runs with ('tcg' or 'kvm'). */
  accel = 'tcg';
  /** Why this accelerator (set by accel.ts, e.g. "KVM failed the probe: …"). */
  accelNote = '';
  private said = { text: '' };
  private buf = '';
  private waiter: (() => void) | undefined;
  private seq = 0;
  private exited = false;
  private exitError: unknown;
  private busy: Promise<unknown> = Promise.resolve();

  private constructor(
    /** Folder holding the control socket, the console log and (detached) the pid file. */
    readonly dir: string,
    private readonly sock: Socket,
    private readonly proc: Promise<unknown>,
    private readonly kill: AbortController,
    private readonly pid?: number,
  ) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.buf += d;
      this.waiter?.();
    });
    sock.on('close', () => this.waiter?.());
    sock.on('error', () => this.waiter?.());
  }

  get consoleLog(): string {
    return join(this.dir, 'console.log');
  }

  /** What QEMU printed itself (its stdout and stderr), the last few KB. */
  get qemuSaid(): string {
    return this.said.text;
  }

  static async boot(opts: BootOptions): Promise<GuestVm> {
    const dir = await mkdtemp(join(tmpdir(), 'proxylab-vm-'));
    const sockPath = join(dir, 'ctl.sock');
    const accel = opts.accel ?? 'tcg';
    const argv = [
      opts.qemu ?? 'qemu-system-x86_64',
      '-accel',
      accel,
      '-M',
      'pc',
      '-m',
      String(opts.memoryMb ?? 512),
      '-smp',
      '1',
      '-nodefaults',
      '-no-user-config',
      '-display',
      'none',
      '-no-reboot',
      '-kernel',
      opts.image.kernel,
      '-initrd',
      opts.image.initrd,
      '-append',
      'console=ttyS0 quiet loglevel=3 panic=-1',
      '-serial',
      `file:${join(dir, 'console.log')}`,
      '-chardev',
      `socket,id=ctl,path=${sockPath},server=on,wait=off`,
      '-serial',
      'chardev:ctl',
      ...(opts.detach ? ['-daemonize', '-pidfile', join(dir, 'qemu.pid')] : []),
    ];
    const kill = new AbortController();
    const onAbort = () => kill.abort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const started = performance.now();
    let exited = false;
    let exitError: unknown;
    const said = { text: '' };
    const proc = run(argv, {
      signal: kill.signal,
      timeoutMs: 24 * 3600_000,
      reject: true,
      onOutput: (chunk) => {
        said.text = (said.text + chunk).slice(-4096);
      },
    }).then(
      (r) => {
        exited = true;
        return r;
      },
      (e: unknown) => {
        exited = true;
        exitError = e;
      },
    );
    const timeoutMs = opts.bootTimeoutMs ?? 120_000;
    const deadline = Date.now() + timeoutMs;
    let pid: number | undefined;
    if (opts.detach) {
      // the parent QEMU exits once the daemon runs
      await proc;
      pid =
        Number((await readFile(join(dir, 'qemu.pid'), 'utf8').catch(() => '')).trim()) || undefined;
      if (!pid) {
        await rm(dir, { recursive: true, force: true });
        throw new VmError(
          `the VM did not start with ${accel.toUpperCase()}${exitError instanceof CommandError ? `: QEMU exited (${exitError.exitCode ?? exitError.signal ?? 'killed'})` : ''}`,
          `${said.text.trim() ? `QEMU said:\n${tail(said.text, 15)}` : 'QEMU printed nothing'}\ncheck that \`qemu-system-x86_64 --version\` works`,
          said.text,
        );
      }
      exited = false;
    }
    let sock: Socket | undefined;
    let failed: string | undefined;
    while (!sock) {
      if (exited) break;
      if (opts.failOnQemuError && qemuError(said.text)) {
        failed = `QEMU reported an error after ${Math.round((performance.now() - started) / 1000)} s`;
        break;
      }
      try {
        sock = await new Promise<Socket>((resolve, reject) => {
          const s = createConnection(sockPath);
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
      } catch {
        if (Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    if (!sock) {
      kill.abort();
      await proc;
      const why =
        failed ??
        (exitError instanceof CommandError
          ? `QEMU exited (${exitError.exitCode ?? exitError.signal ?? 'killed'})`
          : `its control socket did not appear within ${Math.round(timeoutMs / 1000)} s`);
      await rm(dir, { recursive: true, force: true });
      throw new VmError(
        `the VM did not start with ${accel.toUpperCase()}: ${why}`,
        `${said.text.trim() ? `QEMU said:\n${tail(said.text, 15)}` : 'QEMU printed nothing'}\ncheck that \`qemu-system-x86_64 --version\` works (apt-get install qemu-system-x86)`,
        said.text,
      );
    }
    const vm = new GuestVm(dir, sock, opts.detach ? Promise.resolve() : proc, kill, pid);
    vm.accel = accel;
    vm.said = said;
    if (!opts.detach) {
      void proc.then(() => {
        vm.exited = true;
        vm.exitError = exitError;
        vm.waiter?.();
      });
    }
    try {
      const line = await vm.until(
        new RegExp(`${READY_LINE} (\\S+) ([\\d.]+)\\n`),
        { deadline, since: Date.now() - (performance.now() - started) },
        'the guest to boot',
        opts.failOnQemuError === true,
      );
      vm.kernelRelease = line[1]!;
      vm.guestReadyUptime = Number(line[2]);
      vm.bootMs = Math.round(performance.now() - started);
      vm.buf = vm.buf.slice((line.index ?? 0) + line[0].length);
    } catch (e) {
      await vm.shutdown();
      throw e;
    }
    return vm;
  }

  /** Reconnect to a VM started with `detach: true` (by this or another proxylab process). */
  static async attach(dir: string): Promise<GuestVm> {
    const pid =
      Number((await readFile(join(dir, 'qemu.pid'), 'utf8').catch(() => '')).trim()) || undefined;
    if (!pid || !pidAlive(pid))
      throw new UserError('the lab VM is not running', 'start it with `proxylab bare up`');
    const sock = await new Promise<Socket>((resolve, reject) => {
      const s = createConnection(join(dir, 'ctl.sock'));
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    }).catch((e: unknown) => {
      throw new UserError(
        `cannot reach the lab VM: ${(e as Error).message}`,
        'is another `proxylab bare` command talking to it? If it is stuck: `proxylab bare down`',
      );
    });
    return new GuestVm(dir, sock, Promise.resolve(), new AbortController(), pid);
  }

  /** Whether QEMU still runs. */
  alive(): boolean {
    return this.pid ? pidAlive(this.pid) : !this.exited;
  }

  /** Detached VMs only: close this connection and leave the VM running. */
  disconnect(): void {
    this.sock.end();
    this.sock.destroy();
  }

  /** What to show when something failed: QEMU's own words, then the guest's console. */
  private async failureDetail(): Promise<string> {
    const log = await readFile(this.consoleLog, 'utf8').catch(() => '');
    const parts = [
      this.said.text.trim() ? `QEMU said:\n${tail(this.said.text, 15)}` : 'QEMU printed nothing',
      log.trim() ? `the guest's console said:\n${tail(log, 15)}` : "the guest's console is empty",
    ];
    return parts.join('\n');
  }

  private async until(
    re: RegExp,
    when: { deadline: number; since: number },
    what: string,
    failOnQemuError = false,
  ): Promise<RegExpExecArray> {
    for (;;) {
      const m = re.exec(this.buf);
      if (m) return m;
      const waited = `${Math.round((Date.now() - when.since) / 1000)} s`;
      if (!this.alive() || this.sock.destroyed) {
        throw new VmError(
          `the VM (${this.accel.toUpperCase()}) stopped after ${waited} while waiting for ${what}${this.exitError instanceof Error ? ` (${this.exitError.message.split('\n')[0]})` : ''}`,
          await this.failureDetail(),
          this.said.text,
        );
      }
      if (failOnQemuError && qemuError(this.said.text)) {
        throw new VmError(
          `QEMU reported an error after ${waited} while waiting for ${what} (${this.accel.toUpperCase()})`,
          await this.failureDetail(),
          this.said.text,
        );
      }
      const left = when.deadline - Date.now();
      if (left <= 0) {
        throw new VmError(
          `gave up after ${waited} waiting for ${what} in the VM (${this.accel.toUpperCase()})`,
          await this.failureDetail(),
          this.said.text,
        );
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 1000));
        this.waiter = () => {
          clearTimeout(t);
          this.waiter = undefined;
          resolve();
        };
      });
    }
  }

  /** Run a shell script (busybox sh) in the guest; output is stdout and stderr together. */
  run(script: string, opts: { timeoutMs?: number; what?: string } = {}): Promise<GuestResult> {
    const job = this.busy.then(() => this.runNow(script, opts));
    this.busy = job.catch(() => undefined);
    return job;
  }

  private async runNow(
    script: string,
    opts: { timeoutMs?: number; what?: string },
  ): Promise<GuestResult> {
    const id = ++this.seq;
    const body = Buffer.from(script.endsWith('\n') ? script : `${script}\n`);
    const started = performance.now();
    this.sock.write(`RUN ${id} ${body.length}\n`);
    this.sock.write(body);
    const timeoutMs = opts.timeoutMs ?? 300_000;
    const m = await this.until(
      new RegExp(`${DONE_PREFIX} ${id} (\\d+)\\n`),
      { deadline: Date.now() + timeoutMs, since: Date.now() },
      opts.what ?? `script #${id}`,
    );
    const output = this.buf.slice(0, m.index);
    this.buf = this.buf.slice((m.index ?? 0) + m[0].length);
    return { output, exitCode: Number(m[1]), durationMs: Math.round(performance.now() - started) };
  }

  /** Power the guest off (waits up to 10 s, then kills QEMU) and remove the temp folder. */
  async shutdown(): Promise<void> {
    if (this.alive() && !this.sock.destroyed) this.sock.write('OFF\n');
    if (this.pid) {
      const until = Date.now() + 10_000;
      while (pidAlive(this.pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      if (pidAlive(this.pid)) process.kill(this.pid, 'SIGKILL');
    } else {
      const t = setTimeout(() => this.kill.abort(), 10_000);
      await this.proc;
      clearTimeout(t);
    }
    this.sock.destroy();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Whether QEMU's own output holds an error (warnings do not count). */
export function qemuError(said: string): string | undefined {
  return said
    .split('\n')
    .find((l) => /error|failure|failed|could not|cannot/i.test(l) && !/\bwarning:/i.test(l));
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Quote one argument for the guest's shell (single quotes, no interpolation). */
export function shQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
