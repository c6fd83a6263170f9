/**
 * The by-hand IPVS lab in the micro-VM: boot-to-ready (goal ≤ 8 s), the cost of one
 * process start in the guest against one on the host (the baseline, same run), and the
 * whole lab (goal ≤ 60 s), with each phase's share. Prints the machine's facts first:
 * these figures depend on them (software emulation, CPU count, load).
 *
 *   npm run bench -- bare
 *   node --import tsx scripts/bench/bare.ts
 */
import { cpus, loadavg, release, totalmem } from 'node:os';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/core/exec.js';
import { ensureImage } from '../../src/bare/vm/image.js';
import { bootGuest, describeAccel } from '../../src/bare/vm/accel.js';
import { VmBackend, ensureQemu } from '../../src/bare/backend.js';
import { PHASES, runPhase, setupPods, teardown } from '../../src/bare/run.js';

const BOOT_GOAL_MS = 8_000;
const LAB_GOAL_MS = 60_000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export async function bench(log: (line: string) => void) {
  await ensureQemu(log);
  const qemu = (await run(['qemu-system-x86_64', '--version'])).stdout.split('\n')[0];
  log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, host kernel ${release()}`,
  );
  log(
    `         load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(
        ' ',
      )}, /dev/kvm ${existsSync('/dev/kvm') ? 'present' : 'absent'}, PROXYLAB_VM_ACCEL=${process.env.PROXYLAB_VM_ACCEL ?? 'auto'}`,
  );
  log(`         ${qemu}`);

  const buildStart = performance.now();
  const image = await ensureImage({ log: (l) => log(`image: ${l}`) });
  const buildMs = performance.now() - buildStart;
  log(
    `image: ${image.built ? `built in ${(buildMs / 1000).toFixed(1)} s` : 'from the cache'}, initramfs ${(image.initrdBytes / 1e6).toFixed(1)} MB, kernel ${image.kernelRelease}`,
  );

  // boot-to-ready, three times
  const boots: number[] = [];
  const guestUptimes: number[] = [];
  for (let i = 0; i < 3; i++) {
    const vm = await bootGuest({ image });
    if (i === 0) log(`accelerator     ${describeAccel(vm)}`);
    boots.push(vm.bootMs);
    guestUptimes.push(vm.guestReadyUptime);
    await vm.shutdown();
  }
  const bootMs = median(boots);
  log(
    `boot to ready   ${(bootMs / 1000).toFixed(2)} s median of ${boots.map((b) => (b / 1000).toFixed(2)).join(', ')} (guest uptime at ready ${median(guestUptimes).toFixed(2)} s) — goal ≤ ${BOOT_GOAL_MS / 1000} s: ${bootMs <= BOOT_GOAL_MS ? 'met' : 'NOT met'}`,
  );

  // process start: host (baseline) vs guest
  const n = 40;
  const hostStart = performance.now();
  for (let i = 0; i < n; i++) await run(['true']);
  const hostPerMs = (performance.now() - hostStart) / n;
  const vm = await bootGuest({ image });
  const backend = new VmBackend(vm, image);
  const loop = `i=0; while [ $i -lt ${n} ]; do /usr/sbin/ip -V >/dev/null; i=$((i+1)); done`;
  const empty = await vm.run('true');
  const g = await vm.run(loop);
  const guestPerMs = (g.durationMs - empty.durationMs) / n;
  log(
    `process start   host ${hostPerMs.toFixed(1)} ms (baseline: node spawning \`true\`), guest ${guestPerMs.toFixed(1)} ms (\`ip -V\` from the guest shell) = ${(guestPerMs / hostPerMs).toFixed(1)}× baseline`,
  );

  // the whole lab
  const labStart = performance.now();
  const phases: Record<string, number> = {};
  let ok = true;
  try {
    phases.setup = (await setupPods(backend)).durationMs;
    for (const p of PHASES) {
      try {
        phases[p.id] = (await runPhase(backend, p)).durationMs;
      } catch (e) {
        ok = false;
        log(`✘ phase ${p.id}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  } finally {
    const t = performance.now();
    await teardown(backend);
    phases.teardown = Math.round(performance.now() - t);
    await backend.close();
  }
  const labMs = performance.now() - labStart + bootMs;
  log(
    `whole lab       ${(labMs / 1000).toFixed(1)} s (boot + setup + ${PHASES.length} phases + teardown) — goal ≤ ${LAB_GOAL_MS / 1000} s: ${labMs <= LAB_GOAL_MS ? 'met' : 'NOT met'}${ok ? '' : ' (some phases failed)'}`,
  );
  for (const [k, v] of Object.entries(phases))
    log(`  ${k.padEnd(12)} ${(v / 1000).toFixed(2)} s  ${((100 * v) / labMs).toFixed(0)} %`);
  return {
    bootMs,
    boots,
    hostProcessMs: +hostPerMs.toFixed(1),
    guestProcessMs: +guestPerMs.toFixed(1),
    guestVsHost: +(guestPerMs / hostPerMs).toFixed(1),
    labMs: Math.round(labMs),
    phases,
    ok,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const r = await bench((l) => process.stdout.write(`${l}\n`));
  process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
}
