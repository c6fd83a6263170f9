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
 * The ready endpoints of one Service port, as kube-proxy reads them: from the Service's
 * EndpointSlices when it has any (what kube-proxy watches), else from its v1 Endpoints
 * (the fake's own controller writes those for selector Services).
 */
function readyEndpoints(cluster, svc, p) {
  const ns = svc.metadata.namespace;
  const slices = list(cluster, 'EndpointSlice', ns).filter(
    (x) => x.metadata.labels?.['kubernetes.io/service-name'] === svc.metadata.name,
  );
  if (slices.length) {
    const eps = [];
    for (const sl of slices) {
      // the IPv4 proxier reads only IPv4 slices (this IPv4 cluster's Services are IPv4)
      if (sl.addressType && sl.addressType !== 'IPv4') continue;
      const sp = (sl.ports ?? []).find((x) => (x.name ?? '') === (p.name ?? '')) ?? sl.ports?.[0];
      for (const e of sl.endpoints ?? []) {
        if (e.conditions?.ready === false) continue;
        for (const ip of e.addresses ?? [])
          eps.push({
            ip,
            port: sp?.port ?? p.targetPort ?? p.port,
            pod: e.targetRef?.name,
            node: e.nodeName,
          });
      }
    }
    return eps;
  }
  const ep = getObj(cluster, 'Endpoints', ns, svc.metadata.name);
  const sub = ep?.subsets?.[0];
  const epPort =
    sub?.ports?.find((x) => x.name === p.name)?.port ?? sub?.ports?.[0]?.port ?? p.targetPort;
  return (sub?.addresses ?? []).map((a) => ({
    ip: a.ip,
    port: epPort,
    pod: a.targetRef?.name,
    node: a.nodeName,
  }));
}

/**
 * Service ports with their ready endpoints, from the cluster's objects, endpoints in
 * kube-proxy's order. One model for every handler that renders a proxy mode's rules.
 */
export function servicePorts(cluster) {
  const out = [];
  for (const svc of list(cluster, 'Service')) {
    if (!svc.spec.clusterIP || svc.spec.clusterIP === 'None') continue;
    for (const p of svc.spec.ports ?? []) {
      const eps = readyEndpoints(cluster, svc, p);
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
