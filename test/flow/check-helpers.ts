/**
 * Running lab docs end to end against the fake toolchain: a fake kind cluster (iptables
 * mode, as `make up` leaves it), a fake host kernel with the IPVS modules, and a `make`
 * on PATH that runs exactly the proxylab command the Makefile's target runs (read from
 * the Makefile itself, so a doc naming a target the Makefile lacks fails).
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, runCli, type CliResult } from '../helpers/cli.js';
import { newLab, type Lab } from './steps-helpers.js';

const MAKE_SHIM = `#!/usr/bin/env node
// make, for flow tests: runs the recipe line of the Makefile target that calls $(PROXYLAB)
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
const root = process.env.PROXYLAB_MAKE_ROOT;
const text = readFileSync(root + '/Makefile', 'utf8');
const vars = {};
for (const m of text.matchAll(/^([A-Z0-9_]+)\\s*\\?=[ \\t]*(.*)$/gm)) vars[m[1]] = m[2].trim();
const args = process.argv.slice(2);
const targets = [];
for (const a of args) {
  const m = /^([A-Z0-9_]+)=(.*)$/.exec(a);
  if (m) vars[m[1]] = m[2];
  else if (!a.startsWith('-')) targets.push(a);
}
let code = 0;
for (const t of targets.length ? targets : ['help']) {
  const at = text.search(new RegExp('^' + t.replace(/[-]/g, '\\\\-') + ':', 'm'));
  if (at < 0) {
    process.stderr.write("make: *** No rule to make target '" + t + "'.  Stop.\\n");
    process.exit(2);
  }
  const recipe = text.slice(at).split('\\n').slice(1).filter((l, i, all) => all.slice(0, i + 1).every((x) => x.startsWith('\\t'))).map((l) => l.slice(1));
  const line = recipe.find((l) => l.includes('$(PROXYLAB)'));
  if (!line) continue;
  const expand = (s) => s.replace(/\\$\\((\\w+)\\)/g, (_, v) => v === 'PROXYLAB' ? '\\u0000' : v === 'K8S_FLAG' ? (vars.K8S ? '--k8s ' + vars.K8S : '') : (vars[v] ?? ''));
  const words = expand(line).split(/\\s+/).filter(Boolean);
  const argv = [];
  for (const w of words) {
    if (w === '\\u0000') argv.push(root + '/bin/proxylab.js', '--cluster', vars.CLUSTER ?? 'proxylab');
    else argv.push(w);
  }
  process.stdout.write('node bin/proxylab.js --cluster ' + (vars.CLUSTER ?? 'proxylab') + ' ' + argv.slice(3).join(' ') + '\\n');
  const r = spawnSync(process.execPath, argv, { stdio: 'inherit', env: process.env });
  code = r.status ?? 1;
  if (code !== 0) {
    process.stderr.write('make: *** [Makefile: ' + t + '] Error ' + code + '\\n');
    process.exit(2);
  }
}
process.exit(code);
`;

export interface LabRun {
  lab: Lab;
  env: NodeJS.ProcessEnv;
  /** proxylab check (or any command) with the fake cluster's kubeconfig. */
  cli(args: string[], extraEnv?: Record<string, string>): Promise<CliResult>;
}

export function labRun(opts: Parameters<typeof newLab>[0] = {}): LabRun {
  const lab = newLab(opts);
  const shimDir = join(lab.fake.dir, 'makebin');
  mkdirSync(shimDir, { recursive: true });
  writeFileSync(join(shimDir, 'make'), MAKE_SHIM);
  chmodSync(join(shimDir, 'make'), 0o755);
  const env: NodeJS.ProcessEnv = {
    ...lab.env,
    PATH: `${shimDir}:${lab.env.PATH ?? ''}`,
    PROXYLAB_MAKE_ROOT: ROOT.replace(/\/$/, ''),
    PROXYLAB_CHECK_BACKOFF_MS: '20',
  };
  return {
    lab,
    env,
    cli: (args, extraEnv = {}) =>
      runCli(['--kubeconfig', lab.fake.kubeconfig, ...args], {
        env: { ...env, ...extraEnv },
        timeoutMs: 300_000,
      }),
  };
}
