/**
 * A tiny writer for the "newc" cpio format the Linux kernel unpacks as its initramfs.
 * Only what an initramfs needs: directories, regular files, symlinks, character devices.
 */
import { gzipSync } from 'node:zlib';

export type CpioEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; data: Buffer | string; mode?: number }
  | { type: 'symlink'; path: string; target: string }
  | { type: 'chardev'; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function pad4(len: number): Buffer {
  const r = len % 4;
  return Buffer.alloc(r === 0 ? 0 : 4 - r);
}

function record(
  ino: number,
  mode: number,
  name: string,
  data: Buffer,
  rdev: [number, number] = [0, 0],
): Buffer[] {
  const nameBuf = Buffer.from(`${name}\0`);
  const header =
    '070701' +
    hex8(ino) +
    hex8(mode) +
    hex8(0) + // uid
    hex8(0) + // gid
    hex8(1) + // nlink
    hex8(0) + // mtime (0: reproducible archives)
    hex8(data.length) +
    hex8(0) + // devmajor
    hex8(0) + // devminor
    hex8(rdev[0]) +
    hex8(rdev[1]) +
    hex8(nameBuf.length) +
    hex8(0); // check
  const head = Buffer.concat([Buffer.from(header, 'ascii'), nameBuf]);
  return [head, pad4(head.length), data, pad4(data.length)];
}

/** The archive, uncompressed. Paths are relative ("bin/sh"), parents must come first. */
export function cpioNewc(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  for (const e of entries) {
    const path = e.path.replace(/^\/+/, '');
    switch (e.type) {
      case 'dir':
        parts.push(...record(ino++, S_IFDIR | (e.mode ?? 0o755), path, Buffer.alloc(0)));
        break;
      case 'file': {
        const data = typeof e.data === 'string' ? Buffer.from(e.data) : e.data;
        parts.push(...record(ino++, S_IFREG | (e.mode ?? 0o644), path, data));
        break;
      }
      case 'symlink':
        parts.push(...record(ino++, S_IFLNK | 0o777, path, Buffer.from(e.target)));
        break;
      case 'chardev':
        parts.push(
          ...record(ino++, S_IFCHR | (e.mode ?? 0o600), path, Buffer.alloc(0), [e.major, e.minor]),
        );
        break;
    }
  }
  parts.push(...record(0, 0, 'TRAILER!!!', Buffer.alloc(0)));
  return Buffer.concat(parts);
}

export function gzipCpio(entries: readonly CpioEntry[]): Buffer {
  return gzipSync(cpioNewc(entries), { level: 6 });
}
