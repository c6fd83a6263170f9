/**
 * proxylab's command line: global options, dispatch to one command, and the one place
 * where errors become a sentence, a hint and an exit code.
 */
import { interruptedBy, statesInPlace } from './core/interrupt.js';
import { checkClusterName, checkNamespace, checkOutputPath, checkSeconds } from './core/inputs.js';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { registry, findEntry, type Group } from './commands/registry.js';
import type { Command, OptionSpec, ParsedArgs } from './core/command.js';
import { defaultGlobals, makeOutput, useColor, type Context } from './core/context.js';
import { CommandError, EXIT, UserError, UsageError } from './core/errors.js';
import { VERSION } from './core/paths.js';
import { basename, resolve } from 'node:path';

const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  cluster: { type: 'string', arg: 'NAME', description: 'kind cluster name', default: 'proxylab' },
  kubeconfig: {
    type: 'string',
    arg: 'FILE',
    description: 'kubeconfig to use and write',
    default: './kubeconfig',
  },
  quiet: {
    type: 'boolean',
    short: 'q',
    description: 'print nothing but errors and requested data',
  },
  json: { type: 'boolean', description: 'print data as JSON (where the command prints data)' },
  debug: { type: 'boolean', description: 'show stack traces and every command run' },
  help: { type: 'boolean', short: 'h', description: 'show help' },
};

const VALUE_GLOBALS = new Set(['--cluster', '--kubeconfig']);

