/**
 * `proxylab check LAB --html FILE` end to end against the fake toolchain: a small lab doc
 * with a step that matches (the cluster's nodes, renamed values) and one that does not
 * (the scheduler), then the page opened in headless Chromium.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, runCli } from '../helpers/cli.js';
import { createFake, createFakeCluster } from '../helpers/fake.js';
import { dumpDom, findChromium } from '../helpers/chromium.js';

// Written as a person would, from another run: other ages, IPs differ only where renamed.
const LAB = `# A tiny lab

The nodes of the cluster:

\`\`\`console proxylab
$ kubectl get nodes
NAME                     STATUS   ROLES           AGE   VERSION
proxylab-control-plane   Ready    control-plane   12m   v1.33.1
proxylab-worker          Ready    <none>          11m   v1.33.1
proxylab-worker2         Ready    <none>          11m   v1.33.1
\`\`\`

The mode kube-proxy was asked for:

\`\`\`console proxylab
$ kubectl -n kube-system get configmap kube-proxy -o jsonpath='{.data.config\\.conf}' | grep '^mode:'
mode: nftables
\`\`\`
`;

test('check --html writes one page with the passed and the failed step, and the JUnit beside it', async () => {
  const f = createFake();
  try {
    assert.equal(createFakeCluster(f, { mode: 'ipvs' }).code, 0);
    const labDir = join(f.dir, 'tiny');
    mkdirSync(labDir);
    writeFileSync(join(labDir, 'README.md'), LAB);
    const out = join(ROOT, 'test-results');
    mkdirSync(out, { recursive: true });
    const html = join(out, 'check-html-flow.html');
    const junit = join(f.dir, 'tiny.xml');
    const r = await runCli(
      ['check', labDir, '--kubeconfig', f.kubeconfig, '--html', html, '--junit', junit],
      {
        env: {
          ...f.env,
          PATH: `${f.env.PATH}:/usr/bin:/bin`,
          PROXYLAB_STATE_DIR: join(f.dir, 'state'),
        },
        timeoutMs: 120_000,
      },
    );
    assert.equal(r.code, 1, `one step differs:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /HTML report: /);
    assert.ok(existsSync(html) && existsSync(junit));
    const page = readFileSync(html, 'utf8');
    assert.match(
      page,
      /<section class="step passed" id="step-1">\s*<h3><span class="mark">✔<\/span>/,
    );
    assert.match(
      page,
      /<section class="step failed" id="step-2">\s*<h3><span class="mark">✘<\/span>/,
    );
    assert.match(page, /mode: nftables/, 'the doc line');
    assert.match(page, /mode: ipvs/, 'what the cluster said');
    assert.match(page, /✘ 1 of 2 steps differ from the doc/);
    // the failing step is the first thing under the verdict: above the index and the picture
    const failedAt = page.indexOf('<section class="step failed" id="step-2">');
    assert.ok(failedAt > 0 && failedAt < page.indexOf('<section class="step passed"'));
    assert.ok(failedAt < page.indexOf('<h2>Steps</h2>'));
    assert.ok(failedAt < page.indexOf('<div class="datapath">'));
    // the live picture from `proxylab inspect --svg`, drawn from this cluster's datapath
    assert.doesNotMatch(page, /no datapath picture/);
    assert.match(page, /<div class="datapath"><svg[^>]*>/);
    assert.match(page, /proxylab-worker/, 'the picture names the nodes');
    assert.doesNotMatch(page.slice(page.indexOf('<div class="datapath">')), /<script/i);
    if (findChromium()) {
      const dom = dumpDom(html);
      assert.match(dom, /class="verdict bad">✘ 1 of 2 steps differ from the doc/);
      assert.match(dom, /<tr class="op-changed">/);
      assert.match(dom, /<div class="datapath"><svg/, 'the browser shows the picture inline');
    }
  } finally {
    f.cleanup();
  }
});
