import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkModules,
  kernelBefore419,
  kernelRoots,
  manualCommands,
  planLoad,
  requiredModules,
  writePersist,
} from '../../../src/steps/modules.js';

test('required modules: seed 000 list on old kernels (nf_conntrack_ipv4), nf_conntrack from 4.19, plus the scheduler', () => {
  assert.deepEqual(requiredModules('ipvs', 'rr', '4.15.0-20-generic'), [
    'ip_vs',
    'ip_vs_rr',
    'ip_vs_wrr',
    'ip_vs_sh',
    'nf_conntrack_ipv4',
  ]);
  assert.deepEqual(requiredModules('ipvs', 'lc', '6.1.0-27-amd64'), [
    'ip_vs',
    'ip_vs_rr',
    'ip_vs_wrr',
    'ip_vs_sh',
    'ip_vs_lc',
    'nf_conntrack',
  ]);
  assert.deepEqual(requiredModules('iptables', undefined, '6.1.0'), []);
  assert.ok(kernelBefore419('4.18.20'));
  assert.ok(!kernelBefore419('4.19.0'));
  assert.ok(!kernelBefore419('5.4.0'));
});

function fakeKernel(opts: { builtin?: string[]; loaded?: string[]; ko?: string[]; dep?: boolean }) {
  const dir = mkdtempSync(join(tmpdir(), 'proxylab-mods-'));
  const rel = '6.1.0-test';
  mkdirSync(join(dir, 'proc'), { recursive: true });
  const base = join(dir, 'lib', rel);
  mkdirSync(join(base, 'kernel/net/netfilter/ipvs'), { recursive: true });
  writeFileSync(
    join(dir, 'proc/modules'),
    (opts.loaded ?? []).map((m) => `${m} 16384 0 - Live 0x0000000000000000\n`).join(''),
  );
  writeFileSync(
    join(base, 'modules.builtin'),
    (opts.builtin ?? []).map((m) => `kernel/net/netfilter/${m}.ko\n`).join(''),
  );
  for (const k of opts.ko ?? [])
    writeFileSync(join(base, 'kernel/net/netfilter/ipvs', `${k}.ko.xz`), '');
  if (opts.dep)
    writeFileSync(
      join(base, 'modules.dep'),
      (opts.ko ?? []).map((k) => `kernel/net/netfilter/ipvs/${k}.ko.xz: kernel/x.ko\n`).join(''),
    );
  const env = {
    PROXYLAB_PROC_ROOT: join(dir, 'proc'),
    PROXYLAB_MODULES_ROOT: join(dir, 'lib'),
    PROXYLAB_KERNEL_RELEASE: rel,
    PROXYLAB_MODULES_LOAD_D: join(dir, 'etc'),
  };
  return { dir, env, done: () => rmSync(dir, { recursive: true, force: true }) };
}

test('built in, loaded, loadable (.ko.xz, via walk or modules.dep) and missing are told apart', () => {
  for (const dep of [false, true]) {
    const k = fakeKernel({
      builtin: ['nf_conntrack'],
      loaded: ['ip_vs', 'ip_vs_rr'],
      ko: ['ip_vs_wrr', 'ip_vs_sh'],
      dep,
    });
    try {
      const names = requiredModules('ipvs', 'mh', '6.1.0');
      const r = checkModules(names, kernelRoots(k.env));
      assert.deepEqual(Object.fromEntries(r.modules.map((m) => [m.name, m.state])), {
        ip_vs: 'loaded',
        ip_vs_rr: 'loaded',
        ip_vs_wrr: 'loadable',
        ip_vs_sh: 'loadable',
        ip_vs_mh: 'missing',
        nf_conntrack: 'builtin',
      });
      const asRoot = planLoad(r, true);
      assert.deepEqual(asRoot.commands, [
        ['modprobe', '--', 'ip_vs_wrr'],
        ['modprobe', '--', 'ip_vs_sh'],
      ]);
      assert.deepEqual(asRoot.missing, ['ip_vs_mh']);
      assert.deepEqual(planLoad(r, false).commands[0], [
        'sudo',
        '-n',
        'modprobe',
        '--',
        'ip_vs_wrr',
      ]);
    } finally {
      k.done();
    }
  }
});

test('manual commands are the seed-000 form; --persist writes modules-load.d once', () => {
  assert.deepEqual(manualCommands(['ip_vs', 'ip_vs_rr']), [
    'sudo modprobe -- ip_vs',
    'sudo modprobe -- ip_vs_rr',
  ]);
  const k = fakeKernel({});
  try {
    const roots = kernelRoots(k.env);
    assert.equal(writePersist(roots, ['ip_vs', 'ip_vs_rr']), true);
    assert.equal(writePersist(roots, ['ip_vs', 'ip_vs_rr']), false);
    assert.match(
      readFileSync(join(k.dir, 'etc/proxylab-ipvs.conf'), 'utf8'),
      /^ip_vs\nip_vs_rr\n$/m,
    );
  } finally {
    k.done();
  }
});
