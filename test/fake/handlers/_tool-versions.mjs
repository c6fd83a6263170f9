// Named with a leading "_" so it loads before labs.mjs, whose `nft` handler takes every nft call.
// `<tool> --version` inside a kind node (iptables, ip6tables, ipset, nft, ipvsadm), as the
// node image's Debian 12 packages print it: facts and sources in model/k8s-versions.mjs.
// scripts/record.mjs puts them in the header of every recorded output.
import { NODE_TOOL_VERSIONS } from '../model/k8s-versions.mjs';

/** Not in kind's node image: installed by `proxylab node-tools` (apt-get install). */
const FROM_APT = new Set(['ipset', 'ipvsadm']);

export const handlers = [
  {
    tool: 'node',
    name: 'tool --version',
    match: (c) =>
      Object.hasOwn(NODE_TOOL_VERSIONS, c.argv[0]) &&
      c.argv.length === 2 &&
      c.argv[1] === '--version',
    run(c) {
      const tool = c.argv[0];
      if (FROM_APT.has(tool) && !(c.node.packages ?? []).includes(tool))
        c.fail(
          127,
          `OCI runtime exec failed: exec failed: unable to start container process: exec: "${tool}": executable file not found in $PATH: unknown`,
        );
      c.out(`${NODE_TOOL_VERSIONS[tool]}\n`);
      return 0;
    },
  },
];
