/**
 * The README's sample output of `make lab`, from a real run of the current code: runs
 * `proxylab lab --mode ipvs` (what `make lab` runs) against the test suite's fake toolchain
 * — no cluster at the start, a host kernel with the IPVS modules — in the plain form CI
 * gets, and puts its output between the README's sample markers.
 *
 *   node --import tsx scripts/readme-sample.ts           print the sample
 *   node --import tsx scripts/readme-sample.ts --write   rewrite the README block
 *
 * test/flow/matrix-1.35.test.ts runs its ipvs lab this same way (sampleLab, on its own
 * fake toolchain) and checks the README block equals the excerpt of what it printed, clock
 * times and durations aside (test/unit/readme-sample.test.ts: excerpt and normalize).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labRun, type LabRun } from '../test/flow/check-helpers.js';
import { spawn } from 'node:child_process';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const README = join(ROOT, 'README.md');
export const BEGIN = '<!-- sample: make lab (scripts/readme-sample.ts) -->';
export const END = '<!-- /sample -->';

/** Lines kept from the top of the run: setup, the mode switch, web, and the first steps. */
const HEAD_STEPS = 3;

export interface SampleRun {
  code: number;
  /** Everything the run printed, stdout and stderr in order, as CI shows it. */
  output: string;
}

/** The CLI with stdout and stderr on one pipe, so lines come in the order a terminal shows them. */
function cliMerged(args: string[], env: NodeJS.ProcessEnv): Promise<SampleRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'sh',
      [
        '-c',
        'exec "$0" "$@" 2>&1',
        process.execPath,
        // the entry point a user runs: dist/ when it is current, else the sources via tsx
        join(ROOT, 'bin', 'proxylab.js'),
        ...args,
      ],
      {
        cwd: ROOT,
        env: { ...process.env, NO_COLOR: '1', CI: 'true', ...env },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 1_800_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, output });
    });
  });
}

/**
 * `proxylab lab --mode ipvs` (what `make lab` runs) on the fake toolchain `r`, from no
 * cluster: the cluster labRun made is deleted first, as a newcomer has none.
 */
export async function sampleLab(r: LabRun): Promise<SampleRun> {
  r.lab.fake.tool('kind', ['delete', 'cluster', '--name', 'proxylab']);
  const res = await cliMerged(
    ['--kubeconfig', r.lab.fake.kubeconfig, 'lab', '--mode', 'ipvs'],
    r.env,
  );
  // paths as a user sees them: the state folder .proxylab/ and ./kubeconfig in the checkout
  const output = res.output
    .split(r.env.PROXYLAB_STATE_DIR!)
    .join('.proxylab')
    .split(r.lab.fake.kubeconfig)
    .join('./kubeconfig');
  return { code: res.code, output };
}

/** sampleLab on a fresh fake toolchain, removed afterwards. */
export async function runSample(): Promise<SampleRun> {
  const r = labRun();
  try {
    return await sampleLab(r);
  } finally {
    r.lab.fake.cleanup();
  }
}

/**
 * The README's excerpt: the run up to its third lab step, `...`, then its closing lines
 * (the check's summary onwards). Chosen by rule, so the test can apply it to its own run.
 */
export function excerpt(output: string): string {
  const lines = output.replace(/\s+$/, '').split('\n');
  const stepAt = (n: number) => lines.findIndex((l) => new RegExp(`\\bstep ${n} · `).test(l));
  let headEnd = stepAt(HEAD_STEPS + 1);
  if (headEnd < 0) headEnd = lines.length;
  // the check's own summary line and what follows it
  const summary = lines.findIndex((l) => /^✔|^✘/.test(l) && /passed, \d+ failed/.test(l));
  const tailFrom = summary >= 0 ? summary : Math.max(headEnd, lines.length - 3);
  const finished = (l: string) => !/^\[(STARTED|OUTPUT|TITLE)\]/.test(l);
  return [
    ...lines.slice(0, headEnd).filter(finished),
    '...',
    ...lines.slice(tailFrom).filter(finished),
  ].join('\n');
}

/** Timings and clock times are the only things that may differ between two runs. */
export function normalize(text: string): string {
  return text
    .replace(/\[\d{2}:\d{2}:\d{2}\]/g, '[hh:mm:ss]')
    .replace(/\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z/g, 'YYYY-MM-DDThh-mm-ss-mmmZ')
    .replace(/\[\d+(\.\d+)?m?s\]/g, '[t]')
    .replace(/\b\d+(\.\d+)? ?(ms|s|min)\b/g, 'N s');
}

/** The README's sample block (between the markers), or undefined. */
export function readmeBlock(readme: string): string | undefined {
  const a = readme.indexOf(BEGIN);
  const b = readme.indexOf(END, a);
  if (a < 0 || b < 0) return undefined;
  const m = /```text\n([\s\S]*?)\n```/.exec(readme.slice(a, b));
  return m?.[1];
}

export function withBlock(readme: string, block: string): string {
  const a = readme.indexOf(BEGIN);
  const b = readme.indexOf(END, a);
  if (a < 0 || b < 0) throw new Error(`README.md has no ${BEGIN} … ${END} markers`);
  return `${readme.slice(0, a)}${BEGIN}\n\n\`\`\`text\n${block}\n\`\`\`\n\n${readme.slice(b)}`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const run = await runSample();
  const block = excerpt(run.output);
  if (run.code !== 0) {
    process.stderr.write(
      `${run.output}\nthe lab run failed (exit ${run.code}); README not changed\n`,
    );
    process.exit(1);
  }
  if (process.argv.includes('--write')) {
    writeFileSync(README, withBlock(readFileSync(README, 'utf8'), block));
    process.stdout.write(`README.md sample rewritten (${block.split('\n').length} lines)\n`);
  } else process.stdout.write(`${block}\n`);
}
