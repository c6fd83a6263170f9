/**
 * The scale measurement inside the bare lab's QEMU micro-VM (src/bare/vm/: Debian's 6.1
 * kernel, which has IPVS), for kernels without ip_vs. One guest is booted for the whole run
 * and IPVS and iptables are measured in that same guest, so the emulation cost is shared
 * and the two lines can be compared with each other (not with native lines).
 *
 * Inputs are generated on the host by the same generators as natively, gzip'd and sent
 * through the guest's control port (slow: ~20 kB/s, so they are sent once per size, before
 * any clock starts). Times are taken inside the guest with busybox sh's $EPOCHREALTIME
 * around each restore; counts are made in the guest (grep -c) because the outputs are too
 * big to ship back. Images built before `nft` was added to the bare lab's VM cannot run the
 * nftables mode: it is then reported as not measured there.
 */
import { gzipSync } from 'node:zlib';
import { UserError } from '../core/errors.js';
import { summarize, type LatencySummary } from './agent.js';
import {
  ipvsAddOne,
  ipvsFull,
  iptablesAddOne,
  iptablesFull,
  makeServices,
  nftAddOne,
  nftFull,
  type Counts,
  type Mode,
  type Service,
} from './generate.js';
import { SERVERS } from './netns.js';
import type { BareMeasurement } from './results.js';
import { countIpsetTerse } from './bare.js';

/** What the scale run needs from the bare lab's VM runner (GuestVm). */
export interface Guest {
  run(
    script: string,
    opts?: { timeoutMs?: number; what?: string },
  ): Promise<{ output: string; exitCode: number; durationMs: number }>;
  shutdown(): Promise<void>;
  kernelRelease: string;
  bootMs: number;
}

export const VM_MODES: readonly Mode[] = ['iptables', 'ipvs', 'nftables'];
export const VM_NO_NFT =
  'this bare lab VM image has no nft (an older image: remove .cache/bare/vm to rebuild it)';
const NFT = '/usr/sbin/nft';

const IP = '/usr/sbin/ip';
const IPT = '/usr/sbin/iptables';

function upload(files: Record<string, string>): string {
  const lines = ['set -e', 'rm -rf /tmp/in', 'mkdir -p /tmp/in'];
  for (const [name, text] of Object.entries(files)) {
    const b64 = gzipSync(text, { level: 9 })
      .toString('base64')
      .replace(/.{1,76}/g, '$&\n');
    lines.push(`base64 -d <<'B64_END' | gunzip > /tmp/in/${name}`, b64.trimEnd(), 'B64_END');
  }
  lines.push('ls /tmp/in | wc -l');
  return `${lines.join('\n')}\n`;
}

/** Namespaces lb / cl / s1 / s2 in the guest, as natively; httpd answers on the servers. */
function setupScript(): string {
  const l = [
    'set -e',
    `for n in lb cl s1 s2; do ${IP} netns add $n; ${IP} -n $n link set lo up; done`,
    `${IP} link add eth0 netns cl type veth peer name to-client netns lb`,
    `${IP} -n lb link add br0 type bridge`,
    `${IP} -n lb addr add 10.240.0.1/24 dev to-client`,
    `${IP} -n lb addr add 10.244.0.1/24 dev br0`,
    `${IP} -n cl addr add 10.240.0.2/24 dev eth0`,
    `${IP} -n cl link set eth0 up`,
    `${IP} -n lb link set to-client up`,
    `${IP} -n lb link set br0 up`,
    `${IP} -n cl route add default via 10.240.0.1`,
    `${IP} netns exec lb sysctl -q -w net.ipv4.ip_forward=1`,
    // as kube-proxy does in IPVS mode, so iptables still sees IPVS traffic (masquerade)
    `${IP} netns exec lb sysctl -q -w net.ipv4.vs.conntrack=1 2>/dev/null || true`,
  ];
  SERVERS.forEach((s, i) => {
    const n = `s${i + 1}`;
    l.push(
      `${IP} link add eth0 netns ${n} type veth peer name to-${n} netns lb`,
      `${IP} -n lb link set to-${n} master br0 up`,
      `${IP} -n ${n} addr add ${s.ip}/24 dev eth0`,
      `${IP} -n ${n} link set eth0 up`,
      `${IP} -n ${n} route add default via 10.244.0.1`,
      `mkdir -p /srv/${n} && echo server-${i + 1} > /srv/${n}/index.html`,
      `${IP} netns exec ${n} httpd -p ${s.port} -h /srv/${n}`,
    );
  });
  l.push('echo setup-ok');
  return `${l.join('\n')}\n`;
}

