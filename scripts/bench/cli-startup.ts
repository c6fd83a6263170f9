/**
 * CLI start-up cost: `proxylab --version` (compiled, when dist/ exists) against a bare
 * `node -e 0` spawn measured in the same run. Start-up is paid by every make target.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

function medianMs(argv: string[], runs: number): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const r = spawnSync(argv[0]!, argv.slice(1), { cwd: root, stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}`);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

export async function bench(log: (line: string) => void) {
  const runs = 9;
  const node = medianMs([process.execPath, '-e', '0'], runs);
  const compiled = existsSync(`${root}dist/cli.js`);
  const cli = medianMs([process.execPath, `${root}bin/proxylab.js`, '--version'], runs);
  const help = medianMs([process.execPath, `${root}bin/proxylab.js`, '--help'], runs);
  log(`node -e 0                 ${node.toFixed(1)} ms (baseline, median of ${runs})`);
  log(
    `proxylab --version        ${cli.toFixed(1)} ms = ${(cli / node).toFixed(2)}× baseline${compiled ? '' : ' (no dist/: ran through tsx; run `npm run build`)'}`,
  );
  log(`proxylab --help           ${help.toFixed(1)} ms = ${(help / node).toFixed(2)}× baseline`);
  return {
    nodeMs: +node.toFixed(1),
    versionMs: +cli.toFixed(1),
    helpMs: +help.toFixed(1),
    compiled,
  };
}
