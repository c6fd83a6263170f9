/**
 * Output forms: where a tool prints the same thing differently on the machines the labs run
 * on (Ubuntu 22.04/24.04, Debian 12, Fedora; iptables 1.8.7–1.8.11; ipset revisions by
 * kernel; iproute2 versions), one line of each form is brought to one canonical text before
 * it is compared, for that output kind only. The doc and the report keep the lines as
 * printed; only the comparison sees the canonical form.
 *
 * Each form below names where it comes from; test/unit/doccheck/forms.test.ts checks each on
 * real outputs of both forms (test/fixtures/real-outputs*).
 */
import type { OutputKind } from './layout.js';

/**
 * iptables `-n` listings: 1.8.9 and 1.8.10 print the protocol column as a number (`0`, `6`,
 * `17`), 1.8.7, 1.8.8 and 1.8.11 as a name (`all`, `tcp`, `udp`): netfilter commit da8ecc62
 * ("xshared: Print protocol numbers if --numeric was given", 2022), reverted by 34f085b1
 * (2024, netfilter bugzilla 1729). Debian 12 (kind's node image) has 1.8.9, Ubuntu 22.04
 * 1.8.7, Ubuntu 24.04 1.8.10. Numbers from /etc/protocols (what iptables prints by name).
 */
const PROTO_NAMES: Record<string, string> = {
  '0': 'all',
  '1': 'icmp',
  '6': 'tcp',
  '17': 'udp',
  '58': 'ipv6-icmp',
  '132': 'sctp',
};

/** The protocol column is the word just before the opt column (`--`, `-f`, `!f`). */
const PROT_BEFORE_OPT = /(^|\s)(\d{1,3})(\s+)(--|-f|!f)(?=\s|$)/;

function iptablesForm(line: string): string {
  return line.replace(PROT_BEFORE_OPT, (all, pre: string, num: string, sp: string, opt: string) => {
    const name = PROTO_NAMES[num];
    return name ? `${pre}${name}${sp}${opt}` : all;
  });
}

/**
 * `ipset list` header: the set type's revision depends on the kernel (hash:ip,port is
 * Revision 5 on older kernels, 6 on ≥ 5.11, …), and since kernel 5.11 / ipset 7.x hash sets
 * print `bucketsize N initval 0x…` in their Header line (older ones do not).
 */
function ipsetForm(line: string): string {
  if (/^Revision:\s+\d+\s*$/.test(line)) return 'Revision: (kernel)';
  if (line.startsWith('Header:'))
    // the doc may write the seed as `initval 0x[..]`: whatever follows the word goes too
    return line.replace(/\s+bucketsize\s+\S+/, '').replace(/\s+initval\s+\S+/, '');
  return line;
}

/**
 * `ip addr` / `ip link`:
 *  - kube-ipvs0's service addresses: kube-proxy before 1.2x added them with `brd <the same
 *    address>`, later ones without a broadcast address (real-outputs/kube-ipvs0/03 against
 *    real-outputs-modern/kube-ipvs0/01). Only a brd equal to the address is that form; a
 *    real broadcast address (eth0's `brd 172.18.255.255`) is kept;
 *  - the link line's `qlen N`: iproute2 prints it when the device has a transmit queue
 *    length (Debian 12's iproute2 6.1 prints `qlen 1000` for a dummy link made as
 *    kube-proxy makes it; other builds and kernels leave it out, with or without a trailing
 *    space after `group default`).
 */
function ipAddrForm(line: string): string {
  const inet = /^(\s*inet6?\s+)([0-9a-fA-F.:]+)(\/\d+)\s+brd\s+(\S+)(\s.*)?$/.exec(line);
  if (inet && inet[2] === inet[4]) return `${inet[1]}${inet[2]}${inet[3]}${inet[5] ?? ''}`;
  if (/^\d+:\s+\S+:\s+</.test(line)) return line.replace(/\s+qlen\s+\d+\s*$/, '');
  return line;
}

const FORMS: Partial<Record<OutputKind, (line: string) => string>> = {
  iptables: iptablesForm,
  ipset: ipsetForm,
  'ip-addr': ipAddrForm,
};

/** The canonical text of one output line of this kind (the line itself where no form applies). */
export function canonicalLine(kind: OutputKind, line: string): string {
  const f = FORMS[kind];
  return f ? f(line) : line;
}

/** The kinds that have forms, and what each makes equal (for docs and messages). */
export const FORM_NOTES: Partial<Record<OutputKind, string>> = {
  iptables: 'protocol numbers (0, 6, 17: iptables 1.8.9–1.8.10 with -n) equal their names',
  ipset: 'the set Revision and the Header bucketsize/initval depend on the kernel',
  'ip-addr': '`brd` equal to the address and the link’s `qlen N` depend on versions',
};
