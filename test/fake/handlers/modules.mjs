// Fake handlers: the Docker engine's kernel modules, as a kind node sees them (issue 16).
// kind nodes are privileged and mount the engine host's /lib/modules read-only (kind v0.31.0
// pkg/cluster/internal/providers/docker/provision.go), and kind's image ships kmod
// (images/base/Dockerfile), so every node of every cluster shares ONE module state: the
// engine's kernel. Kept in state.ext.modules.loaded (module names).
//   cat /proc/modules                          loaded modules, /proc/modules format
//   cat /lib/modules/<release>/modules.builtin built-in modules (none by default: Debian
//                                              builds IPVS and nf_conntrack as modules)
//   modprobe [-a] [--] NAME...                 loads; a name the engine's /lib/modules lacks:
//                                              "modprobe: FATAL: Module X not found in
//                                              directory /lib/modules/<release>", exit 1;
//                                              with -a kmod goes on with the next name
//                                              (kmod tools/modprobe.c insmod_all)
// Knobs:
//   FAKE_ENGINE_MODULES_MISSING="ip_vs_mh,..."  not in the engine's /lib/modules (Docker
//                                               Desktop's kernel, a minimal one)
//   FAKE_ENGINE_MODULES_LOADED="ip_vs,..."      loaded when the state is first made
//   FAKE_ENGINE_NO_MODULE_TREE=1                /lib/modules/<release> absent in the node
//   FAKE_ENGINE_BUILTIN="ip_vs,..."             built into the engine's kernel

const list = (v) =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

// what a Debian 12 engine running a kind cluster in iptables mode has loaded
const DEFAULT_LOADED = ['nf_conntrack', 'nf_nat', 'nf_tables', 'xt_conntrack', 'br_netfilter'];

function engine(c) {
  c.state.ext ??= {};
  c.state.ext.modules ??= {
    loaded: [...new Set([...DEFAULT_LOADED, ...list(c.env.FAKE_ENGINE_MODULES_LOADED)])],
  };
  return c.state.ext.modules;
}

function procModules(loaded) {
  return loaded.map((m) => `${m} 65536 0 - Live 0x0000000000000000\n`).join('');
}

export const handlers = [
  {
    tool: 'node',
    name: 'cat /proc/modules',
    match: (c) => c.argv[0] === 'cat' && c.argv.length === 2 && c.argv[1] === '/proc/modules',
    run(c) {
      c.out(procModules(engine(c).loaded));
      return 0;
    },
  },
  {
    tool: 'node',
    name: 'cat /lib/modules/REL/modules.builtin',
    match: (c) =>
      c.argv[0] === 'cat' &&
      c.argv.length === 2 &&
      /^\/lib\/modules\/[^/]+\/modules\.builtin$/.test(c.argv[1]),
    run(c) {
      if (
        c.env.FAKE_ENGINE_NO_MODULE_TREE === '1' ||
        c.argv[1] !== `/lib/modules/${c.node.kernel}/modules.builtin`
      )
        c.fail(1, `cat: ${c.argv[1]}: No such file or directory`);
      c.out(
        list(c.env.FAKE_ENGINE_BUILTIN)
          .map((m) => `kernel/net/netfilter/ipvs/${m}.ko\n`)
          .join(''),
      );
      return 0;
    },
  },
  {
    tool: 'node',
    name: 'modprobe',
    match: (c) => c.argv[0] === 'modprobe',
    run(c) {
      const args = c.argv.slice(1);
      const all = args.includes('-a') || args.includes('--all');
      const names = args.filter((a) => !a.startsWith('-'));
      const missing = new Set(list(c.env.FAKE_ENGINE_MODULES_MISSING));
      const st = engine(c);
      let code = 0;
      for (const m of all ? names : names.slice(0, 1)) {
        if (c.env.FAKE_ENGINE_NO_MODULE_TREE === '1' || missing.has(m)) {
          c.err(
            `modprobe: FATAL: Module ${m} not found in directory /lib/modules/${c.node.kernel}\n`,
          );
          code = 1;
          continue;
        }
        if (!st.loaded.includes(m) && !list(c.env.FAKE_ENGINE_BUILTIN).includes(m))
          st.loaded.push(m);
      }
      return code;
    },
  },
];
