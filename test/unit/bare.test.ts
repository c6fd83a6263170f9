import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpioNewc } from '../../src/bare/vm/cpio.js';
import {
  kernelPayload,
  moduleDepends,
  parseAptDepends,
  recipeKey,
} from '../../src/bare/vm/image.js';
import {
  guestScript,
  splitGuestOutput,
  chooseBackend,
  type Cmd,
  type Detection,
} from '../../src/bare/backend.js';
import {
  distribution,
  formatDistribution,
  iptablesModeRules,
  leftovers,
  shortConnections,
  ALL_NS,
} from '../../src/bare/lab.js';
import { parseIptables, kubeProxyView } from '../../src/inspect/iptables.js';
import { run } from '../../src/core/exec.js';
import { UserError } from '../../src/core/errors.js';
import { runCli } from '../helpers/cli.js';

/** Read a newc archive back: name, mode, data (a reader independent of the writer). */
function readNewc(
  buf: Buffer,
): { name: string; mode: number; data: Buffer; rdev: [number, number] }[] {
  const out: { name: string; mode: number; data: Buffer; rdev: [number, number] }[] = [];
  let off = 0;
  const field = (i: number) =>
    parseInt(buf.toString('ascii', off + 6 + i * 8, off + 14 + i * 8), 16);
  for (;;) {
    assert.equal(buf.toString('ascii', off, off + 6), '070701', `magic at ${off}`);
    const mode = field(1);
    const size = field(6);
    const rdev: [number, number] = [field(9), field(10)];
    const nameSize = field(11);
    const name = buf.toString('utf8', off + 110, off + 110 + nameSize - 1);
    let p = off + 110 + nameSize;
    p += (4 - (p % 4)) % 4;
    const data = buf.subarray(p, p + size);
    p += size;
    p += (4 - (p % 4)) % 4;
    off = p;
    if (name === 'TRAILER!!!') return out;
    out.push({ name, mode, data, rdev });
  }
}

test('cpio newc: directories, files, symlinks and device nodes read back with their modes and data', () => {
  const a = cpioNewc([
    { type: 'dir', path: 'usr' },
    { type: 'file', path: '/usr/init', data: '#!/bin/sh\necho hi\n', mode: 0o755 },
    { type: 'file', path: 'odd', data: Buffer.from([1, 2, 3]) },
    { type: 'symlink', path: 'bin', target: 'usr/bin' },
    { type: 'chardev', path: 'dev/console', major: 5, minor: 1 },
  ]);
  assert.equal(a.length % 4, 0);
  const e = readNewc(a);
  assert.deepEqual(
    e.map((x) => [x.name, x.mode.toString(8)]),
    [
      ['usr', '40755'],
      ['usr/init', '100755'],
      ['odd', '100644'],
      ['bin', '120777'],
      ['dev/console', '20600'],
    ],
  );
  assert.equal(e[1]!.data.toString(), '#!/bin/sh\necho hi\n');
  assert.deepEqual([...e[2]!.data], [1, 2, 3]);
  assert.equal(e[3]!.data.toString(), 'usr/bin');
  assert.deepEqual(e[4]!.rdev, [5, 1]);
});

test('module info: depends= and softdep=pre: are read from the .modinfo strings', () => {
  const ko = Buffer.concat([
    Buffer.from('\x7fELF....'),
    Buffer.from(
      '\0license=GPL\0softdep=pre: crc32c\0depends=nf_conntrack,libcrc32c,nf_defrag_ipv6\0retpoline=Y\0',
      'latin1',
    ),
  ]);
  assert.deepEqual(moduleDepends(ko), {
    depends: ['nf_conntrack', 'libcrc32c', 'nf_defrag_ipv6'],
    softPre: ['crc32c'],
  });
  assert.deepEqual(moduleDepends(Buffer.from('\0depends=\0name=dummy\0', 'latin1')), {
    depends: [],
    softPre: [],
  });
});

