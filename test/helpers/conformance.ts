/**
 * Conformance of the fake toolchain with the real programs (kernel tier): what the fake
 * prints for a node, programmed with the real programs into a namespace (or the micro-VM),
 * listed again by the real listing commands, and compared.
 *
 * The only normalisations are the ones named below, each for one thing a real kernel
 * decides and a model cannot know: counters, handles (interface index), hash order, the
 * clock in iptables-save's comments, the hash seed of an ipset. Anything else that differs
 * is a difference, and the fake is what is wrong.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FAKE_BIN, type Fake } from './fake.js';
import { paths } from '../../src/core/paths.js';
import { cachedImage } from '../../src/bare/vm/image.js';

export interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

/** One fake tool call, asynchronous (several may run at once: the fake locks its state). */
export function fakeTool(
  fake: Fake,
  tool: 'docker' | 'kind' | 'kubectl',
  args: readonly string[],
  extraEnv: Record<string, string> = {},
  input = '',
): Promise<Out> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(FAKE_BIN, tool), [...args], {
      env: { ...fake.env, ...extraEnv },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** `docker exec NODE argv...` against the fake. */
export function fakeExec(
  fake: Fake,
  node: string,
  argv: readonly string[],
  extraEnv: Record<string, string> = {},
): Promise<Out> {
  return fakeTool(fake, 'docker', ['exec', node, ...argv], extraEnv);
}

/** Run jobs with at most `n` at a time (this machine has 2 cores, shared). */
export async function pool<T>(jobs: ReadonlyArray<() => Promise<T>>, n = 3): Promise<T[]> {
  const out: T[] = new Array<T>(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, jobs.length) }, worker));
  return out;
}

/**
 * iptables as a kind node runs it: kind's entrypoint points the `iptables*` names at one
 * backend with update-alternatives (select_iptables, images/base/files/usr/local/bin/
 * entrypoint, kind v0.31.0), so the programs run as `iptables-save`, not
 * `iptables-nft-save`, and print that name. A folder of such links to xtables-<flavour>-multi
 * (which reads its name from argv[0]); `remove()` deletes it.
 */
