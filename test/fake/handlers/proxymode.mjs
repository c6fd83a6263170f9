// kube-proxy's metrics endpoint inside a node: `curl -s ... http://127.0.0.1:10249/proxyMode`
// answers the mode the running kube-proxy uses (node.datapath.kubeProxy.mode), as the real
// one does; no kube-proxy (or an unhealthy one) → curl's "connection refused" (exit 7).
// Knob: FAKE_PROXYMODE_DOWN="<node>[,<node>]" makes kube-proxy on those nodes not answer.
export const handlers = [
  {
    tool: 'node',
    name: 'curl 127.0.0.1:10249/proxyMode',
    match: (c) => c.argv[0] === 'curl' && c.argv.some((a) => /127\.0\.0\.1:10249\/proxyMode$|localhost:10249\/proxyMode$/.test(a)),
    run(c) {
      const down = (c.env.FAKE_PROXYMODE_DOWN ?? '').split(',').filter(Boolean);
      const kp = c.node.datapath?.kubeProxy;
      if (!kp || kp.healthy === false || down.includes(c.node.name)) {
        // curl -s prints nothing; its exit code says why
        return 7;
      }
      c.out(kp.mode);
      return 0;
    },
  },
];
