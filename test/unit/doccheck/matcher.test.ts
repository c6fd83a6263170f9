/**
 * The output matcher on real data: the shared real outputs and the seeds' blocks are the
 * expected text; programmatically altered copies are the actual output.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { modern, real, realFiles, seed, seedFiles } from '../../helpers/fixtures.js';
import { formatDiff, matchOutput, type MatchResult } from '../../../src/doccheck/matcher.js';
import { Bindings } from '../../../src/doccheck/bindings.js';
import { detectKind } from '../../../src/doccheck/layout.js';
import { parseLab } from '../../../src/doccheck/markdown.js';
import { ROOT } from '../../helpers/cli.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// ------------------------------------------------------------------ alterations

/** Rename every IPv4 address consistently to a fresh one (never an address already in the text). */
function renameIPs(
  text: string,
  keep: (ip: string) => boolean = () => false,
): { text: string; map: Map<string, string> } {
  const map = new Map<string, string>();
  let n = 0;
  const out = text.replace(/(?<![\w.])(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})(?![\w]|\.\d)/g, (ip) => {
    if (['0.0.0.0', '127.0.0.1', '255.255.255.255'].includes(ip) || keep(ip)) return ip;
    let v = map.get(ip);
    if (!v) {
      n++;
      v = `10.${200 + Math.floor(n / 250)}.${(n * 7) % 250}.${(n % 250) + 1}`;
      map.set(ip, v);
    }
    return v;
  });
  return { text: out, map };
}

/** ipvsadm: reverse the order of the virtual services and of each service's real servers (per section). */
function reorderIpvs(text: string): string {
  const lines = text.replace(/\n+$/, '').split('\n');
  const out: string[] = [];
  let groups: string[][] = [];
  const flush = () => {
    out.push(...groups.reverse().flatMap((g) => [g[0]!, ...g.slice(1).reverse()]));
    groups = [];
  };
  for (const l of lines) {
    if (/^(?:TCP|UDP|SCTP|FWM)\s/.test(l)) groups.push([l]);
    else if (groups.length && /^\s+->\s+\S+:\d+\s/.test(l)) groups[groups.length - 1]!.push(l);
    else {
      flush();
      out.push(l);
    }
  }
  flush();
  return out.join('\n');
}

/** Change the ActiveConn/InActConn counters of every real server. */
function bumpIpvsCounters(text: string): string {
  return text.replace(
    /^(\s+->\s+\S+\s+\w+\s+\d+\s+)(\d+)(\s+)(\d+)/gm,
    (_m, a: string, x: string, sp: string, y: string) =>
      `${a}${Number(x) + 17}${sp}${Number(y) + 3}`,
  );
}

function ok(r: MatchResult, what: string) {
  assert.ok(r.ok, `${what}: expected a match, got\n${formatDiff(r)}`);
}

function notOk(r: MatchResult, what: string): string {
  assert.equal(r.ok, false, `${what}: expected no match`);
  const text = formatDiff(r);
  assert.ok(
    r.diff.some((d) => d.op !== 'same'),
    `${what}: the diff names a line`,
  );
  return text;
}

// ------------------------------------------------------------------ identity

describe('every real output matches itself', () => {
  for (const dir of ['ipvsadm', 'iptables', 'ipset', 'kube-ipvs0', 'kube-proxy-logs', 'kubectl']) {
    for (const f of realFiles(dir)) {
      test(f, () => {
        const body = real(f).body;
        ok(matchOutput(body, body), f);
      });
    }
  }
  for (const f of seedFiles()) {
    test(`seed ${f}`, () => {
      const body = seed(f).body;
      ok(matchOutput(body, body), f);
    });
  }
});

// ------------------------------------------------------------------ tolerated changes

