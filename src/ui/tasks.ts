/**
 * Progress output. A listr2 task tree on a terminal; plain timestamped lines with durations
 * when stderr is not a TTY or CI is set; nothing with --quiet. NO_COLOR is honoured.
 */
import {
  Listr,
  ListrLogger,
  PRESET_TIMER,
  PRESET_TIMESTAMP,
  ProcessOutput,
  type ListrTask,
} from 'listr2';
import type { Context } from '../core/context.js';
import { stepStarted } from '../core/interrupt.js';

export type Task<T = unknown> = ListrTask<T>;

export function rendererFor(ctx: Pick<Context, 'quiet' | 'env'>): 'default' | 'verbose' | 'silent' {
  if (ctx.quiet) return 'silent';
  const ci = ctx.env.CI !== undefined && ctx.env.CI !== '' && ctx.env.CI !== 'false';
  if (!process.stderr.isTTY || ci || ctx.env.TERM === 'dumb') return 'verbose';
  return 'default';
}

export function taskList<T extends object>(
  ctx: Pick<Context, 'quiet' | 'env'>,
  tasks: ListrTask<T>[],
  opts: { concurrent?: boolean | number; exitOnError?: boolean } = {},
): Listr<T, 'default' | 'verbose' | 'silent'> {
  const renderer = rendererFor(ctx);
  // each task says it started, so an interrupt can name the step it landed in
  const named = tasks.map((t) =>
    typeof t.title === 'string' && typeof t.task === 'function'
      ? {
          ...t,
          task: (c: T, x: Parameters<typeof t.task>[1]) => (
            stepStarted(t.title as string),
            t.task(c, x)
          ),
        }
      : t,
  );
  return new Listr<T, 'default' | 'verbose' | 'silent'>(named, {
    concurrent: opts.concurrent ?? false,
    exitOnError: opts.exitOnError ?? true,
    renderer,
    // Progress goes to stderr, so stdout carries only data (e.g. --json).
    rendererOptions:
      renderer === 'verbose'
        ? {
            timestamp: PRESET_TIMESTAMP,
            timer: PRESET_TIMER,
            logTitleChange: true,
            logger: new ListrLogger({
              useIcons: false,
              processOutput: new ProcessOutput(process.stderr, process.stderr),
            }),
          }
        : renderer === 'default'
          ? {
              timer: PRESET_TIMER,
              collapseSubtasks: false,
              showErrorMessage: true,
              logger: new ListrLogger({
                processOutput: new ProcessOutput(process.stderr, process.stderr),
              }),
            }
          : {},
    registerSignalListeners: false,
  });
}

/** Run tasks to completion with a shared context object; errors propagate unchanged. */
export async function runTasks<T extends object>(
  ctx: Pick<Context, 'quiet' | 'env'>,
  tasks: ListrTask<T>[],
  initial: T,
  opts: { concurrent?: boolean | number } = {},
): Promise<T> {
  return taskList(ctx, tasks, opts).run(initial);
}
