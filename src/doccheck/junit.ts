/**
 * JUnit XML for CI, in the common layout CI systems read (Jenkins' junit schema, also
 * read by GitHub Actions reporters and GitLab): <testsuites> → <testsuite> per lab →
 * <testcase> per step, with <failure>, <error> or <skipped>, and <system-out> holding
 * the actual output.
 */
import type { CheckResult, StepResult } from './result.js';

/** Escape text for XML content and attributes; drop characters XML 1.0 forbids. */
export function xmlEscape(s: string): string {
  return s
    .replace(/\u001b\[[0-9;]*m/g, '')
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const secs = (ms: number) => (ms / 1000).toFixed(3);

function caseName(s: StepResult): string {
  const cmd = s.command.split('\n')[0]!;
  return `step ${s.index}: ${cmd.length > 100 ? `${cmd.slice(0, 97)}...` : cmd}`;
}

function testcase(r: CheckResult, s: StepResult, classname: string): string {
  const open = `    <testcase name="${xmlEscape(caseName(s))}" classname="${xmlEscape(classname)}" time="${secs(s.durationMs)}" file="${xmlEscape(r.file)}" line="${s.line}">`;
  const body: string[] = [];
  if (s.status === 'failed') {
    const text = [
      `${r.file}:${s.line} ${s.heading}`,
      `$ ${s.command}`,
      s.reason ?? '',
      s.diffText ?? '',
    ]
      .filter(Boolean)
      .join('\n');
    body.push(
      `      <failure message="${xmlEscape(s.reason ?? 'output differs')}" type="OutputMismatch">${xmlEscape(text)}</failure>`,
    );
  } else if (s.status === 'error') {
    body.push(
      `      <error message="${xmlEscape(s.reason ?? 'error')}" type="StepError">${xmlEscape(`$ ${s.command}\n${s.reason ?? ''}`)}</error>`,
    );
  } else if (s.status === 'skipped') {
    body.push(`      <skipped message="${xmlEscape(s.reason ?? 'skipped')}"/>`);
  }
  if (s.status !== 'skipped') body.push(`      <system-out>${xmlEscape(s.actual)}</system-out>`);
  return [open, ...body, '    </testcase>'].join('\n');
}

export function toJUnit(results: readonly CheckResult[], hostname = 'localhost'): string {
  const all = results.flatMap((r) => r.steps);
  const sum = (f: (r: CheckResult) => number) => results.reduce((n, r) => n + f(r), 0);
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="proxylab check" tests="${all.length}" failures="${sum((r) => r.counts.failed)}" errors="${sum((r) => r.counts.errors)}" skipped="${sum((r) => r.counts.skipped)}" time="${secs(sum((r) => r.durationMs))}">`,
  ];
  results.forEach((r, id) => {
    const classname = r.lab.replace(/[/\\]/g, '.');
    out.push(
      `  <testsuite name="${xmlEscape(r.lab)}" id="${id}" package="${xmlEscape(classname)}" tests="${r.counts.total}" failures="${r.counts.failed}" errors="${r.counts.errors}" skipped="${r.counts.skipped}" time="${secs(r.durationMs)}" timestamp="${r.startedAt.replace(/\.\d+Z$/, '')}" hostname="${xmlEscape(hostname)}">`,
      '    <properties>',
      `      <property name="file" value="${xmlEscape(r.file)}"/>`,
      `      <property name="cluster" value="${xmlEscape(r.cluster)}"/>`,
      '    </properties>',
      ...r.steps.map((s) => testcase(r, s, classname)),
      '    <system-out></system-out>',
      '    <system-err></system-err>',
      '  </testsuite>',
    );
  });
  out.push('</testsuites>', '');
  return out.join('\n');
}
