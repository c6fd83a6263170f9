// The fake toolchain's one simulator. test/fake/bin/{docker,kind,kubectl} call
// main(tool, argv). See README.md for the state model, the handler API and the faults.
import { readdirSync, readFileSync, writeSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stateDir, withState, logCall, sleepSync, serving, Fallback } from './lib/state.mjs';

export { Fallback };

const HERE = dirname(fileURLToPath(import.meta.url));

export class Exit extends Error {
  constructor(code, stderr = '') {
    super(stderr || `exit ${code}`);
    this.code = code;
    this.stderr = stderr;
  }
}

/** Thrown while serving when a handler reads stdin the client has not sent yet. */
export class NeedStdin extends Error {
  constructor() {
    super('fake toolchain: this call reads its stdin');
  }
}

let loaded;
/** The handler modules, loaded once per process. */
export function modules() {
  return (loaded ??= loadModules());
}

/** Load core handlers, then every test/fake/handlers/*.mjs (extensions take precedence). */
async function loadModules() {
  const mods = [];
  const extDir = join(HERE, 'handlers');
  let files = [];
  try {
    files = readdirSync(extDir)
      .filter((f) => f.endsWith('.mjs'))
      .sort();
  } catch {
    /* no extensions */
  }
  for (const f of files)
    mods.push({
      name: f.replace(/\.mjs$/, ''),
      ...(await import(pathToFileURL(join(extDir, f)).href)),
    });
  for (const f of ['node.mjs', 'docker.mjs', 'kind.mjs', 'kubectl.mjs'])
    mods.push({
      name: `core/${f.replace(/\.mjs$/, '')}`,
      ...(await import(pathToFileURL(join(HERE, 'core', f)).href)),
    });
  return mods;
}

/** argv tokens of `pattern` appear in `argv` in order (not necessarily adjacent). */
export function subsequence(argv, pattern) {
  let i = 0;
  for (const a of argv) if (i < pattern.length && a === pattern[i]) i++;
  return i === pattern.length;
}