function splitCommand(argv: string[]): { name: string | undefined; rest: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const t = argv[i]!;
    if (t === '--') break;
    if (VALUE_GLOBALS.has(t)) {
      i++;
      continue;
    }
    if (t.startsWith('-')) continue;
    return { name: t, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  return { name: undefined, rest: argv };
}

function toParseConfig(opts: Record<string, OptionSpec>): NonNullable<ParseArgsConfig['options']> {
  const out: NonNullable<ParseArgsConfig['options']> = {};
  for (const [k, o] of Object.entries(opts)) {
    out[k] = {
      type: o.type,
      ...(o.short ? { short: o.short } : {}),
      ...(o.multiple ? { multiple: true } : {}),
    };
  }
  return out;
}

function optionLines(opts: Record<string, OptionSpec>): string[] {
  const rows = Object.entries(opts).map(([k, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${k}${o.type === 'string' ? ` ${o.arg ?? 'VALUE'}` : ''}`;
    const def =
      o.default !== undefined && o.type === 'string' ? ` (default: ${String(o.default)})` : '';
    return [flag, `${o.description}${def}`] as const;
  });
  const w = Math.max(0, ...rows.map((r) => r[0].length));
  return rows.map(([f, d]) => `  ${f.padEnd(w)}  ${d}`);
}

function mainHelp(): string {
  const groups: Group[] = ['setup', 'lab steps', 'inspect', 'checks', 'cleanup'];
  const w = Math.max(...registry.map((e) => e.name.length));
  const lines = [
    `proxylab ${VERSION}: kube-proxy IPVS labs that build and check themselves on kind`,
    '',
    'Usage: proxylab <command> [options]',
    '',
  ];
  for (const g of groups) {
    lines.push(`${g[0]!.toUpperCase()}${g.slice(1)}:`);
    for (const e of registry.filter((x) => x.group === g))
      lines.push(`  ${e.name.padEnd(w)}  ${e.summary}`);
    lines.push('');
  }
  lines.push(
    'Global options:',
    ...optionLines(GLOBAL_OPTIONS),
    '      --version  print the version',
    '',
  );
  lines.push('Run `proxylab <command> --help` for the options of one command.');
  lines.push('Start with `proxylab doctor`, then `make lab` (see README.md).');
  return lines.join('\n');
}

function commandHelp(c: Command): string {
  const lines = [`${c.usage}`, '', c.summary];
  if (c.details) lines.push('', c.details.trim());
  if (c.options && Object.keys(c.options).length)
    lines.push('', 'Options:', ...optionLines(c.options));
  const globals = { ...GLOBAL_OPTIONS };
  if (!c.json) delete (globals as Record<string, OptionSpec>).json;
  lines.push('', 'Global options:', ...optionLines(globals));
  return lines.join('\n');
}

/** A program that is not installed: say how to get it. */
function missingToolHint(e: CommandError): string | undefined {
  if (!e.spawnError?.includes('command not found')) return undefined;
  const tool = basename(e.argv[0] ?? '');
  if (tool === 'kind' || tool === 'kubectl')
    return `run \`make tools\` (or \`proxylab tools\`) to put the pinned ${tool} in ./.bin, then \`proxylab doctor\``;
  if (tool === 'docker')
    return 'install Docker (the engine, not only the client), then run `proxylab doctor`';
  return `install ${tool}, then try again (\`proxylab doctor\` checks the rest)`;
}

export function reportError(e: unknown, debug: boolean, err: (t: string) => void): number {
  if (e instanceof UserError) {
    err(`✘ ${e.message}`);
    if (e.hint) err(`  → ${e.hint.replace(/\n/g, '\n    ')}`);
    if (debug && e.stack) err(e.stack);
    return e.exitCode;
  }
  if (e instanceof CommandError) {
    err(`✘ ${e.message}`);
    const t = e.stderrTail.trim();
    if (t && !e.message.endsWith(t)) err(t.replace(/^/gm, '  | '));
    const hint = missingToolHint(e);
    if (hint) err(`  → ${hint}`);
    if (debug && e.stack) err(e.stack);
    return EXIT.failed;
  }
  const msg = e instanceof Error ? e.message : String(e);
  err(`✘ internal error: ${msg}`);
  err(
    debug && e instanceof Error && e.stack
      ? e.stack
      : '  → run again with --debug to see where it happened, and report it',
  );
  return EXIT.failed;
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const errOut = (t: string) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`);
  const debug = argv.includes('--debug');
  try {
    const { name, rest } = splitCommand(argv);
    if (!name) {
      if (rest.includes('--version')) {
        process.stdout.write(`${VERSION}\n`);
        return EXIT.ok;
      }
      const unknown = rest.filter((t) => t !== '--help' && t !== '-h');
      if (unknown.length)
        throw new UsageError(
          `unknown option ${unknown[0]}`,
          'run `proxylab --help` for the commands and options',
        );
      process.stdout.write(`${mainHelp()}\n`);
      return EXIT.ok;
    }
    const entry = findEntry(name);
    if (!entry) {
      const near = registry.filter((e) => e.name.startsWith(name.slice(0, 2))).map((e) => e.name);
      throw new UsageError(
        `unknown command "${name}"`,
        near.length
          ? `did you mean ${near.join(' or ')}? (\`proxylab --help\` lists all)`
          : 'run `proxylab --help` to see the commands',
      );
    }
    const cmd = (await entry.load()).default;
    const options = { ...GLOBAL_OPTIONS, ...(cmd.options ?? {}) };
    let parsed: ReturnType<typeof parseArgs>;
    try {
      parsed = parseArgs({
        args: rest,
        options: toParseConfig(options),
        allowPositionals: true,
        strict: true,
      });
    } catch (e) {
      throw new UsageError(
        (e as Error).message.replace(/\. To specify a positional.*$/s, ''),
        `run \`proxylab ${name} --help\``,
      );
    }
    const values = parsed.values as ParsedArgs['values'];
    if (values.help) {
      process.stdout.write(`${commandHelp(cmd)}\n`);
      return EXIT.ok;
    }
    const pos = cmd.positionals ?? { min: 0, max: 0 };
    if (parsed.positionals.length < pos.min)
      throw new UsageError(`missing argument: ${cmd.usage}`, `run \`proxylab ${name} --help\``);
    if (parsed.positionals.length > pos.max)
      throw new UsageError(
        `unexpected argument "${parsed.positionals[pos.max]}"`,
        `usage: ${cmd.usage}`,
      );
    if (values.json && !cmd.json)
      throw new UsageError(
        `\`proxylab ${name}\` has no --json output`,
        `run \`proxylab ${name} --help\``,
      );
    for (const [k, o] of Object.entries(cmd.options ?? {})) {
      if (values[k] === undefined && o.default !== undefined) values[k] = o.default;
    }
    const g = defaultGlobals(env);
    checkInputs(name, cmd, values, g);
    const quiet = values.quiet === true;
    const ac = new AbortController();
    const onSigint = (sig: NodeJS.Signals) => {
      if (ac.signal.aborted) {
        // a second Ctrl-C: out at once, but say what is in place
        const states = statesInPlace();
        errOut(
          `\n✘ ${interruptedBy(sig)} again: stopped at once.${states.length ? `\n  ${states.join('\n  ')}` : ''}`,
        );
        process.exit(EXIT.interrupted);
      }
      errOut(`\n⚠ ${interruptedBy(sig)}: finishing cleanly (press Ctrl-C again to quit at once)`);
      ac.abort(new UserError(interruptedBy(sig), undefined, EXIT.interrupted));
    };
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigint);
    const ctx: Context = {
      cluster: typeof values.cluster === 'string' ? values.cluster : g.cluster,
      kubeconfig: resolve(typeof values.kubeconfig === 'string' ? values.kubeconfig : g.kubeconfig),
      quiet,
      json: values.json === true,
      debug,
      io: makeOutput({ quiet }),
      env,
      color: useColor(env, process.stderr),
      signal: ac.signal,
    };
    try {
      const code = await cmd.run(ctx, { values, positionals: parsed.positionals });
      // Ctrl-C came while the command finished its work (between two programs, or after the
      // last): it is still an interrupt (exit 130), and what the command printed is in place
      if (ac.signal.aborted)
        throw new UserError(
          `${(ac.signal.reason as Error).message} during \`proxylab ${name}\`, after it had done its work: what it printed above is in place`,
          undefined,
          EXIT.interrupted,
        );
      return code;
    } catch (e) {
      // Ctrl-C ends whatever program was running: say so, and what is in place, not how
      // the program died
      if (ac.signal.aborted && !(e instanceof UserError && e.exitCode === EXIT.interrupted))
        throw new UserError(
          `${(ac.signal.reason as Error).message} during \`proxylab ${name}\`${cmd.interrupted ? `: ${cmd.interrupted}` : ''}`,
          `run \`proxylab ${name}\` again: each of its steps is idempotent`,
          EXIT.interrupted,
          { cause: e },
        );
      throw e;
    } finally {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
    }
  } catch (e) {
    return reportError(e, debug, errOut);
  }
}

/** Files proxylab writes, by option name (a folder for --out). */
const OUTPUT_OPTIONS: Record<string, { dir?: boolean }> = {
  junit: {},
  html: {},
  svg: {},
  out: { dir: true },
};

/**
 * Bad input the commands share, refused before any work (exit 2): the cluster name, the
 * files and folders to write, durations, namespaces.
 */
function checkInputs(
  name: string,
  cmd: Command,
  values: ParsedArgs['values'],
  g: ReturnType<typeof defaultGlobals>,
): void {
  if (typeof values.cluster === 'string') checkClusterName(values.cluster, '--cluster');
  else checkClusterName(g.cluster, 'PROXYLAB_CLUSTER');
  const kc = typeof values.kubeconfig === 'string' ? values.kubeconfig : undefined;
  // `up` writes the kubeconfig; the other commands read it
  if (kc !== undefined) checkOutputPath('--kubeconfig', kc, { write: name === 'up' });
  for (const [k, o] of Object.entries(cmd.options ?? {})) {
    const v = values[k];
    if (typeof v !== 'string') continue;
    const out = OUTPUT_OPTIONS[k];
    if (out && o.type === 'string') checkOutputPath(`--${k}`, v, out);
    else if (o.arg === 'SECONDS') checkSeconds(`--${k}`, v);
    else if (o.arg === 'NS') checkNamespace(`--${k}`, v);
  }
}

const invoked = process.argv[1] ?? '';
if (/(?:^|[\\/])(cli\.(?:ts|js)|proxylab(?:\.js)?)$/.test(invoked)) {
  const code = await main(process.argv.slice(2));
  process.exitCode = code;
}
