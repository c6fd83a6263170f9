/**
 * The micro-VM's accelerator and its failures, with a stand-in QEMU (test/helpers/fake-qemu.mjs)
 * that reads the same argv and plays the guest's side of the control port: KVM is tried
 * with a short probe where the device is there, TCG is used with one line saying why, QEMU's
 * own words are shown on any failure, the wait is said in seconds. And the native backend's
 * verdict gives the deciding reason (the kernel) first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/cli.js';
import { accelChoice, bootGuest, describeAccel, kvmDevice } from '../../src/bare/vm/accel.js';
import { GuestVm, qemuError, VmError } from '../../src/bare/vm/runner.js';
import { detect, nativeVerdict, type NativeFacts } from '../../src/bare/backend.js';
import { UserError } from '../../src/core/errors.js';
import { fakeKernel } from '../flow/steps-helpers.js';

const QEMU = join(ROOT, 'test', 'helpers', 'fake-qemu.mjs');
const image = { kernel: '/nonexistent/vmlinuz', initrd: '/nonexistent/initrd' };

function scratch() {
  const dir = mkdtempSync(join(tmpdir(), 'proxylab-accel-'));
  const kvm = join(dir, 'kvm');
  writeFileSync(kvm, ''); // stands in for /dev/kvm: present, readable and writable
  const log = join(dir, 'qemu.log');
  return {
    dir,
    kvm,
    log,
    /** Which accelerators QEMU was started with, in order. */
    started: () => readFileSync(log, 'utf8').split('\n').filter(Boolean),
    done: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Run with the fake QEMU's behaviour chosen through its environment. */
async function withQemuEnv<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  }
}

test('PROXYLAB_VM_ACCEL: unset/auto, kvm, tcg; anything else is a usage error naming the choices', () => {
  assert.equal(accelChoice({}), 'auto');
  assert.equal(accelChoice({ PROXYLAB_VM_ACCEL: 'auto' }), 'auto');
  assert.equal(accelChoice({ PROXYLAB_VM_ACCEL: 'KVM' }), 'kvm');
  assert.equal(accelChoice({ PROXYLAB_VM_ACCEL: 'tcg' }), 'tcg');
  assert.throws(
    () => accelChoice({ PROXYLAB_VM_ACCEL: 'hvf' }),
    (e: unknown) =>
      e instanceof UserError && e.exitCode === 2 && /kvm, tcg or auto/.test(e.hint ?? ''),
  );
  assert.deepEqual(kvmDevice('/nonexistent/kvm'), {
    ok: false,
    why: 'there is no /nonexistent/kvm',
  });
});

test('QEMU error lines are found; warnings are not errors', () => {
  assert.equal(
    qemuError('KVM internal error. Suberror: 1\nemulation failure\n'),
    'KVM internal error. Suberror: 1',
  );
  assert.equal(
    qemuError("qemu-system-x86_64: warning: host doesn't support requested feature\n"),
    undefined,
  );
  assert.equal(qemuError(''), undefined);
});

test("KVM that cannot run the guest: the probe stops at QEMU's error, one line says why, TCG boots", async () => {
  const s = scratch();
  const notes: string[] = [];
  try {
    const vm = await withQemuEnv({ FAKE_QEMU_KVM: 'fail', FAKE_QEMU_LOG: s.log }, () =>
      bootGuest({ image, qemu: QEMU, env: {}, kvmDevicePath: s.kvm, note: (l) => notes.push(l) }),
    );
    try {
      assert.deepEqual(s.started(), ['kvm', 'tcg']);
      assert.equal(vm.accel, 'tcg');
      assert.equal(vm.kernelRelease, '6.1.0-fake-tcg');
      assert.deepEqual(notes, [
        'KVM failed the probe: QEMU said "KVM internal error. Suberror: 1"; using TCG (software emulation)',
      ]);
      assert.equal(
        describeAccel(vm),
        'TCG software emulation — KVM failed the probe: QEMU said "KVM internal error. Suberror: 1"',
      );
      assert.equal((await vm.run('true')).output, 'ran on tcg\n');
    } finally {
      await vm.shutdown();
    }
  } finally {
    s.done();
  }
});

test("PROXYLAB_VM_ACCEL=kvm and KVM fails: stops with QEMU's own words and how to fall back", async () => {
  const s = scratch();
  try {
    await withQemuEnv({ FAKE_QEMU_KVM: 'fail', FAKE_QEMU_LOG: s.log }, () =>
      assert.rejects(
        bootGuest({ image, qemu: QEMU, env: { PROXYLAB_VM_ACCEL: 'kvm' }, kvmDevicePath: s.kvm }),
        (e: unknown) => {
          assert.ok(e instanceof UserError, String(e));
          assert.match(
            e.message,
            /^PROXYLAB_VM_ACCEL=kvm, but the guest does not boot with KVM: .*QEMU reported an error after \d+ s/,
          );
          assert.match(
            e.hint ?? '',
            /QEMU said:\nKVM internal error\. Suberror: 1\n.*\nemulation failure/,
          );
          assert.match(e.hint ?? '', /unset PROXYLAB_VM_ACCEL to fall back to TCG/);
          return true;
        },
      ),
    );
    assert.deepEqual(s.started(), ['kvm']);
    await assert.rejects(
      bootGuest({
        image,
        qemu: QEMU,
        env: { PROXYLAB_VM_ACCEL: 'kvm' },
        kvmDevicePath: join(s.dir, 'none'),
      }),
      /PROXYLAB_VM_ACCEL=kvm, but there is no .*none/,
    );
  } finally {
    s.done();
  }
});