function splitSpecs(text) {
  return (text ?? '')
    .split(/\n|\s;;\s/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** FAKE_FAIL entries: "<tool> <tokens...>=<exit>[@<times>]:<stderr>" */
export function parseFailSpecs(text) {
  return splitSpecs(text).map((spec) => {
    const m = /^(\S+)((?:\s+[^=\s]+)*)\s*=\s*(\d+)(?:@(\d+))?(?::([\s\S]*))?$/.exec(spec);
    if (!m) throw new Error(`fake toolchain: bad FAKE_FAIL entry: ${spec}`);
    return {
      spec,
      tool: m[1],
      tokens: m[2].trim().split(/\s+/).filter(Boolean),
      code: Number(m[3]),
      times: m[4] ? Number(m[4]) : Infinity,
      stderr: (m[5] ?? '').replace(/\\n/g, '\n'),
    };
  });
}

function hangSpecs(text) {
  return splitSpecs(text).map((spec) => {
    const [tool, ...tokens] = spec.split(/\s+/);
    return { tool, tokens };
  });
}

function write(fd, text) {
  if (text) writeSync(fd, text);
}

/**
 * One invocation of `tool argv`, answered from the state in env.FAKE_STATE: { code, stdout,
 * stderr }. Synchronous once the modules are loaded. opts.stdin is the invocation's stdin
 * when the caller has it; without it stdin is read from fd 0 when a handler asks (a process of
 * its own), or, while serving (test/fake/server.mjs), NeedStdin is thrown. Hangs, delays and
 * handler sleeps throw Fallback while serving. Neither leaves a trace in the state.
 */
export function simulate(tool, argv, env, mods, opts = {}) {
  const dir = stateDir(env);
  let stdinText = opts.stdin;
  const stdin = () => {
    if (stdinText === undefined) {
      if (serving.on) throw new NeedStdin();
      try {
        stdinText = readFileSync(0, 'utf8');
      } catch {
        stdinText = '';
      }
    }
    return stdinText;
  };
  try {
    // Hangs happen before any lock is taken, and are bounded.
    for (const h of hangSpecs(env.FAKE_HANG)) {
      if (h.tool === tool && subsequence(argv, h.tokens)) {
        sleepSync(Number(env.FAKE_HANG_MAX_MS ?? 20_000));
        throw new Exit(
          124,
          `fake toolchain: ${tool} hung (FAKE_HANG) and gave up after ${env.FAKE_HANG_MAX_MS ?? 20000} ms\n`,
        );
      }
    }
    for (const d of splitSpecs(env.FAKE_DELAY)) {
      const m = /^(\S+)((?:\s+[^=\s]+)*)\s*=\s*(\d+)$/.exec(d);
      if (m && m[1] === tool && subsequence(argv, m[2].trim().split(/\s+/).filter(Boolean)))
        sleepSync(Number(m[3]));
    }
    return withState(dir, (state) => {
      state.faults ??= {};
      for (const f of parseFailSpecs(env.FAKE_FAIL)) {
        if (f.tool !== tool || !subsequence(argv, f.tokens)) continue;
        const used = state.faults[f.spec] ?? 0;
        if (used >= f.times) continue;
        state.faults[f.spec] = used + 1;
        return {
          code: f.code,
          stdout: '',
          stderr: f.stderr ? `${f.stderr.replace(/\n?$/, '\n')}` : '',
        };
      }
      const ctx = makeCtx(tool, argv, env, state, mods, dir, stdin);
      try {
        const r = dispatch(ctx, tool, argv);
        return { code: r ?? 0, stdout: ctx.stdout, stderr: ctx.stderr };
      } catch (e) {
        if (e instanceof Exit)
          return { code: e.code, stdout: ctx.stdout, stderr: ctx.stderr + e.stderr };
        throw e;
      }
    });
  } catch (e) {
    if (e instanceof NeedStdin || e instanceof Fallback) throw e;
    if (e instanceof Exit) return { code: e.code, stdout: '', stderr: e.stderr };
    return {
      code: 99,
      stdout: '',
      stderr: `fake toolchain internal error in ${tool} ${argv.join(' ')}: ${e?.stack ?? e}\n`,
    };
  }
}

/** A fake tool as a process of its own (test/fake/run.mjs): answer, log the call, exit. */
export async function main(tool, argv, env = process.env) {
  const dir = stateDir(env);
  const started = Date.now();
  const { code, stdout, stderr } = simulate(tool, argv, env, await modules());
  write(1, stdout);
  write(2, stderr);
  try {
    logCall(dir, { tool, argv, ms: Date.now() - started, exit: code, t: started });
  } catch {
    /* state dir removed meanwhile */
  }
  process.exitCode = code;
}

function makeCtx(tool, argv, env, state, mods, dir, stdin) {
  const ctx = {
    tool,
    argv,
    env,
    state,
    dir,
    mods,
    stdout: '',
    stderr: '',
    out(t) {
      ctx.stdout += t;
    },
    err(t) {
      ctx.stderr += t;
    },
    /** Stop with an exit code and a message on stderr. */
    fail(code, message) {
      throw new Exit(code, message.endsWith('\n') ? message : `${message}\n`);
    },
    get stdin() {
      return stdin();
    },
    /** Run the reconcile() hooks of every module (after a change to objects). */
    hooks() {
      return mods.filter((m) => typeof m.reconcile === 'function').map((m) => m.reconcile);
    },
    /** Dispatch a command inside a node (used by docker exec). */
    inNode(cluster, node, nodeArgv) {
      const sub = Object.create(ctx);
      sub.cluster = cluster;
      sub.node = node;
      sub.nodeArgv = nodeArgv;
      return dispatch(sub, 'node', nodeArgv);
    },
  };
  return ctx;
}

function dispatch(ctx, tool, argv) {
  for (const m of ctx.mods) {
    for (const h of m.handlers ?? []) {
      if (h.tool !== tool) continue;
      const local = Object.create(ctx);
      local.argv = argv;
      if (h.match(local)) return h.run(local);
    }
  }
  if (tool === 'node') {
    const cmd = argv[0] ?? '';
    ctx.fail(
      127,
      `OCI runtime exec failed: exec failed: unable to start container process: exec: "${cmd}": executable file not found in $PATH: unknown`,
    );
  }
  ctx.fail(
    64,
    `fake ${tool}: no handler for: ${tool} ${argv.join(' ')}\n(add one in test/fake/handlers/, see test/fake/README.md)`,
  );
}
