// Renderers: `ipvsadm -Ln`, `ipvsadm -Sn` and /proc/net/ip_vs from the virtual servers the
// model gives ({ proto, addr: "ip:port", sched, persistent, rs: [{ ip, port }] }). Formats of
// ipvsadm 1.31 (Debian 12) as in the real captures real-outputs-modern/ipvsadm/01, 04, 05.

const PROTO = { tcp: 6, udp: 17, sctp: 132 };
const ipNum = (ip) => ip.split('.').reduce((n, o) => (n * 256 + Number(o)) >>> 0, 0);
const split = (addr) => {
  const i = addr.lastIndexOf(':');
  return [addr.slice(0, i), Number(addr.slice(i + 1))];
};
/**
 * ipvsadm sorts what the kernel returns (libipvs ipvs_cmp_services / ipvs_cmp_dests):
 * protocol number, then the address as a 32-bit wrapping difference (so 172.18.x sorts
 * before 10.x), then the port. Found by engineer H2's conformance test against the real
 * ipvsadm 1.31 in the Debian 12 micro-VM (/tmp/notes/conformance-diffs.md D2).
 */
const cmpAddr = (a, b) => {
  const [ia, pa] = split(a);
  const [ib, pb] = split(b);
  return (ipNum(ia) - ipNum(ib)) | 0 || pa - pb;
};
const sortVs = (vs) =>
  [...vs].sort((a, b) => (PROTO[a.proto] ?? 0) - (PROTO[b.proto] ?? 0) || cmpAddr(a.addr, b.addr));
const sortRs = (rs) => [...rs].sort((a, b) => cmpAddr(`${a.ip}:${a.port}`, `${b.ip}:${b.port}`));

export function ipvsadmList(vs) {
  const out = [
    'IP Virtual Server version 1.2.1 (size=4096)',
    'Prot LocalAddress:Port Scheduler Flags',
    '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
  ];
  for (const v of sortVs(vs)) {
    out.push(
      `${v.proto.toUpperCase()}  ${v.addr} ${v.sched}${v.persistent ? ` persistent ${v.persistent}` : ''}`,
    );
    // "  -> %-28s %-7s %-6d %-10u %-10u": the last column padded too (D3)
    for (const r of sortRs(v.rs))
      out.push(`  -> ${`${r.ip}:${r.port}`.padEnd(28)} Masq    1      0          0         `);
  }
  return `${out.join('\n')}\n`;
}

export function ipvsadmSave(vs) {
  const out = [];
  for (const v of sortVs(vs)) {
    const p = v.proto === 'udp' ? '-u' : '-t';
    out.push(`-A ${p} ${v.addr} -s ${v.sched}${v.persistent ? ` -p ${v.persistent}` : ''}`);
    for (const r of sortRs(v.rs)) out.push(`-a ${p} ${v.addr} -r ${r.ip}:${r.port} -m -w 1`);
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

/** /proc/net/ip_vs: addresses and ports in hex, as the kernel prints them. */
export function procIpvs(vs) {
  const hex = (ip, port) =>
    `${ip
      .split('.')
      .map((o) => Number(o).toString(16).toUpperCase().padStart(2, '0'))
      .join('')}:${Number(port).toString(16).toUpperCase().padStart(4, '0')}`;
  const lines = [
    'IP Virtual Server version 1.2.1 (size=4096)',
    'Prot LocalAddress:Port Scheduler Flags',
    '  -> RemoteAddress:Port Forward Weight ActiveConn InActConn',
  ];
  for (const v of vs) {
    const [ip, port] = v.addr.split(':');
    // the kernel's format (net/netfilter/ipvs/ip_vs_ctl.c): "%s  %08X:%04X %s %s " (scheduler,
    // then "ops " or nothing), so two spaces after the scheduler (Debian 12 kernel 6.1 in the
    // micro-VM, conformance-diffs.md D8); persistence as "persistent <timeout in jiffies>
    // <netmask>" (Debian's CONFIG_HZ=250: not checked on a real node); real servers
    // "%-7s %-6d %-10d %-10d"
    lines.push(
      `${v.proto.toUpperCase()}  ${hex(ip, port)} ${v.sched}  ${v.persistent ? `persistent ${v.persistent * 250} FFFFFFFF` : ''}`,
    );
    for (const r of v.rs)
      lines.push(`  -> ${hex(r.ip, r.port)}      Masq    1      0          0         `);
  }
  return `${lines.join('\n')}\n`;
}
