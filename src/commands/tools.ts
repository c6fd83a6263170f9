import { defineCommand, str } from '../core/command.js';
import { EXIT, UsageError, UserError } from '../core/errors.js';
import { ensureTool, binDir, type ToolResult } from '../cluster/tools.js';
import { loadVersions } from '../config/versions.js';
import { shortPath } from './up.js';

function describe(r: ToolResult): string {
  const where = shortPath(r.path);
  if (r.action === 'present')
    return `${r.tool} ${r.version}: already in ${where}${r.source ? ` (→ ${r.source})` : ''}`;
  if (r.action === 'linked')
    return `${r.tool} ${r.version}: reused ${r.source} (linked as ${where})`;
  const how =
    r.verified === 'pinned'
      ? 'sha256 verified against the pinned checksum in configs/versions.yaml'
      : "sha256 verified against the release's own published checksum file (configs/versions.yaml pins none for this platform)";
  return `${r.tool} ${r.version}: downloaded to ${where}; ${how} (${r.sha256})`;
}

export default defineCommand({
  name: 'tools',
  summary: 'put the pinned kind and kubectl in ./.bin (checksum-verified)',
  usage: 'proxylab tools [--only kind|kubectl]',
  details: `Makes the versions pinned in configs/versions.yaml available in ./.bin:
  1. already there at that version: nothing to do;
  2. a kind/kubectl of that version on PATH: linked, not downloaded;
  3. otherwise the release asset for this OS/architecture is downloaded and its sha256
     checked against the pinned table — or, where the table has no checksum for this
     platform, against the release's own .sha256sum / .sha256 file (said so in the output) —
     before it is made executable. A mismatch is refused and the file discarded.
proxylab then runs ./.bin/kind and ./.bin/kubectl in preference to PATH.`,
  options: {
    only: { type: 'string', arg: 'TOOL', description: 'just one tool: kind or kubectl' },
  },
  json: true,
  async run(ctx, args) {
    const only = str(args, 'only');
    if (only !== undefined && only !== 'kind' && only !== 'kubectl')
      throw new UsageError(
        `--only "${only}" is not kind or kubectl`,
        'use --only kind or --only kubectl',
      );
    const table = loadVersions(ctx.env);
    const tools: Array<'kind' | 'kubectl'> = only ? [only] : ['kind', 'kubectl'];
    const results: ToolResult[] = [];
    const failed: Array<{ tool: string; error: UserError }> = [];
    for (const t of tools) {
      try {
        const r = await ensureTool(t, {
          env: ctx.env,
          table,
          signal: ctx.signal,
          onProgress: (m) => ctx.io.info(`  … ${m}`),
        });
        results.push(r);
        if (!ctx.json) ctx.io.out(`✔ ${describe(r)}`);
      } catch (e) {
        if (!(e instanceof UserError) || tools.length === 1) throw e;
        failed.push({ tool: t, error: e });
        ctx.io.error(`✘ ${e.message}`);
      }
    }
    if (ctx.json)
      ctx.io.out(
        JSON.stringify(
          {
            binDir: binDir(ctx.env),
            tools: results,
            failed: failed.map((f) => ({ tool: f.tool, error: f.error.message })),
          },
          null,
          2,
        ),
      );
    if (failed.length)
      throw new UserError(
        `${failed.map((f) => f.tool).join(' and ')} could not be set up`,
        failed[0]!.error.hint,
      );
    return EXIT.ok;
  },
});