describe('tolerated: consistent renaming, reordering, counters and ages', () => {
  test('ipvsadm (seed 001, kind web): every IP renamed, services and real servers reordered, counters changed', () => {
    const exp = seed('001-ipvsadm-ln-kind-web.txt').body;
    const { text, map } = renameIPs(exp);
    const act = bumpIpvsCounters(reorderIpvs(text));
    assert.notEqual(act, exp);
    const r = matchOutput(exp, act);
    ok(r, 'renamed + reordered');
    assert.equal(r.kind, 'ipvsadm');
    assert.match(r.notes.join(' '), /compared as a set/);
    // every address was renamed, injectively (services with the same real servers may swap names)
    const ips = r.renamed.filter((x) => x.cls === 'ip');
    assert.equal(ips.length, map.size);
    assert.equal(new Set(ips.map((x) => x.actual)).size, ips.length);
    for (const x of ips) assert.ok([...map.values()].includes(x.actual), x.actual);
    // the default kubernetes service has one real server: no ambiguity there
    assert.equal(ips.find((x) => x.doc === '10.96.0.1')?.actual, map.get('10.96.0.1'));
  });

  for (const f of [
    'ipvsadm/01-opsnull-v1.16-multinode-loop.txt',
    'ipvsadm/04-minikube-nodeport-docker-bridges.txt',
    'ipvsadm/20-hwchiu-fresh-kubeadm-ipvs.txt',
    'ipvsadm/19-ssup2-headerless-body-only.txt',
  ]) {
    test(`ipvsadm ${f}: renamed + reordered + counters`, () => {
      const exp = real(f).body;
      const act = bumpIpvsCounters(reorderIpvs(renameIPs(exp).text));
      ok(matchOutput(exp, act), f);
    });
  }

  test('ipvsadm --stats: every counter changed', () => {
    const exp = real('ipvsadm/17-stats-nodeport-3-apiservers.txt').body;
    const act = exp.replace(
      /(\s)(\d+)(?=\s|$)/g,
      (_m, sp: string, n: string) => `${sp}${Number(n) * 3 + 1}`,
    );
    assert.notEqual(act, exp);
    ok(matchOutput(exp, act), '--stats');
  });

  test('ipset KUBE-CLUSTER-IP: members reordered and renamed, size and references changed', () => {
    const exp = real('ipset/03-hwchiu-KUBE-CLUSTER-IP.txt').body.trimEnd();
    const lines = renameIPs(exp).text.split('\n');
    const at = lines.indexOf('Members:');
    const act = [...lines.slice(0, at + 1), ...lines.slice(at + 1).reverse()]
      .join('\n')
      .replace(/Size in memory: \d+/, 'Size in memory: 1024')
      .replace(/References: \d+/, 'References: 7');
    const r = matchOutput(exp, act);
    ok(r, 'ipset');
    assert.equal(r.kind, 'ipset');
  });

  test('ip addr kube-ipvs0: addresses reordered, MAC and interface index changed', () => {
    const exp = real('kube-ipvs0/03-hwchiu-ip-addr-show-dev.txt').body.trimEnd();
    const lines = renameIPs(exp).text.split('\n');
    // swap the first and the last address (each with its valid_lft line)
    const head = lines.slice(0, 2);
    const pairs: string[][] = [];
    for (let i = 2; i < lines.length; i += 2) pairs.push(lines.slice(i, i + 2));
    const act = [...head, ...pairs.reverse().flat()]
      .join('\n')
      .replace(/^5:/, '9:')
      .replace('62:c9:fc:74:c4:f8', '0a:11:22:33:44:55');
    const r = matchOutput(exp, act);
    ok(r, 'ip addr');
    assert.ok(r.renamed.some((x) => x.cls === 'ifindex' && x.doc === '5' && x.actual === '9'));
    assert.ok(r.renamed.some((x) => x.cls === 'mac'));
  });

  test('kubectl get pods -o wide: ages, pod hashes and pod IPs changed, rows reordered', () => {
    const exp = real('kubectl/07-kep2086-get-po-wide-kind.txt').body.trimEnd();
    const lines = renameIPs(exp)
      .text.replace(/7d4db667fc/g, '5c9f8d6b47')
      .replace(/h5m5p/, 'x2k9q')
      .replace(/6m2s/, '41s')
      .replace(/5m59s/, '40s')
      .replace(/ 6m /, ' 39s')
      .split('\n');
    const act = [lines[0]!, ...lines.slice(1).reverse()].join('\n');
    const r = matchOutput(exp, act);
    ok(r, 'kubectl');
    assert.equal(r.kind, 'kubectl');
    assert.ok(
      r.renamed.some(
        (x) => x.cls === 'hash' && x.doc === '7d4db667fc' && x.actual === '5c9f8d6b47',
      ),
    );
  });

  test('kube-proxy log: klog headers (time, pid, file:line) changed', () => {
    const exp = seed('004-kube-proxy-log-ipvs-structured.txt').body;
    const act =
      exp.replace(
        /I0908 09:57:29\.(\d+)\s+1 (\w+)\.go:\d+\]/g,
        (_m, us: string, f: string) =>
          `I1121 22:01:0${us.length % 10}.123456       7 ${f}_linux.go:42]`,
      ) + '\nI1121 22:01:09.000001       1 proxier.go:1 "more lines the doc elides"';
    assert.notEqual(act, exp);
    ok(matchOutput(exp, act), 'log');
  });

  test('iptables-save with KUBE-SVC/KUBE-SEP hashes renamed, chains reordered', () => {
    const exp = seed('004-iptables-save-grep-KUBE-SVC.txt').body.trimEnd();
    const renamed = renameIPs(exp)
      .text.replace(/JTMI3DYZIM6D5ZYY/g, 'ABCDEFGHIJKLMNOP')
      .replace(/KQTOOYZ7OXINNODS/g, 'QRSTUVWXYZ234567');
    const lines = renamed.split('\n');
    // move the KUBE-NODEPORTS rule after the KUBE-SVC rules: another chain, order not meaningful
    const np = lines.findIndex((l) => l.startsWith('-A KUBE-NODEPORTS'));
    const moved = [...lines.slice(0, np), ...lines.slice(np + 1), lines[np]!].join('\n');
    const r = matchOutput(exp, moved);
    ok(r, 'iptables-save');
    assert.ok(r.renamed.some((x) => x.cls === 'chain' && x.doc === 'JTMI3DYZIM6D5ZYY'));
  });

  test('ellipsis and inline wildcard', () => {
    const exp =
      'IP Virtual Server version [..]\n...\nTCP  10.96.0.1:443 rr\n  -> 172.18.0.3:6443              Masq    1      0          0';
    const act = real('ipvsadm/20-hwchiu-fresh-kubeadm-ipvs.txt').body;
    ok(matchOutput(exp, act), 'wildcards');
  });
});

