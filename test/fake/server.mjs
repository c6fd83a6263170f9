// The fake toolchain's server: `node server.mjs <FAKE_STATE dir>` answers the calls of the
// fake docker/kind/kubectl clients (bin/fake-client) for that one state dir, on the unix
// socket <dir>/fake.sock, from modules loaded once. A call answered here costs the client a
// perl start and a round trip instead of a node start and a module load (~0.2 s of CPU each;
// a lab makes hundreds). The answers are the simulator's own (sim.mjs simulate()): the same
// state file under the same lock, the same call log, so processes of their own (run.mjs) can
// run beside it. Calls that sleep are handed back to the client to run in a process of their
// own, so one hang never stalls the others.
//
// Protocol, one call per connection, every frame "<type> <n>\n" then n bytes:
//   client → server  R: tool NUL cwd NUL argc NUL argv… NUL KEY=VALUE… (the whole environment)
//   server → client  I (send your stdin) → client: S with all of its stdin, and the call is run again
//                    O stdout, E stderr, then X <exit code> (no bytes)
//                    F (run it in a process of your own: node run.mjs)
// The server exits when its dir is removed (fake.cleanup()), when the process that started it
// is gone, or after 10 idle minutes.
import { createServer } from 'node:net';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { simulate, modules, NeedStdin, Fallback } from './sim.mjs';
import { logCall, serving } from './lib/state.mjs';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: node server.mjs <FAKE_STATE dir>\n');
  process.exit(2);
}
const sock = join(dir, 'fake.sock');
const mods = await modules();
const parent = process.ppid;
let lastCall = Date.now();

/** Read "<type> <n>\n<n bytes>" frames off a socket. */
function frames(conn, onFrame) {
  let buf = Buffer.alloc(0);
  conn.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      const nl = buf.indexOf(10);
      if (nl < 0) return;
      const m = /^([A-Z]) (\d+)$/.exec(buf.subarray(0, nl).toString('latin1'));
      if (!m) return conn.destroy();
      const n = Number(m[2]);
      if (buf.length < nl + 1 + n) return;
      const body = buf.subarray(nl + 1, nl + 1 + n);
      buf = buf.subarray(nl + 1 + n);
      onFrame(m[1], body);
    }
  });
}

function send(conn, type, body = Buffer.alloc(0)) {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  conn.write(`${type} ${b.length}\n`);
  if (b.length) conn.write(b);
}

function answer(conn, req, stdin) {
  const started = Date.now();
  const saved = process.env;
  let r;
  serving.on = true;
  try {
    // handlers read process.env and relative paths: the call's own environment and folder
    process.env = req.env;
    try {
      process.chdir(req.cwd);
    } catch {
      /* the caller's folder is gone: paths given in full still work */
    }
    r = simulate(req.tool, req.argv, req.env, mods, { stdin });
  } catch (e) {
    if (e instanceof NeedStdin) return send(conn, 'I');
    if (e instanceof Fallback) return send(conn, 'F');
    r = { code: 99, stdout: '', stderr: `fake toolchain server: ${e?.stack ?? e}\n` };
  } finally {
    serving.on = false;
    process.env = saved;
  }
  if (r.stdout) send(conn, 'O', r.stdout);
  if (r.stderr) send(conn, 'E', r.stderr);
  conn.end(`X ${r.code}\n`);
  try {
    logCall(dir, {
      tool: req.tool,
      argv: req.argv,
      ms: Date.now() - started,
      exit: r.code,
      t: started,
      via: 'server',
    });
  } catch {
    /* dir removed meanwhile */
  }
}

const server = createServer((conn) => {
  lastCall = Date.now();
  let req;
  conn.on('error', () => {});
  frames(conn, (type, body) => {
    if (type === 'R') {
      const f = body.toString('utf8').split('\0');
      const argc = Number(f[2]);
      const env = {};
      for (const kv of f.slice(3 + argc)) {
        const i = kv.indexOf('=');
        if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
      }
      req = { tool: f[0], cwd: f[1], argv: f.slice(3, 3 + argc), env };
      answer(conn, req, undefined);
    } else if (type === 'S' && req) answer(conn, req, body.toString('utf8'));
    else conn.destroy();
  });
});

rmSync(sock, { force: true });
server.listen(sock);
setInterval(() => {
  const gone = !existsSync(dir) || process.ppid !== parent;
  if (gone || Date.now() - lastCall > 600_000) {
    server.close();
    rmSync(sock, { force: true });
    process.exit(0);
  }
}, 500);
