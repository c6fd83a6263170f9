// State of the fake toolchain: one JSON document in $FAKE_STATE/state.json, read and written
// under a lock (mkdir) with an atomic rename, so parallel invocations (docker exec on three
// nodes at once) never lose an update.
import {
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  appendFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';

export const STATE_VERSION = 1;

export function stateDir(env = process.env) {
  const d = env.FAKE_STATE;
  if (!d) {
    process.stderr.write(
      'fake toolchain: FAKE_STATE is not set (tests create a temp dir and set it)\n',
    );
    process.exit(90);
  }
  mkdirSync(d, { recursive: true });
  return d;
}

export function emptyState() {
  return {
    version: STATE_VERSION,
    /** Monotonic counter: deterministic names, IPs, ports, resourceVersions. */
    seq: 0,
    /** kind clusters by name. See README.md for the shape. */
    clusters: {},
    /** Free room for handler modules: ext[moduleName] = anything JSON. */
    ext: {},
  };
}

/**
 * Set while test/fake/server.mjs answers a call: a handler that would sleep (a hang, a delay,
 * a `kubectl wait` that times out) must not stall every other call the server answers, so
 * sleepSync throws Fallback instead and the call is run again by a node process of its own.
 */
export const serving = { on: false };

/** Thrown by sleepSync while serving: "run this call in a process of its own". */
export class Fallback extends Error {
  constructor() {
    super('fake toolchain: this call sleeps; it runs in a process of its own');
  }
}

const sab = new Int32Array(new SharedArrayBuffer(4));
function pause(ms) {
  if (ms > 0) Atomics.wait(sab, 0, 0, ms);
}
export function sleepSync(ms) {
  if (ms > 0 && serving.on) throw new Fallback();
  pause(ms);
}

/** Run fn(state) holding the lock; write the state back if fn returns without throwing. */
export function withState(dir, fn, { write = true } = {}) {
  const lock = join(dir, 'state.lock');
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      try {
        // A holder that died leaves the lock: take it over after 10 s.
        if (Date.now() - statSync(lock).mtimeMs > 10_000)
          rmSync(lock, { recursive: true, force: true });
      } catch {
        /* gone meanwhile */
      }
      if (Date.now() > deadline) throw new Error(`fake toolchain: could not lock ${lock}`);
      pause(3 + Math.floor(Math.random() * 7));
    }
  }
  try {
    const file = join(dir, 'state.json');
    const state = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : emptyState();
    const result = fn(state);
    if (write) {
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(state, null, 1));
      renameSync(tmp, file);
    }
    return result;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export function readState(dir) {
  const file = join(dir, 'state.json');
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : emptyState();
}

export function logCall(dir, rec) {
  appendFileSync(join(dir, 'calls.jsonl'), `${JSON.stringify(rec)}\n`);
}

export function next(state) {
  state.seq += 1;
  return state.seq;
}

const ALPHA = 'bcdfghjklmnpqrstvwxz2456789';
function digest(state, tag) {
  return createHash('sha256')
    .update(`${tag}:${next(state)}:${state.salt ?? ''}`)
    .digest();
}
/** Deterministic pseudo-random suffix like kube's rand.String (consonants + digits). */
export function suffix(state, len) {
  const d = digest(state, 's');
  let s = '';
  for (let i = 0; i < len; i++) s += ALPHA[d[i] % ALPHA.length];
  return s;
}

export function hex(state, len) {
  let s = '';
  while (s.length < len) s += digest(state, 'h').toString('hex');
  return s.slice(0, len);
}

export function nowIso(env = process.env) {
  return new Date(env.FAKE_NOW ? Date.parse(env.FAKE_NOW) : Date.now())
    .toISOString()
    .replace(/\.\d+Z$/, 'Z');
}
