/**
 * `proxylab scale --bare`: program N kube-proxy-shaped services on a real kernel in each mode
 * and time it, time a one-service update on top, and measure first-packet latency through
 * the VIPs, inside network namespaces created (and deleted) by the run.
 */
import { performance } from 'node:perf_hooks';
import { loadavg } from 'node:os';
import { CommandError, UserError } from '../core/errors.js';
import type { RunResult } from '../core/exec.js';
import { CLIENT_SOURCE, summarize, type LatencySummary, type ProbeResult } from './agent.js';
import {
  ipvsAddOne,
  ipvsFull,
  iptablesAddOne,
  iptablesFull,
  makeServices,
  nftAddOne,
  nftFull,
  NFT_TABLE,
  IPSET_CLUSTER_IP,
  type Counts,
  type Mode,
  type Service,
} from './generate.js';
import { createLab, NS_PREFIX, SERVERS, sweepStale, type NetnsLab } from './netns.js';
import { run } from '../core/exec.js';
import { measureInGuest, type Guest } from './vm.js';
import {
  describeMachine,
  RESULT_KIND,
  RESULT_VERSION,
  type BareMeasurement,
  type ScaleReport,
  type Skipped,
} from './results.js';

export type BackendChoice = 'auto' | 'native' | 'vm';

export interface BareOptions {
  sizes: number[];
  modes: Mode[];
  /**
   * native: everything on this kernel; vm: IPVS and iptables inside the bare lab's micro-VM;
   * auto (default): native, plus the VM for IPVS (and iptables beside it) when this kernel has no ip_vs.
   */
  backend?: BackendChoice;
  /** Sizes for the VM (default: the same sizes, capped at 2000 — emulation is slow). */
  vmSizes?: number[];
  /** TCP connections per probed VIP (default 200). */
  probes?: number;
  /** One-service updates timed on top of each size (default 3, median reported). */
  updates?: number;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

type Exec = (argv: readonly string[], input?: string, timeoutMs?: number) => Promise<RunResult>;

/** Wall time from start to exit, and the CPU time (user + system) the programs used. */
export interface Timing {
  wallMs: number;
  cpuMs: number;
}

/**
 * The argv runs under bash's `time` keyword with TIMEFORMAT="%3U %3S": the user and system
 * CPU time of the program, to the millisecond (getrusage). CPU time is what a busy machine
 * inflates least (wall time it inflates most). The script is fixed; the program and its
 * arguments are passed as arguments, never spliced in.
 */
const TIMES_SCRIPT = 'TIMEFORMAT="@cpu %3U %3S"; time "$@"';

/** CPU ms from the last stderr line: bash's "@cpu U S", or the children line of sh `times`. */
export function parseTimes(stderr: string): number | null {
  const lines = stderr.trimEnd().split('\n');
  const last = (lines[lines.length - 1] ?? '').trim();
  const b = /^@cpu ([\d.]+) ([\d.]+)$/.exec(last);
  if (b) return (Number(b[1]) + Number(b[2])) * 1000;
  const m = /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/.exec(last);
  if (!m) return null;
  return (Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4])) * 1000;
}

async function timed(
  exec: Exec,
  argv: readonly string[],
  input?: string,
  timeoutMs = 20 * 60_000,
): Promise<Timing> {
  const t0 = performance.now();
  const r = await exec(['bash', '-c', TIMES_SCRIPT, 'bash', ...argv], input, timeoutMs);
  const wallMs = performance.now() - t0;
  return { wallMs, cpuMs: parseTimes(r.stderr) ?? NaN };
}

function add(a: Timing, b: Timing): Timing {
  return { wallMs: a.wallMs + b.wallMs, cpuMs: a.cpuMs + b.cpuMs };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN;
};
const ms = (v: number) => +v.toFixed(2);

// ---- counting what the kernel holds -----------------------------------------------------

