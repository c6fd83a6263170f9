import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseLab, rewriteLab } from '../../../src/doccheck/markdown.js';
import { matchOutput } from '../../../src/doccheck/matcher.js';
import { UsageError } from '../../../src/core/errors.js';
import { ROOT } from '../../helpers/cli.js';

const DOC = `# A lab

Prose with a \`console\` block that is not run:

\`\`\`console
$ make up
\`\`\`

## Mode

\`\`\`console proxylab retry=5 exit=0
$ docker exec proxylab-worker curl -s http://127.0.0.1:10249/proxyMode; echo
ipvs
$ kubectl get svc web \\
>   -o wide
NAME   TYPE
\`\`\`

~~~console proxylab skip="needs IPVS" as=ipvsadm node=proxylab-worker
$ ipvsadm -ln
~~~
`;

test('runnable blocks become steps with line ranges and options; other blocks are prose', () => {
  const doc = parseLab(DOC, 'lab.md');
  assert.equal(doc.title, 'A lab');
  assert.equal(doc.steps.length, 3);
  const [a, b, c] = doc.steps;
  assert.equal(
    a!.command,
    'docker exec proxylab-worker curl -s http://127.0.0.1:10249/proxyMode; echo',
  );
  assert.equal(a!.line, 12);
  assert.equal(a!.expected, 'ipvs');
  assert.deepEqual(a!.expectedRange, { start: 13, end: 14 });
  assert.equal(a!.options.retry, 5);
  assert.equal(a!.heading, 'Mode');
  assert.equal(b!.command, 'kubectl get svc web \\\n  -o wide');
  assert.equal(b!.expected, 'NAME   TYPE');
  assert.equal(c!.options.skip, 'needs IPVS');
  assert.equal(c!.options.as, 'ipvsadm');
  assert.equal(c!.options.node, 'proxylab-worker');
  assert.equal(c!.expected, '');
});

test('bad options and unclosed blocks are usage errors naming the doc line', () => {
  assert.throws(
    () => parseLab('```console proxylab retry=x\n$ true\n```\n', 'l.md'),
    (e: unknown) => e instanceof UsageError && /l\.md:1: retry=x/.test(e.message),
  );
  assert.throws(
    () => parseLab('```console proxylab frobnicate\n$ true\n```\n', 'l.md'),
    /unknown option "frobnicate"/,
  );
  assert.throws(
    () => parseLab('```console proxylab node=a;rm\n$ true\n```\n', 'l.md'),
    /not a node name/,
  );
  assert.throws(() => parseLab('```console proxylab\n$ true\n', 'l.md'), /never closed/);
  assert.throws(
    () => parseLab('```console proxylab\noutput first\n```\n', 'l.md'),
    /must start with a "\$ command" line/,
  );
});

test('rewriteLab replaces only expected outputs, every other byte stays', () => {
  const doc = parseLab(DOC, 'lab.md');
  const out = rewriteLab(
    doc,
    new Map([
      [1, 'iptables\n'],
      [3, 'IP Virtual Server version 1.2.1 (size=4096)\n$ not a command   \n```'],
    ]),
  );
  const again = parseLab(out, 'lab.md');
  assert.equal(again.steps.length, 3);
  assert.equal(again.steps[0]!.expected, 'iptables');
  assert.equal(again.steps[1]!.expected, 'NAME   TYPE');
  // a "$ " or fence line in the output is indented so it stays output
  assert.equal(
    again.steps[2]!.expected,
    'IP Virtual Server version 1.2.1 (size=4096)\n $ not a command\n    ```',
  );
  const before = DOC.split('\n');
  const after = out.split('\n');
  assert.deepEqual(after.slice(0, 12), before.slice(0, 12));
  assert.equal(after.length, before.length + 3);
});

test('the shipped labs parse, and every step that shows output shows a kind the matcher knows', () => {
  for (const lab of ['labs/ipvs/README.md', 'labs/nftables/README.md']) {
    const doc = parseLab(readFileSync(join(ROOT, lab), 'utf8'), lab);
    assert.ok(doc.steps.length >= 10, `${lab}: ${doc.steps.length} steps`);
    for (const s of doc.steps) {
      assert.ok(!/kubectl edit/.test(s.command), `${lab}:${s.line}: interactive command`);
      // a doc's expected output matches itself
      assert.ok(
        matchOutput(
          s.expected,
          s.expected
            .split('\n')
            .filter((l) => l.trim() !== '...')
            .join('\n')
            .replace(/\[\.\.\]/g, 'x'),
        ).ok || /\[\.\.\]|\.\.\./.test(s.expected),
        `${lab}:${s.line}`,
      );
    }
  }
});

const LISTED = `# Steps people write

1. Create the service:

   \`\`\`console proxylab retry=3
   $ kubectl get svc web
   NAME   TYPE
     indented output
   \`\`\`

2. A quoted block:

> \`\`\`console proxylab
> $ echo quoted
> quoted
> \`\`\`

## Fences of fences

~~~console proxylab
$ printf '\\x60\\x60\\x60\\n'
\`\`\`
~~~

\`\`\`\`\`markdown
\`\`\`console proxylab
$ not run: this block is an example inside a longer fence
\`\`\`
\`\`\`\`\`

    \`\`\`console proxylab
    $ not run: four spaces make an indented code block
    \`\`\`
`;

test('CommonMark: blocks in list items and blockquotes, tilde and nested fences', () => {
  const doc = parseLab(LISTED, 'lab.md');
  assert.equal(doc.title, 'Steps people write');
  assert.deepEqual(
    doc.steps.map((s) => [s.command, s.line, s.expected, s.expectedRange, s.heading]),
    [
      [
        'kubectl get svc web',
        6,
        'NAME   TYPE\n  indented output',
        { start: 7, end: 9 },
        'Steps people write',
      ],
      ['echo quoted', 14, 'quoted', { start: 15, end: 16 }, 'Steps people write'],
      ["printf '\\x60\\x60\\x60\\n'", 21, '```', { start: 22, end: 23 }, 'Fences of fences'],
    ],
  );
  assert.equal(doc.steps[0]!.options.retry, 3);
});

test('CommonMark: messages name the doc line of blocks inside containers', () => {
  assert.throws(
    () => parseLab('1. item\n\n   ```console proxylab\n   output first\n   ```\n', 'l.md'),
    (e: unknown) => e instanceof UsageError && /^l\.md:4: .* must start with/.test(e.message),
  );
  assert.throws(
    () => parseLab('> text\n>\n> ```console proxylab wait=x\n> $ true\n> ```\n', 'l.md'),
    /l\.md:3: wait=x/,
  );
  assert.throws(() => parseLab('# t\n\n````console\n```\n', 'l.md'), /l\.md:3: .*never closed/);
});

test('rewriteLab keeps a block inside its list item or blockquote', () => {
  const doc = parseLab(LISTED, 'lab.md');
  const out = rewriteLab(
    doc,
    new Map([
      [1, 'NAME   TYPE\n\nweb    NodePort\n```'],
      [2, 'quoted again'],
    ]),
  );
  const again = parseLab(out, 'lab.md');
  assert.equal(again.steps.length, 3);
  assert.equal(again.steps[0]!.expected, 'NAME   TYPE\n\nweb    NodePort\n    ```');
  assert.equal(again.steps[1]!.expected, 'quoted again');
  assert.equal(again.steps[2]!.command, doc.steps[2]!.command);
  assert.match(out, /\n   web    NodePort\n/);
  assert.match(out, /\n> quoted again\n/);
});
