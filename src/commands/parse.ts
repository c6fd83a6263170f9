/**
 * `proxylab parse <kind> [FILE|-]`: read one command's output (a file, or stdin) and print
 * it as JSON. Input that is not that kind of output exits 2 with a one-line reason.
 */
import { readFile } from 'node:fs/promises';
import { defineCommand, str } from '../core/command.js';
import { EXIT, UsageError } from '../core/errors.js';
import type { Context } from '../core/context.js';
import { PARSERS, PARSE_KINDS, isParseError, type ParseKind } from '../inspect/index.js';

/**
 * Everything on stdin until EOF. Ctrl-C while waiting rejects with the interrupt (exit 130)
 * instead of leaving the read hanging.
 */
function readStdin(signal: AbortSignal): Promise<string> {
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
      resolve(Buffer.concat(chunks).toString('utf8'));
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

async function readInput(file: string | undefined, ctx: Context): Promise<string> {
  if (file === undefined || file === '-') {
    // A terminal on stdin: the user pastes the output there (as the README shows).
    if (process.stdin.isTTY) ctx.io.info('paste the output, then Ctrl-D (Ctrl-C to cancel)');
    return readStdin(ctx.signal);
  }
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
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
  usage: `proxylab parse <${PARSE_KINDS.join('|')}> [FILE|-]`,
  details: `
Reads the output of one command from FILE (or stdin when FILE is - or absent) and prints
it as JSON on stdout. Fields the output does not show are null, never guessed.

  ipvsadm         ipvsadm -Ln, -Sn, --stats, --rate, --persistent-conn, -Lnc, --timeout
  iptables        iptables-save, iptables-nft-save, -S, -L/-nL/-nvL (plus kube-proxy's
                  services -> KUBE-SVC -> KUBE-SEP view under "kubeProxy")
  ipset           ipset list, ipset save
  ip-addr         ip addr, ip link, ip -j addr
  kube-proxy-log  kube-proxy logs: mode, fallback, fatal error, deprecation, version
  proxy-mode      the answer of curl 127.0.0.1:10249/proxyMode
  nft             nft list table|chain|map (plus kube-proxy's nftables view: service-ips
                  -> service chain -> endpoints, under "kubeProxy")

Input that is not that kind of output at all exits 2 with the reason.

Examples:
  docker exec proxylab-worker ipvsadm -Ln | proxylab parse ipvsadm
  proxylab parse iptables --table nat saved-rules.txt
  docker exec proxylab-worker nft list table ip kube-proxy | proxylab parse nft
  kubectl -n kube-system logs -l k8s-app=kube-proxy --prefix | proxylab parse kube-proxy-log -`,
  options: {
    table: {
      type: 'string',
      arg: 'NAME',
      description:
        'iptables: table to file rules under when the input does not name one (default: unknown)',
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
    const text = await readInput(args.positionals[1], ctx);
    let data: unknown;
    try {
      data =
        kind === 'iptables'
          ? PARSERS.iptables(text, table ? { table } : {})
          : PARSERS[kind as Exclude<ParseKind, 'iptables'>](text);
    } catch (e) {
      if (isParseError(e)) throw new UsageError(e.message);
      throw e;
    }
    ctx.io.out(JSON.stringify(data, null, 2));
    return EXIT.ok;
  },
});
