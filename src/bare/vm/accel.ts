/**
 * Which accelerator the micro-VM runs with. PROXYLAB_VM_ACCEL:
 *   unset / auto  KVM when /dev/kvm is usable and a short probe boots the guest with it,
 *                 else TCG (software emulation), with one line saying why;
 *   kvm           KVM only: when the probe fails, stop and show what QEMU said;
 *   tcg           TCG only, no probe.
 * The probe is the real boot: when KVM works the probed guest is the one used (a detached
 * guest is booted again, detached, since QEMU's output is gone once it daemonizes). A guest
 * KVM cannot run (a nested, software KVM: "KVM internal error … emulation failure") makes
 * QEMU print the error and wait, paused: the probe stops at QEMU's first error line.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { UsageError, UserError } from '../../core/errors.js';
import { GuestVm, qemuError, VmError, type BootOptions } from './runner.js';

export type AccelChoice = 'auto' | 'kvm' | 'tcg';

/** How long the KVM probe may take to boot (TCG boots in ~4 s here; KVM in well under 1 s). */
export const KVM_PROBE_MS = 15_000;

export function accelChoice(env: NodeJS.ProcessEnv): AccelChoice {
  const v = (env.PROXYLAB_VM_ACCEL ?? '').trim().toLowerCase();
  if (v === '' || v === 'auto') return 'auto';
  if (v === 'kvm' || v === 'tcg') return v;
  throw new UsageError(
    `PROXYLAB_VM_ACCEL=${env.PROXYLAB_VM_ACCEL}: not an accelerator`,
    'use PROXYLAB_VM_ACCEL=kvm, tcg or auto (or leave it unset: KVM when it works, else TCG)',
  );
}

/** Whether this user can open the KVM device; the reason when not. */
export function kvmDevice(dev = '/dev/kvm'): { ok: boolean; why: string } {
  if (!existsSync(dev)) return { ok: false, why: `there is no ${dev}` };
  try {
    accessSync(dev, constants.R_OK | constants.W_OK);
    return { ok: true, why: `${dev} is there` };
  } catch {
    return { ok: false, why: `${dev} is not readable and writable by this user` };
  }
}

/** The first line of what went wrong: QEMU's own error line when it printed one. */
function firstWords(e: unknown): string {
  const line = e instanceof VmError ? qemuError(e.qemuSaid) : undefined;
  if (line) return `QEMU said "${line.trim()}"`;
  return e instanceof Error ? e.message : String(e);
}

export interface GuestBoot extends Omit<BootOptions, 'accel' | 'failOnQemuError'> {
  env?: NodeJS.ProcessEnv;
  /** The KVM device to look at (tests). */
  kvmDevicePath?: string;
  probeMs?: number;
  /** One line for the user when KVM was tried and TCG is used instead. */
  note?: (line: string) => void;
}

/** Boot the guest with the best accelerator that works; `vm.accel` and `vm.accelNote` say which and why. */
export async function bootGuest(o: GuestBoot): Promise<GuestVm> {
  const choice = accelChoice(o.env ?? process.env);
  const { env: _env, kvmDevicePath, probeMs, note, ...boot } = o;
  const tcg = async (why: string) => {
    const vm = await GuestVm.boot({ ...boot, accel: 'tcg' });
    vm.accelNote = why;
    return vm;
  };
  if (choice === 'tcg') return tcg('PROXYLAB_VM_ACCEL=tcg');
  const dev = kvmDevice(kvmDevicePath);
  if (!dev.ok) {
    if (choice === 'kvm')
      throw new UserError(
        `PROXYLAB_VM_ACCEL=kvm, but ${dev.why}`,
        'unset PROXYLAB_VM_ACCEL to use TCG (software emulation) when KVM is not there',
      );
    return tcg(dev.why);
  }
  let probe: GuestVm;
  try {
    probe = await GuestVm.boot({
      ...boot,
      detach: false,
      accel: 'kvm',
      failOnQemuError: true,
      bootTimeoutMs: probeMs ?? KVM_PROBE_MS,
    });
  } catch (e) {
    if (choice === 'kvm' || (e instanceof UserError && e.exitCode === 130)) {
      if (e instanceof UserError && choice === 'kvm')
        throw new UserError(
          `PROXYLAB_VM_ACCEL=kvm, but the guest does not boot with KVM: ${e.message}`,
          `${e.hint ?? ''}\nunset PROXYLAB_VM_ACCEL to fall back to TCG (software emulation) by itself`,
        );
      throw e;
    }
    const why = `KVM failed the probe: ${firstWords(e)}`;
    note?.(`${why}; using TCG (software emulation)`);
    return tcg(why);
  }
  probe.accelNote = 'KVM passed the probe';
  if (!boot.detach) return probe;
  await probe.shutdown();
  const vm = await GuestVm.boot({ ...boot, accel: 'kvm' });
  vm.accelNote = 'KVM passed the probe';
  return vm;
}

/** "TCG software emulation — KVM failed the probe: …" — for the backend's one-line description. */
export function describeAccel(vm: Pick<GuestVm, 'accel' | 'accelNote'>): string {
  const name = vm.accel === 'kvm' ? 'KVM' : 'TCG software emulation';
  return vm.accelNote ? `${name} — ${vm.accelNote}` : name;
}
