/**
 * Runs the by-hand lab on a backend: set up the pods, run each phase and check it, tear
 * everything down (unless kept) and verify nothing is left.
 */
import { waitFor } from '../core/wait.js';
import type { Backend, Cmd, CmdResult } from './backend.js';
import {
  ALL_NS,
  CheckFailed,
  NET,
  PHASES,
  Results,
  leftovers,
  podCmds,
  type Phase,
  type PhaseOutcome,
} from './lab.js';

export interface PhaseRecord {
  id: string;
  title: string;
  ok: boolean;
  durationMs: number;
  summary: string;
  shown: string[];
  data: Record<string, unknown>;
  error?: string;
  /** Every command with its output (for --json and for failures). */
  commands: CmdResult[];
}

function firstFailure(cmds: readonly Cmd[], res: readonly CmdResult[]): CmdResult | undefined {
  return res.find((r, i) => {
    const ok = cmds[i]?.ok ?? [0];
    return ok !== 'any' && !ok.includes(r.exitCode);
  });
}

export class PhaseFailed extends Error {
  constructor(
    message: string,
    readonly record: PhaseRecord,
  ) {
    super(message);
  }
}

function cmdText(r: CmdResult): string {
  return r.argv.join(' ');
}

/** Namespaces, bridge, veths, routes, sysctls, then the HTTP servers; checked by the 'pods' phase. */
export async function setupPods(b: Backend): Promise<PhaseRecord> {
  const started = performance.now();
  const cmds = podCmds();
  const res = await b.exec(cmds);
  const rec: PhaseRecord = {
    id: 'setup',
    title: 'setup',
    ok: true,
    durationMs: 0,
    summary: '',
    shown: [],
    data: {},
    commands: res,
  };
  const bad = firstFailure(cmds, res);
  if (bad) {
    rec.ok = false;
    rec.error = `\`${cmdText(bad)}\` failed: ${bad.output.trim()}`;
    throw new PhaseFailed(rec.error, rec);
  }
  for (const p of NET.pods) await b.startServer(p.ns, p.name);
  // the servers start in the background: wait until each one answers
  await waitFor(
    async () => {
      const r = await b.exec(
        NET.pods.map((p) => ({ argv: ['ip', 'netns', 'exec', p.ns, ...probeArgv(b, p.ip)] })),
      );
      return r.every((x) => x.exitCode === 0) ? true : undefined;
    },
    { what: 'the 3 pod HTTP servers to listen', timeoutMs: 30_000, intervalMs: 100 },
  );
  rec.durationMs = Math.round(performance.now() - started);
  rec.summary = `${ALL_NS.length} namespaces, bridge ${NET.bridge}, ${NET.pods.length} HTTP servers`;
  return rec;
}

/** A command that succeeds once the server at ip:80 accepts connections (inside its own namespace). */
function probeArgv(b: Backend, ip: string): string[] {
  return b.name === 'vm'
    ? ['wget', '-q', '-O', '/dev/null', `http://${ip}/`]
    : [
        process.execPath,
        '-e',
        `require('net').connect(80, ${JSON.stringify(ip)}).on('connect', () => process.exit(0)).on('error', () => process.exit(1))`,
      ];
}

export async function runPhase(b: Backend, phase: Phase): Promise<PhaseRecord> {
  const started = performance.now();
  const cmds = phase.cmds(b);
  const res = await b.exec(cmds);
  const rec: PhaseRecord = {
    id: phase.id,
    title: phase.title,
    ok: false,
    durationMs: 0,
    summary: '',
    shown: [],
    data: {},
    commands: res,
  };
  try {
    const bad = firstFailure(cmds, res);
    if (bad) throw new CheckFailed(`\`${cmdText(bad)}\` exited with ${bad.exitCode}`, bad.output);
    const o: PhaseOutcome = phase.check(new Results(res));
    Object.assign(rec, { ok: true, summary: o.summary, shown: o.shown, data: o.data });
  } catch (e) {
    const output = e instanceof CheckFailed ? e.output : '';
    rec.error = e instanceof Error ? e.message : String(e);
    rec.shown = output ? [output.trimEnd()] : [];
  } finally {
    rec.durationMs = Math.round(performance.now() - started);
  }
  if (!rec.ok) throw new PhaseFailed(rec.error ?? 'failed', rec);
  return rec;
}

/** Stop every process in the lab's namespaces, delete them, and return what is still there. */
export async function teardown(b: Backend): Promise<string[]> {
  const pids = await b.exec(
    ALL_NS.map((ns) => ({ argv: ['ip', 'netns', 'pids', ns], ok: 'any' as const })),
  );
  const kill = pids.flatMap((r) =>
    r.output
      .split('\n')
      .filter((l) => /^\d+$/.test(l.trim()))
      .map((l) => l.trim()),
  );
  const cmds: Cmd[] = [];
  if (kill.length) cmds.push({ argv: ['kill', ...kill], ok: 'any' });
  for (const ns of ALL_NS) cmds.push({ argv: ['ip', 'netns', 'delete', ns], ok: 'any' });
  cmds.push({ argv: ['ip', 'netns', 'list'], ok: 'any' });
  cmds.push({ argv: ['ip', '-o', 'link', 'show'], ok: 'any' });
  const res = await b.exec(cmds);
  const left = leftovers(res.at(-2)?.output ?? '');
  // nothing of the lab may be left in the host's (or guest's) own namespace either
  const links = res.at(-1)?.output ?? '';
  for (const l of ['cbr0', 'kube-ipvs0', ...NET.pods.map((p) => p.veth), 'veth-client'])
    if (new RegExp(`: ${l}[@:]`).test(links)) left.push(`link ${l}`);
  return left;
}

/** Remove what a previous, interrupted or --keep run left (idempotent). */
export async function cleanStale(b: Backend): Promise<string[]> {
  const res = await b.exec([{ argv: ['ip', 'netns', 'list'], ok: 'any' }]);
  const stale = leftovers(res[0]?.output ?? '');
  if (stale.length) await teardown(b);
  return stale;
}

export { PHASES };
