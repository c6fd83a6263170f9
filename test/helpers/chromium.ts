/**
 * Headless Chromium for tests that must see what a browser renders (the HTML report, the
 * diagrams). Each call uses a fresh profile and no network. Tests skip with a printed
 * reason when no chromium is installed (scripts/test-deps.sh installs Debian's package).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const CANDIDATES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

export function findChromium(): string | undefined {
  if (process.env.CHROMIUM && existsSync(process.env.CHROMIUM)) return process.env.CHROMIUM;
  for (const c of CANDIDATES) {
    for (const dir of (process.env.PATH ?? '').split(':')) {
      const p = join(dir, c);
      if (dir && existsSync(p)) return p;
    }
  }
  return undefined;
}

export const NO_CHROMIUM =
  'no chromium on this machine (apt-get install chromium, or run scripts/test-deps.sh as root)';

function chromium(
  args: string[],
  timeoutMs = 60_000,
): { stdout: string; stderr: string; code: number } {
  const bin = findChromium();
  if (!bin) throw new Error(NO_CHROMIUM);
  const profile = mkdtempSync(join(tmpdir(), 'proxylab-chromium-'));
  try {
    const r = spawnSync(
      bin,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--hide-scrollbars',
        `--user-data-dir=${profile}`,
        ...args,
      ],
      { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
    );
    return { stdout: r.stdout ?? '', stderr: r.stderr ?? '', code: r.status ?? 1 };
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** The DOM after loading the file, serialized (what the browser built, not the source). */
export function dumpDom(file: string): string {
  const r = chromium(['--dump-dom', pathToFileURL(file).href]);
  if (r.code !== 0)
    throw new Error(`chromium --dump-dom failed (${r.code}): ${r.stderr.slice(-500)}`);
  return r.stdout;
}

/** A PNG screenshot of the file at the given window size; returns its size in bytes. */
export function screenshot(file: string, png: string, width: number, height: number): number {
  const r = chromium([
    `--screenshot=${png}`,
    `--window-size=${width},${height}`,
    pathToFileURL(file).href,
  ]);
  if (!existsSync(png))
    throw new Error(`chromium wrote no screenshot (${r.code}): ${r.stderr.slice(-500)}`);
  return statSync(png).size;
}
