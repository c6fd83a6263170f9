/**
 * The two tiny programs run inside the lab's network namespaces, passed to `node -e` as
 * one argv element (no files to install, no shell):
 *
 * - SERVER: a TCP server on 0.0.0.0:PORT answering every connection with a one-line HTTP
 *   response naming itself; prints "ready" once listening.
 * - CLIENT: opens COUNT fresh TCP connections (each a new conntrack entry, so each SYN walks
 *   the nat rules) to every target ip:port in turn and prints JSON: per target, the connect
 *   times (SYN → SYN/ACK through the VIP) and whole-request times, in milliseconds.
 */

export const SERVER_SOURCE = `
const net = require('node:net');
const port = Number(process.argv[1] || 8080);
const who = process.argv[2] || 'server';
const srv = net.createServer((s) => {
  s.on('error', () => {});
  s.once('data', () => s.end('HTTP/1.0 200 OK\\r\\ncontent-type: text/plain\\r\\n\\r\\n' + who + '\\n'));
});
srv.listen(port, '0.0.0.0', () => process.stdout.write('ready\\n'));
process.on('SIGTERM', () => process.exit(0));
`;

export const CLIENT_SOURCE = `
const net = require('node:net');
const count = Number(process.argv[1]);
const timeoutMs = Number(process.argv[2]);
const targets = process.argv.slice(3);
function once(host, port) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    let tc = 0n;
    let body = '';
    const s = net.connect({ host, port });
    const timer = setTimeout(() => { s.destroy(); resolve({ error: 'timeout' }); }, timeoutMs);
    s.on('connect', () => { tc = process.hrtime.bigint(); s.write('GET / HTTP/1.0\\r\\n\\r\\n'); });
    s.on('data', (b) => { body += b.toString(); });
    s.on('error', (e) => { clearTimeout(timer); resolve({ error: e.code || String(e) }); });
    s.on('close', () => {
      clearTimeout(timer);
      if (!tc) return resolve({ error: 'no connection' });
      const t1 = process.hrtime.bigint();
      resolve({ connectMs: Number(tc - t0) / 1e6, requestMs: Number(t1 - t0) / 1e6, who: (body.split('\\r\\n\\r\\n')[1] || '').trim() });
    });
  });
}
(async () => {
  const out = [];
  for (const t of targets) {
    const i = t.lastIndexOf(':');
    const host = t.slice(0, i), port = Number(t.slice(i + 1));
    const r = { target: t, connectMs: [], requestMs: [], errors: {}, answeredBy: {} };
    for (let k = 0; k < count; k++) {
      const x = await once(host, port);
      if (x.error) { r.errors[x.error] = (r.errors[x.error] || 0) + 1; continue; }
      r.connectMs.push(+x.connectMs.toFixed(4));
      r.requestMs.push(+x.requestMs.toFixed(4));
      r.answeredBy[x.who] = (r.answeredBy[x.who] || 0) + 1;
    }
    out.push(r);
  }
  process.stdout.write(JSON.stringify(out));
})();
`;

export interface ProbeResult {
  target: string;
  connectMs: number[];
  requestMs: number[];
  errors: Record<string, number>;
  answeredBy: Record<string, number>;
}

export function percentile(sorted: readonly number[], p: number): number | null {
  if (!sorted.length) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export interface LatencySummary {
  target: string;
  samples: number;
  errors: number;
  connectP50Ms: number | null;
  connectP99Ms: number | null;
  requestP50Ms: number | null;
  requestP99Ms: number | null;
  answeredBy: Record<string, number>;
}

export function summarize(r: ProbeResult): LatencySummary {
  const c = [...r.connectMs].sort((a, b) => a - b);
  const q = [...r.requestMs].sort((a, b) => a - b);
  const round = (v: number | null) => (v === null ? null : +v.toFixed(3));
  return {
    target: r.target,
    samples: c.length,
    errors: Object.values(r.errors).reduce((a, b) => a + b, 0),
    connectP50Ms: round(percentile(c, 50)),
    connectP99Ms: round(percentile(c, 99)),
    requestP50Ms: round(percentile(q, 50)),
    requestP99Ms: round(percentile(q, 99)),
    answeredBy: r.answeredBy,
  };
}
