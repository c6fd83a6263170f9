/**
 * `proxylab scale --bare` on this kernel with small N, run as a user runs it (the CLI):
 * JSON with the expected keys and kernel counts equal to the generated ones, a well-formed
 * SVG, traffic answered by both servers through the VIPs, nothing left behind — also after
 * Ctrl-C. The micro-VM variant (IPVS) runs when QEMU and a built VM image are present.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { netnsUnavailable } from '../helpers/netns.js';
import { ROOT, runCli } from '../helpers/cli.js';
import { parseXml, walk } from '../helpers/xml.js';
import type { ScaleReport } from '../../src/scale/results.js';

const which = (b: string) =>
  spawnSync('sh', ['-c', 'command -v "$1"', 'sh', b], { stdio: 'ignore' }).status === 0;
const why =
  netnsUnavailable() ??
  (['nft', 'iptables-restore', 'ipset'].find((b) => !which(b))
    ? 'nft, iptables-restore and ipset are needed (apt-get install nftables iptables ipset)'
    : undefined);
if (why) console.log(`# skipping scale --bare kernel tests: ${why}`);

function vmUnavailable(): string | undefined {
  if (why) return why;
  if (!which('qemu-system-x86_64')) return 'qemu-system-x86_64 is not installed';
  const cache = join(ROOT, '.cache', 'bare', 'vm');
  const built =
    existsSync(cache) && readdirSync(cache).some((d) => existsSync(join(cache, d, 'initrd.gz')));
  if (!built) return 'no bare lab VM image built yet (run `proxylab bare --backend vm` once)';
  if (!existsSync(join(ROOT, 'src', 'bare', 'backend.ts')))
    return 'the bare lab VM backend is not in this checkout';
  return undefined;
}
const noVm = vmUnavailable();
if (noVm) console.log(`# skipping scale --bare VM test: ${noVm}`);

function ourNamespaces(): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return (r.stdout ?? '')
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith('plscale-'));
}

/** Namespaces of scale runs whose process is gone: leaks (a run still going may hold its own). */
function leaked(): string[] {
  return ourNamespaces().filter((n) => {
    const pid = Number(/^plscale-(\d+)-/.exec(n)?.[1]);
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  });
}