test('apt-cache depends: Depends and PreDepends per package, alternatives kept, virtual packages dropped', () => {
  // as printed by `apt-cache depends --no-recommends --no-suggests ipvsadm iproute2` on Debian 12
  const text = [
    'ipvsadm',
    '  Depends: lsb-base',
    '  Depends: libc6',
    '  Depends: libnl-3-200',
    '  Depends: libnl-genl-3-200',
    '  Depends: libpopt0',
    'iproute2',
    ' |Depends: debconf',
    '  Depends: <debconf-2.0>',
    '  Depends: libbpf1',
    '  PreDepends: libc6',
    '',
  ].join('\n');
  const m = parseAptDepends(text);
  assert.deepEqual(m.get('ipvsadm'), [
    'lsb-base',
    'libc6',
    'libnl-3-200',
    'libnl-genl-3-200',
    'libpopt0',
  ]);
  assert.deepEqual(m.get('iproute2'), ['debconf', 'libbpf1', 'libc6']);
});

test('kernel payload: found through the bzImage setup header, refused when there is none', () => {
  const img = Buffer.alloc(4096);
  img.write('HdrS', 0x202, 'latin1');
  img.writeUInt8(3, 0x1f1); // setup_sects: protected-mode code starts at (3+1)*512
  img.writeUInt32LE(100, 0x248); // payload_offset
  img.writeUInt32LE(6, 0x24c); // payload_length
  Buffer.from('fd377a585a00', 'hex').copy(img, 4 * 512 + 100);
  assert.equal(kernelPayload(img).toString('hex'), 'fd377a585a00');
  assert.throws(() => kernelPayload(Buffer.alloc(4096)), UserError);
});

test('the recipe key is stable for the same recipe', () => {
  assert.match(recipeKey(), /^[0-9a-f]{16}$/);
  assert.equal(recipeKey(), recipeKey());
});

test('guest scripts: each command framed, stdin through a quoted heredoc, exit codes and odd output kept', async () => {
  const cmds: Cmd[] = [
    { argv: ['printf', 'no newline'] },
    { argv: ['sh', '-c', 'echo out; echo err >&2; exit 3'] },
    { argv: ['cat'], input: "line with 'quotes' and $HOME and PROXYLAB_EOF\n" },
    { argv: ['echo', 'a b', '$(not run)'] },
  ];
  const script = guestScript(cmds);
  // the same script the guest's shell runs, run here by /bin/sh
  const r = await run(['sh', '-s'], { input: script });
  const res = splitGuestOutput(cmds, r.stdout);
  assert.deepEqual(
    res.map((x) => [x.output, x.exitCode]),
    [
      ['no newline', 0],
      ['out\nerr\n', 3],
      ["line with 'quotes' and $HOME and PROXYLAB_EOF\n", 0],
      ['a b $(not run)\n', 0],
    ],
  );
});

test('guest output of a command that never finished is reported with exit code -1', () => {
  const res = splitGuestOutput(
    [{ argv: ['a'] }, { argv: ['b'] }],
    '@@B 0\nfine\n\n@@E 0 0\n@@B 1\npartial',
  );
  assert.deepEqual(
    res.map((x) => x.exitCode),
    [0, -1],
  );
  assert.equal(res[1]!.output, 'partial');
});

test('distribution: answers counted per pod; anything else is an error', () => {
  const d = distribution("web-1\nweb-2\nweb-1\n\nerror\nwget: can't connect\n");
  assert.deepEqual(d, { 'web-1': 2, 'web-2': 1, error: 2 });
  assert.equal(formatDistribution({ 'web-2': 1, 'web-1': 3 }), 'web-1: 3 (75 %), web-2: 1 (25 %)');
});

test('iptables-mode rules read back as kube-proxy-shaped chains: 1/3, 1/2, rest; DNAT to each pod', () => {
  const pods = [
    { name: 'web-1', ip: '10.244.1.11' },
    { name: 'web-2', ip: '10.244.1.12' },
    { name: 'web-3', ip: '10.244.1.13' },
  ];
  const dump = parseIptables(iptablesModeRules('iptables', pods, '10.96.0.10'));
  const nat = dump.tables.nat!;
  assert.deepEqual(
    nat.chains['KUBE-SVC-WEB']!.rules.map((r) => [r.target, r.probability]),
    [
      // as written; the kernel keeps it as a 32-bit fraction and iptables-save then shows 0.33333333349
      ['KUBE-SEP-WEB-1', 0.33333333333],
      ['KUBE-SEP-WEB-2', 0.5],
      ['KUBE-SEP-WEB-3', null],
    ],
  );
  // read as kube-proxy's own rules would be: one service, three endpoints, a third each
  const view = kubeProxyView(dump);
  assert.equal(view.services.length, 1);
  const svc = view.services[0]!;
  assert.deepEqual([svc.name, svc.clusterIP, svc.port], ['default/web', '10.96.0.10', 80]);
  assert.deepEqual(
    svc.endpoints.map((e) => [e.address, e.port, Math.round(e.share * 1000) / 1000]),
    pods.map((p) => [p.ip, 80, 0.333]),
  );
  const svcRule = nat.chains['KUBE-SERVICES']!.rules[0]!;
  assert.equal(svcRule.destination, '10.96.0.10/32');
  assert.equal(svcRule.dport, '80');
});

