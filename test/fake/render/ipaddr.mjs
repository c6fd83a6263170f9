// Renderer: `ip addr show kube-ipvs0` / `ip link show kube-ipvs0` (iproute2 6.1, Debian 12).
// kube-ipvs0 is a dummy device kube-proxy never brings up: "<BROADCAST,NOARP> ... qdisc noop
// state DOWN group default qlen 1000" (Debian 12's kernel 6.1 and iproute2 6.1, checked by
// engineer H2 in the micro-VM, /tmp/notes/conformance-diffs.md D4; an older minikube capture,
// real-outputs-modern/kube-ipvs0/01, shows no qlen), each ClusterIP as
// "inet X/32 scope global kube-ipvs0" with no "brd" (netlink_linux.go EnsureAddressBind adds a
// bare /32; real captures kube-ipvs0/01, 04, 05).
import { createHash } from 'node:crypto';

export function kubeIpvs0(nodeName, ips, { link = false, ifindex = 7 } = {}) {
  // a locally administered unicast address, as the kernel gives a new dummy interface
  const raw = createHash('md5').update(nodeName).digest();
  raw[0] = (raw[0] & 0xfe) | 0x02;
  const mac = [...raw.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
  const lines = [
    `${ifindex}: kube-ipvs0: <BROADCAST,NOARP> mtu 1500 qdisc noop state DOWN ${link ? 'mode DEFAULT ' : ''}group default qlen 1000`,
    `    link/ether ${mac} brd ff:ff:ff:ff:ff:ff`,
  ];
  if (!link)
    for (const ip of ips)
      lines.push(
        `    inet ${ip}/32 scope global kube-ipvs0`,
        '       valid_lft forever preferred_lft forever',
      );
  return `${lines.join('\n')}\n`;
}