/** Rules and user chains in `iptables-save -t nat` output. */
export function countIptablesSave(text: string): { rules: number; chains: number } {
  const builtin = new Set(['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING']);
  let rules = 0;
  let chains = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('-A ')) rules++;
    else if (line.startsWith(':')) {
      const name = line.slice(1).split(' ')[0] ?? '';
      if (!builtin.has(name)) chains++;
    }
  }
  return { rules, chains };
}

/** Rules, chains and service-ips elements of one table in `nft -j list table` output. */
export function countNftJson(
  json: string,
  mapName = 'service-ips',
): { rules: number; chains: number; setMembers: number } {
  const doc = JSON.parse(json) as { nftables?: Array<Record<string, unknown>> };
  let rules = 0;
  let chains = 0;
  let setMembers = 0;
  for (const o of doc.nftables ?? []) {
    if ('rule' in o) rules++;
    else if ('chain' in o) chains++;
    else if ('map' in o) {
      const m = o.map as { name?: string; elem?: unknown[] };
      if (m.name === mapName) setMembers = m.elem?.length ?? 0;
    }
  }
  return { rules, chains, setMembers };
}

/**
 * The same counts from `nft list table ip kube-proxy` text (what a person sees; used on
 * cluster nodes): chains, rules (statements inside chains, not their type/policy line), and
 * elements of the service-ips map.
 */
export function countNftText(
  text: string,
  mapName = 'service-ips',
): { rules: number; chains: number; setMembers: number } {
  let rules = 0;
  let chains = 0;
  let setMembers = 0;
  let inChain = false;
  let inMap = false;
  let inElements = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (/^chain \S+ \{$/.test(line)) {
      chains++;
      inChain = true;
      continue;
    }
    if (new RegExp(`^map ${mapName.replace(/[-]/g, '\\-')} \\{$`).test(line)) {
      inMap = true;
      continue;
    }
    if (line === '}') {
      if (inElements) continue;
      inChain = false;
      inMap = false;
      continue;
    }
    if (inChain) {
      if (line && !/^(type |policy |comment )/.test(line)) rules++;
      continue;
    }
    if (inMap) {
      if (line.startsWith('elements = {')) inElements = true;
      if (inElements) {
        setMembers += (line.match(/:\s*(goto|jump|drop|accept|return)\b/g) ?? []).length;
        if (line.endsWith('}')) inElements = false;
      }
    }
  }
  return { rules, chains, setMembers };
}

/** Virtual and real servers in `ipvsadm -Sn` output. */
export function countIpvsSave(text: string): { virtualServers: number; realServers: number } {
  let virtualServers = 0;
  let realServers = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('-A ')) virtualServers++;
    else if (line.startsWith('-a ')) realServers++;
  }
  return { virtualServers, realServers };
}

/** "Number of entries: N" from `ipset list -t NAME`. */
export function countIpsetTerse(text: string): number | null {
  const m = /Number of entries:\s*(\d+)/.exec(text);
  return m ? Number(m[1]) : null;
}

// ---- one mode on one datapath -----------------------------------------------------------

export interface Driver {
  mode: Mode;
  /** Why this mode cannot run here, or null. */
  unavailable(exec: Exec): Promise<string | null>;
  program(exec: Exec, services: Service[]): Promise<{ t: Timing; expected: Counts }>;
  update(exec: Exec, existing: Service[], added: Service): Promise<Timing>;
  count(exec: Exec): Promise<Partial<Counts>>;
}

export function iptablesDriver(binary = 'iptables'): Driver {
  return {
    mode: 'iptables',
    async unavailable(exec) {
      const r = await exec([`${binary}-save`, '-t', 'nat']).catch((e: unknown) => e);
      return r instanceof Error ? `${binary}-save failed: ${r.message}` : null;
    },
    async program(exec, services) {
      const set = iptablesFull(services);
      return {
        t: await timed(exec, [`${binary}-restore`, '--noflush'], set.restore),
        expected: set.counts,
      };
    },
    async update(exec, existing, added) {
      return timed(
        exec,
        [`${binary}-restore`, '--noflush'],
        iptablesAddOne(existing, added).restore,
      );
    },
    async count(exec) {
      return countIptablesSave((await exec([`${binary}-save`, '-t', 'nat'])).stdout);
    },
  };
}

