/**
 * .github/workflows/labs.yml is run by GitHub, never here: these checks keep it honest.
 * It must parse, run on push / pull request / a schedule, name only `make` targets and
 * variables the Makefile has, only Kubernetes minors configs/versions.yaml pins, pin every
 * action to a full version, leave out the combinations that cannot work, and run the
 * steps a CI job needs (modules, pinned kind, smoke, JUnit, logs on failure, always down).
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

test('every action is pinned to a full version (or a commit), and the runner image is named', () => {
  const w = wf();
  const uses = allSteps(w)
    .filter((s) => s.uses)
    .map((s) => s.uses!);
  assert.ok(uses.length >= 4, `actions used: ${uses.join(', ')}`);
  for (const u of uses)
    assert.match(
      u,
      /^[\w.-]+\/[\w.-]+(?:\/[\w./-]+)?@(?:v\d+\.\d+\.\d+|[0-9a-f]{40})$/,
      `${u} is not pinned to vX.Y.Z or a commit`,
    );
  for (const j of Object.values(w.jobs))
    assert.doesNotMatch(j['runs-on'], /latest/, 'a named runner image, not -latest');
});

test('each job loads the IPVS modules, installs the pinned kind, runs smoke, publishes JUnit, keeps logs on failure, always cleans up', () => {
  const steps = wf().jobs.lab!.steps;
  const idx = (pred: (s: Step) => boolean, what: string) => {
    const i = steps.findIndex(pred);
    assert.ok(i >= 0, what);
    return i;
  };
  const modprobe = idx((s) => /modprobe/.test(s.run ?? ''), 'a modprobe step');
  const listed =
    /for m in ([\w ]+); do sudo modprobe/.exec(steps[modprobe]!.run!)?.[1]?.split(' ') ?? [];
  assert.deepEqual(
    listed,
    requiredModules('ipvs', 'rr', '6.8.0-1017-azure'),
    'the modules proxylab itself needs for ipvs mode',
  );
  const tools = idx((s) => /\bmake tools\b/.test(s.run ?? ''), 'make tools');
  const smoke = idx((s) => /\bmake smoke\b/.test(s.run ?? ''), 'make smoke');
  assert.match(steps[smoke]!.run!, /MODE=\$\{\{ matrix\.mode \}\}/);
  assert.match(steps[smoke]!.run!, /K8S=\$\{\{ matrix\.k8s \}\}/);
  assert.ok(modprobe < smoke && tools < smoke, 'modules and kind before the lab');
  const junit = idx((s) => /junit|test-reporter/i.test(s.uses ?? ''), 'a JUnit publishing action');
  assert.match(
    String(steps[junit]!.with?.report_paths ?? steps[junit]!.with?.path),
    /^test-results\/\*\.xml$/,
    'where scripts/smoke.mjs writes JUnit',
  );
  assert.match(
    readFileSync(join(ROOT, 'scripts', 'smoke.mjs'), 'utf8'),
    /results: \{ type: 'string', default: 'test-results' \}/,
  );
  assert.match(
    steps[junit]!.if ?? '',
    /always\(\)|!cancelled\(\)/,
    'published even when a check failed',
  );
  const logs = idx((s) => /kind export logs/.test(s.run ?? ''), 'kind export logs');
  assert.match(steps[logs]!.if ?? '', /failure\(\)/);
  const upload = idx(
    (s) => /^actions\/upload-artifact@v4\./.test(s.uses ?? ''),
    'upload-artifact v4',
  );
  assert.match(steps[upload]!.if ?? '', /failure\(\)/);
  assert.ok(logs < upload, 'logs exported before the upload');
  const down = steps.length - 1;
  assert.match(steps[down]!.run ?? '', /\bmake down\b/, 'the last step deletes the cluster');
  assert.match(steps[down]!.if ?? '', /always\(\)/, '... whatever happened before');
});
