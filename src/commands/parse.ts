/**
 * `proxylab parse <kind> [FILE|-]`: read one command's output (a file, or stdin) and print
 * it as JSON. Input that is not that kind of output exits 2 with a one-line reason.
 */
import { fstatSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isatty } from 'node:tty';
import { bool, defineCommand, str } from '../core/command.js';
import { EXIT, UsageError } from '../core/errors.js';
import { compileWasmOnce, keepYoungGenerationSmall, tuneForOneParse } from '../core/v8-tuning.js';
import type { Context } from '../core/context.js';
import { isParseError } from '../inspect/errors.js';
import type { JsonSink } from '../inspect/jsonwriter.js';
import { bufferSource, fileSource, type ByteSource } from '../inspect/source.js';
import type { ParseKind } from '../inspect/index.js';
import {
  PARSE_KIND_NAMES as PARSE_KINDS,
  VIEWS,
  viewsOf,
  writeView,
  type ParseView,
} from '../inspect/views.js';

keepYoungGenerationSmall();
tuneForOneParse();
compileWasmOnce();

/**
 * Everything on stdin until EOF. Ctrl-C while waiting rejects with the interrupt (exit 130)
 * instead of leaving the read hanging.
 */
function readStdin(signal: AbortSignal): Promise<Buffer> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const done = () => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.off('error', onError);
      signal.removeEventListener('abort', onAbort);
    };
    const onData = (c: Buffer) => chunks.push(c);
    const onEnd = () => {
      done();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    };
    const onError = (e: Error) => {
      done();
      reject(e);
    };
    const onAbort = () => {
      done();
      stdin.destroy();
      reject(signal.reason);
    };
    if (signal.aborted) return onAbort();
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.once('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** stdout's reader went away (`| head`): nothing more to print, and nothing went wrong. */
class ReaderGone extends Error {}

/**
 * stdout as a JSON sink. A piece handed to it is the writer's again when the call returns,
 * or when the promise it returns resolves (see JsonSink), so the writer can fill the same
 * buffer again instead of a new one per piece (a new 64 KiB buffer per piece cost ~100 ms and
 * ~20 MB for 22 MB of JSON). Stdout a file: each piece is written at once. A pipe or a
 * terminal: the stream may hold a piece until its reader (`jq`, `less`) catches up; the
 * promise resolves once it is written (rejected when stdout fails, or on Ctrl-C), so the
 * text never piles up in memory.
 */
function stdoutSink(signal: AbortSignal): JsonSink {
  const out = process.stdout;
  let atOnce = false;
  try {
    // a file, or a device that is not a terminal (/dev/null): written at once
    const st = fstatSync(1);
    atOnce = st.isFile() || (st.isCharacterDevice() && !isatty(1));
  } catch {
    // neither: the stream below
  }
  const failed = (e: NodeJS.ErrnoException) =>
    e.code === 'EPIPE' ? new ReaderGone('stdout was closed by its reader') : e;
  if (atOnce)
    return (chunk) => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      try {
        for (let off = 0; off < bytes.length;) off += writeSync(1, bytes, off);
      } catch (e) {
        throw failed(e as NodeJS.ErrnoException);
      }
    };
  // a write's failure reaches its callback; without a listener it would also be thrown
  out.on('error', () => undefined);
  // one Ctrl-C listener for every write waiting (not one each: a burst of pieces would
  // pass Node's limit of 10 and print a warning)
  const waiting = new Set<(e: unknown) => void>();
  signal.addEventListener('abort', () => {
    for (const reject of waiting) reject(signal.reason);
    waiting.clear();
  });
  return (chunk) =>
    new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      waiting.add(reject);
      out.write(chunk, (e) => {
        waiting.delete(reject);
        if (e) reject(failed(e));
        else resolve();
      });
    });
}

/**
 * The input: a file named is read where and when the parser asks, so a 6 MB iptables-save
 * costs a window of it in memory; a file on stdin, a pipe or a terminal is read until EOF.
 */
async function readInput(file: string | undefined, ctx: Context): Promise<ByteSource> {
  if (file === undefined || file === '-') {
    let isFile = false;
    try {
      isFile = fstatSync(0).isFile();
    } catch {
      // no stdin to stat: read it as a stream below
    }
    // a file on stdin (`< save.txt`) in one read, from where the shell left it to its end
    if (isFile) return bufferSource(readFileSync(0));
    // A terminal on stdin: the user pastes the output there (as the README shows).
    if (process.stdin.isTTY) ctx.io.info('paste the output, then Ctrl-D (Ctrl-C to cancel)');
    return bufferSource(await readStdin(ctx.signal));
  }
  try {
    // A device (/dev/zero, /dev/urandom) never ends: refuse it before reading. Pipes
    // and sockets stay allowed: `proxylab parse ipvsadm <(docker exec … ipvsadm -Ln)` is one.
    const st = statSync(file);
    if (st.isCharacterDevice() || st.isBlockDevice())
      throw new UsageError(
        `cannot read ${file}: it is a device, not a file of command output`,
        'give the file the output was saved in, or pipe the output in',
      );
    // A file where the parser asks (opened once: closed when the process exits); a pipe
    // (`<(…)`) without blocking, so that Ctrl-C still ends the wait.
    if (st.isFile()) return fileSource(openSync(file, 'r'), st.size);
    return bufferSource(await readFile(file));
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'it is a directory'
            : (code ?? String(e));
    throw new UsageError(
      `cannot read ${file}: ${why}`,
      'check the path, or use - to read from stdin',
    );
  }
}