export function nftablesDriver(): Driver {
  return {
    mode: 'nftables',
    async unavailable(exec) {
      const r = await exec(['nft', 'list', 'tables']).catch((e: unknown) => e);
      return r instanceof Error ? `nft does not work here: ${r.message}` : null;
    },
    async program(exec, services) {
      const set = nftFull(services);
      return { t: await timed(exec, ['nft', '-f', '-'], set.script), expected: set.counts };
    },
    async update(exec, _existing, added) {
      return timed(exec, ['nft', '-f', '-'], nftAddOne(added).script);
    },
    async count(exec) {
      return countNftJson((await exec(['nft', '-j', 'list', 'table', 'ip', NFT_TABLE])).stdout);
    },
  };
}

export function ipvsDriver(iptablesBinary = 'iptables'): Driver {
  return {
    mode: 'ipvs',
    async unavailable(exec) {
      const r = await exec(['ipvsadm', '-Ln']).catch((e: unknown) => e);
      if (r instanceof CommandError) {
        const why = r.spawnError ?? (r.stderrTail || r.message);
        return `IPVS is not usable on this kernel (${why.split('\n')[0]})`;
      }
      if (r instanceof Error) return r.message;
      const d = await exec(['ip', 'link', 'add', 'pl-probe0', 'type', 'dummy']).catch(
        (e: unknown) => e,
      );
      if (d instanceof Error) return 'this kernel has no dummy interfaces (kube-ipvs0 needs one)';
      await exec(['ip', 'link', 'del', 'pl-probe0']).catch(() => undefined);
      return null;
    },
    async program(exec, services) {
      const set = ipvsFull(services);
      let total = await timed(exec, ['ipset', 'restore'], set.ipset);
      total = add(total, await timed(exec, ['ip', '-batch', '-'], set.ipBatch));
      total = add(total, await timed(exec, ['ipvsadm', '-R'], set.ipvsadm));
      total = add(
        total,
        await timed(exec, [`${iptablesBinary}-restore`, '--noflush'], set.iptables),
      );
      return { t: total, expected: set.counts };
    },
    async update(exec, _existing, added) {
      const one = ipvsAddOne(added);
      let total = await timed(exec, ['ipset', 'restore'], one.ipset);
      total = add(total, await timed(exec, ['ip', '-batch', '-'], one.ipBatch));
      total = add(total, await timed(exec, ['ipvsadm', '-R'], one.ipvsadm));
      return total;
    },
    async count(exec) {
      const ipvs = countIpvsSave((await exec(['ipvsadm', '-Sn'])).stdout);
      const members = countIpsetTerse(
        (await exec(['ipset', 'list', '-t', IPSET_CLUSTER_IP])).stdout,
      );
      const ipt = countIptablesSave((await exec([`${iptablesBinary}-save`, '-t', 'nat'])).stdout);
      const addrs = (await exec(['ip', '-o', '-4', 'addr', 'show', 'dev', 'kube-ipvs0'])).stdout
        .split('\n')
        .filter((l) => l.includes(' inet ')).length;
      return {
        ...ipvs,
        setMembers: members ?? undefined,
        rules: ipt.rules,
        chains: ipt.chains,
        boundAddresses: addrs,
      };
    },
  };
}

export function driverFor(mode: Mode): Driver {
  return mode === 'iptables'
    ? iptablesDriver()
    : mode === 'nftables'
      ? nftablesDriver()
      : ipvsDriver();
}

// ---- the sweep ----------------------------------------------------------------------------

