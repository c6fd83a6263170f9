/**
 * Lab docs: markdown a person reads, with runnable blocks proxylab checks.
 *
 * A runnable block is a fenced code block whose info string is `console proxylab`,
 * optionally followed by options:
 *
 * ````markdown
 * ```console proxylab retry=10
 * $ kubectl get svc web
 * NAME   TYPE        CLUSTER-IP      EXTERNAL-IP   PORT(S)        AGE
 * web    NodePort    10.96.119.228   <none>        80:31730/TCP   92s
 * ```
 * ````
 *
 * Each `$ ` line is one step (a trailing `\` continues the command on the next line); the
 * lines under it, up to the next `$ ` line or the end of the block, are the output the
 * step must print (stdout and stderr together, as a terminal shows them). No lines under
 * a command means it must print nothing. Every other part of the doc is prose.
 *
 * Options (apply to every step of the block):
 * - `retry=N`     eventually consistent: run up to N times, with backoff, until it matches
 * - `wait=S`      eventually consistent: keep trying for up to S seconds
 * - `exit=N`      the exit code the command must end with (default 0)
 * - `timeout=S`   kill the command after S seconds (default 300)
 * - `node=NAME`   run the command inside that kind node (`docker exec -i NAME sh`)
 * - `as=KIND`     compare as this output kind (ipvsadm, iptables, ipset, ip-addr,
 *                 kube-proxy-log, kubectl, nft, text) instead of detecting it
 * - `setup`       shell set-up (aliases, variables): also run by `--step N`
 * - `skip="why"`  do not run; reported as skipped with the reason
 */
import { UsageError } from '../core/errors.js';
import { OUTPUT_KINDS, type OutputKind } from './layout.js';
import { readBlocks } from './markdown-blocks.js';

export const RUNNABLE_TAG = 'proxylab';

export interface StepOptions {
  retry?: number;
  wait?: number;
  exit: number;
  timeout?: number;
  node?: string;
  as?: OutputKind;
  setup: boolean;
  skip?: string;
}

export interface LabStep {
  /** 1-based, in document order. */
  index: number;
  /** The command as bash reads it (continuation lines joined with newlines). */
  command: string;
  /** 1-based doc line of the `$ ` line. */
  line: number;
  /** The expected output (may be empty). */
  expected: string;
  /** Doc lines holding the expected output: [start, end) 1-based; start === end when empty. */
  expectedRange: { start: number; end: number };
  /** The nearest heading above the block. */
  heading: string;
  options: StepOptions;
  /** The block's info string as written. */
  info: string;
}

export interface LabDoc {
  file: string;
  title: string;
  text: string;
  steps: LabStep[];
}

const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Split an info string into words, keeping key="quoted value" together. */
function infoWords(info: string): string[] {
  const out: string[] = [];
  const re = /(\w[\w-]*)="((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (const m of info.matchAll(re))
    out.push(m[3] ?? `${m[1]}=${(m[2] ?? '').replace(/\\(.)/g, '$1')}`);
  return out;
}

export function isRunnable(info: string): boolean {
  const w = info.trim().split(/\s+/);
  return w[1] === RUNNABLE_TAG || w[0] === RUNNABLE_TAG;
}

export function parseOptions(info: string, where: string): StepOptions {
  const words = infoWords(info.trim());
  const start = words[0] === RUNNABLE_TAG ? 1 : 2;
  const o: StepOptions = { exit: 0, setup: false };
  const num = (k: string, v: string, min: number): number => {
    const n = Number(v);
    if (!/^\d+(?:\.\d+)?$/.test(v) || n < min)
      throw new UsageError(
        `${where}: ${k}=${v} is not a number ≥ ${min}`,
        `write e.g. ${k}=${Math.max(min, 10)}`,
      );
    return n;
  };
  for (const w of words.slice(start)) {
    const eq = w.indexOf('=');
    const k = eq < 0 ? w : w.slice(0, eq);
    const v = eq < 0 ? '' : w.slice(eq + 1);
    switch (k) {
      case 'retry':
        o.retry = Math.floor(num(k, v, 1));
        break;
      case 'wait':
        o.wait = num(k, v, 0);
        break;
      case 'exit':
        o.exit = Math.floor(num(k, v, 0));
        break;
      case 'timeout':
        o.timeout = num(k, v, 1);
        break;
      case 'node':
        if (!NODE_NAME.test(v))
          throw new UsageError(
            `${where}: node=${v} is not a node name`,
            'write e.g. node=proxylab-worker',
          );
        o.node = v;
        break;
      case 'as':
        if (!(OUTPUT_KINDS as readonly string[]).includes(v))
          throw new UsageError(
            `${where}: as=${v} is not an output kind`,
            `use one of ${OUTPUT_KINDS.join(', ')}`,
          );
        o.as = v as OutputKind;
        break;
      case 'setup':
        o.setup = true;
        break;
      case 'skip':
        o.skip = v || 'skipped by the doc';
        break;
      default:
        throw new UsageError(
          `${where}: unknown option "${w}" in \`${info.trim()}\``,
          'options are retry=N, wait=S, exit=N, timeout=S, node=NAME, as=KIND, setup, skip="reason"',
        );
    }
  }
  return o;
}