// ------------------------------------------------------------------ refused changes

describe('refused: a real change is a mismatch with a diff that points at the line', () => {
  const exp = () => seed('001-ipvsadm-ln-kind-web.txt').body.trimEnd();
  // service VIPs are known from earlier steps (kubectl get svc) in a lab run; pod IPs change
  const keepVips = (ip: string) => ip.startsWith('10.96.');
  const lineOf = (text: string, needle: string) =>
    text.split('\n').findIndex((l) => l.includes(needle)) + 1;

  test('one real server removed', () => {
    const e = exp();
    const lines = e.split('\n');
    const svc = lines.findIndex((l) => l.startsWith('TCP  10.96.119.228:80'));
    lines.splice(svc + 2, 1);
    const r = matchOutput(e, renameIPs(lines.join('\n'), keepVips).text);
    const text = notOk(r, 'removed');
    const miss = r.diff.find((d) => d.op === 'missing');
    assert.ok(miss, text);
    assert.equal(miss.expected!.line, svc + 3);
    assert.match(text, new RegExp(`expected line ${svc + 3}: not in the output`));
  });

  test('one real server added', () => {
    const e = exp();
    const act = e.replace(
      'TCP  10.96.119.228:80 rr\n',
      'TCP  10.96.119.228:80 rr\n  -> 10.244.2.9:80                Masq    1      0          0\n',
    );
    const r = matchOutput(e, act);
    const text = notOk(r, 'added');
    assert.ok(
      r.diff.some((d) => d.op === 'unexpected' && d.actual!.text.includes('10.244.2.9')),
      text,
    );
  });

  const changes: Array<[string, (t: string) => string, RegExp]> = [
    [
      'scheduler',
      (t) => t.replace('TCP  10.96.119.228:80 rr', 'TCP  10.96.119.228:80 sh'),
      /scheduler rr ≠ sh/,
    ],
    [
      'port',
      (t) => t.replace('TCP  10.96.119.228:80 rr', 'TCP  10.96.119.228:8080 rr'),
      /port 80 ≠ 8080/,
    ],
    [
      'protocol',
      (t) => t.replace('TCP  10.96.119.228:80 rr', 'UDP  10.96.119.228:80 rr'),
      /protocol TCP ≠ UDP/,
    ],
    [
      'forward method',
      (t) => t.replace(/(TCP {2}10\.96\.119\.228:80 rr\n {2}-> 10\.244\.1\.6:80 +)Masq/, '$1Route'),
      /forward method Masq ≠ Route/,
    ],
    [
      'weight',
      (t) => t.replace(/(TCP {2}10\.96\.119\.228:80 rr\n {2}-> 10\.244\.1\.6:80 +Masq +)1/, '$10'),
      /weight 1 ≠ 0/,
    ],
    [
      'persistence flag',
      (t) => t.replace('TCP  10.96.119.228:80 rr', 'TCP  10.96.119.228:80 rr persistent 10800'),
      /persistent 10800/,
    ],
  ];
  for (const [what, change, why] of changes) {
    test(`${what} changed`, () => {
      const e = exp();
      const act = change(e);
      assert.notEqual(act, e, 'the alteration applied');
      const r = matchOutput(e, renameIPs(act, keepVips).text);
      const text = notOk(r, what);
      assert.match(text, why);
      const changed = r.diff.find((d) => d.op === 'changed' || d.op === 'missing');
      assert.ok(changed?.expected, text);
      assert.equal(
        changed.expected.line,
        lineOf(e, '10.96.119.228:80') + (what === 'forward method' || what === 'weight' ? 1 : 0),
      );
    });
  }

  test('two different expected IPs landing on one actual IP', () => {
    const e = exp();
    // the web ClusterIP and the memcached one both become 10.96.5.5
    const act = e
      .replace(/10\.96\.119\.228/g, '10.96.5.5')
      .replace(/10\.96\.159\.35/g, '10.96.5.5');
    const r = matchOutput(e, act);
    const text = notOk(r, 'two on one');
    assert.match(
      text,
      /two doc values on one output value: 10\.96\.(119\.228|159\.35) and 10\.96\.(119\.228|159\.35) would both be 10\.96\.5\.5/,
    );
  });

  test('a value bound in an earlier step must stay bound (kubectl get svc, then ipvsadm)', () => {
    const svc =
      'NAME   TYPE        CLUSTER-IP      EXTERNAL-IP   PORT(S)   AGE\nweb    ClusterIP   10.96.119.228   <none>        80/TCP    92s';
    const first = matchOutput(svc, svc.replace('10.96.119.228', '10.96.5.5').replace('92s', '3m'));
    ok(first, 'kubectl get svc');
    const e = exp();
    // ipvsadm shows the web service on another VIP than kubectl did
    const r = matchOutput(e, e.replace(/10\.96\.119\.228/g, '10.96.7.7'), {
      bindings: first.bindings,
    });
    const text = notOk(r, 'bound earlier');
    assert.match(
      text,
      /10\.96\.119\.228 is already bound to 10\.96\.5\.5 in this run \(found 10\.96\.7\.7 here\)/,
    );
    // and with the same VIP it matches
    ok(
      matchOutput(e, e.replace(/10\.96\.119\.228/g, '10.96.5.5'), { bindings: first.bindings }),
      'same VIP',
    );
  });

  test('"Using iptables Proxier" where the doc says ipvs', () => {
    const e = seed('004-kube-proxy-log-ipvs-structured.txt').body;
    const act = real('kube-proxy-logs/01-v1.28.15-iptables-structured.txt').body;
    const r = matchOutput(e, act);
    const text = notOk(r, 'mode');
    assert.match(text, /"Using ipvs Proxier"/);
    // and the same log with only the mode word changed
    const r2 = matchOutput(e, e.replace('"Using ipvs Proxier"', '"Using iptables Proxier"'));
    const t2 = notOk(r2, 'mode word');
    assert.match(t2, /"ipvs ≠ "iptables|ipvs ≠ iptables/);
    const changed = r2.diff.find((d) => d.op === 'changed');
    assert.equal(changed?.expected?.line, lineOf(e, 'Using ipvs Proxier'));
  });

  test('ipset member with another port is not the same member', () => {
    const e = real('ipset/03-hwchiu-KUBE-CLUSTER-IP.txt').body;
    const r = matchOutput(e, e.replace('10.97.35.96,tcp:80', '10.97.35.96,tcp:8080'));
    notOk(r, 'ipset port');
  });

  test('a counter is free, a weight is not', () => {
    const e = real('ipvsadm/20-hwchiu-fresh-kubeadm-ipvs.txt').body;
    ok(matchOutput(e, bumpIpvsCounters(e)), 'counters');
    notOk(matchOutput(e, e.replace(/Masq {4}1 /, 'Masq    5 ')), 'weight');
  });
});

