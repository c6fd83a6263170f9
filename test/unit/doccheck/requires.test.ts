/**
 * How a lab doc says what it needs (src/doccheck/requires.ts): the comment grammar, the
 * labs' own declarations, and which alternative a machine meets (probes injected).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../helpers/cli.js';
import {
  evaluateNeeds,
  labNeeds,
  readNeeds,
  NeedsSyntaxError,
  type Need,
  type Probe,
  type Probes,
} from '../../../src/doccheck/requires.js';
import { UsageError } from '../../../src/core/errors.js';

test('a doc without a needs line needs the cluster; needs lines read + as "and", | as "or"', () => {
  assert.deepEqual(readNeeds('# lab\n\ntext'), {
    alternatives: [['cluster']],
    declared: false,
  });
  assert.deepEqual(readNeeds('# x\n<!-- proxylab needs: root + ipvs-kernel | microvm -->\n'), {
    alternatives: [['root', 'ipvs-kernel'], ['microvm']],
    declared: true,
  });
  const scale = readNeeds(
    '<!--proxylab needs:root|cluster-->\n<!-- proxylab unchecked: timings\n  of this machine -->',
  );
  assert.deepEqual(scale.alternatives, [['root'], ['cluster']]);
  assert.equal(scale.unchecked, 'timings of this machine');
  // an ordinary HTML comment is not a declaration
  assert.equal(readNeeds('<!-- needs: root -->').declared, false);
});

test('an unknown or repeated need is refused with its line', () => {
  assert.throws(
    () => readNeeds('# x\n\n<!-- proxylab needs: root + kvm -->'),
    (e: unknown) =>
      e instanceof NeedsSyntaxError && e.line === 3 && /unknown need "kvm"/.test(e.message),
  );
  assert.throws(
    () => readNeeds('<!-- proxylab needs: root -->\n<!-- proxylab needs: cluster -->'),
    /a second "proxylab needs:" line/,
  );
  assert.throws(() => readNeeds('<!-- proxylab needs: root | -->'), /an empty alternative/);
  assert.throws(() => readNeeds('<!-- proxylab unchecked: -->'), /without a reason/);
  assert.throws(
    () => labNeeds('\n<!-- proxylab needs: nope -->', 'labs/x/README.md'),
    (e: unknown) =>
      e instanceof UsageError && /^labs\/x\/README\.md:2: unknown need/.test(e.message),
  );
});

test('every lab in labs/ says what it needs; scale says why it is not checked', () => {
  const dir = join(ROOT, 'labs');
  const found: Record<string, Need[][]> = {};
  for (const lab of readdirSync(dir)) {
    const f = join(dir, lab, 'README.md');
    if (!existsSync(f)) continue;
    const n = readNeeds(readFileSync(f, 'utf8'));
    assert.ok(n.declared, `labs/${lab}/README.md has no <!-- proxylab needs: … --> line`);
    found[lab] = n.alternatives;
  }
  assert.deepEqual(found['ipvs'], [['cluster', 'ipvs-modules']]);
  assert.deepEqual(found['nftables'], [['cluster']]);
  assert.deepEqual(found['ipvs-by-hand'], [['root', 'ipvs-kernel'], ['microvm']]);
  assert.match(
    readNeeds(readFileSync(join(dir, 'scale', 'README.md'), 'utf8')).unchecked ?? '',
    /timings/,
  );
});

function probes(ok: Partial<Record<Need, boolean>>, asked: Need[] = []): Probes {
  const p = (n: Need) => async (): Promise<Probe> => {
    asked.push(n);
    return ok[n]
      ? { ok: true, why: `${n} ok` }
      : {
          ok: false,
          why: n === 'cluster' ? 'no cluster "proxylab" (x): run make up' : `no ${n}`,
          fix: `get ${n}`,
        };
  };
  return {
    cluster: p('cluster'),
    root: p('root'),
    'ipvs-modules': p('ipvs-modules'),
    'ipvs-kernel': p('ipvs-kernel'),
    microvm: p('microvm'),
  };
}

test('the first alternative met wins; each need is probed once; the cluster-only message is the cluster probe’s own', async () => {
  const byHand = readNeeds('<!-- proxylab needs: root + ipvs-kernel | microvm -->');
  assert.deepEqual(await evaluateNeeds(byHand, probes({ root: true, 'ipvs-kernel': true })), {
    ok: true,
    via: ['root', 'ipvs-kernel'],
  });
  assert.deepEqual(await evaluateNeeds(byHand, probes({ microvm: true })), {
    ok: true,
    via: ['microvm'],
  });
  const asked: Need[] = [];
  const v = await evaluateNeeds(byHand, probes({ root: true }, asked), 'labs/ipvs-by-hand');
  assert.equal(v.ok, false);
  if (v.ok) return;
  assert.equal(
    v.message,
    "labs/ipvs-by-hand needs root + IPVS in this kernel, or the bare lab's micro-VM: no ipvs-kernel; no microvm",
  );
  assert.equal(v.fix, 'get ipvs-kernel; or get microvm');
  assert.deepEqual(asked.sort(), ['ipvs-kernel', 'microvm', 'root']);
  const none = await evaluateNeeds(readNeeds('# no declaration'), probes({ root: true }));
  assert.ok(!none.ok && none.message === 'no cluster "proxylab" (x): run make up');
  // no cluster: its message alone, even when something else is missing too
  const ipvs = readNeeds('<!-- proxylab needs: cluster + ipvs-modules -->');
  const both = await evaluateNeeds(ipvs, probes({}), 'labs/ipvs');
  assert.ok(!both.ok && both.message === 'no cluster "proxylab" (x): run make up');
  const mods = await evaluateNeeds(ipvs, probes({ cluster: true }), 'labs/ipvs');
  assert.ok(
    !mods.ok &&
      mods.message ===
        "labs/ipvs needs the kind cluster + the IPVS modules for the cluster's nodes: no ipvs-modules",
  );
});
