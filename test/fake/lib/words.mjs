// Split an iptables-save / ipvsadm -R / ipset restore line into words, honouring double
// quotes (a quoted empty string is a word). Shared by the fake's handlers.
export function words(spec) {
  const out = [];
  let cur = '';
  let q = false;
  let has = false;
  for (const ch of spec) {
    if (ch === '"') {
      q = !q;
      has = true;
      continue;
    }
    if (!q && /\s/.test(ch)) {
      if (has || cur) out.push(cur);
      cur = '';
      has = false;
      continue;
    }
    cur += ch;
  }
  if (has || cur) out.push(cur);
  return out;
}
