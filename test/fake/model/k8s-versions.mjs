// Model layer: what differs between the Kubernetes versions the labs are checked on
// (configs/versions.yaml: kind v0.31.0's node images for 1.31, 1.33 and 1.35; 1.32 and 1.34
// fall in the ranges below). One table of facts, each with its source beside it; the rest of
// the fake asks here instead of comparing minor numbers itself.
//
// What is the SAME for every node image of kind v0.31.0 (so not in the table):
//  - the OS, containerd and runc: every image of the release is built FROM one base image,
//    kindest/base:v20251215-d00590df (kind v0.31.0 pkg/build/nodeimage/defaults.go
//    DefaultBaseImage), which starts from debian:bookworm-slim and builds containerd v2.2.0
//    and runc v1.2.9 (kind v0.31.0 images/base/Dockerfile: BASE_IMAGE, CONTAINERD_VERSION,
//    RUNC_VERSION). So `osImage` is "Debian GNU/Linux 12 (bookworm)" on 1.31 as on 1.35, and
//    the node tools (iptables 1.8.9, nft 1.0.6, ipset, iproute2, ipvsadm 1.31 from apt) are
//    bookworm's on every version;
//  - the kernel: a kind node is a container and reports the engine's kernel (`uname -r`,
//    Node .status.nodeInfo.kernelVersion), whatever the image;
//  - the kubeadm config kind writes (/kind/kubeadm.conf): kind v0.31.0
//    pkg/cluster/internal/kubeadm/config.go Config() uses ConfigTemplateBetaV3
//    (`apiVersion: kubeadm.k8s.io/v1beta3`) for every version from 1.23 on, v1beta2 before;
//    its KubeProxyConfiguration is kubeproxy.config.k8s.io/v1alpha1 in both templates.
//    (proxylab's own `config kubeadm` writes v1beta4 from 1.31: src/config/kubeadm.ts.)

/** "v1.33.7" → 33 (own copy: lib/cluster.mjs imports this module). */
function minorOf(version) {
  const m = /^v?(\d+)\.(\d+)/.exec(version);
  return m ? Number(m[2]) : 0;
}

/**
 * kind v0.31.0's node images (release notes, "Images pre-built for this release"; the 1.35
 * digest is kind v0.31.0 pkg/apis/config/defaults/image.go). Same as configs/versions.yaml.
 */
export const NODE_IMAGES = {
  35: 'kindest/node:v1.35.0@sha256:452d707d4862f52530247495d180205e029056831160e22870e37e3f6c1ac31f',
  34: 'kindest/node:v1.34.3@sha256:08497ee19eace7b4b5348db5c6a1591d7752b164530a36f855cb0f2bdcbadd48',
  33: 'kindest/node:v1.33.7@sha256:d26ef333bdb2cbe9862a0f7c3803ecc7b4303d8cea8e814b481b09949d353040',
  32: 'kindest/node:v1.32.11@sha256:5fc52d52a7b9574015299724bd68f183702956aa4a2116ae75a63cb574b35af8',
  31: 'kindest/node:v1.31.14@sha256:6f86cf509dbb42767b6e79debc3f2c32e4ee01386f0489b3b2be24b0a55aac2b',
};

/** kind v0.31.0 images/base/Dockerfile (every node image of the release). */
export const NODE_BASE = {
  osImage: 'Debian GNU/Linux 12 (bookworm)',
  containerRuntimeVersion: 'containerd://2.2.0',
};

/** kind v0.31.0 pkg/cluster/internal/kubeadm/config.go: Config() picks the template by version. */
export function kindKubeadmApiVersion(version) {
  return minorOf(version) < 23 ? 'kubeadm.k8s.io/v1beta2' : 'kubeadm.k8s.io/v1beta3';
}

/**
 * kubectl's version skew warning (staging/src/k8s.io/kubectl/pkg/cmd/version: printed on
 * stderr when client and server minors differ by more than one; real captures: client 1.33 /
 * server 1.31 "WARNING: version difference between client (1.33) and server (1.31) exceeds
 * the supported minor version skew of +/-1", kubectl 1.30 against 1.21 and 1.32 alike). The
 * pinned kubectl v1.35.0 against the 1.31 and 1.33 node images is outside the skew, so the
 * warning is printed there and not on 1.34/1.35.
 */
export function kubectlSkewWarning(clientVersion, serverVersion) {
  const c = minorOf(clientVersion);
  const s = minorOf(serverVersion);
  return Math.abs(c - s) > 1
    ? `WARNING: version difference between client (1.${c}) and server (1.${s}) exceeds the supported minor version skew of +/-1\n`
    : '';
}

