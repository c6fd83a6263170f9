/**
 * The scale lab's datapath benchmark: a small `proxylab scale --bare` sweep on this kernel
 * (iptables and nftables, 100 → 1,000 services, 2 endpoints each), reported as ratios measured
 * in the same run: each size against N=100 of the same mode, and iptables against nftables at
 * each size. CPU time (user + system of the restore programs) is used, since a busy machine
 * inflates wall time. Needs root (network namespaces); says so and returns otherwise.
 *
 *   npm run bench -- scale
 *   node --import tsx scripts/bench/scale.ts          (alone)
 */
import { pathToFileURL } from 'node:url';
import { runBare } from '../../src/scale/bare.js';
import type { BareMeasurement } from '../../src/scale/results.js';

export const SIZES = [100, 300, 1000];

function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b <= 0)
    return '   n/a';
  return `${(a / b).toFixed(2)}×`.padStart(7);
}

export async function bench(log: (line: string) => void) {
  if (process.getuid?.() !== 0) {
    log('scale: skipped — needs root (it programs netfilter in network namespaces it creates)');
    return { skipped: 'not root' };
  }
  const report = await runBare({
    sizes: SIZES,
    modes: ['iptables', 'nftables'],
    backend: 'native',
    probes: 50,
    updates: 3,
  });
  const rows = report.bare ?? [];
  const get = (mode: string, n: number): BareMeasurement | undefined =>
    rows.find((r) => r.mode === mode && r.services === n);
  const cpu = (r: BareMeasurement | undefined, k: 'program' | 'update') =>
    k === 'program' ? (r?.programCpuMs ?? r?.programMs) : (r?.updateCpuMs ?? r?.updateMs);
  log(
    `machine: ${report.machine.cores} cores, kernel ${report.machine.kernel}, load ${report.machine.loadavg?.start ?? '?'} → ${report.machine.loadavg?.end ?? '?'}`,
  );
  log('program (full restore), CPU time relative to N=100 of the same mode:');
  for (const mode of ['iptables', 'nftables']) {
    log(
      `  ${mode.padEnd(9)} ${SIZES.map((n) => `N=${n}: ${ratio(cpu(get(mode, n), 'program'), cpu(get(mode, SIZES[0]!), 'program'))}`).join('  ')}`,
    );
  }
  log('iptables ÷ nftables at each N (CPU time):');
  log(
    `  program   ${SIZES.map((n) => `N=${n}: ${ratio(cpu(get('iptables', n), 'program'), cpu(get('nftables', n), 'program'))}`).join('  ')}`,
  );
  log(
    `  update    ${SIZES.map((n) => `N=${n}: ${ratio(cpu(get('iptables', n), 'update'), cpu(get('nftables', n), 'update'))}`).join('  ')}`,
  );
  log('first packet to the last service, connect p50 relative to N=100 of the same mode:');
  for (const mode of ['iptables', 'nftables']) {
    const p50 = (n: number) => get(mode, n)?.latency[1]?.connectP50Ms ?? undefined;
    log(
      `  ${mode.padEnd(9)} ${SIZES.map((n) => `N=${n}: ${ratio(p50(n) ?? undefined, p50(SIZES[0]!) ?? undefined)}`).join('  ')}`,
    );
  }
  return {
    sizes: SIZES,
    programCpuMs: Object.fromEntries(
      ['iptables', 'nftables'].map((m) => [m, SIZES.map((n) => cpu(get(m, n), 'program') ?? null)]),
    ),
    updateCpuMs: Object.fromEntries(
      ['iptables', 'nftables'].map((m) => [m, SIZES.map((n) => cpu(get(m, n), 'update') ?? null)]),
    ),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = await bench((l) => process.stdout.write(`${l}\n`));
  process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
}
