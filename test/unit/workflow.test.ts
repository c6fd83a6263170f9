/**
 * .github/workflows/labs.yml is run by GitHub, never here: these checks keep it honest.
 * It must parse, run on push / pull request / a schedule, name only `make` targets and
 * variables the Makefile has, only Kubernetes minors configs/versions.yaml pins, pin every
 * action to a commit (its version in a comment, Node 24 for upload-artifact), leave out the
 * combinations that cannot work, keep pushes and the nightly run apart, and run the steps a
 * CI job needs (modules where the mode needs them, the kubectl of its minor, smoke, JUnit,
 * reports uploaded always, logs on failure, always down, step limits below the job's), and
 * actionlint and shellcheck must find nothing. test/flow/rehearsal.test.ts runs it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ROOT } from '../helpers/cli.js';
import { loadVersions } from '../../src/config/versions.js';
import { NFTABLES_MIN_MINOR } from '../../src/config/options.js';
import { requiredModules } from '../../src/steps/modules.js';
// @ts-expect-error: a plain JavaScript script, no types
import { haveShellcheck, lintWorkflow, runBlocks } from '../../scripts/lint-workflows.mjs';

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
}
interface Job {
  'runs-on': string;
  strategy?: {
    'fail-fast'?: boolean;
    matrix: Record<string, unknown> & {
      include?: Record<string, string>[];
      exclude?: Record<string, string>[];
    };
  };
  steps: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  jobs: Record<string, Job>;
}

const FILE = join(ROOT, '.github', 'workflows', 'labs.yml');
const wf = (): Workflow => parse(readFileSync(FILE, 'utf8')) as Workflow;
const makefile = readFileSync(join(ROOT, 'Makefile'), 'utf8');
const targets = new Set([...makefile.matchAll(/^([a-zA-Z][\w-]*):/gm)].map((m) => m[1]!));
const makeVars = new Set([...makefile.matchAll(/^([A-Z][A-Z0-9_]*)\s*\?=/gm)].map((m) => m[1]!));

/** The jobs a matrix expands to: the product of its axes, minus excludes, plus includes. */
function expand(matrix: NonNullable<Job['strategy']>['matrix']): Record<string, string>[] {
  const axes = Object.entries(matrix).filter(([k]) => k !== 'include' && k !== 'exclude') as [
    string,
    unknown[],
  ][];
  let combos: Record<string, string>[] = [{}];
  for (const [k, values] of axes)
    combos = combos.flatMap((c) => values.map((v) => ({ ...c, [k]: String(v) })));
  const excluded = (c: Record<string, string>) =>
    (matrix.exclude ?? []).some((e) => Object.entries(e).every(([k, v]) => c[k] === String(v)));
  return [...combos.filter((c) => !excluded(c)), ...(matrix.include ?? [])];
}

const minor = (v: string) => Number(/^1\.(\d+)$/.exec(v)?.[1] ?? NaN);

function allSteps(w: Workflow): Step[] {
  return Object.values(w.jobs).flatMap((j) => j.steps);
}