function teardownScript(): string {
  return `for n in s1 s2 cl lb; do for p in $(${IP} netns pids $n 2>/dev/null); do kill $p 2>/dev/null; done; ${IP} netns del $n 2>/dev/null; done; echo teardown-ok\n`;
}

/** One timed command: prints "@T <label> <t0> <t1> <exit>". */
function timed(label: string, cmd: string): string {
  return `t0=$EPOCHREALTIME; ${cmd} >/tmp/out.txt 2>&1; rc=$?; t1=$EPOCHREALTIME; echo "@T ${label} $t0 $t1 $rc"; [ $rc -eq 0 ] || head -c 600 /tmp/out.txt\n`;
}

function parseTimes(out: string): Map<string, { ms: number; rc: number }> {
  const m = new Map<string, { ms: number; rc: number }>();
  for (const line of out.split('\n')) {
    const x = /^@T (\S+) ([\d.]+) ([\d.]+) (\d+)$/.exec(line.trim());
    if (x) m.set(x[1]!, { ms: (Number(x[3]) - Number(x[2])) * 1000, rc: Number(x[4]) });
  }
  return m;
}

function values(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of out.split('\n')) {
    const x = /^@V (\S+) (.*)$/.exec(line.trim());
    if (x) m.set(x[1]!, x[2]!);
  }
  return m;
}

function endpoints(): Service['endpoints'] {
  return SERVERS.map((s) => ({ ip: s.ip, port: s.port }));
}

/** Sequential wget requests from the client namespace, each timed in the guest. */
function probeScript(targets: string[], count: number): string {
  // busybox-static's wget segfaults in this guest (static glibc resolver); nc does not.
  const loop =
    'for t in "$@"; do i=0; while [ $i -lt "$N" ]; do t0=$EPOCHREALTIME; r=$(printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 3 "${t%:*}" "${t##*:}" 2>/dev/null | tail -n 1); t1=$EPOCHREALTIME; echo "@L $t $t0 $t1 ${r:-error}"; i=$((i+1)); done; done';
  return `N=${count} ${IP} netns exec cl sh -c '${loop}' sh ${targets.join(' ')}\n`;
}

function parseProbe(out: string, targets: string[]): LatencySummary[] {
  return targets.map((t) => {
    const requestMs: number[] = [];
    const answeredBy: Record<string, number> = {};
    let errors = 0;
    for (const line of out.split('\n')) {
      const x = /^@L (\S+) ([\d.]+) ([\d.]+) (.*)$/.exec(line.trim());
      if (!x || x[1] !== t) continue;
      if (x[4] === 'error') {
        errors++;
        continue;
      }
      requestMs.push((Number(x[3]) - Number(x[2])) * 1000);
      answeredBy[x[4]!] = (answeredBy[x[4]!] ?? 0) + 1;
    }
    const s = summarize({
      target: t,
      connectMs: [],
      requestMs,
      errors: errors ? { error: errors } : {},
      answeredBy,
    });
    return s;
  });
}

export interface VmRunOptions {
  sizes: number[];
  modes: Mode[];
  probes: number;
  updates: number;
  log: (line: string) => void;
}