export function parseLab(text: string, file = 'README.md'): LabDoc {
  const steps: LabStep[] = [];
  let heading = '';
  let title = '';
  for (const b of readBlocks(text)) {
    if (b.kind === 'heading') {
      heading = b.source;
      if (!title && b.depth === 1) title = heading;
      continue;
    }
    if (!b.closed)
      throw new UsageError(
        `${file}:${b.line}: this code block is never closed`,
        `add a closing ${b.fence}`,
      );
    if (!isRunnable(b.info)) continue;
    const info = b.info;
    const options = parseOptions(info, `${file}:${b.line}`);
    const lines = b.lines;
    const at = (k: number): number => b.firstLine + k;
    let k = 0;
    if (k < lines.length && !lines[k]!.startsWith('$')) {
      throw new UsageError(
        `${file}:${at(k)}: a \`${info}\` block must start with a "$ command" line`,
        'put the command first, prefixed with "$ ", and the output it prints below it',
      );
    }
    while (k < lines.length) {
      const line = at(k);
      let cmd = lines[k]!.replace(/^\$ ?/, '');
      k++;
      while (/\\$/.test(cmd) && k < lines.length) {
        cmd += `\n${lines[k]!.replace(/^> /, '')}`;
        k++;
      }
      const outStart = k;
      while (k < lines.length && !/^\$(?: |$)/.test(lines[k]!)) k++;
      steps.push({
        index: steps.length + 1,
        command: cmd,
        line,
        expected: lines.slice(outStart, k).join('\n'),
        expectedRange: { start: at(outStart), end: at(k) },
        heading,
        options,
        info,
      });
    }
  }
  return { file, title: title || file, text, steps };
}

/**
 * Replace the expected output of some steps, leaving every other byte of the doc alone.
 * `outputs` maps step index → new expected output.
 */
export function rewriteLab(doc: LabDoc, outputs: ReadonlyMap<number, string>): string {
  const lines = doc.text.split('\n');
  const todo = doc.steps
    .filter((s) => outputs.has(s.index))
    .sort((a, b) => b.expectedRange.start - a.expectedRange.start);
  for (const s of todo) {
    const raw = outputs.get(s.index)!;
    const body = raw
      .replace(/\r\n/g, '\n')
      .split('\n')
      .map((l) => l.replace(/\s+$/, ''));
    while (body.length && body[body.length - 1] === '') body.pop();
    // a line starting with "$" would start a new step: indent it by one space; a line that
    // could close the block (a fence indented 0-3 spaces) is indented to 4, where it cannot
    const safe = body.map((l) =>
      /^\s{0,3}(?:`{3,}|~{3,})\s*$/.test(l) ? `    ${l}` : /^\$(?: |$)/.test(l) ? ` ${l}` : l,
    );
    // inside a list item or a blockquote, every line carries the container's prefix
    const raw0 = lines[s.line - 1] ?? '';
    const prefix = raw0.slice(0, Math.max(0, raw0.indexOf('$')));
    const inContainer = safe.map((l) => (l === '' ? prefix.trimEnd() : prefix + l));
    lines.splice(
      s.expectedRange.start - 1,
      s.expectedRange.end - s.expectedRange.start,
      ...inContainer,
    );
  }
  return lines.join('\n');
}