test(
  'scale --bare with N=20,50: JSON keys, kernel counts = generated, SVG, both servers answer, nothing left',
  { skip: why, timeout: 300_000 },
  async () => {
    const out = mkdtempSync(join(tmpdir(), 'proxylab-scale-'));
    try {
      const r = await runCli(
        [
          'scale',
          '--bare',
          '--backend',
          'native',
          '--services',
          '20,50',
          '--modes',
          'iptables,nftables,ipvs',
          '--probes',
          '30',
          '--out',
          out,
        ],
        { timeoutMs: 280_000 },
      );
      assert.equal(r.code, 0, r.stderr);
      const rep = JSON.parse(readFileSync(join(out, 'scale-bare.json'), 'utf8')) as ScaleReport;
      for (const k of [
        'kind',
        'version',
        'target',
        'machine',
        'method',
        'startedAt',
        'finishedAt',
        'modes',
        'sizes',
        'bare',
        'skipped',
        'spawnMs',
      ]) {
        assert.ok(k in rep, `key ${k}`);
      }
      assert.equal(rep.kind, 'proxylab-scale');
      assert.equal(rep.target, 'bare');
      assert.deepEqual(rep.sizes, [20, 50]);
      assert.ok(rep.machine.cores >= 1 && rep.machine.kernel.length > 0);
      const rows = rep.bare ?? [];
      const ipvsNative = !rep.skipped.some((s) => s.mode === 'ipvs');
      assert.equal(rows.length, ipvsNative ? 6 : 4);
      if (!ipvsNative)
        assert.match(rep.skipped.find((s) => s.mode === 'ipvs')!.reason, /ip_vs|IPVS|dummy/);
      for (const row of rows) {
        assert.ok(row.programMs > 0 && row.updateMs > 0, `${row.mode}@${row.services} timed`);
        if (row.mode === 'iptables')
          assert.deepEqual(row.kernel, { rules: row.expected.rules, chains: row.expected.chains });
        if (row.mode === 'nftables')
          assert.deepEqual(row.kernel, {
            rules: row.expected.rules,
            chains: row.expected.chains,
            setMembers: row.services,
          });
        assert.equal(row.latency.length, 3, 'first, last and newest service probed');
        for (const l of row.latency) {
          assert.equal(l.errors, 0, `${row.mode}@${row.services} ${l.target}`);
          assert.equal(l.samples, 30);
          assert.ok(l.connectP50Ms !== null && l.connectP50Ms > 0);
          // both endpoints behind the VIP answered
          assert.deepEqual(Object.keys(l.answeredBy).sort(), ['server-1', 'server-2']);
        }
      }
      const svg = readFileSync(join(out, 'scale-bare.svg'), 'utf8');
      const root = parseXml(svg);
      assert.equal(root.name, 'svg');
      // the chart (Vega-Lite) plots a point per measurement, labelled with its mode
      const modes = new Set(
        walk(root)
          .map((e) => /; mode: (\w+);/.exec(e.attrs['aria-label'] ?? '')?.[1])
          .filter(Boolean),
      );
      assert.ok(modes.has('iptables') && modes.has('nftables'), [...modes].join(', '));
      assert.match(r.stdout, /^nftables\s+native\s+50\s/m);
      assert.deepEqual(leaked(), [], 'every namespace the run created is gone');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  },
);

test(
  'scale --bare: Ctrl-C while programming stops, cleans up and exits 130',
  { skip: why, timeout: 120_000 },
  async () => {
    const out = mkdtempSync(join(tmpdir(), 'proxylab-scale-'));
    try {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          join(ROOT, 'src', 'cli.ts'),
          'scale',
          '--bare',
          '--backend',
          'native',
          '--services',
          '20,3000',
          '--modes',
          'iptables',
          '--out',
          out,
        ],
        {
          cwd: ROOT,
          env: { ...process.env, NO_COLOR: '1', CI: 'true' },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stderr = '';
      const sawMidRun = new Promise<void>((resolve) => {
        child.stderr.on('data', (b: Buffer) => {
          stderr += b.toString();
          if (/iptables N=20: programmed/.test(stderr)) resolve();
        });
      });
      await sawMidRun;
      // Let it get into the N=3000 run (namespaces exist, restore under way), then interrupt.
      await new Promise((r) => setTimeout(r, 1500));
      assert.ok(
        ourNamespaces().some((n) => n.startsWith(`plscale-${child.pid}-`)),
        'the run had namespaces when interrupted',
      );
      child.kill('SIGINT');
      const code = await new Promise<number | null>((resolve) =>
        child.on('close', (c) => resolve(c)),
      );
      assert.equal(code, 130, stderr);
      assert.match(stderr, /interrupted/);
      assert.deepEqual(
        ourNamespaces().filter((n) => n.startsWith(`plscale-${child.pid}-`)),
        [],
        'no namespace left after Ctrl-C',
      );
      assert.deepEqual(leaked(), []);
      assert.equal(existsSync(join(out, 'scale-bare.json')), false, 'no half report written');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  },
);

test(
  'scale --bare --backend vm: IPVS and iptables measured in the same guest, counts exact',
  { skip: noVm, timeout: 600_000 },
  async () => {
    const out = mkdtempSync(join(tmpdir(), 'proxylab-scale-'));
    try {
      const r = await runCli(
        [
          'scale',
          '--bare',
          '--backend',
          'vm',
          '--services',
          '20',
          '--modes',
          'ipvs,iptables',
          '--probes',
          '6',
          '--out',
          out,
        ],
        { timeoutMs: 580_000 },
      );
      assert.equal(r.code, 0, r.stderr);
      const rep = JSON.parse(readFileSync(join(out, 'scale-bare.json'), 'utf8')) as ScaleReport;
      assert.ok(rep.vm && /^\d/.test(rep.vm.kernel));
      const ipvs = rep.bare!.find((x) => x.mode === 'ipvs')!;
      assert.equal(ipvs.backend, 'vm');
      assert.deepEqual(
        {
          vs: ipvs.kernel.virtualServers,
          rs: ipvs.kernel.realServers,
          members: ipvs.kernel.setMembers,
          addrs: ipvs.kernel.boundAddresses,
        },
        { vs: 20, rs: 40, members: 20, addrs: 20 },
      );
      const ipt = rep.bare!.find((x) => x.mode === 'iptables')!;
      assert.deepEqual(ipt.kernel, { rules: ipt.expected.rules, chains: ipt.expected.chains });
      for (const row of [ipvs, ipt])
        for (const l of row.latency) assert.equal(l.errors, 0, `${row.mode} ${l.target}`);
      assert.ok(Object.keys(ipvs.latency[0]!.answeredBy).every((w) => /^server-[12]$/.test(w)));
      parseXml(readFileSync(join(out, 'scale-bare.svg'), 'utf8'));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  },
);
