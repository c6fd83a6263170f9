/**
 * `make smoke` (scripts/smoke.mjs) against the fake toolchain: the same sequence a CI job
 * runs (cluster, mode, web, every lab checked with JUnit + HTML, status, logs on failure,
 * down), here with two small lab docs, one of which differs from the cluster.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/cli.js';
import { createFake, type Fake } from '../helpers/fake.js';
import { parseXml, walk } from '../helpers/xml.js';
import { fakeKernel } from './steps-helpers.js';
import { hasXmllint, validateJUnit } from '../helpers/junit.js';

const NODES = `\`\`\`console proxylab
$ kubectl get nodes
NAME                     STATUS   ROLES           AGE   VERSION
proxylab-control-plane   Ready    control-plane   12m   v1.33.7
proxylab-worker          Ready    <none>          11m   v1.33.7
proxylab-worker2         Ready    <none>          11m   v1.33.7
\`\`\`
`;
const MODE = (m: string) => `\`\`\`console proxylab
$ kubectl -n kube-system get configmap kube-proxy -o jsonpath='{.data.config\\.conf}' | grep '^mode:'
mode: ${m}
\`\`\`
`;

function labs(f: Fake, docs: Record<string, string>): string {
  const dir = join(f.dir, 'labs');
  for (const [name, text] of Object.entries(docs)) {
    mkdirSync(join(dir, name), { recursive: true });
    writeFileSync(join(dir, name, 'README.md'), `# ${name}\n\n${text}`);
  }
  return dir;
}

function smoke(f: Fake, args: string[]): Promise<{ code: number; out: string }> {
  // a host kernel with the IPVS modules, and a modprobe that only records
  const hostbin = join(f.dir, 'hostbin');
  mkdirSync(hostbin, { recursive: true });
  writeFileSync(
    join(hostbin, 'modprobe'),
    `#!/bin/sh\necho "$*" >> ${join(f.dir, 'modprobe.log')}\n`,
  );
  chmodSync(join(hostbin, 'modprobe'), 0o755);
  const env = {
    ...f.env,
    PATH: `${f.env.PATH}:${hostbin}:/usr/bin:/bin`,
    PROXYLAB_KUBECONFIG: f.kubeconfig,
    PROXYLAB_STATE_DIR: join(f.dir, 'state'),
    PROXYLAB_DEB_CACHE: join(f.dir, 'debs'),
    CI: 'true',
    NO_COLOR: '1',
    ...fakeKernel(join(f.dir, 'kernel')),
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'scripts', 'smoke.mjs'), ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, out });
    });
  });
}

interface Case {
  suite: string;
  name: string;
  failed: boolean;
  /** The <skipped message> of a case that did not run, if any. */
  skipped?: string;
}
function junitCases(file: string): Case[] {
  const root = parseXml(readFileSync(file, 'utf8'));
  return walk(root)
    .filter((e) => e.name === 'testsuite')
    .flatMap((s) =>
      s.children
        .filter((c) => c.name === 'testcase')
        .map((c) => ({
          suite: s.attrs.name ?? '',
          name: c.attrs.name ?? '',
          failed: c.children.some((x) => x.name === 'failure' || x.name === 'error'),
          ...(c.children.some((x) => x.name === 'skipped')
            ? { skipped: c.children.find((x) => x.name === 'skipped')!.attrs.message ?? '' }
            : {}),
        })),
    );
}

test(
  'make smoke: cluster, ipvs, web, every lab with JUnit, status, logs on failure, down; exit 1 when a lab differs',
  { timeout: 320_000 },
  async () => {
    const f = createFake();
    try {
      const dir = labs(f, { alpha: NODES, beta: `${NODES}\n${MODE('nftables')}` });
      const results = join(f.dir, 'results');
      const r = await smoke(f, [
        '--mode',
        'ipvs',
        '--k8s',
        '1.33',
        '--labs-dir',
        dir,
        '--results',
        results,
      ]);
      assert.equal(r.code, 1, r.out);
      // the sequence, in order
      const order = [
        '▶ cluster: proxylab up --mode iptables --k8s 1.33',
        '▶ kube-proxy in ipvs mode: proxylab mode ipvs',
        '▶ web sample: proxylab web',
        '▶ check ',
        '▶ status: proxylab status',
        '▶ saving the cluster logs: kind export logs',
        '▶ down: proxylab down',
      ];
      let at = -1;
      for (const o of order) {
        const i = r.out.indexOf(o, at + 1);
        assert.ok(i > at, `"${o}" after the previous step in:\n${r.out}`);
        at = i;
      }
      // one JUnit per lab, written by proxylab check, and the sequence's own
      assert.deepEqual(
        readdirSync(results)
          .filter((x) => x.endsWith('.xml'))
          .sort(),
        ['alpha.xml', 'beta.xml', 'smoke.xml'],
      );
      const alpha = junitCases(join(results, 'alpha.xml'));
      assert.ok(alpha.length >= 1 && alpha.every((c) => !c.failed), JSON.stringify(alpha));
      const beta = junitCases(join(results, 'beta.xml'));
      assert.deepEqual(
        beta.map((c) => c.failed),
        [false, true],
        'beta: nodes pass, the mode (ipvs, not nftables) fails',
      );
      const sm = junitCases(join(results, 'smoke.xml'));
      const short = (n: string) => n.replace(/^check .*\/(\w+)$/, 'check $1');
      assert.deepEqual(
        sm.map((c) => short(c.name)),
        [
          'cluster',
          'kube-proxy in ipvs mode',
          'web sample',
          'check alpha',
          'check beta',
          'status',
          'down',
        ],
      );
      assert.deepEqual(
        sm.filter((c) => c.failed).map((c) => short(c.name)),
        ['check beta'],
      );
      if (hasXmllint)
        for (const x of ['alpha.xml', 'beta.xml', 'smoke.xml'])
          assert.equal(
            validateJUnit(readFileSync(join(results, x), 'utf8')),
            '',
            `${x} is valid JUnit`,
          );
      assert.ok(existsSync(join(results, 'beta.html')), 'HTML report per lab');
      assert.ok(existsSync(join(results, 'kind-logs')), 'kind export logs on failure');
      assert.deepEqual(Object.keys(f.state().clusters), [], 'the cluster is deleted at the end');
      assert.match(r.out, /✘ smoke failed: \d+\/\d+ steps/);
    } finally {
      f.cleanup();
    }
  },
);

