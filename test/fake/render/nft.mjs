// Renderer: `nft list table ip kube-proxy`, `nft list chain|map|set ip kube-proxy NAME`, as
// nft 1.0.6 (Debian 12, the same as kind v0.31's node image) prints them. Checked with the
// real nft in a network namespace here: tabs, sets and maps before chains (creation order
// within each), a blank line between objects, `comment` lines, a chain's comment as its first
// line, base-chain priorities printed by name only where the hook has one (dstnat for
// prerouting, srcnat for postrouting) and as numbers elsewhere, set elements wrapped
// (continuation lines: two tabs, a tab and five spaces).

/** elements = { ... } lines: plain sets two per line, maps one per line. */
function elements(o) {
  if (!o.elements.length) return [];
  const per = o.kind === 'map' ? 1 : 2;
  const rows = [];
  for (let i = 0; i < o.elements.length; i += per)
    rows.push(o.elements.slice(i, i + per).join(', '));
  return [`\t\telements = { ${rows.join(',\n\t\t\t     ')} }`];
}

export function renderObject(o) {
  const body =
    o.kind === 'chain'
      ? [
          ...(o.head ? [`\t\t${o.head}`] : []),
          ...(o.comment ? [`\t\tcomment "${o.comment}"`] : []),
          ...o.rules.map((r) => `\t\t${r}`),
        ]
      : [
          `\t\ttype ${o.type}`,
          ...(o.comment ? [`\t\tcomment "${o.comment}"`] : []),
          ...elements(o),
        ];
  return [`\t${o.kind} ${o.name} {`, ...body, '\t}'].join('\n');
}

export function renderTable(objs, family = 'ip') {
  // nft 1.0.6: no blank line after the table's comment (real capture nft/02, kubeadm
  // v1.32.1 on Debian 12; H2's conformance run, conformance-diffs.md D5)
  return `table ${family} kube-proxy {\n\tcomment "rules for kube-proxy"\n${objs.map(renderObject).join('\n\n')}\n}\n`;
}

/** `nft list chain|map|set ip kube-proxy NAME`: the object inside its table. */
export function renderOne(o, family = 'ip') {
  return `table ${family} kube-proxy {\n${renderObject(o)}\n}\n`;
}
