/**
 * Bad input gets exit 2 before any work (issue 13): nothing is run against the (fake)
 * cluster or host, and the message says what was wrong and what to do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { newLab } from './steps-helpers.js';

const lab = newLab();
const scratch = join(lab.fake.dir, 'scratch');
mkdirSync(scratch, { recursive: true });
symlinkSync(join(scratch, 'nowhere', 'x'), join(scratch, 'dangling.xml'));
writeFileSync(join(scratch, 'a-file'), 'x');
const fifo = join(scratch, 'fifo');
execFileSync('mkfifo', [fifo]);

const cases: Array<{ args: string[]; says: RegExp }> = [
  { args: ['check', 'labs/ipvs', '--junit', '/proc/self/x/report.xml'], says: /under \/proc/ },
  { args: ['check', 'labs/ipvs', '--html', '/sys/kernel/r.html'], says: /under \/sys/ },
  {
    args: ['check', 'labs/ipvs', '--junit', join(scratch, 'dangling.xml')],
    says: /symbolic link to something that does not exist/,
  },
  {
    args: ['check', 'labs/ipvs', '--html', join(scratch, 'a-file', 'r.html')],
    says: /is a file, not a folder/,
  },
  { args: ['inspect', '--svg', scratch], says: /is a folder, not a file/ },
  { args: ['scale', '--out', join(scratch, 'a-file')], says: /is a file, not a folder/ },
  { args: ['up', '--kubeconfig', '/proc/kc'], says: /under \/proc/ },
  { args: ['status', '--cluster', 'a b'], says: /not a cluster name kind accepts/ },
  { args: ['status', '--cluster', 'UPPER'], says: /not a cluster name kind accepts/ },
  { args: ['status', '--cluster', 'a\nb'], says: /not a cluster name kind accepts/ },
  { args: ['status', '--cluster', 'x'.repeat(300)], says: /300 characters long.*50/ },
  { args: ['web', '--timeout', 'abc'], says: /--timeout "abc" is not a whole number of seconds/ },
  { args: ['mode', 'ipvs', '--timeout', '0'], says: /not a whole number of seconds/ },
  { args: ['up', '--k8s', '1.33.99'], says: /1\.33\.99.*1\.33\.\d+.*--k8s 1\.33/ },
  { args: ['traffic', '--namespace', 'Bad_NS'], says: /not a Kubernetes namespace name/ },
  { args: ['check', '/dev/zero'], says: /not a regular file/ },
  { args: ['check', fifo], says: /not a regular file/ },
];

for (const c of cases)
  test(`exit 2 before any work: proxylab ${c.args.join(' ').replace(/\n/g, '\\n').slice(0, 80)}`, async () => {
    const before = lab.fake.calls().length;
    const r = await lab.cli(c.args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, c.says);
    assert.doesNotMatch(r.stderr, /internal error/);
    assert.equal(lab.fake.calls().length, before, 'no program was run');
  });

test('check says before running a doc from outside the project, and points to --list', async () => {
  const doc = join(scratch, 'README.md');
  writeFileSync(doc, '# Elsewhere\n\n```console proxylab\n$ echo hi\nhi\n```\n');
  const r = await lab.cli(['check', doc]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /not one of this project's labs: check runs each of its commands in a shell/,
  );
  assert.match(r.stderr, /--list/);
});

test.after(() => lab.fake.cleanup());
