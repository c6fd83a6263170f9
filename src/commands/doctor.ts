import { defineCommand } from '../core/command.js';
import { EXIT } from '../core/errors.js';
import { run } from '../core/exec.js';
import type { Context } from '../core/context.js';
import { KindProvider } from '../cluster/kind.js';
import { resolveTool, toolVersion, which } from '../cluster/tools.js';
import { ipvsSupport, inotifyLimits, INOTIFY_MIN, hostRoots } from '../cluster/host.js';
import { loadVersions, parseMinor } from '../config/versions.js';

export interface Check {
  id: string;
  title: string;
  /** A required check that fails makes doctor exit 1. */
  required: boolean;
  ok: boolean;
  detail: string;
  /** What to do when it is not ok. */
  fix?: string;
}

async function dockerChecks(ctx: Context): Promise<Check[]> {
  const client = which('docker', ctx.env);
  if (!client)
    return [
      {
        id: 'docker',
        title: 'Docker engine',
        required: true,
        ok: false,
        detail: 'the docker client is not installed',
        fix: 'install Docker Engine (https://docs.docker.com/engine/install/) or Docker Desktop',
      },
    ];
  const st = await new KindProvider(ctx.env, ctx.signal).engine();
  return [
    {
      id: 'docker',
      title: 'Docker engine',
      required: true,
      ok: st.ok,
      detail: st.ok ? st.detail : `Docker engine is ${st.detail}`,
      ...(st.ok
        ? {}
        : {
            fix: 'start the engine: `sudo systemctl start docker` (Linux) or open Docker Desktop; in a container, mount the host socket (-v /var/run/docker.sock:/var/run/docker.sock)',
          }),
    },
  ];
}

async function toolCheck(ctx: Context, tool: 'kind' | 'kubectl'): Promise<Check> {
  const table = loadVersions(ctx.env);
  const want = table[tool].version;
  const bin = resolveTool(tool, ctx);
  const found = bin.includes('/') ? bin : which(tool, ctx.env);
  const title = tool;
  if (!found)
    return {
      id: tool,
      title,
      required: true,
      ok: false,
      detail: `${tool} is not installed (pinned: ${want})`,
      fix: 'run `proxylab tools` (or `make tools`) to put the pinned version in ./.bin',
    };
  const v = await toolVersion(tool, found, ctx.signal);
  if (!v)
    return {
      id: tool,
      title,
      required: true,
      ok: false,
      detail: `${found} does not report a version`,
      fix: 'run `proxylab tools` to put the pinned version in ./.bin',
    };
  if (tool === 'kind') {
    const ok = v === want;
    return {
      id: tool,
      title,
      required: true,
      ok,
      detail: `${v} at ${found}${ok ? '' : ` (pinned: ${want}; node images in configs/versions.yaml are built for ${want})`}`,
      ...(ok ? {} : { fix: 'run `proxylab tools` to put kind ' + want + ' in ./.bin' }),
    };
  }
  // kubectl: supported within one minor of the cluster versions proxylab creates.
  const minors = Object.keys(table.images).map((k) => parseMinor(k)!);
  const km = parseMinor(v) ?? 0;
  const ok =
    minors.some((m) => Math.abs(m - km) <= 1) && Math.abs(km - parseMinor(table.default)!) <= 1;
  return {
    id: tool,
    title,
    required: true,
    ok,
    detail: `${v} at ${found}${ok ? '' : ` (too far from the default cluster 1.${parseMinor(table.default)}: kubectl supports ±1 minor; pinned: ${want})`}`,
    ...(ok ? {} : { fix: `run \`proxylab tools\` to put kubectl ${want} in ./.bin` }),
  };
}

function ipvsCheck(ctx: Context): Check {
  const r = ipvsSupport(ctx.env);
  const roots = hostRoots(ctx.env);
  const byState = (s: string) => r.modules.filter((m) => m.state === s).map((m) => m.module);
  const missing = byState('missing');
  let detail: string;
  if (r.ok) {
    const parts = (['builtin', 'loaded', 'loadable'] as const)
      .map((s) => (byState(s).length ? `${s}: ${byState(s).join(' ')}` : ''))
      .filter(Boolean);
    detail = `IPVS is available (${parts.join('; ')})`;
  } else {
    const looked = [
      r.sources.builtin ? null : `no ${roots.modules}/${roots.kernel}/modules.builtin`,
      r.sources.procModules ? null : `no ${roots.proc}/modules`,
      r.sources.moduleTree ? null : `no module tree ${roots.modules}/${roots.kernel}/kernel`,
    ].filter(Boolean);
    detail = `IPVS is not available: ${missing.join(' ')} ${missing.length === 1 ? 'is' : 'are'} not built in, not loaded and not loadable in kernel ${roots.kernel}${looked.length ? ` (${looked.join(', ')})` : ''}`;
  }
  return {
    id: 'ipvs',
    title: 'IPVS kernel support',
    required: true,
    ok: r.ok,
    detail,
    ...(r.ok
      ? {}
      : {
          fix: 'kind nodes use the host kernel: on a Linux host install its modules (`sudo apt-get install linux-modules-extra-$(uname -r)` on Ubuntu, `linux-image-$(uname -r)` on Debian) then run `proxylab modules`; in a VM or container whose kernel you cannot change, use `--mode iptables` or `--mode nftables`, or the no-Docker lab `proxylab bare`',
        }),
  };
}

