// Renderer: `ipset list [NAME]` and `ipset list -n`, as ipset v7.17 (Debian 12, the same as
// kind v0.31's node image) prints kube-proxy's sets. Checked by creating the same sets with
// the real ipset in a network namespace on this machine (kernel 6.18): hash:ip,port
// Revision 7, hash:ip,port,ip 6, hash:ip,port,net 8, hash:ip 6, bitmap:port 3, every hash
// header ending "bucketsize 12 initval 0x<per set>", bitmap:port "range 0-65535" and
// "Size in memory: 8264". On 5.11–6.0 kernels hash:ip,port is Revision 6 (real capture
// real-outputs-modern/ipset/03, kernel 5.15; ipset/02, kernel 5.13): the bitmask
// revisions came with Linux 6.1.
import { createHash } from 'node:crypto';
import { words } from '../lib/words.mjs';

function kernelAtLeast(kernel, major, minor) {
  const m = /^(\d+)\.(\d+)/.exec(kernel ?? '');
  if (!m) return true;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a > major || (a === major && b >= minor);
}

/** Set type → Revision the kernel reports. */
export function revision(type, kernel) {
  const bitmask = kernelAtLeast(kernel, 6, 1);
  switch (type) {
    case 'hash:ip,port':
      return bitmask ? 7 : 6;
    case 'hash:ip':
      return bitmask ? 6 : 5;
    case 'hash:ip,port,ip':
      return 6;
    case 'hash:ip,port,net':
      return 8;
    case 'bitmap:port':
      return 3;
    default:
      return 6;
  }
}

/**
 * Size in memory as the real ipset printed it here: a base per type plus a fixed amount per
 * entry while entries land in distinct buckets (the matcher ignores sizes; this keeps them
 * plausible).
 */
function size(type, family, n) {
  if (type === 'bitmap:port') return 8264;
  const v6 = family === 'inet6' ? 16 : 0;
  switch (type) {
    case 'hash:ip,port':
      return 216 + v6 + 48 * n;
    case 'hash:ip,port,ip':
      return 208 + v6 + 56 * n;
    case 'hash:ip,port,net':
      return 464 + v6 + 64 * n;
    case 'hash:ip':
      return 216 + v6 + 40 * n;
    default:
      return 200 + 48 * n;
  }
}

/** How many iptables rules (any table, either family) match on the set. */
function references(name, tablesList) {
  let n = 0;
  for (const tables of tablesList)
    for (const chains of Object.values(tables ?? {}))
      for (const rules of Object.values(chains))
        for (const r of rules) {
          const w = words(r);
          const i = w.indexOf('--match-set');
          if (i >= 0 && w[i + 1] === name) n++;
        }
  return n;
}

/**
 * @param {Record<string, {type: string, family?: string, members: string[]}>} sets
 * @param {{ only?: string, kernel?: string, seed?: string, tables?: object[] }} o
 */
export function ipsetList(sets, { only, kernel, seed = '', tables = [] } = {}) {
  const names = Object.keys(sets).filter((n) => !only || n === only);
  return names
    .map((n) => {
      const s = sets[n];
      const family = s.family ?? 'inet';
      // every hash set gets its own random initval at creation
      const initval = createHash('md5').update(`${seed}/${n}`).digest('hex').slice(0, 8);
      const header =
        s.type === 'bitmap:port'
          ? 'range 0-65535'
          : `family ${family} hashsize 1024 maxelem 65536 bucketsize 12 initval 0x${initval}`;
      return [
        `Name: ${n}`,
        `Type: ${s.type}`,
        `Revision: ${revision(s.type, kernel)}`,
        `Header: ${header}`,
        `Size in memory: ${size(s.type, family, s.members.length)}`,
        `References: ${references(n, tables)}`,
        `Number of entries: ${s.members.length}`,
        'Members:',
        ...s.members,
      ].join('\n');
    })
    .join('\n\n')
    .concat(names.length ? '\n' : '');
}