export const BARE_METHOD = [
  'Each (mode, N) gets fresh network namespaces: a client, a "node" (lb) holding the rules, two servers behind a bridge.',
  'N ClusterIP services with 2 endpoints each are generated the way kube-proxy writes them (KUBE-SVC-/KUBE-SEP- chains; ipvsadm + ipset KUBE-CLUSTER-IP + kube-ipvs0 addresses + match-set rules; table ip kube-proxy with the service-ips verdict map).',
  'program = the full restore (iptables-restore --noflush / ipset restore + ip -batch + ipvsadm -R + iptables-restore / nft -f): wall time, and CPU time (user + system, from bash `time`, 1 ms resolution) — the chart plots CPU time, which a busy machine does not inflate.',
  'update = median wall time of adding one more service on top of N, in the form kube-proxy syncs it (iptables: KUBE-SERVICES rewritten whole plus the new chains; ipvs: ipset add + address + ipvsadm; nftables: one small transaction).',
  'latency = TCP connect time (SYN to SYN/ACK, each a new conntrack entry that walks the nat rules) from the client namespace to the VIP of the first, the last and the newest service; p50/p99 over the probes.',
  'Wall times include starting the programs (ip netns exec + the tool); spawnMs in the JSON is one empty program start, for reference.',
  'Counts are read back from the kernel (iptables-save, nft -j list table, ipvsadm -Sn, ipset list -t) and compared with what was generated.',
];

export const VM_METHOD = [
  "Rows marked vm (dashed lines) ran inside the bare lab's QEMU micro-VM (Debian kernel with IPVS, emulated CPU): IPVS and iptables in the same guest, to compare with each other only.",
  'In the VM the inputs are sent before any clock starts; times come from busybox $EPOCHREALTIME around the same restores; latency there is a whole `nc` request from the client namespace (process start included).',
];

function endpointsOnServers(): Service['endpoints'] {
  return SERVERS.map((s) => ({ ip: s.ip, port: s.port }));
}

async function probe(
  lab: NetnsLab,
  targets: string[],
  count: number,
  signal?: AbortSignal,
): Promise<LatencySummary[]> {
  const r = await lab.exec(
    lab.client,
    [process.execPath, '-e', CLIENT_SOURCE, String(count), '2000', ...targets],
    { signal, timeoutMs: 10 * 60_000 },
  );
  return (JSON.parse(r.stdout) as ProbeResult[]).map(summarize);
}

export async function measureOne(
  driver: Driver,
  size: number,
  o: {
    probes: number;
    updates: number;
    signal?: AbortSignal;
    log: (l: string) => void;
    tag: string;
  },
): Promise<BareMeasurement> {
  const lab = await createLab({ tag: o.tag, signal: o.signal });
  try {
    const exec: Exec = (argv, input, timeoutMs) =>
      lab.exec(lab.lb, argv, { input, timeoutMs: timeoutMs ?? 120_000, signal: o.signal });
    const why = await driver.unavailable(exec);
    if (why) throw new UnavailableError(why);
    const services = makeServices(size, { endpoints: endpointsOnServers });
    const prog = await driver.program(exec, services);
    o.log(
      `  ${driver.mode} N=${size}: programmed in ${prog.t.wallMs.toFixed(1)} ms (CPU ${prog.t.cpuMs.toFixed(0)} ms)`,
    );
    const kernel = await driver.count(exec);
    const existing = [...services];
    const samples: Timing[] = [];
    for (let u = 0; u < o.updates; u++) {
      const added = makeServices(1, { start: size + u, endpoints: endpointsOnServers })[0]!;
      samples.push(await driver.update(exec, existing, added));
      existing.push(added);
    }
    const targets = [services[0], services[services.length - 1], existing[existing.length - 1]]
      .filter((s): s is Service => Boolean(s))
      .filter((s, i, a) => a.findIndex((x) => x.index === s.index) === i)
      .map((s) => `${s.clusterIP}:${s.port}`);
    await probe(lab, targets.slice(-1), 5, o.signal); // warm-up: ARP, page cache, JIT
    const latency = await probe(lab, targets, o.probes, o.signal);
    return {
      mode: driver.mode,
      services: size,
      programMs: ms(prog.t.wallMs),
      programCpuMs: ms(prog.t.cpuMs),
      updateMs: ms(median(samples.map((x) => x.wallMs))),
      updateCpuMs: ms(median(samples.map((x) => x.cpuMs))),
      updateSamplesMs: samples.map((x) => ms(x.wallMs)),
      expected: prog.expected,
      kernel,
      latency,
    };
  } finally {
    await lab.destroy();
  }
}