test("leftovers: only the lab's own namespaces count", () => {
  assert.deepEqual(leftovers('plb-node (id: 0)\nother\nplb-web-2\n'), ['plb-node', 'plb-web-2']);
  assert.deepEqual(leftovers(''), []);
  assert.equal(ALL_NS.length, 5);
});

test('-Lnc listings are cut to the header, the kept lines and a few others', () => {
  const text = [
    'IPVS connection entries',
    'pro expire state       source             virtual            destination',
    'TCP 01:58  TIME_WAIT   10.244.1.20:53334  10.96.0.10:80      10.244.1.13:80',
    'TCP 01:58  TIME_WAIT   10.244.1.20:53335  10.96.0.10:80      10.244.1.13:80',
    'TCP 00:59  ASSURED     10.244.1.20:0      10.96.0.10:80      10.244.1.13:80',
    'TCP 01:58  TIME_WAIT   10.244.1.20:53336  10.96.0.10:80      10.244.1.13:80',
  ].join('\n');
  const s = shortConnections(text, (l) => l.includes(':0 '), 1).split('\n');
  assert.equal(s.length, 5);
  assert.match(s[2]!, /ASSURED/);
  assert.equal(s[4], '(… 2 more connection entries)');
});

test('backend choice: native first, then vm; neither → what is missing and the fix', async () => {
  const both: Detection = { native: { ok: true, why: 'x' }, vm: { ok: true, why: 'y' } };
  assert.equal(await chooseBackend(both), 'native');
  assert.equal(await chooseBackend({ ...both, native: { ok: false, why: 'no IPVS' } }), 'vm');
  assert.equal(await chooseBackend(both, 'vm'), 'vm');
  const none: Detection = {
    native: { ok: false, why: 'this kernel has no IPVS (no ip_vs module)' },
    vm: {
      ok: false,
      why: 'qemu-system-x86_64 is not installed',
      fix: 'sudo apt-get install qemu-system-x86',
    },
  };
  await assert.rejects(chooseBackend(none), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /no IPVS.*qemu-system-x86_64 is not installed/);
    assert.match(e.hint ?? '', /apt-get install qemu-system-x86/);
    assert.equal(e.exitCode, 1);
    return true;
  });
  await assert.rejects(
    chooseBackend({ ...both, native: { ok: false, why: 'not root' } }, 'native'),
    /native backend cannot run here: not root/,
  );
});

test('proxylab bare: a bad --backend exits 2 with a hint; --help describes both backends', async () => {
  const bad = await runCli(['bare', '--backend', 'docker']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--backend docker: not a backend/);
  assert.match(bad.stderr, /--backend native or --backend vm/);
  const help = await runCli(['bare', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /native +this kernel has IPVS/);
  assert.match(help.stdout, /vm +a QEMU micro-VM/);
});

test('bare exec --ns: lab roles map to their namespaces; anything else is a usage error naming the choices', async () => {
  const { nsFor } = await import('../../src/bare/session.js');
  assert.equal(nsFor(undefined), 'plb-node');
  assert.equal(nsFor('client'), 'plb-client');
  assert.equal(nsFor('web-2'), 'plb-web-2');
  assert.equal(nsFor('plb-web-3'), 'plb-web-3');
  assert.throws(
    () => nsFor('web-9'),
    (e: unknown) =>
      e instanceof UserError &&
      e.exitCode === 2 &&
      /node, client, web-1, web-2, web-3/.test(e.hint ?? ''),
  );
});