test('KVM works: the probed guest is the one used; no device or PROXYLAB_VM_ACCEL=tcg: TCG without a probe', async () => {
  const s = scratch();
  try {
    await withQemuEnv({ FAKE_QEMU_LOG: s.log }, async () => {
      const kvm = await bootGuest({ image, qemu: QEMU, env: {}, kvmDevicePath: s.kvm });
      assert.equal(kvm.accel, 'kvm');
      assert.equal(describeAccel(kvm), 'KVM — KVM passed the probe');
      assert.equal((await kvm.run('true')).output, 'ran on kvm\n');
      await kvm.shutdown();
      const noDev = await bootGuest({
        image,
        qemu: QEMU,
        env: {},
        kvmDevicePath: join(s.dir, 'none'),
      });
      assert.equal(
        describeAccel(noDev),
        `TCG software emulation — there is no ${join(s.dir, 'none')}`,
      );
      await noDev.shutdown();
      const forced = await bootGuest({
        image,
        qemu: QEMU,
        env: { PROXYLAB_VM_ACCEL: 'tcg' },
        kvmDevicePath: s.kvm,
      });
      assert.equal(describeAccel(forced), 'TCG software emulation — PROXYLAB_VM_ACCEL=tcg');
      await forced.shutdown();
    });
    assert.deepEqual(s.started(), ['kvm', 'tcg', 'tcg']);
  } finally {
    s.done();
  }
});

test('a guest that never says ready: "gave up after N s", with the accelerator and what QEMU and the console said', async () => {
  await withQemuEnv({ FAKE_QEMU_TCG: 'silent' }, () =>
    assert.rejects(GuestVm.boot({ image, qemu: QEMU, bootTimeoutMs: 2000 }), (e: unknown) => {
      assert.ok(e instanceof VmError, String(e));
      assert.match(
        e.message,
        /^gave up after 2 s waiting for the guest to boot in the VM \(TCG\)$/,
      );
      assert.match(e.hint ?? '', /QEMU printed nothing\nthe guest's console is empty/);
      return true;
    }),
  );
});

test('QEMU exits at once: its stderr is shown', async () => {
  await withQemuEnv({ FAKE_QEMU_TCG: 'exit' }, () =>
    assert.rejects(GuestVm.boot({ image, qemu: QEMU }), (e: unknown) => {
      assert.ok(e instanceof VmError, String(e));
      assert.match(e.message, /^the VM did not start with TCG: QEMU exited \(1\)$/);
      assert.match(
        e.hint ?? '',
        /QEMU said:\nqemu-system-x86_64: -accel tcg: could not open the kernel/,
      );
      return true;
    }),
  );
});

const facts: NativeFacts = {
  release: '6.18.44-fc',
  ipvs: 'missing',
  dummy: 'missing',
  root: false,
  ipvsadm: false,
  ip: true,
};

test('native verdict: the kernel decides first, then root, then the programs', () => {
  assert.equal(
    nativeVerdict(facts).why,
    'this kernel (6.18.44-fc) has no IPVS: ip_vs is not built in, not loaded and not loadable',
  );
  assert.match(nativeVerdict({ ...facts, ipvs: 'active' }).why, /has no dummy interfaces/);
  assert.match(nativeVerdict({ ...facts, ipvs: 'loadable', dummy: 'unknown' }).why, /^not root/);
  assert.match(
    nativeVerdict({ ...facts, ipvs: 'active', dummy: 'ok', root: true }).why,
    /^ipvsadm is not installed/,
  );
  assert.deepEqual(
    nativeVerdict({ ...facts, ipvs: 'active', dummy: 'ok', root: true, ipvsadm: true }),
    {
      ok: true,
      why: 'this kernel has IPVS and dummy interfaces',
    },
  );
});

test('detect on a kernel without IPVS and no ipvsadm says the kernel, not the missing program', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'proxylab-native-'));
  try {
    const env = {
      ...process.env,
      ...fakeKernel(dir, { loaded: [], release: '6.18.44-test' }),
      PATH: '/nonexistent',
    };
    const d = await detect(env);
    assert.equal(d.native.ok, false);
    assert.match(d.native.why, /^this kernel \(6\.18\.44-test\) has no IPVS/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
