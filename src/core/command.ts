/**
 * A CLI command: its name, help text, options and what it does. Commands live one per
 * file in src/commands/ and are loaded only when called (start-up stays fast).
 */
import type { Context } from './context.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  description: string;
  /** Shown in help; for strings, the value used when the option is absent. */
  default?: string | boolean;
  multiple?: boolean;
  /** Placeholder in help, e.g. NAME. */
  arg?: string;
}

export interface Command {
  name: string;
  summary: string;
  /** e.g. `proxylab parse <kind> [FILE|-]` */
  usage: string;
  /** Longer help: what it does, what the user will see, examples. */
  details?: string;
  options?: Record<string, OptionSpec>;
  /** Accepted positional arguments (default: none). */
  positionals?: { min: number; max: number };
  /** Whether --json applies (shown in help). */
  json?: boolean;
  /** What is in place when Ctrl-C stops this command half-way (one sentence). */
  interrupted?: string;
  run(ctx: Context, args: ParsedArgs): Promise<number>;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export function str(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function bool(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

export function defineCommand(c: Command): Command {
  return c;
}
