#!/usr/bin/env node
// A stand-in for qemu-system-x86_64 in the micro-VM tests: it reads the same argv
// (-accel, -serial file:…, -chardev socket,…,path=…) and plays the guest's side of the control
// port (src/bare/vm/guest-init.ts): "@@READY <release> <uptime>", RUN → "@@DONE <id> 0", OFF.
// FAKE_QEMU_KVM / FAKE_QEMU_TCG choose what happens with each accelerator:
//   ok (default)  boots
//   fail          prints what QEMU 7.2 prints when KVM cannot run the guest, then waits
//                 paused for ever (as QEMU does)
//   exit          prints an error and exits 1
//   silent        never says ready
import { appendFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';

const argv = process.argv.slice(2);
const arg = (name) => argv[argv.indexOf(name) + 1];
const accel = arg('-accel');
const behaviour = (accel === 'kvm' ? process.env.FAKE_QEMU_KVM : process.env.FAKE_QEMU_TCG) ?? 'ok';
const consoleFile = argv.find((a) => a.startsWith('file:'))?.slice(5);
const sock = /path=([^,]+)/.exec(argv.find((a) => a.startsWith('socket,')) ?? '')?.[1];
if (process.env.FAKE_QEMU_LOG) appendFileSync(process.env.FAKE_QEMU_LOG, `${accel}\n`);
if (consoleFile) writeFileSync(consoleFile, '');

if (behaviour === 'exit') {
  process.stderr.write(`qemu-system-x86_64: -accel ${accel}: could not open the kernel\n`);
  process.exit(1);
}
if (behaviour === 'fail') {
  // QEMU opens the control socket first, then runs the guest; the words it prints
  // (accel/kvm/kvm-all.c) when the KVM run loop returns an internal error
  createServer(() => {}).listen(sock);
  process.stderr.write(
    'KVM internal error. Suberror: 1\nextra data[0]: 0x0000000000000000\nemulation failure\nEAX=00000000 EBX=00000000 ECX=00000000 EDX=000306a9\n',
  );
  setInterval(() => {}, 1 << 30);
} else {
  const server = createServer((c) => {
    if (behaviour !== 'silent') c.write(`@@READY 6.1.0-fake-${accel} 0.42\n`);
    let buf = '';
    c.on('data', (d) => {
      buf += d.toString();
      for (;;) {
        const m = /^(RUN (\d+) (\d+)|OFF)\n/.exec(buf);
        if (!m) return;
        if (m[1] === 'OFF') {
          c.end();
          server.close();
          process.exit(0);
        }
        const len = Number(m[3]);
        if (buf.length < m[0].length + len) return;
        buf = buf.slice(m[0].length + len);
        c.write(`ran on ${accel}\n@@DONE ${m[2]} 0\n`);
      }
    });
  });
  server.listen(sock);
  process.on('SIGTERM', () => process.exit(143));
}
