/**
 * The large inputs of linear.test.ts, each built and parsed in a process of its own
 * (`node --import tsx linear-cases.ts <case>`), so that a parser stuck in quadratic time is
 * stopped by the test's time bound (a synchronous loop in the test's own process could not
 * be). Prints what was read, as JSON, for the test to check.
 */
import {
  kubeProxyNftView,
  parseIptables,
  parseNft,
  stripAnnotation,
} from '../../../src/inspect/index.js';

export const CASES = {
  /** A service-ips map of 20,000 elements, one per line as nft wraps them. */
  nftMap(): unknown {
    const n = 20_000;
    const els = Array.from(
      { length: n },
      (_, i) =>
        `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255} . tcp . 80 : goto service-AAAA${i}-ns/s${i}/tcp/http`,
    ).join(',\n\t\t\t     ');
    const r = parseNft(
      [
        'table ip kube-proxy {',
        '\tmap service-ips {',
        '\t\ttype ipv4_addr . inet_proto . inet_service : verdict',
        `\t\telements = { ${els} }`,
        '\t}',
        '}',
      ].join('\n'),
    );
    const map = r.tables[0]!.sets['service-ips']!;
    return {
      elements: map.elements.length,
      last: map.elements[n - 1],
      services: kubeProxyNftView(r)!.services.length,
      skipped: r.skipped.length,
    };
  },
  /** 320,000 quoted comments on one rule line. */
  iptablesQuoted(): unknown {
    const n = 320_000;
    const line = `-A KUBE-SERVICES ${'-m comment --comment "x y" '.repeat(n)}-m comment --comment "last \\"one\\"" -j ACCEPT`;
    const rule = parseIptables(line).tables.unknown!.chains['KUBE-SERVICES']!.rules[0]!;
    return { matches: rule.matches.length, comment: rule.comment, target: rule.target };
  },
  /** 64,000 `# ` on one line. */
  annotations(): unknown {
    const n = 64_000;
    const noisy = `-A X -j ACCEPT${' # a'.repeat(n)}`;
    return {
      keptWhole: stripAnnotation(noisy) === noisy,
      afterTwoSpaces: stripAnnotation(`-A X -j ACCEPT  #${' # a'.repeat(n)}`),
      nonAsciiNote: stripAnnotation(`${noisy} 注释`),
      target: parseIptables(`-A X -j ACCEPT  #${' # a'.repeat(n)}`).tables.unknown!.chains.X!
        .rules[0]!.target,
    };
  },
};

const name = process.argv[2] as keyof typeof CASES | undefined;
if (name && name in CASES) process.stdout.write(JSON.stringify(CASES[name]()));