export default defineCommand({
  name: 'parse',
  summary: 'parse ipvsadm, iptables, ipset, ip addr, nft or kube-proxy log output into JSON',
  usage: `proxylab parse <${PARSE_KINDS.join('|')}> [FILE|-] [--view NAME] [--pretty]`,
  details: `
Reads the output of one command from FILE (or stdin when FILE is - or absent; on a
terminal, paste it and end with Ctrl-D) and prints it as JSON on stdout. Fields the output
does not show are null, never guessed. Lines that are not that output are listed by number
in "skipped" (nothing is dropped without saying so), and "notes" says what the input left
unknown (e.g. rule rows grep'd without their "Chain" line, filed under chain "unknown").
Pastes from markdown or notes (every line indented, or prefixed with "# ", "> ", "$ ") read
as the output itself.

  ipvsadm         ipvsadm -Ln, -Sn, --stats, --rate, --persistent-conn, --thresholds,
                  -Lnc, --timeout
  iptables        iptables-save, iptables-nft-save, -S, -L/-nL/-nvL (also grep'd rows,
                  column -t) plus kube-proxy's services -> KUBE-SVC -> KUBE-SEP view
  ipset           ipset list, ipset save
  ip-addr         ip addr, ip link, ip -j addr
  kube-proxy-log  kube-proxy logs (kubectl, stern, journald, logrus, JSON): mode, fallback,
                  fatal error, IPVS deprecation (any wording, or the IPVSDeprecation event),
                  version
  proxy-mode      the answer of curl 127.0.0.1:10249/proxyMode
  nft             nft list ruleset|table|chain|map|tables (-a too; blocks from several
                  nodes kept apart) plus kube-proxy's nftables view

Output: one JSON document, the same shape whatever the size. Indented on a terminal;
compact (one line) when stdout is a pipe or a file, so scripts read it fast; --pretty
indents it anyway. It is written as it is produced: a plain iptables-save (as
iptables-save or iptables-nft-save print it) or ipvsadm -Ln is printed rule by rule
while it is read, and a FILE is read a window at a time, so a 5,000-Service
iptables-save (40,000 rules, 6 MB) is ~22 MB of JSON for \`jq\` but less than 4 times
its size in proxylab's memory. A reader that stops early (\`| head\`) ends the parse
quietly (exit 0). One document rather than one line per rule (NDJSON): \`jq\` and
JSON.parse read it as is, and a script that needs only part of a large output asks for
that part:

Views (--view), for scripts that need part of a large output:
  full        everything (default)
  rules       iptables, nft: the parsed rules, without the kube-proxy view
  kube-proxy  iptables, nft: only kube-proxy's services and endpoints (+ skipped, notes)
              (2.5 MB instead of 22 MB for 5,000 Services)
  summary     iptables, nft, ipvsadm: counts of tables, chains, rules, services and
              endpoints, and the skipped lines

Input that is not that kind of output at all exits 2 with the reason.

Examples:
  docker exec proxylab-worker ipvsadm -Ln | proxylab parse ipvsadm
  proxylab parse iptables --table nat saved-rules.txt
  docker exec proxylab-worker iptables-save -t nat | proxylab parse iptables --view kube-proxy
  docker exec proxylab-worker nft list table ip kube-proxy | proxylab parse nft --view summary
  kubectl -n kube-system logs -l k8s-app=kube-proxy --prefix | proxylab parse kube-proxy-log -`,
  options: {
    table: {
      type: 'string',
      arg: 'NAME',
      description:
        'iptables: table to file rules under when the input does not name one (default: unknown)',
    },
    view: {
      type: 'string',
      arg: 'NAME',
      description: `what to print: ${VIEWS.join(', ')} (default: full; see above)`,
    },
    pretty: {
      type: 'boolean',
      description: 'indent the JSON even when stdout is not a terminal',
    },
  },
  positionals: { min: 1, max: 2 },
  json: true,
  async run(ctx, args) {
    const kind = args.positionals[0]!;
    if (!(PARSE_KINDS as string[]).includes(kind)) {
      throw new UsageError(
        `unknown output kind "${kind}"`,
        `use one of: ${PARSE_KINDS.join(', ')}`,
      );
    }
    const table = str(args, 'table');
    if (table !== undefined && kind !== 'iptables')
      throw new UsageError('--table applies to iptables only', 'drop --table');
    const view = (str(args, 'view') ?? 'full') as ParseView;
    const views = viewsOf(kind as ParseKind);
    if (!views.includes(view))
      throw new UsageError(
        (VIEWS as readonly string[]).includes(view)
          ? `${kind} has no "${view}" view`
          : `unknown view "${view}"`,
        `use one of: ${views.join(', ')}`,
      );
    const input = await readInput(args.positionals[1], ctx);
    const indent = bool(args, 'pretty') || process.stdout.isTTY ? 2 : 0;
    try {
      // Written in chunks straight to stdout (ctx.io.out ends every write with a newline).
      await writeView(
        kind as ParseKind,
        input,
        view,
        table ? { table } : {},
        stdoutSink(ctx.signal),
        indent,
      );
    } catch (e) {
      if (isParseError(e)) throw new UsageError(e.message);
      // `| head` read what it wanted and left: stop, as the tools it reads from do
      if (e instanceof ReaderGone) return EXIT.ok;
      throw e;
    }
    process.stdout.write('\n');
    return EXIT.ok;
  },
});