describe('detection', () => {
  test('detects the kind of every real output by folder', () => {
    const want: Record<string, string> = {
      ipvsadm: 'ipvsadm',
      ipset: 'ipset',
      'kube-ipvs0': 'ip-addr',
      'kube-proxy-logs': 'kube-proxy-log',
    };
    for (const [dir, kind] of Object.entries(want)) {
      for (const f of realFiles(dir)) {
        if (/15-lnc|16-timeout|22-int32bit|23-int32bit/.test(f)) continue; // -c, --timeout, -S layouts: plain text
        assert.equal(detectKind(real(f).body), kind, f);
      }
    }
    for (const f of realFiles('iptables')) assert.equal(detectKind(real(f).body), 'iptables', f);
  });
});

test('bindings are injective and consistent', () => {
  const b = Bindings.empty().bind('ip', '10.96.0.1', '10.96.0.1');
  assert.ok(b instanceof Bindings);
  const c = (b as Bindings).bind('ip', '10.96.0.10', '10.96.0.1');
  assert.ok(!(c instanceof Bindings));
  const d = (b as Bindings).bind('ip', '10.96.0.1', '10.96.0.2');
  assert.ok(!(d instanceof Bindings));
  // different classes do not collide
  assert.ok((b as Bindings).bind('nodeport', '30080', '30080') instanceof Bindings);
});