/** `make TARGET VAR=value ...` invocations in every run: script. */
function makeCalls(w: Workflow): { target: string; vars: string[] }[] {
  return allSteps(w)
    .flatMap((s) => [...(s.run ?? '').matchAll(/(?:^|[;&|(]\s*|\s)make\s+([^\n;&|]*)/gm)])
    .map((m) => {
      const words = m[1]!.trim().split(/\s+/);
      return {
        target: words.find((x) => !x.includes('=') && !x.startsWith('-')) ?? '',
        vars: words.filter((x) => x.includes('=')).map((x) => x.split('=')[0]!),
      };
    });
}

test('the workflow parses and runs on push, pull requests and every night', () => {
  const w = wf();
  assert.ok(w.on.push !== undefined, 'push');
  assert.ok(w.on.pull_request !== undefined, 'pull_request');
  const schedule = w.on.schedule as { cron: string }[];
  assert.ok(Array.isArray(schedule) && schedule.length, 'schedule');
  for (const s of schedule) {
    const f = s.cron.split(/\s+/);
    assert.equal(f.length, 5, `cron "${s.cron}" has 5 fields`);
    assert.match(f[2]!, /^\*$/, 'every day');
    assert.match(f[4]!, /^\*$/, 'every weekday');
  }
});

test('every `make` target and variable the workflow names exists in the Makefile', () => {
  const calls = makeCalls(wf());
  assert.ok(calls.length >= 3, `found make calls: ${JSON.stringify(calls)}`);
  for (const c of calls) {
    assert.ok(targets.has(c.target), `make ${c.target}: no such target in the Makefile`);
    for (const v of c.vars)
      assert.ok(makeVars.has(v), `make ... ${v}=: the Makefile has no ${v} variable`);
  }
  const names = calls.map((c) => c.target);
  for (const t of ['tools', 'smoke', 'down'])
    assert.ok(names.includes(t), `the workflow runs make ${t}`);
});

test('every Kubernetes minor of the matrix is pinned in configs/versions.yaml, and the key ones are there', () => {
  const v = loadVersions({});
  const pinned = Object.keys(v.images);
  const job = wf().jobs.lab!;
  const k8s = (job.strategy!.matrix.k8s as unknown[]).map(String);
  for (const m of k8s)
    assert.ok(
      pinned.includes(m),
      `k8s ${m} is not in configs/versions.yaml (pinned: ${pinned.join(', ')})`,
    );
  const oldest = pinned.sort((a, b) => minor(a) - minor(b))[0]!;
  for (const must of [oldest, '1.33', '1.35', v.default])
    assert.ok(k8s.includes(must), `the matrix covers ${must}`);
  // no version anywhere else in the file that versions.yaml does not know
  const text = readFileSync(FILE, 'utf8');
  for (const m of text.matchAll(/\b(?:k8s|K8S|kubernetes)[^\n]*?\b(1\.\d{2})\b/gi))
    assert.ok(pinned.includes(m[1]!), `version ${m[1]} in "${m[0]}"`);
});

test('the matrix runs all three modes and leaves out nftables below 1.31', () => {
  const job = wf().jobs.lab!;
  assert.deepEqual([...(job.strategy!.matrix.mode as string[])].sort(), [
    'iptables',
    'ipvs',
    'nftables',
  ]);
  assert.equal(
    job.strategy!['fail-fast'],
    false,
    'one failing combination must not cancel the others',
  );
  const combos = expand(job.strategy!.matrix);
  assert.ok(combos.length >= 6);
  for (const c of combos) {
    assert.ok(['iptables', 'ipvs', 'nftables'].includes(c.mode!), `mode ${c.mode}`);
    if (c.mode === 'nftables')
      assert.ok(
        minor(c.k8s!) >= NFTABLES_MIN_MINOR,
        `nftables on k8s ${c.k8s} cannot work (needs 1.${NFTABLES_MIN_MINOR}+)`,
      );
  }
  // the expansion itself leaves out what an exclude names
  const pruned = expand({
    k8s: ['1.30', '1.31'],
    mode: ['ipvs', 'nftables'],
    exclude: [{ k8s: '1.30', mode: 'nftables' }],
  });
  assert.deepEqual(pruned, [
    { k8s: '1.30', mode: 'ipvs' },
    { k8s: '1.31', mode: 'ipvs' },
    { k8s: '1.31', mode: 'nftables' },
  ]);
});

test('every action is pinned to a commit, with its version in a comment, and runs on Node 24; the runner image is named', () => {
  const text = readFileSync(FILE, 'utf8');
  const w = wf();
  const uses = allSteps(w)
    .filter((s) => s.uses)
    .map((s) => s.uses!);
  assert.ok(uses.length >= 4, `actions used: ${uses.join(', ')}`);
  for (const u of uses) {
    assert.match(
      u,
      /^[\w.-]+\/[\w.-]+(?:\/[\w./-]+)?@[0-9a-f]{40}$/,
      `${u} is not pinned to a commit`,
    );
    const line = text.split('\n').find((l) => l.includes(`uses: ${u}`)) ?? '';
    assert.match(line, /# v\d+\.\d+\.\d+$/, `${u}: the version it is, in a comment`);
  }
  // upload-artifact v4 ran on Node 20, which GitHub retires: v6 and later run on Node 24
  const upload = uses.find((u) => u.startsWith('actions/upload-artifact@'))!;
  const uploadVersion = /# v(\d+)\./.exec(text.split('\n').find((l) => l.includes(upload))!)![1]!;
  assert.ok(Number(uploadVersion) >= 6, `upload-artifact v${uploadVersion} runs on Node 20`);
  for (const j of Object.values(w.jobs))
    assert.doesNotMatch(j['runs-on'], /latest/, 'a named runner image, not -latest');
});

test('pushes and the nightly run are in separate concurrency groups; only pushes and pull requests cancel older runs', () => {
  const c = (wf() as unknown as { concurrency: { group: string; 'cancel-in-progress': string } })
    .concurrency;
  assert.match(c.group, /github\.event_name/, 'the event is part of the group');
  assert.match(c.group, /github\.ref/);
  assert.match(String(c['cancel-in-progress']), /push/);
  assert.doesNotMatch(String(c['cancel-in-progress']), /schedule/);
  const text = readFileSync(FILE, 'utf8');
  assert.doesNotMatch(text, /catches new node images/, 'pinned digests cannot pick up new images');
});

test('each job loads IPVS (required in ipvs mode only, with the modules-extra fallback), uses the kubectl of its minor, runs smoke, always publishes and uploads, and deletes the cluster', () => {
  const job = wf().jobs.lab! as Job & { env: Record<string, string>; 'timeout-minutes': number };
  const steps = job.steps as (Step & { 'timeout-minutes'?: number })[];
  const idx = (pred: (s: Step) => boolean, what: string) => {
    const i = steps.findIndex(pred);
    assert.ok(i >= 0, what);
    return i;
  };
  const modprobe = idx((s) => /modprobe/.test(s.run ?? ''), 'a modprobe step');
  const mods = /mods=\(([\w ]+)\)/.exec(steps[modprobe]!.run!)?.[1]?.split(' ') ?? [];
  assert.deepEqual(
    mods,
    requiredModules('ipvs', 'rr', '6.8.0-1017-azure'),
    'the modules proxylab itself needs for ipvs mode',
  );
  assert.match(steps[modprobe]!.run!, /linux-modules-extra-\$\(uname -r\)/);
  assert.match(steps[modprobe]!.run!, /if \[ "\$LAB_MODE" = ipvs \]; then[\s\S]*exit 1/);
  assert.equal(job.env.LAB_MODE, '${{ matrix.mode }}');
  assert.equal(job.env.LAB_K8S, '${{ matrix.k8s }}');
  const kubectl = idx(
    (s) => /PROXYLAB_VERSIONS_FILE=/.test(s.run ?? ''),
    'a versions file per minor',
  );
  const tools = idx((s) => /\bmake tools\b/.test(s.run ?? ''), 'make tools');
  const doctor = idx((s) => /\bmake doctor\b/.test(s.run ?? ''), 'make doctor');
  assert.match(steps[doctor]!.run!, /\.id != "ipvs"/, 'IPVS required only in ipvs mode');
  const smoke = idx((s) => /\bmake smoke\b/.test(s.run ?? ''), 'make smoke');
  assert.match(steps[smoke]!.run!, /MODE="\$LAB_MODE"/);
  assert.match(steps[smoke]!.run!, /K8S="\$LAB_K8S"/);
  assert.ok(modprobe < smoke && kubectl < tools && tools < doctor && doctor < smoke);
  const junit = idx((s) => /junit/i.test(s.uses ?? ''), 'a JUnit publishing action');
  assert.equal(steps[junit]!.with?.report_paths, 'test-results/*.xml');
  assert.match(
    readFileSync(join(ROOT, 'scripts', 'smoke.mjs'), 'utf8'),
    /results: \{ type: 'string', default: 'test-results' \}/,
  );
  const logs = idx((s) => /kind export logs/.test(s.run ?? ''), 'kind export logs');
  assert.match(steps[logs]!.if ?? '', /failure\(\) \|\| cancelled\(\)/);
  const upload = idx((s) => /^actions\/upload-artifact@/.test(s.uses ?? ''), 'upload-artifact');
  const paths = String(steps[upload]!.with?.path).trim().split('\n');
  for (const p of [
    'test-results/*.xml',
    'test-results/*.html',
    'test-results/recorded/',
    'test-results/kind-logs/',
  ])
    assert.ok(paths.includes(p), `uploads ${p}`);
  // always(), not !cancelled() or failure(): a green run, a failed one and a cancelled one
  // all leave their reports
  for (const i of [junit, upload]) assert.match(steps[i]!.if ?? '', /^\$\{\{ always\(\) \}\}$/);
  assert.ok(logs < upload, 'logs exported before the upload');
  const down = steps.length - 1;
  assert.match(steps[down]!.run ?? '', /\bmake down\b/, 'the last step deletes the cluster');
  assert.match(steps[down]!.if ?? '', /always\(\)/, '... whatever happened before');
  // every step has a limit, and together they stay below the job's: a step that runs over
  // fails (the report steps still run); the job's own limit would cancel everything
  const sum = steps.reduce((n, s) => {
    assert.ok(s['timeout-minutes'], `"${s.name}" has no timeout-minutes`);
    return n + s['timeout-minutes']!;
  }, 0);
  assert.ok(sum < job['timeout-minutes'], `steps ${sum} min ≥ job ${job['timeout-minutes']} min`);
});

test('actionlint and shellcheck (on every run: block) find nothing; they do find planted problems', async (t) => {
  if (!haveShellcheck()) {
    t.skip('shellcheck is not installed (scripts/test-deps.sh installs it as root)');
    return;
  }
  const text = readFileSync(FILE, 'utf8');
  assert.equal(runBlocks(text).length, allSteps(wf()).filter((s) => s.run).length);
  assert.deepEqual(await lintWorkflow(FILE), []);
  // the same checks catch what they are for, at the workflow's own line numbers
  const bad = text
    .replace(
      'run: make smoke MODE="$LAB_MODE" K8S="$LAB_K8S"',
      'run: make smoke MODE=$LAB_MODE K8S=$LAB_K8S && cd $nowhere',
    )
    .replace('timeout-minutes: 100', "timeout-minutes: 'soon'");
  const found = await lintWorkflow(FILE, bad);
  const smokeLine = bad.split('\n').findIndex((l) => l.includes('cd $nowhere')) + 1;
  assert.ok(
    found.some(
      (p: { kind: string; line: number; message: string }) =>
        p.kind === 'shellcheck' && p.line === smokeLine && /SC2086|SC2164/.test(p.message),
    ),
    JSON.stringify(found),
  );
  assert.ok(
    found.some((p: { kind: string }) => p.kind !== 'shellcheck'),
    `actionlint: ${JSON.stringify(found)}`,
  );
});