/** cmd/kube-proxy/app/server_linux.go (1.35, 1.36): the IPVS deprecation message. */
export const IPVS_DEPRECATION =
  "The ipvs proxier is now deprecated and may be removed in a future release. Please use 'nftables' instead.";

/**
 * kube-proxy's start-up log lines that change between the versions: the klog file:line and
 * the wording. Where the line numbers come from (the lab checker ignores klog headers, so
 * these matter to a reader comparing with a real log, not to the check):
 *  - 1.31–1.32 ("<33"): a real v1.32.13 log (test/fixtures/real-outputs-modern/
 *    kube-proxy-logs/08): server.go:698 "Successfully retrieved node IP(s)" IPs=[...],
 *    server.go:243 dual-stack, server_linux.go:292 "Using nftables Proxier"; the others of
 *    that layout (server.go:234, server_linux.go:175/263, server.go:511/513) follow the
 *    same file at 1.31/1.32, which logs the node IPs from server.go and the proxier choice
 *    from createProxier in server_linux.go;
 *  - 1.33–1.35 (">=33"): the node-IP lookup waits for the "node informer cache" and logs
 *    "Successfully retrieved NodeIPs" NodeIPs=[...] (server.go:219), dual-stack at
 *    server.go:265: a real v1.34.5 log (kubespray notes, 2026) and real v1.36.1 logs
 *    (kube-proxy-logs/07: server_linux.go:194/196, proxier.go:351, ipset.go:117);
 *  - the IPVS deprecation (Error level, right after "Using ipvs Proxier") only from 1.35:
 *    createProxier in cmd/kube-proxy/app/server_linux.go of 1.35 logs it and records the
 *    IPVSDeprecation Event; 1.31–1.34 have neither (the deprecation is KEP-5495, 1.35).
 * Exact line numbers of v1.31.14, v1.33.7 and v1.35.0 themselves could not be read here
 * (the source index does not map file versions to tags); the numbers are the nearest real
 * logs' and are marked as such.
 */
export function kubeProxyLogFacts(version) {
  const minor = minorOf(version);
  const modern = minor >= 33;
  return {
    minor,
    /** The node-IP lines: [severity, file:line, message] with the node's IP. */
    nodeIPs: (ip) =>
      modern
        ? [
            [
              'I',
              'shared_informer.go:349',
              '"Waiting for caches to sync" controller="node informer cache"',
            ],
            ['I', 'shared_informer.go:356', '"Caches are synced" controller="node informer cache"'],
            ['I', 'server.go:219', `"Successfully retrieved NodeIPs" NodeIPs=["${ip}"]`],
          ]
        : [['I', 'server.go:698', `"Successfully retrieved node IP(s)" IPs=["${ip}"]`]],
    configIncomplete: modern ? 'server.go:256' : 'server.go:234',
    dualStack: modern ? 'server.go:265' : 'server.go:243',
    proxier: {
      ipvs: modern ? 'server_linux.go:194' : 'server_linux.go:263',
      nftables: modern ? 'server_linux.go:246' : 'server_linux.go:292',
      iptables: modern ? 'server_linux.go:136' : 'server_linux.go:175',
    },
    /** 1.35+: the Error-level line after "Using ipvs Proxier" (and the Node Event). */
    ipvsDeprecation: minor >= 35 ? { src: 'server_linux.go:196', msg: IPVS_DEPRECATION } : null,
    versionInfo: modern ? 'server.go:527' : 'server.go:511',
    golang: modern ? 'server.go:529' : 'server.go:513',
  };
}

/**
 * `--version` of the node's network tools: the same on every node image of kind v0.31.0
 * (Debian 12 bookworm packages, see above). Run here, on Debian 12: `iptables --version`
 * (kind's node selects the nf_tables backend: images/base/files/usr/local/bin/iptables-wrapper
 * → "(nf_tables)"), `ipset --version`, `nft --version`; ipvsadm 1.31-1+b1 (bookworm's
 * package, what `proxylab node-tools` installs) prints its version line only with IPVS in the
 * kernel: the format string in the binary is "ipvsadm v1.31 2019/12/24 (compiled with popt and
 * IPVS v%d.%d.%d)" and the kernel's IPVS is 1.2.1 ("IP Virtual Server version 1.2.1" in
 * every real `ipvsadm -Ln`). ipset and ipvsadm are not in kind's image (installed by node-tools).
 */
export const NODE_TOOL_VERSIONS = {
  iptables: 'iptables v1.8.9 (nf_tables)',
  ip6tables: 'ip6tables v1.8.9 (nf_tables)',
  ipset: 'ipset v7.17, protocol version: 7',
  nft: 'nftables v1.0.6 (Lester Gooch #5)',
  ipvsadm: 'ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)',
};