describe('nft list output (the nftables lab)', () => {
  const lab = parseLab(readFileSync(join(ROOT, 'labs', 'nftables', 'README.md'), 'utf8'));
  const exp = lab.steps.find((s) =>
    s.command.includes('list map ip kube-proxy service-ips'),
  )!.expected;

  /** Reverse the map's elements (keeping the list punctuation where nft prints it). */
  function reorderElements(text: string): string {
    const lines = text.split('\n');
    const first = lines.findIndex((l) => /elements = \{/.test(l));
    const last = lines.findIndex((l, i) => i >= first && /\}\s*$/.test(l));
    const items = lines
      .slice(first, last + 1)
      .map((l) => l.replace(/^\s*(?:elements = \{ )?/, '').replace(/(?:,| \})\s*$/, ''));
    const indent = /^(\s*)/.exec(lines[first]!)![1]!;
    const rebuilt = items
      .reverse()
      .map(
        (it, k) =>
          (k === 0 ? `${indent}elements = { ${it}` : `${indent}\t     ${it}`) +
          (k === items.length - 1 ? ' }' : ','),
      );
    return [...lines.slice(0, first), ...rebuilt, ...lines.slice(last + 1)].join('\n');
  }

  test('map elements reordered and ClusterIPs renamed: match', () => {
    assert.equal(detectKind(exp), 'nft');
    const act = reorderElements(renameIPs(exp).text);
    assert.notEqual(act, exp);
    const r = matchOutput(exp, act);
    ok(r, 'nft elements');
    assert.match(r.notes.join(' '), /compared as a set/);
  });

  test('one element with another protocol: no match, the element is named', () => {
    const act = reorderElements(exp.replace(/udp \. 53/, 'tcp . 53'));
    const r = matchOutput(exp, act);
    const text = notOk(r, 'nft protocol');
    assert.match(text, /udp ≠ tcp/);
  });
});