export function xtablesAs(flavour: 'nft' | 'legacy'): {
  bin: (name: string) => string;
  remove(): void;
} {
  const dir = mkdtempSync(join(tmpdir(), `proxylab-xtables-${flavour}-`));
  for (const fam of ['iptables', 'ip6tables'])
    for (const x of ['', '-save', '-restore'])
      symlinkSync(`/usr/sbin/xtables-${flavour}-multi`, join(dir, `${fam}${x}`));
  return {
    bin: (name) => join(dir, name),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * The micro-VM image is built by the first test that needs it, into one scratch folder
 * (.cache/bare/build, removed when the build ends). The kernel tier runs two files at a time
 * and test/kernel/bare-vm.test.ts starts building at once: while such a build is under way
 * (the folder exists and changed in the last few minutes) wait for its image instead of
 * starting a second build in the same folder.
 */
export async function awaitImageBuildElsewhere(
  log: (l: string) => void,
  maxMs = 15 * 60_000,
): Promise<void> {
  const work = join(paths.cache, 'bare', 'build');
  const until = Date.now() + maxMs;
  let said = false;
  while (Date.now() < until && !(await cachedImage())) {
    let newest = 0;
    for (const d of [work, join(work, 'root'), join(work, 'debs')]) {
      try {
        newest = Math.max(newest, statSync(d).mtimeMs);
      } catch {
        /* not there */
      }
    }
    if (!newest || Date.now() - newest > 5 * 60_000) return;
    if (!said) log('another test is building the VM image; waiting for it');
    said = true;
    await sleep(3000);
  }
}

// ---------------------------------------------------------------------------------------
// Normalisations: each one named, each one narrow.

export type Normaliser = (real: string, fake: string) => { real: string; fake: string };

const both =
  (f: (t: string) => string): Normaliser =>
  (real, fake) => ({ real: f(real), fake: f(fake) });

/** Nothing is normalised. */
export const exact: Normaliser = (real, fake) => ({ real, fake });

/**
 * iptables-save / ip6tables-save: the clock in the `# Generated by … on DATE` and
 * `# Completed on DATE` comments, and the `[packets:bytes]` counters of chain lines.
 */
export const iptablesSave: Normaliser = both((t) =>
  t
    .replace(/^(# Generated by \S+ v\S+ \(\S+\) on ).+$/gm, '$1<date>')
    .replace(/^(# Completed on ).+$/gm, '$1<date>')
    .replace(/^(:\S+ \S+ )\[\d+:\d+\]$/gm, '$1[0:0]'),
);

/**
 * iptables-legacy-save only: tables in the kernel's table-list order (`*nat` before
 * `*filter` where both were loaded together), where iptables-nft-save prints filter first.
 * When both print the same table blocks, the real blocks are put in the fake's order.
 */
export const legacyTableOrder: Normaliser = (real, fake) => {
  const blocks = (t: string) =>
    t.match(/^# Generated by [^\n]*\n[\s\S]*?^# Completed on [^\n]*\n/gm) ?? [];
  const r = blocks(real);
  const f = blocks(fake);
  if (r.join('') !== real || f.join('') !== fake) return { real, fake };
  const a = [...r].sort();
  const b = [...f].sort();
  return a.length === b.length && a.every((x, i) => x === b[i])
    ? { real: fake, fake }
    : { real, fake };
};

/**
 * iptables -v -L: the policy's packet and byte counters, and the first two columns (pkts,
 * bytes) of rule lines, set to 0 with the widths iptables prints a 0 with.
 */
export const iptablesList: Normaliser = both((t) =>
  t
    .replace(/^(Chain \S+ \(policy \S+ )\d+ packets, \d+ bytes\)$/gm, '$1 0 packets, 0 bytes)')
    .replace(/^ *\d+[KMGTP]? +\d+[KMGTP]? (?=\S)/gm, '    0     0 '),
);

/**
 * When `real` and `fake` hold the same items in another order (an order the kernel's hash
 * decides), the fake's items are put in the real order; its separators stay its own. Items
 * are matched by their text without trailing blanks, so a difference in those still shows
 * (the texts are compared afterwards, exactly), next to its twin rather than out of order.
 */
function alignItems(realItems: string[], fakeItems: string[]): string[] {
  const key = (x: string) => x.replace(/\s+$/gm, '');
  const a = realItems.map(key).sort();
  const b = fakeItems.map(key).sort();
  if (a.length !== b.length || a.some((x, i) => x !== b[i])) return fakeItems;
  const left = [...fakeItems];
  return realItems.map((r) => {
    const i = left.findIndex((f) => key(f) === key(r));
    return left.splice(i, 1)[0]!;
  });
}

/** The members of each `hash:*` set, by set name: [start, end) line ranges. */
function ipsetMemberBlocks(lines: string[]): Map<string, { from: number; to: number }> {
  const out = new Map<string, { from: number; to: number }>();
  let name = '';
  let hash = false;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.startsWith('Name: ')) name = l.slice(6);
    else if (l.startsWith('Type: ')) hash = l.slice(6).startsWith('hash:');
    else if (l === 'Members:' && hash) {
      let j = i + 1;
      while (j < lines.length && lines[j] !== '' && !lines[j]!.startsWith('Name: ')) j++;
      out.set(name, { from: i + 1, to: j });
      i = j - 1;
    }
  }
  return out;
}

/**
 * ipset list: the member order of `hash:*` sets (hash order), the hash seed in the header
 * (`initval 0x…`, random per set), and `Size in memory:` (the kernel's memory accounting:
 * a counter that depends on the kernel build, which a kind node shares with its host; the
 * labs' matcher treats it as a counter too). `bitmap:*` members keep their (sorted) order.
 */
export const ipsetList: Normaliser = (real, fake) => {
  const seed = (t: string) =>
    t
      .replace(/( initval )0x[0-9a-f]+/g, '$10x<seed>')
      .replace(/^(Size in memory: )\d+$/gm, '$1<bytes>');
  const r = seed(real).split('\n');
  const f = seed(fake).split('\n');
  const rb = ipsetMemberBlocks(r);
  const fb = ipsetMemberBlocks(f);
  // replace from the end so earlier ranges stay valid
  for (const [name, x] of [...fb.entries()].sort((p, q) => q[1].from - p[1].from)) {
    const y = rb.get(name);
    if (!y) continue;
    const items = alignItems(r.slice(y.from, y.to), f.slice(x.from, x.to));
    f.splice(x.from, x.to - x.from, ...items);
  }
  return { real: r.join('\n'), fake: f.join('\n') };
};

/** `elements = { … }` blocks of nft output: the elements and the separators between them. */
function nftElementBlocks(
  t: string,
): Array<{ start: number; end: number; items: string[]; seps: string[] }> {
  const out: Array<{ start: number; end: number; items: string[]; seps: string[] }> = [];
  const re = /elements = \{ ([\s\S]*?) \}/g;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    const body = m[1]!;
    const parts = body.split(/(,\s+)/);
    out.push({
      start: m.index + 'elements = { '.length,
      end: m.index + 'elements = { '.length + body.length,
      items: parts.filter((_, i) => i % 2 === 0),
      seps: parts.filter((_, i) => i % 2 === 1),
    });
  }
  return out;
}

/**
 * nft list: the order of the elements of a named set or map (hash order), block by block;
 * the line wrapping between them stays the fake's own.
 */
export const nftList: Normaliser = (real, fake) => {
  const rb = nftElementBlocks(real);
  const fb = nftElementBlocks(fake);
  if (rb.length !== fb.length) return { real, fake };
  let out = fake;
  for (let k = fb.length - 1; k >= 0; k--) {
    const f = fb[k]!;
    const items = alignItems(rb[k]!.items, f.items);
    const body = items.map((x, i) => (i < f.seps.length ? x + f.seps[i] : x)).join('');
    out = out.slice(0, f.start) + body + out.slice(f.end);
  }
  return { real, fake: out };
};

/**
 * /proc/net/ip_vs: the kernel walks its service hash table, so the order of the virtual
 * servers is hash order; the real servers of one are listed newest first, and kube-proxy
 * adds them iterating a Go map (random order), so their order is hash order too. Both are
 * aligned; every line is still compared as printed.
 */
export const procIpvs: Normaliser = (real, fake) => {
  const split = (t: string) => {
    const head: string[] = [];
    const blocks: string[][] = [];
    for (const l of t.split('\n')) {
      if (/^(TCP|UDP|SCTP|FWM) /.test(l)) blocks.push([l]);
      else if (l.startsWith('  -> ') && blocks.length) blocks[blocks.length - 1]!.push(l);
      else if (!blocks.length) head.push(l);
      else blocks.push([l]);
    }
    return { head, blocks };
  };
  const r = split(real);
  const f = split(fake);
  // real servers first, block by block (blocks matched by their service line)
  const fb = f.blocks.map((b) => {
    const twin = r.blocks.find((x) => x[0]!.trimEnd() === b[0]!.trimEnd());
    return twin ? [b[0]!, ...alignItems(twin.slice(1), b.slice(1))] : b;
  });
  const blocks = alignItems(
    r.blocks.map((b) => b.join('\n')),
    fb.map((b) => b.join('\n')),
  );
  return { real, fake: [...f.head, ...blocks].join('\n') };
};

/** ip addr / ip link: the interface index at the start of a link line (the kernel's handle). */
export const ipLink: Normaliser = both((t) => t.replace(/^\d+: (?=\S+: <)/gm, 'N: '));

// ---------------------------------------------------------------------------------------
// Programming inputs built from what the fake prints.

/**
 * `ipset restore` input for the sets an `ipset list` shows: `create NAME TYPE <header>`
 * (the header options are create's own syntax) and one `add` per member.
 */
export function ipsetRestoreFromList(list: string): string {
  const out: string[] = [];
  let name = '';
  let type = '';
  let inMembers = false;
  for (const l of list.split('\n')) {
    if (l.startsWith('Name: ')) {
      name = l.slice(6);
      inMembers = false;
    } else if (l.startsWith('Type: ')) type = l.slice(6);
    else if (l.startsWith('Header: ')) out.push(`create ${name} ${type} ${l.slice(8)}`);
    else if (l === 'Members:') inMembers = true;
    else if (l === '') inMembers = false;
    else if (inMembers) out.push(`add ${name} ${l}`);
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

/**
 * The commands that make the interface an `ip addr show` prints, the way kube-proxy makes
 * kube-ipvs0: a dummy link left down (pkg/proxy/ipvs/util/netlink_linux.go EnsureDummyDevice,
 * kubernetes v1.35.0), then each address added with netlink without a broadcast address
 * (EnsureAddressBind: `netlink.Addr{IPNet: …}`; vishvananda/netlink sets no broadcast for a
 * /31 or /32). The link's MAC (random in a real node) is taken from the fake's output.
 */
export function linkCommandsFromAddrShow(show: string): string[][] {
  const head = /^\d+: ([^:@\s]+): </m.exec(show);
  const mac = /^\s+link\/ether ([0-9a-f:]{17}) /m.exec(show);
  if (!head) return [];
  const dev = head[1]!;
  const cmds: string[][] = [
    ['ip', 'link', 'add', dev, ...(mac ? ['address', mac[1]!] : []), 'type', 'dummy'],
  ];
  for (const m of show.matchAll(/^\s+inet6? (\S+) /gm))
    cmds.push(['ip', 'addr', 'add', m[1]!, 'dev', dev]);
  return cmds;
}

// ---------------------------------------------------------------------------------------
// Comparing.

/**
 * A line diff (longest common subsequence): `  same`, `- real only`, `+ fake only`; runs of
 * unchanged lines beyond `context` are shown as `…`.
 */
export function lineDiff(real: string, fake: string, context = 2): string {
  const a = real.split('\n');
  const b = fake.split('\n');
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i]![j] =
        a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const rows: Array<[' ' | '-' | '+', string]> = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      rows.push([' ', a[i]!]);
      i++;
      j++;
    } else if (j < m && (i >= n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) rows.push(['+', b[j++]!]);
    else rows.push(['-', a[i++]!]);
  }
  const keep = rows.map((r, k) =>
    rows.slice(Math.max(0, k - context), k + context + 1).some((x) => x[0] !== ' '),
  );
  const out: string[] = [];
  rows.forEach((r, k) => {
    // trailing blanks of changed lines shown as · (they are often the difference)
    const text = r[0] === ' ' ? r[1] : r[1].replace(/ +$/, (m) => '·'.repeat(m.length));
    if (keep[k]) out.push(`${r[0]} ${text}`);
    else if (keep[k - 1]) out.push('  …');
  });
  return out.join('\n');
}

export interface Difference {
  /** Where the real side ran: "netns iptables-nft", "micro-VM", … */
  where: string;
  node: string;
  /** The listing command, as run in the node. */
  command: string;
  /** Line diff: `-` what the real program printed, `+` what the fake printed. */
  diff: string;
}

/** Compare one listing; a Difference when they differ after the named normalisation. */
export function compare(
  at: { where: string; node: string; command: string },
  real: Out,
  fake: Out,
  normalise: Normaliser,
): Difference | undefined {
  const n = normalise(real.stdout, fake.stdout);
  const problems: string[] = [];
  if (real.code !== fake.code)
    problems.push(
      `exit code: real ${real.code}${real.stderr ? ` (${real.stderr.trim()})` : ''}, fake ${fake.code}${fake.stderr ? ` (${fake.stderr.trim()})` : ''}`,
    );
  if (n.real !== n.fake) problems.push(lineDiff(n.real, n.fake));
  if (real.code !== 0 && fake.code !== 0 && real.stderr.trim() !== fake.stderr.trim())
    problems.push(`stderr:\n- ${real.stderr.trim()}\n+ ${fake.stderr.trim()}`);
  return problems.length ? { ...at, diff: problems.join('\n') } : undefined;
}

/** All differences as one readable report (the assertion message). */
export function report(diffs: readonly Difference[]): string {
  return diffs.map((d) => `── ${d.node}: ${d.command}  [real: ${d.where}]\n${d.diff}`).join('\n\n');
}
