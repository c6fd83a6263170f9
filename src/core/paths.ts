/** Where proxylab keeps its files: everything lives inside the project checkout. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(start: string): string {
  let dir = start;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'proxylab')
          return dir;
      } catch {
        /* keep walking */
      }
    }
    const up = dirname(dir);
    if (up === dir) return resolve(start, '..', '..');
    dir = up;
  }
}

/** The project checkout (the folder holding proxylab's package.json). */
export const projectRoot: string =
  process.env.PROXYLAB_ROOT ?? findRoot(dirname(fileURLToPath(import.meta.url)));

export const paths = {
  root: projectRoot,
  /** Pinned tool binaries (kind, kubectl) downloaded or linked by `proxylab tools`. */
  bin: join(projectRoot, '.bin'),
  /** State: backups, locks, last check result. */
  state: join(projectRoot, '.proxylab'),
  backups: join(projectRoot, '.proxylab', 'backups'),
  locks: join(projectRoot, '.proxylab', 'locks'),
  /** Caches (node packages for node-tools, VM images for the bare lab). */
  cache: join(projectRoot, '.cache'),
  configs: join(projectRoot, 'configs'),
  labs: join(projectRoot, 'labs'),
  defaultKubeconfig: join(projectRoot, 'kubeconfig'),
} as const;

export const VERSION: string = (
  JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string }
).version;