test(
  'make smoke --keep: all labs pass → exit 0, no logs, the cluster stays',
  { timeout: 320_000 },
  async () => {
    const f = createFake();
    try {
      const dir = labs(f, { alpha: `${NODES}\n${MODE('ipvs')}` });
      const results = join(f.dir, 'results');
      const r = await smoke(f, [
        '--mode',
        'ipvs',
        '--k8s',
        '1.33',
        '--labs-dir',
        dir,
        '--results',
        results,
        '--keep',
      ]);
      assert.equal(r.code, 0, r.out);
      assert.ok(!existsSync(join(results, 'kind-logs')));
      assert.ok(f.state().clusters.proxylab, 'kept');
      assert.ok(junitCases(join(results, 'smoke.xml')).every((c) => !c.failed));
      assert.match(r.out, /cluster proxylab kept \(--keep\)/);
    } finally {
      f.cleanup();
    }
  },
);

test(
  'each lab says what it needs: unchecked and unmet labs are skipped with the reason in JUnit; labs without a cluster run first, and no cluster is made when none needs it',
  { timeout: 120_000 },
  async () => {
    const f = createFake();
    try {
      const dir = labs(f, {
        // runs here: root (these tests run as root, or the lab would run with sudo -n)
        asroot: `<!-- proxylab needs: root -->\n\n\`\`\`console proxylab\n$ id -u\n0\n\`\`\`\n`,
        // needs IPVS in the kernel the lab runs on: skipped on a kernel without it
        ipvsonly: `<!-- proxylab needs: ipvs-kernel -->\n\n\`\`\`console proxylab\n$ test -e /proc/net/ip_vs && echo yes\nyes\n\`\`\`\n`,
        // read, not checked
        timings: `<!-- proxylab needs: root | cluster -->\n<!-- proxylab unchecked: figures of this machine -->\n\n\`\`\`console\n$ proxylab scale\n\`\`\`\n`,
      });
      const results = join(f.dir, 'results');
      const r = await smoke(f, ['--mode', 'iptables', '--labs-dir', dir, '--results', results]);
      assert.equal(r.code, 0, r.out);
      const sm = junitCases(join(results, 'smoke.xml'));
      const byName = Object.fromEntries(sm.map((c) => [c.name.replace(/^check .*\//, ''), c]));
      assert.deepEqual(Object.keys(byName).sort(), ['asroot', 'ipvsonly', 'timings']);
      assert.equal(byName.asroot!.skipped, undefined);
      assert.equal(byName.asroot!.failed, false);
      assert.equal(byName.timings!.skipped, 'not checked: figures of this machine');
      if (existsSync('/proc/net/ip_vs')) assert.equal(byName.ipvsonly!.skipped, undefined);
      else
        assert.match(
          byName.ipvsonly!.skipped ?? '',
          /^this machine cannot run it: this kernel has no IPVS/,
        );
      assert.ok(existsSync(join(results, 'asroot.xml')), "the lab's own JUnit");
      assert.ok(!existsSync(join(results, 'timings.xml')));
      assert.doesNotMatch(r.out, /▶ cluster|▶ down/, 'no lab needed the cluster');
      assert.deepEqual(
        f.calls().filter((c) => /create|delete/.test(c.argv[0] ?? '')),
        [],
        'no cluster created or deleted',
      );
      assert.match(r.out, /✔ smoke passed: \d\/\d steps passed, \d skipped/);
      if (hasXmllint)
        assert.equal(validateJUnit(readFileSync(join(results, 'smoke.xml'), 'utf8')), '');
    } finally {
      f.cleanup();
    }
  },
);