export class UnavailableError extends Error {}

/** Median wall time of `ip netns exec NS true`: what starting a program costs in these figures. */
async function nativeSpawnMs(signal?: AbortSignal): Promise<number> {
  const ns = `${NS_PREFIX}-${process.pid}-spawn`;
  await run(['ip', 'netns', 'add', ns], { signal });
  try {
    const t: number[] = [];
    for (let k = 0; k < 9; k++) {
      const t0 = performance.now();
      await run(['ip', 'netns', 'exec', ns, 'true'], { signal });
      t.push(performance.now() - t0);
    }
    return ms(median(t));
  } finally {
    await run(['ip', 'netns', 'del', ns], { reject: false });
  }
}

/**
 * Boot the bare lab's micro-VM (src/bare/: apt-installs QEMU and builds the image if needed)
 * and measure there. Loaded by name: the scale lab works without it (IPVS is then reported
 * as not measured, with the reason).
 */
async function runInVm(o: {
  modes: Mode[];
  sizes: number[];
  probes: number;
  updates: number;
  log: (l: string) => void;
  signal?: AbortSignal;
}): Promise<
  | {
      rows: BareMeasurement[];
      info: NonNullable<ScaleReport['vm']>;
      spawnMs: number | null;
      skipped: Skipped[];
    }
  | { reason: string }
> {
  type BackendModule = {
    openVmBackend(opts: {
      log: (l: string) => void;
      signal?: AbortSignal;
    }): Promise<{ vm: Guest; describe(): string; close(): Promise<void> }>;
  };
  let mod: BackendModule;
  try {
    const spec = '../bare/backend.js';
    mod = (await import(spec)) as BackendModule;
  } catch (e) {
    return {
      reason: `the bare lab's VM backend is not available (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`,
    };
  }
  let backend: Awaited<ReturnType<BackendModule['openVmBackend']>>;
  try {
    o.log('  booting the bare lab micro-VM (Debian kernel with IPVS, QEMU)');
    backend = await mod.openVmBackend({
      log: (l) => o.log(`  vm: ${l}`),
      ...(o.signal ? { signal: o.signal } : {}),
    });
  } catch (e) {
    if (o.signal?.aborted) throw o.signal.reason instanceof Error ? o.signal.reason : e;
    return {
      reason: `the micro-VM could not start: ${e instanceof Error ? e.message : String(e)}`,
    };
  }
  try {
    const info = {
      kernel: backend.vm.kernelRelease,
      bootMs: backend.vm.bootMs,
      describe: backend.describe(),
    };
    o.log(`  vm: ${info.describe}`);
    const r = await measureInGuest(backend.vm, {
      sizes: o.sizes,
      modes: o.modes,
      probes: o.probes,
      updates: o.updates,
      log: o.log,
    });
    return { rows: r.rows, info, spawnMs: r.spawnMs, skipped: r.skipped };
  } finally {
    await backend.close();
  }
}

