/**
 * Chain names the way kube-proxy derives them, so generated rulesets look like a node's.
 *
 * iptables mode: `KUBE-SVC-` + the first 16 characters of base32(sha256(servicePortName +
 * protocol)), `KUBE-SEP-` + the same over servicePortName + protocol + "ip:port".
 * nftables mode: `service-` + 8 characters of base32(sha256(base)) + `-` + base, where base is
 * "ns/name/proto/portName" (endpoint chains append "__ip/port").
 * Checked against real outputs: "default/kubernetes:https" + tcp → NPX46M4PTMTKRN6Y,
 * "default/test-svc" + tcp + 10.244.1.3:80 → SQEBHSRBMT4ZUBXZ, "kube-system/kube-dns/udp/dns" →
 * FY5PMXPG.
 */
import { createHash } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 (standard alphabet, no padding needed for the prefixes we keep). */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = ((acc << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(acc << (5 - bits)) & 31];
  return out;
}

function hash(text: string, chars: number): string {
  return base32(createHash('sha256').update(text).digest()).slice(0, chars);
}

/** "ns/name:port" (or "ns/name" for an unnamed port), as kube-proxy prints it in comments. */
export function servicePortName(ns: string, name: string, portName: string): string {
  return `${ns}/${name}${portName ? `:${portName}` : ''}`;
}

export function iptablesServiceChain(spn: string, protocol = 'tcp'): string {
  return `KUBE-SVC-${hash(spn + protocol, 16)}`;
}

export function iptablesEndpointChain(spn: string, endpoint: string, protocol = 'tcp'): string {
  return `KUBE-SEP-${hash(spn + protocol + endpoint, 16)}`;
}

/** "ns/name/tcp/portName": the readable part of nftables chain names. */
export function nftBaseName(ns: string, name: string, portName: string, protocol = 'tcp'): string {
  return `${ns}/${name}/${protocol}/${portName}`;
}

export function nftServiceChain(base: string): string {
  return `service-${hash(base, 8)}-${base}`;
}

export function nftEndpointChain(base: string, ip: string, port: number): string {
  const full = `${base}__${ip}/${port}`;
  return `endpoint-${hash(full, 8)}-${full}`;
}
