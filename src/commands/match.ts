/**
 * `proxylab match EXPECTED ACTUAL [--as KIND]`: compare one expected block with one actual
 * output by the lab checker's rules. Exit 0 when it matches, 1 with the diff when it does
 * not, 2 when an input cannot be read or the kind is unknown.
 */
import { readFileSync } from 'node:fs';
import { defineCommand, str } from '../core/command.js';
import { EXIT, UsageError } from '../core/errors.js';
import { formatDiff, matchOutput, OUTPUT_KINDS, type OutputKind } from '../doccheck/matcher.js';

/** Drop a recorded-output header (`# key: value` lines ended by `# ---`), as the fixtures have. */
export function stripFixtureHeader(text: string): string {
  const lines = text.split('\n');
  const end = lines.findIndex((l) => l === '# ---');
  if (end > 0 && lines.slice(0, end).every((l) => l.startsWith('#')))
    return lines.slice(end + 1).join('\n');
  return text;
}

function readInput(path: string, what: string): string {
  try {
    const raw = path === '-' ? readFileSync(0, 'utf8') : readFileSync(path, 'utf8');
    if (raw.includes('\u0000'))
      throw new UsageError(`${what} ${path} is not text`, 'give a file holding terminal output');
    return stripFixtureHeader(raw);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a folder'
          : code === 'EACCES'
            ? 'permission denied'
            : (e as Error).message;
    throw new UsageError(
      `cannot read ${what} ${path}: ${why}`,
      'usage: proxylab match EXPECTED_FILE ACTUAL_FILE [--as KIND] (use - to read ACTUAL from stdin)',
    );
  }
}

export default defineCommand({
  name: 'match',
  summary: 'compare one expected output with one actual output',
  usage: 'proxylab match <EXPECTED_FILE> <ACTUAL_FILE|-> [--as KIND]',
  details: `
Compares EXPECTED (an output as a lab doc shows it) with ACTUAL (what a command printed)
by the rules of \`proxylab check\`: IPs, MACs, pod and chain hashes, interface indexes and
NodePorts may be renamed consistently (one doc value ↔ one actual value); ages,
timestamps and counters may be anything; "..." alone on a line stands for any number of
lines and "[..]" for any text within a line; ipvsadm services and real servers, ipset
members, iptables chains, interfaces and table rows are compared as sets.

The kind of output is detected; --as sets it: ${OUTPUT_KINDS.join(', ')}.
A header of "# " lines ended by "# ---" (as in recorded fixtures) is skipped.

Exit code: 0 it matches, 1 it does not (the diff is printed), 2 an input cannot be read.`,
  options: {
    as: {
      type: 'string',
      arg: 'KIND',
      description: `output kind: ${OUTPUT_KINDS.join(', ')} (default: detected)`,
    },
  },
  positionals: { min: 2, max: 2 },
  json: true,
  async run(ctx, args) {
    const kindArg = str(args, 'as');
    if (kindArg !== undefined && !(OUTPUT_KINDS as readonly string[]).includes(kindArg))
      throw new UsageError(
        `--as ${kindArg}: unknown output kind`,
        `use one of ${OUTPUT_KINDS.join(', ')}`,
      );
    const [ePath, aPath] = args.positionals as [string, string];
    if (ePath === '-' && aPath === '-')
      throw new UsageError(
        'only one of the two inputs can be stdin (-)',
        'give EXPECTED as a file',
      );
    const expected = readInput(ePath, 'EXPECTED');
    const actual = readInput(aPath, 'ACTUAL');
    const kind = kindArg as OutputKind | undefined;
    const r = matchOutput(expected, actual, kind ? { kind } : {});
    // with a kind proxylab parses (src/inspect), output of another kind says so in r.notes
    const ok = r.ok;
    if (ctx.json) {
      ctx.io.out(
        JSON.stringify(
          {
            ok,
            kind: r.kind,
            notes: r.notes,
            renamed: r.renamed,
            bindings: r.bindings.list(),
            diff: r.diff,
          },
          null,
          2,
        ),
      );
    } else if (ok) {
      const renamed = r.renamed.map((x) => `${x.doc} → ${x.actual}`);
      ctx.io.out(
        `✔ matches (${r.kind}${r.notes.length ? ', compared as a set' : ''})${renamed.length ? `; renamed: ${renamed.join(', ')}` : ''}`,
      );
    } else {
      ctx.io.out(`✘ does not match (${r.kind})`);
      ctx.io.out(formatDiff(r, { color: ctx.color }));
    }
    return ok ? EXIT.ok : EXIT.failed;
  },
});