export async function measureInGuest(
  vm: Guest,
  o: VmRunOptions,
): Promise<{
  rows: BareMeasurement[];
  spawnMs: number | null;
  skipped: { mode: Mode; reason: string }[];
}> {
  const out: BareMeasurement[] = [];
  let spawnMs: number | null = null;
  let modes = o.modes.filter((m) => VM_MODES.includes(m));
  const skipped: { mode: Mode; reason: string }[] = [];
  if (modes.includes('nftables')) {
    const has = await vm.run(`[ -x ${NFT} ] && echo has-nft || echo no-nft\n`, {
      timeoutMs: 60_000,
    });
    if (!has.output.includes('has-nft')) {
      modes = modes.filter((m) => m !== 'nftables');
      skipped.push({ mode: 'nftables', reason: `not measured in the VM: ${VM_NO_NFT}` });
      o.log(`  vm: nftables not measured — ${VM_NO_NFT}`);
    }
  }
  const runOk = async (script: string, what: string, timeoutMs = 30 * 60_000) => {
    const r = await vm.run(script, { timeoutMs, what });
    if (r.exitCode !== 0)
      throw new UserError(
        `in the VM, ${what} failed (exit ${r.exitCode}): ${r.output.trim().split('\n').slice(-3).join(' | ')}`,
        'run with --debug, or try --backend native on a kernel with ip_vs',
      );
    return r.output;
  };
  for (const size of [...o.sizes].sort((a, b) => a - b)) {
    const services = makeServices(size, { endpoints });
    const added = makeServices(o.updates, { start: size, endpoints });
    const files: Record<string, string> = {};
    if (modes.includes('iptables')) {
      files['ipt-full'] = iptablesFull(services).restore;
      added.forEach(
        (a, k) =>
          (files[`ipt-add-${k}`] = iptablesAddOne([...services, ...added.slice(0, k)], a).restore),
      );
    }
    let nftCounts: Counts | undefined;
    if (modes.includes('nftables')) {
      const n = nftFull(services);
      nftCounts = n.counts;
      files['nft-full'] = n.script;
      added.forEach((a, k) => (files[`nft-add-${k}`] = nftAddOne(a).script));
    }
    let ipvsCounts: Counts | undefined;
    if (modes.includes('ipvs')) {
      const v = ipvsFull(services);
      ipvsCounts = v.counts;
      Object.assign(files, {
        'ipset-full': v.ipset,
        'ipvsadm-full': v.ipvsadm,
        'ipvs-ipt': v.iptables,
        'ipbatch-full': v.ipBatch,
      });
      added.forEach((a, k) => {
        const one = ipvsAddOne(a);
        Object.assign(files, {
          [`ipset-add-${k}`]: one.ipset,
          [`ipvsadm-add-${k}`]: one.ipvsadm,
          [`ipbatch-add-${k}`]: one.ipBatch,
        });
      });
    }
    const t0 = performance.now();
    await runOk(upload(files), `sending the ${size}-service rulesets`, 30 * 60_000);
    o.log(`  vm: ${size}-service inputs sent in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    for (const mode of modes) {
      await vm.run(teardownScript(), { timeoutMs: 120_000 });
      await runOk(setupScript(), 'building the namespaces');
      const x = `${IP} netns exec lb`;
      let script = '';
      if (mode === 'iptables') {
        script += timed('program', `${x} ${IPT}-restore --noflush /tmp/in/ipt-full`);
        script += `echo "@V rules $(${x} ${IPT}-save -t nat | grep -c '^-A ')"\n`;
        script += `echo "@V chains $(${x} ${IPT}-save -t nat | grep '^:' | grep -v -c -E '^:(PREROUTING|INPUT|OUTPUT|POSTROUTING) ')"\n`;
        for (let k = 0; k < o.updates; k++)
          script += timed(`update-${k}`, `${x} ${IPT}-restore --noflush /tmp/in/ipt-add-${k}`);
      } else if (mode === 'nftables') {
        script += timed('program', `${x} ${NFT} -f /tmp/in/nft-full`);
        script += `${x} ${NFT} list table ip kube-proxy > /tmp/nft.txt\n`;
        script += `echo "@V chains $(grep -c '^[[:space:]]*chain .* {$' /tmp/nft.txt)"\n`;
        script += `echo "@V rules $(awk '/^[ \\t]*chain .* \\{$/ {c=1; next} /^[ \\t]*\\}$/ {c=0; next} c && NF && $1 != "type" && $1 != "policy" && $1 != "comment" {r++} END {print r+0}' /tmp/nft.txt)"\n`;
        script += `echo "@V members $(${x} ${NFT} list map ip kube-proxy service-ips | grep -o ': goto ' | wc -l)"\n`;
        for (let k = 0; k < o.updates; k++)
          script += timed(`update-${k}`, `${x} ${NFT} -f /tmp/in/nft-add-${k}`);
      } else {
        script += `t0=$EPOCHREALTIME; ok=0\n`;
        script += `${x} /usr/sbin/ipset restore < /tmp/in/ipset-full && ${x} ${IP} -batch /tmp/in/ipbatch-full && ${x} /usr/sbin/ipvsadm -R < /tmp/in/ipvsadm-full && ${x} ${IPT}-restore --noflush /tmp/in/ipvs-ipt || ok=$?\n`;
        script += `t1=$EPOCHREALTIME; echo "@T program $t0 $t1 $ok"\n`;
        script += `${x} ${IP} link set kube-ipvs0 up 2>/dev/null || true\n`;
        script += `echo "@V vs $(${x} /usr/sbin/ipvsadm -Sn | grep -c '^-A ')"\n`;
        script += `echo "@V rs $(${x} /usr/sbin/ipvsadm -Sn | grep -c '^-a ')"\n`;
        script += `echo "@V members $(${x} /usr/sbin/ipset list -t KUBE-CLUSTER-IP | grep 'Number of entries')"\n`;
        script += `echo "@V addrs $(${x} ${IP} -o -4 addr show dev kube-ipvs0 | grep -c ' inet ')"\n`;
        script += `echo "@V rules $(${x} ${IPT}-save -t nat | grep -c '^-A ')"\n`;
        for (let k = 0; k < o.updates; k++) {
          script += `t0=$EPOCHREALTIME; ok=0\n${x} /usr/sbin/ipset restore < /tmp/in/ipset-add-${k} && ${x} ${IP} -batch /tmp/in/ipbatch-add-${k} && ${x} /usr/sbin/ipvsadm -R < /tmp/in/ipvsadm-add-${k} || ok=$?\nt1=$EPOCHREALTIME; echo "@T update-${k} $t0 $t1 $ok"\n`;
        }
      }
      if (spawnMs === null) {
        let sp = '';
        for (let k = 0; k < 7; k++) sp += timed(`spawn-${k}`, `${IP} netns exec lb true`);
        const t = [...parseTimes(await runOk(sp, 'timing an empty program start')).values()]
          .map((x) => x.ms)
          .sort((a, b) => a - b);
        spawnMs = t.length ? +t[Math.floor(t.length / 2)]!.toFixed(2) : null;
      }
      const r = await runOk(script, `programming ${size} services in ${mode} mode`);
      const times = parseTimes(r);
      const v = values(r);
      const prog = times.get('program');
      if (!prog || prog.rc !== 0)
        throw new UserError(
          `in the VM, programming ${size} services in ${mode} mode failed: ${r.trim().split('\n').slice(-3).join(' | ')}`,
        );
      const updates = Array.from({ length: o.updates }, (_, k) => times.get(`update-${k}`))
        .filter((t): t is { ms: number; rc: number } => Boolean(t && t.rc === 0))
        .map((t) => t.ms);
      const targets = [services[0], services[services.length - 1], added[added.length - 1]]
        .filter((s): s is Service => Boolean(s))
        .map((s) => `${s.clusterIP}:${s.port}`);
      const probeOut = (
        await vm.run(probeScript(targets, o.probes), {
          timeoutMs: 30 * 60_000,
          what: 'the latency probes',
        })
      ).output;
      const num = (k: string) => (v.has(k) ? Number(v.get(k)) : undefined);
      const kernel: Partial<Counts> =
        mode === 'iptables'
          ? { rules: num('rules'), chains: num('chains') }
          : mode === 'nftables'
            ? { rules: num('rules'), chains: num('chains'), setMembers: num('members') }
            : {
                virtualServers: num('vs'),
                realServers: num('rs'),
                setMembers: countIpsetTerse(v.get('members') ?? '') ?? undefined,
                boundAddresses: num('addrs'),
                rules: num('rules'),
              };
      const sorted = [...updates].sort((a, b) => a - b);
      const row: BareMeasurement = {
        mode,
        services: size,
        backend: 'vm',
        programMs: +prog.ms.toFixed(2),
        updateMs: sorted.length ? +sorted[Math.floor((sorted.length - 1) / 2)]!.toFixed(2) : NaN,
        updateSamplesMs: updates.map((u) => +u.toFixed(2)),
        expected:
          mode === 'iptables'
            ? iptablesFull(services).counts
            : mode === 'nftables'
              ? nftCounts!
              : ipvsCounts!,
        kernel,
        latency: parseProbe(probeOut, targets),
      };
      out.push(row);
      o.log(
        `  vm: ${mode} N=${size}: programmed in ${row.programMs.toFixed(0)} ms, update ${row.updateMs.toFixed(1)} ms`,
      );
    }
    await vm.run(teardownScript(), { timeoutMs: 120_000 });
  }
  return { rows: out, spawnMs, skipped };
}
