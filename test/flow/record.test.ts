/**
 * scripts/record.mjs end to end against the fake toolchain: on a cluster that ran the lab,
 * it runs every step of the lab doc through `proxylab check --json` and writes one fixture
 * per step; test/helpers/fixtures.ts reads them back, and each header says where the output
 * was recorded (kind, Kubernetes, node image, kernel, node tools) and each body is the
 * step's output, which matches the doc again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { labRun } from './check-helpers.js';
import { ROOT } from '../helpers/cli.js';
import { splitFixture } from '../helpers/fixtures.js';
import { parseLab } from '../../src/doccheck/markdown.js';
import { matchOutput } from '../../src/doccheck/matcher.js';

function record(args: string[], env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'scripts', 'record.mjs'), ...args], {
      cwd: ROOT,
      env: { ...env, NO_COLOR: '1', CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

test('record.mjs on the (fake) cluster: one fixture per step of labs/nftables, headers and bodies read back', async () => {
  // a new cluster (`make up K8S=1.35`): labs/nftables switches the mode and deploys the web
  // sample itself; ipset and ipvsadm are not in kind's node image (node-tools installs them)
  const r = labRun({ k8s: 'v1.35.0' });
  const out = join(r.lab.fake.dir, 'recorded');
  try {
    const rec = await record(
      ['--kubeconfig', r.lab.fake.kubeconfig, '--out', out, '--lab', 'nftables'],
      r.env,
    );
    assert.equal(rec.code, 0, rec.stderr.slice(-3000));
    assert.match(rec.stderr, /✔ labs\/nftables: \d+ outputs in /);

    const doc = parseLab(readFileSync(join(ROOT, 'labs', 'nftables', 'README.md'), 'utf8'));
    const dir = join(out, 'nftables');
    const files = readdirSync(dir)
      .filter((f) => /^\d{3}-.*\.txt$/.test(f))
      .sort();
    assert.equal(files.length, doc.steps.length, 'one fixture per step');
    const env = splitFixture(readFileSync(join(dir, 'environment.txt'), 'utf8'), 'environment');
    assert.equal(env.body, '');
    for (const [i, f] of files.entries()) {
      const fx = splitFixture(readFileSync(join(dir, f), 'utf8'), f);
      const step = doc.steps[i]!;
      const hd = fx.header;
      // where it was recorded: the fake answers as kind v0.31.0 / 1.33.7 / Debian 12's tools
      assert.equal(
        hd.source,
        'recorded by scripts/record.mjs (proxylab check labs/nftables --json)',
      );
      assert.equal(hd.lab, 'labs/nftables');
      assert.match(hd['kind-version']!, /^kind v0\.31\.0 /);
      assert.equal(hd['kubernetes-version'], 'v1.35.0');
      assert.equal(hd.node, 'proxylab-worker');
      assert.match(hd['node-image']!, /^kindest\/node:v1\.35\.0@sha256:/);
      assert.equal(hd.kernel, '6.1.0-40-amd64');
      assert.equal(hd.iptables, 'iptables v1.8.9 (nf_tables)');
      assert.equal(hd.ip6tables, 'ip6tables v1.8.9 (nf_tables)');
      // not installed: said so, with docker's words, never guessed
      for (const t of ['ipset', 'ipvsadm'])
        assert.match(
          hd[t]!,
          new RegExp(
            `^unknown \\(\`docker exec proxylab-worker ${t} --version\` exited 127: .*executable file not found`,
          ),
        );
      assert.equal(hd.nft, 'nftables v1.0.6 (Lester Gooch #5)');
      assert.match(hd.date!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      for (const k of Object.keys(env.header)) assert.equal(hd[k], env.header[k], k);
      // which step: its number, doc line and command (newlines written as \n)
      assert.equal(Number(hd.step), step.index);
      assert.equal(Number(hd['doc-line']), step.line);
      assert.equal(hd.command!.replace(/\\n/g, '\n').replace(/\\\\/g, '\\'), step.command);
      assert.equal(hd.status, 'passed');
      assert.equal(hd['exit-code'], String(step.options.exit));
      // the body is the real output of the step: it matches the doc's expected output
      assert.ok(
        matchOutput(step.expected, fx.body, step.options.as ? { kind: step.options.as } : {}).ok ||
          step.expected.trim() === '',
        `${f}: the recorded output matches the doc\n${fx.body}`,
      );
    }
    // nothing but fixtures and the environment header
    assert.deepEqual(
      readdirSync(dir).filter((f) => !files.includes(f)),
      ['environment.txt'],
    );
  } finally {
    r.lab.fake.cleanup();
  }
});

test('record.mjs: no cluster → exit 2, says so and what to do, writes nothing', async () => {
  const r = labRun();
  const out = join(r.lab.fake.dir, 'recorded');
  try {
    const rec = await record(
      ['--cluster', 'nosuch', '--kubeconfig', r.lab.fake.kubeconfig, '--out', out],
      r.env,
    );
    assert.equal(rec.code, 2);
    assert.match(rec.stderr, /no cluster "nosuch" to record on .*\n {2}→ create it with `make up`/);
    assert.equal(existsSync(out), false);
    const bad = await record(['--lab', 'nosuchlab', '--out', out], r.env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /no lab "nosuchlab"/);
    // the labs it records by default: those that need the cluster and are checked
    assert.match(bad.stderr, /→ labs here: ipvs, nftables\n/);
    const opt = await record(['--bogus'], r.env);
    assert.equal(opt.code, 2);
    assert.match(opt.stderr, /usage: node scripts\/record\.mjs/);
  } finally {
    r.lab.fake.cleanup();
  }
});
