// Model layer, iptables mode: the nat-table chains kube-proxy's iptables proxier programs for
// the service ports it sees (lib/services.mjs). Pure data out ({ chains, owned }).
//
// Sources: kubernetes/kubernetes pkg/proxy/iptables/proxier.go (layout of the 1.2x–1.3x
// series: KUBE-SVC-/KUBE-SEP-/KUBE-EXT- chains named by servicePortChainName's hash, the
// "! -s <clusterCIDR> ... -j KUBE-MARK-MASQ" rule inside KUBE-SVC, the "masquerade traffic
// for ... external destinations" rule of the external chain) and real captures:
// real-outputs-modern/iptables/06 (KUBE-SVC/KUBE-SEP rule layout and the statistic
// probabilities as iptables prints them, e.g. 0.33333333349 for a third) and iptables/03
// (KUBE-EXT chains, KUBE-NODEPORTS, the localhost NodePort rule with nfacct of
// localhostNodePorts=true, default).
import { kubeHash } from '../lib/services.mjs';

const svcPortName = (sp) => `${sp.ns}/${sp.name}${sp.portName ? `:${sp.portName}` : ''}`;

/**
 * The probability iptables prints for kube-proxy's "--probability %0.10f": xt_statistic
 * keeps lround(p * 2^31) and prints that back with "%.11f".
 */
export function probability(n) {
  const written = Number((1 / n).toFixed(10));
  return (Math.round(written * 0x80000000) / 0x80000000).toFixed(11);
}

/**
 * @param {object} a
 * @param {Array} a.sps service ports
 * @param {string} a.clusterCIDR detect-local CIDR
 * @param {boolean} [a.randomFully] iptables has --random-fully (HasRandomFully; 1.8.9 does)
 * @returns {{ chains: Record<string, string[]>, owned: RegExp }} chains to write (replacing
 *   what the node has for them) and which chain names the proxier owns (stale ones of these
 *   are deleted)
 */
export function iptablesProxier({ sps, clusterCIDR, randomFully = true }) {
  const chains = {
    'KUBE-SERVICES': [],
    'KUBE-NODEPORTS': [],
    'KUBE-MARK-MASQ': ['-j MARK --set-xmark 0x4000/0x4000'],
    'KUBE-POSTROUTING': [
      '-m mark ! --mark 0x4000/0x4000 -j RETURN',
      '-j MARK --set-xmark 0x4000/0x0',
      `-m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE${randomFully ? ' --random-fully' : ''}`,
    ],
  };
  for (const sp of sps) {
    // a port without endpoints gets no KUBE-SVC chain (its traffic is rejected in the filter
    // table instead, which the fake does not model)
    if (!sp.eps.length) continue;
    const name = svcPortName(sp);
    // servicePortChainName: sha256(servicePortName + protocol), no separator (checked by the
    // oracle: ns1/svc1:p80 + tcp → XPGD46QRK7WJZT7O in kube-proxy's TestOverallIPTablesRules)
    const hash = kubeHash(16, `${name}${sp.proto}`);
    const svc = `KUBE-SVC-${hash}`;
    chains['KUBE-SERVICES'].push(
      `-d ${sp.vip}/32 -p ${sp.proto} -m comment --comment "${name} cluster IP" -m ${sp.proto} --dport ${sp.port} -j ${svc}`,
    );
    if (sp.nodePort) {
      const ext = `KUBE-EXT-${hash}`;
      chains['KUBE-NODEPORTS'].push(
        `-d 127.0.0.0/8 -p ${sp.proto} -m comment --comment "${name}" -m ${sp.proto} --dport ${sp.nodePort} -m nfacct --nfacct-name  localhost_nps_accepted_pkts -j ${ext}`,
        `-p ${sp.proto} -m comment --comment "${name}" -m ${sp.proto} --dport ${sp.nodePort} -j ${ext}`,
      );
      chains[ext] = [
        `-m comment --comment "masquerade traffic for ${name} external destinations" -j KUBE-MARK-MASQ`,
        `-j ${svc}`,
      ];
    }
    const rules = [
      `! -s ${clusterCIDR} -d ${sp.vip}/32 -p ${sp.proto} -m comment --comment "${name} cluster IP" -m ${sp.proto} --dport ${sp.port} -j KUBE-MARK-MASQ`,
    ];
    sp.eps.forEach((e, i) => {
      // servicePortEndpointChainName: sha256(servicePortName + protocol + "ip:port")
      const sep = `KUBE-SEP-${kubeHash(16, `${name}${sp.proto}${e.ip}:${e.port}`)}`;
      const left = sp.eps.length - i;
      const prob = left > 1 ? ` -m statistic --mode random --probability ${probability(left)}` : '';
      rules.push(`-m comment --comment "${name} -> ${e.ip}:${e.port}"${prob} -j ${sep}`);
      chains[sep] = [
        `-s ${e.ip}/32 -m comment --comment "${name}" -j KUBE-MARK-MASQ`,
        `-p ${sp.proto} -m comment --comment "${name}" -m ${sp.proto} -j DNAT --to-destination ${e.ip}:${e.port}`,
      ];
    });
    chains[svc] = rules;
  }
  chains['KUBE-SERVICES'].push(
    '-m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
  );
  return { chains, owned: /^KUBE-(SVC|SEP|EXT)-/ };
}