export async function runBare(o: BareOptions): Promise<ScaleReport> {
  const log = o.log ?? (() => undefined);
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new UserError(
      '`proxylab scale --bare` needs root: it creates network namespaces and programs netfilter in them.',
      'Run it with sudo (nothing outside the namespaces it creates is touched).',
    );
  }
  const stale = await sweepStale();
  if (stale.length) log(`removed ${stale.length} namespaces left by an interrupted run`);
  const startedAt = new Date().toISOString();
  const machine = await describeMachine(o.backend === 'vm' ? 'vm' : 'native', {
    iptables: ['iptables', '--version'],
    nft: ['nft', '--version'],
    ipset: ['ipset', '--version'],
    ipvsadm: ['ipvsadm', '--version'],
  });
  const out: BareMeasurement[] = [];
  const skipped: Skipped[] = [];
  const backend = o.backend ?? 'auto';
  const spawnMs: NonNullable<ScaleReport['spawnMs']> = {};
  if (backend !== 'vm') spawnMs.native = await nativeSpawnMs(o.signal);
  const needVm: Mode[] = [];
  const nativeModes = backend === 'vm' ? [] : o.modes;
  for (const mode of nativeModes) {
    const driver = driverFor(mode);
    for (const size of [...o.sizes].sort((a, b) => a - b)) {
      try {
        out.push(
          await measureOne(driver, size, {
            probes: o.probes ?? 200,
            updates: o.updates ?? 3,
            signal: o.signal,
            log,
            tag: `${mode.slice(0, 3)}${size}`,
          }),
        );
      } catch (e) {
        // Ctrl-C kills the running program: its failure is the interruption, not a missing tool.
        if (o.signal?.aborted) throw o.signal.reason instanceof Error ? o.signal.reason : e;
        if (e instanceof UnavailableError) {
          if (backend === 'auto' && mode === 'ipvs') {
            log(`  ipvs: ${e.message}; measuring it in the bare lab's micro-VM instead`);
            needVm.push('ipvs');
          } else {
            const reason =
              mode === 'ipvs'
                ? `${e.message}; \`--backend vm\` measures it in the bare lab's micro-VM`
                : e.message;
            skipped.push({ mode, reason });
            log(`  ${mode}: not measured — ${reason}`);
          }
          break;
        }
        throw e;
      }
    }
  }
  if (backend === 'vm') needVm.push(...o.modes);
  let vmInfo: ScaleReport['vm'];
  if (needVm.length) {
    // In the VM, iptables is measured beside IPVS so the two share the emulation cost.
    // In the VM, iptables (and nftables, when asked for) run beside IPVS so all share the emulation cost.
    const vmModes = [
      ...new Set<Mode>([
        ...(needVm.includes('ipvs') ? (['iptables', 'ipvs'] as Mode[]) : []),
        ...(needVm.includes('ipvs') && o.modes.includes('nftables')
          ? (['nftables'] as Mode[])
          : []),
        ...needVm,
      ]),
    ];
    if (vmModes.length) {
      const vmSizes = o.vmSizes ?? [...new Set(o.sizes.map((n) => Math.min(n, 2000)))];
      const r = await runInVm({
        modes: vmModes,
        sizes: vmSizes,
        probes: Math.min(o.probes ?? 200, 30),
        updates: o.updates ?? 3,
        log,
        signal: o.signal,
      });
      if ('reason' in r)
        for (const m of vmModes.filter((x) => x === 'ipvs' || backend === 'vm'))
          skipped.push({ mode: m, reason: r.reason });
      else {
        out.push(...r.rows);
        vmInfo = r.info;
        if (r.spawnMs !== null) spawnMs.vm = r.spawnMs;
        skipped.push(...r.skipped);
      }
    }
  }
  if (machine.loadavg) machine.loadavg.end = +loadavg()[0]!.toFixed(2);
  return {
    kind: RESULT_KIND,
    version: RESULT_VERSION,
    target: 'bare',
    machine,
    method: vmInfo ? [...BARE_METHOD, ...VM_METHOD] : BARE_METHOD,
    startedAt,
    finishedAt: new Date().toISOString(),
    modes: o.modes,
    sizes: [...o.sizes].sort((a, b) => a - b),
    bare: out,
    ...(vmInfo ? { vm: vmInfo } : {}),
    spawnMs,
    skipped,
  };
}
