// The fake cluster's Services as kube-proxy sees them, and kube-proxy's name hash.
import { createHash } from 'node:crypto';
import { list, getObj } from './cluster.mjs';

/**
 * kube-proxy's name hash: base32 of sha256, first n characters (16 for iptables chains as in
 * servicePortChainName, 8 for nftables chains as in hashAndTruncate).
 */
export function kubeHash(n, s) {
  const h = createHash('sha256').update(s).digest();
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let val = 0;
  let out = '';
  for (const b of h) {
    val = ((val << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5 && out.length < n) {
      out += A[(val >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

/**
 * Service ports with their ready endpoints, from the cluster's objects, endpoints in
 * kube-proxy's order. One model for every handler that renders a proxy mode's rules.
 */
export function servicePorts(cluster) {
  const out = [];
  for (const svc of list(cluster, 'Service')) {
    if (!svc.spec.clusterIP || svc.spec.clusterIP === 'None') continue;
    const ep = getObj(cluster, 'Endpoints', svc.metadata.namespace, svc.metadata.name);
    for (const p of svc.spec.ports ?? []) {
      const sub = ep?.subsets?.[0];
      const epPort =
        sub?.ports?.find((x) => x.name === p.name)?.port ?? sub?.ports?.[0]?.port ?? p.targetPort;
      const eps = (sub?.addresses ?? []).map((a) => ({
        ip: a.ip,
        port: epPort,
        pod: a.targetRef?.name,
        node: a.nodeName,
      }));
      const apiserver = cluster.nodes.find((n) => n.role === 'control-plane')?.ip ?? '172.18.0.2';
      if (svc.metadata.name === 'kubernetes' && !eps.some((e) => e.ip === apiserver))
        eps.push({ ip: apiserver, port: 6443 });
      // kube-proxy's endpoint cache keeps endpoints sorted by their "ip:port" string
      eps.sort((a, b) => (`${a.ip}:${a.port}` < `${b.ip}:${b.port}` ? -1 : 1));
      out.push({
        ns: svc.metadata.namespace,
        name: svc.metadata.name,
        portName: p.name ?? '',
        proto: (p.protocol ?? 'TCP').toLowerCase(),
        vip: svc.spec.clusterIP,
        port: p.port,
        nodePort: p.nodePort,
        affinity:
          svc.spec.sessionAffinity === 'ClientIP'
            ? (svc.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800)
            : 0,
        eps,
      });
    }
  }
  return out;
}
