// Model layer: a kind node's own network addresses, as kube-proxy's
// GetAllLocalAddressesExcept("kube-ipvs0") sees them (pkg/proxy/ipvs/netlink_linux.go:
// every interface but kube-ipvs0, loopback and IPv6 link-local left out).
//
// A kind node has eth0 on the kind Docker network (172.18.0.N) and, with kindnet, one
// host-side veth per pod. kindnet's CNI config is the standard `ptp` plugin with
// host-local IPAM (kubernetes-sigs/kind v0.31.0 images/kindnetd/cmd/kindnetd/cni.go,
// cniConfigTemplate "type": "ptp"); ptp gives every host-side veth the range's gateway
// address, the pod CIDR's .1, as a /32. So a node with at least one pod on the pod network
// has 10.244.N.1 as a local address, and IPVS mode puts a NodePort virtual server on it
// (real capture: real-outputs-modern/ipvsadm/04, TCP 10.244.1.1:30064 on a kind worker).
// No 127.0.0.1 NodePorts since 1.22 (kubernetes/kubernetes PR #101023).
import { list } from '../lib/cluster.mjs';

/** The pod CIDR's gateway address (first host address): 10.244.1.0/24 → 10.244.1.1. */
export function podGateway(podCIDR) {
  const [net] = podCIDR.split('/');
  const o = net.split('.').map(Number);
  o[3] += 1;
  return o.join('.');
}

/** Does a pod on the pod network (a ptp veth) run on this node? */
export function hasPodVeth(cluster, node) {
  return list(cluster, 'Pod').some(
    (p) =>
      p.spec?.nodeName === node.name &&
      p.spec?.hostNetwork !== true &&
      p.status?.podIP &&
      p.status.podIP !== node.ip &&
      p.status?.phase !== 'Succeeded' &&
      p.status?.phase !== 'Failed',
  );
}

/** IPv4 addresses IPVS mode uses for NodePorts on this node, in interface order. */
export function nodePortAddresses(cluster, node) {
  const out = [node.ip]; // eth0
  if (node.podCIDR && hasPodVeth(cluster, node)) out.push(podGateway(node.podCIDR));
  return out;
}