test('[..] inside a value the output lexes as one token (a klog source location), on a real log line', () => {
  const line = real('kube-proxy-logs/01-v1.28.15-iptables-structured.txt')
    .body.split('\n')
    .find((l) => l.includes('"Using iptables Proxier"'))!;
  assert.match(line, /server_others\.go:152\]/);
  const open = (doc: string) => matchOutput(doc, line, { kind: 'kube-proxy-log' }).ok;
  assert.ok(open(line.replace('server_others.go:152]', '[..]')), 'the whole location left open');
  assert.ok(open(line.replace('server_others.go:152]', 'server_[..]')), 'the file name left open');
  assert.ok(
    open(line.replace('server_others.go:152]', 'server_others.go:[..]')),
    'the line number',
  );
  // what the doc still spells out must be there
  assert.ok(!open(line.replace('server_others.go:152]', 'server_linux.go:[..]')));
  assert.ok(!open(line.replace('server_others.go:152]', '[..]').replace('iptables', 'ipvs')));
});

test('nftables endpoint chains: a pod IP after "__" renames with the rest (real k3s table, every endpoint moved)', () => {
  // kube-proxy names endpoint chains endpoint-<hash>-<ns>/<svc>/<proto>/<port>__<ip>/<port>
  // (pkg/proxy/nftables/proxier.go, servicePortEndpointChainNameBase): a pod on another IP
  // gets another hash *and* another IP in the name. Before the fix the IP after "__" was
  // literal (the "_" before it was a word character), so every real re-run failed here.
  const exp = modern('nft/01-k3s-nftables-mode-nft-list-table-ip-kube-proxy.txt').body;
  const hashes = new Map<string, string>();
  const act = exp
    .replace(/10\.42\.4\.(\d+)/g, (_m, d: string) => `10.42.7.${Number(d) - 100}`)
    .replace(/endpoint-([A-Z0-9]{8})-/g, (_m, h: string) => {
      if (!hashes.has(h)) hashes.set(h, String(hashes.size).padStart(8, 'Q'));
      return `endpoint-${hashes.get(h)}-`;
    });
  assert.notEqual(act, exp);
  const r = matchOutput(exp, act);
  ok(r, 'pod IPs and endpoint hashes renamed');
  assert.ok(
    r.renamed.some((x) => x.cls === 'ip' && x.doc === '10.42.4.201' && x.actual === '10.42.7.101'),
  );
  // negative control: the same IP in the name but the dnat to another one is still a difference
  const wrong = act.replace('dnat to 10.42.7.101:8080', 'dnat to 10.42.7.199:8080');
  assert.notEqual(wrong, act);
  assert.equal(matchOutput(exp, wrong).ok, false);
});

test("nftables endpoint chains of a named port (http__IP): the lab doc's own line, pods on other IPs", () => {
  // the k3s table above has an unnamed port (tcp/__IP); the web sample's port is named "http",
  // so the IP follows a word: "http__10.244.1.3" (a word run used to swallow the IP)
  const lab = parseLab(readFileSync(join(ROOT, 'labs', 'nftables', 'README.md'), 'utf8'));
  const exp = lab.steps.find((s) => /grep -A4 'chain service-/.test(s.command))!.expected;
  assert.match(exp, /http__10\.244\.1\.3\/80/);
  const act = exp
    .replaceAll('IVINOOCY', 'WZUVD3EN')
    .replaceAll('10.244.1.3', '10.244.1.2')
    .replaceAll('KLDTO2PW', '5W4O24VW')
    .replaceAll('10.244.2.2', '10.244.2.4');
  ok(matchOutput(exp, act), 'endpoints on other pod IPs');
  // negative control: both endpoints on one pod IP (the doc has two pods: renaming is one to one)
  assert.equal(matchOutput(exp, act.replaceAll('10.244.2.4', '10.244.1.2')).ok, false);
});