function inotifyCheck(ctx: Context): Check {
  const r = inotifyLimits(ctx.env);
  const cur = `max_user_watches=${r.watches ?? '?'}, max_user_instances=${r.instances ?? '?'}`;
  return {
    id: 'inotify',
    title: 'inotify limits',
    required: false,
    ok: r.ok,
    detail: r.ok
      ? cur
      : `${cur}; kind needs ≥ ${INOTIFY_MIN.watches} and ≥ ${INOTIFY_MIN.instances} for multi-node clusters`,
    ...(r.ok
      ? {}
      : {
          fix: `sudo sysctl fs.inotify.max_user_watches=${INOTIFY_MIN.watches} fs.inotify.max_user_instances=${INOTIFY_MIN.instances}`,
        }),
  };
}

async function rootCheck(ctx: Context): Promise<Check> {
  const base = { id: 'root', title: 'root for modprobe', required: false };
  if (process.getuid?.() === 0) return { ...base, ok: true, detail: 'running as root' };
  if (which('sudo', ctx.env)) {
    const r = await run(['sudo', '-n', 'true'], { reject: false, timeoutMs: 5_000 }).catch(
      () => undefined,
    );
    if (r?.exitCode === 0) return { ...base, ok: true, detail: 'sudo works without a password' };
    return {
      ...base,
      ok: true,
      detail: 'sudo is there; `proxylab modules` will ask for your password',
    };
  }
  return {
    ...base,
    ok: false,
    detail: 'not root and no sudo: cannot load kernel modules',
    fix: 'run `proxylab modules` as root, or load ip_vs yourself',
  };
}

export async function runChecks(ctx: Context): Promise<Check[]> {
  const [docker, kind, kubectl, root] = await Promise.all([
    dockerChecks(ctx),
    toolCheck(ctx, 'kind'),
    toolCheck(ctx, 'kubectl'),
    rootCheck(ctx),
  ]);
  return [...docker, kind, kubectl, ipvsCheck(ctx), inotifyCheck(ctx), root];
}

export function formatChecks(checks: Check[], color: boolean): string {
  const paint = (code: string, t: string) => (color ? `\x1b[${code}m${t}\x1b[0m` : t);
  const w = Math.max(...checks.map((c) => c.title.length));
  const lines: string[] = [];
  for (const c of checks) {
    const mark = c.ok ? paint('32', '✔') : c.required ? paint('31', '✘') : paint('33', '⚠');
    lines.push(`${mark} ${c.title.padEnd(w)}  ${c.detail}`);
    if (!c.ok && c.fix) lines.push(`  ${' '.repeat(w)}  fix: ${c.fix}`);
  }
  const failed = checks.filter((c) => c.required && !c.ok);
  const warned = checks.filter((c) => !c.required && !c.ok);
  lines.push('');
  lines.push(
    failed.length
      ? `${failed.length} required item${failed.length > 1 ? 's' : ''} missing (${failed.map((c) => c.title).join(', ')}): fix ${failed.length > 1 ? 'them' : 'it'}, then run \`proxylab doctor\` again`
      : `ready for the labs${warned.length ? ` (${warned.length} warning${warned.length > 1 ? 's' : ''} above)` : ''}: next, \`make lab\` or \`proxylab up\``,
  );
  return lines.join('\n');
}

export default defineCommand({
  name: 'doctor',
  summary: 'check this machine: Docker engine, kind, kubectl, IPVS modules, limits',
  usage: 'proxylab doctor [--json]',
  details: `Checks, each with ✔ or ✘ and a fix for every ✘:
  Docker engine         the engine answers (not just the docker client)
  kind, kubectl         present, at the pinned version (configs/versions.yaml) or compatible
  IPVS kernel support   ip_vs + schedulers built in (modules.builtin), loaded (/proc/modules) or loadable (.ko)
  inotify limits        the limits kind needs for multi-node clusters (warning only)
  root for modprobe     root or sudo, for \`proxylab modules\` (warning only)
Exits 1 when a required item fails, 0 otherwise.`,
  json: true,
  async run(ctx) {
    const checks = await runChecks(ctx);
    const ok = checks.every((c) => !c.required || c.ok);
    if (ctx.json) ctx.io.out(JSON.stringify({ ok, checks }, null, 2));
    else ctx.io.out(formatChecks(checks, ctx.color));
    return ok ? EXIT.ok : EXIT.failed;
  },
});
