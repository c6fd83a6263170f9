/**
 * Build (or show) the micro-VM image the bare lab runs in, by itself:
 *
 *   node --import tsx scripts/bare-image.ts           build it unless the cache has it
 *   node --import tsx scripts/bare-image.ts --force   rebuild it
 *
 * What it does is in src/bare/vm/image.ts: apt-get download Debian's kernel and the tools
 * (busybox-static, ipvsadm, ipset, iptables, iproute2 and their libraries), dpkg-deb -x
 * them into .cache/bare/build, keep the modules and libraries the lab needs, write an
 * initramfs. `proxylab bare` does the same on first use.
 */
import { ensureImage } from '../src/bare/vm/image.js';

const started = performance.now();
const image = await ensureImage({
  log: (l) => process.stdout.write(`${l}\n`),
  force: process.argv.includes('--force'),
});
process.stdout.write(
  `${image.built ? 'built' : 'cached'}: ${image.kernel} + ${image.initrd} (${(image.initrdBytes / 1e6).toFixed(1)} MB, kernel ${image.kernelRelease}) in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
);
