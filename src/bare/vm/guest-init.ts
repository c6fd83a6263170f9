/**
 * The guest's /init: mounts the kernel filesystems, loads the modules the lab needs (one
 * busybox modprobe), then serves the control port (the second serial port, ttyS1):
 *
 *   host → guest   RUN <id> <bytes>\n<script of exactly <bytes> bytes>
 *   guest → host   <everything the script printed, stdout and stderr>@@DONE <id> <exit code>\n
 *   host → guest   OFF\n                       (power off)
 *
 * The guest has no network card: this port is the only way in and out. Kernel messages go
 * to the first serial port (ttyS0), which the host keeps as a log file.
 */

export const READY_LINE = '@@READY';
export const DONE_PREFIX = '@@DONE';

export function guestInit(modules: readonly string[]): string {
  return `#!/bin/sh
export PATH=/usr/sbin:/usr/bin LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu HOME=/root
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /run /tmp /var/run /root
mount -t tmpfs run /run
mount -t tmpfs tmp /tmp
read -r up _ </proc/uptime; echo "proxylab-guest: init at $up s" >/dev/ttyS0
if ! modprobe -a ${modules.join(' ')} 2>/tmp/modprobe.err; then
  echo "proxylab-guest: modprobe failed" >/dev/ttyS0
  cat /tmp/modprobe.err >/dev/ttyS0
fi
ip link set lo up
read -r up _ </proc/uptime; echo "proxylab-guest: modules loaded at $up s" >/dev/ttyS0
stty -F /dev/ttyS1 raw -echo -ixon -ixoff 2>/dev/null
exec 3</dev/ttyS1 4>/dev/ttyS1
echo "${READY_LINE} $(uname -r) $(cut -d' ' -f1 /proc/uptime)" >&4
while read -r verb id len <&3; do
  case "$verb" in
    RUN)
      head -c "$len" <&3 >/tmp/job.sh
      sh /tmp/job.sh </dev/null >&4 2>&1
      echo "${DONE_PREFIX} $id $?" >&4
      ;;
    OFF)
      sync
      poweroff -f
      ;;
  esac
done
poweroff -f
`;
}
