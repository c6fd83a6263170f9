// Core commands inside a node container (`docker exec NODE ...`). Extensions add ipvsadm,
// iptables-save, ipset, ip, curl, apt-get ... in test/fake/handlers/.

function nodeFile(c, path) {
  if (path in c.node.files) return c.node.files[path];
  if (path === '/etc/os-release')
    return 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n';
  if (path === '/kind/version') return `${c.cluster.k8sVersion}\n`;
  if (path === '/etc/hostname') return `${c.node.name}\n`;
  return undefined;
}

export const handlers = [
  { tool: 'node', name: 'true', match: (c) => c.argv[0] === 'true', run: () => 0 },
  {
    tool: 'node',
    name: 'hostname',
    match: (c) => c.argv[0] === 'hostname',
    run: (c) => (c.out(`${c.node.name}\n`), 0),
  },
  {
    tool: 'node',
    name: 'uname',
    match: (c) => c.argv[0] === 'uname',
    run(c) {
      c.out(
        c.argv.includes('-r')
          ? `${c.node.kernel}\n`
          : c.argv.includes('-a')
            ? `Linux ${c.node.name} ${c.node.kernel} #1 SMP PREEMPT_DYNAMIC Debian x86_64 GNU/Linux\n`
            : 'Linux\n',
      );
      return 0;
    },
  },
  {
    tool: 'node',
    name: 'cat',
    match: (c) => c.argv[0] === 'cat' && c.argv.length > 1,
    run(c) {
      let code = 0;
      for (const p of c.argv.slice(1)) {
        const t = nodeFile(c, p);
        if (t === undefined) {
          c.err(`cat: ${p}: No such file or directory\n`);
          code = 1;
        } else c.out(t);
      }
      return code;
    },
  },
  {
    tool: 'node',
    name: 'which / command -v',
    match: (c) => c.argv[0] === 'which',
    run(c) {
      const builtin = [
        'iptables',
        'iptables-save',
        'iptables-restore',
        'ip6tables',
        'nft',
        'ip',
        'modprobe',
        'lsmod',
        'kmod',
        'cat',
        'sh',
        'bash',
        'curl',
        'apt-get',
        'kubectl',
        'crictl',
        'conntrack',
      ];
      let code = 0;
      for (const b of c.argv.slice(1)) {
        if (builtin.includes(b) || c.node.packages.includes(b)) c.out(`/usr/sbin/${b}\n`);
        else code = 1;
      }
      return code;
    },
  },
];
