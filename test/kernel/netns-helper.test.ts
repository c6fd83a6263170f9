import { test } from 'node:test';
import assert from 'node:assert/strict';
import { leftoverNetns, netnsUnavailable, withNetns } from '../helpers/netns.js';

const why = netnsUnavailable();
if (why) console.log(`# kernel tier: netns tests skipped: ${why}`);

test(
  'withNetns: namespaces exist inside the body, are isolated, and are gone afterwards',
  { skip: why },
  async () => {
    let names: string[] = [];
    await withNetns(['a', 'b'], async (ns) => {
      names = [ns.name('a'), ns.name('b')];
      assert.notEqual(names[0], names[1]);
      const links = await ns.out('a', ['ip', '-o', 'link', 'show']);
      // a fresh namespace holds only its loopback, which the helper brought up
      assert.deepEqual(
        links
          .trim()
          .split('\n')
          .map((l) => l.split(':')[1]?.trim()),
        ['lo'],
      );
      assert.match(links, /LOOPBACK,UP/);
      await ns.exec('a', ['ip', 'link', 'add', 'dummy-ish', 'type', 'bridge']);
      const inB = await ns.out('b', ['ip', '-o', 'link', 'show']);
      assert.doesNotMatch(inB, /dummy-ish/);
    });
    const list = await leftoverNetns();
    for (const n of names) assert.ok(!list.includes(n), `${n} was not deleted`);
  },
);

test('withNetns: deletes the namespaces when the body throws', { skip: why }, async () => {
  let name = '';
  await assert.rejects(
    withNetns(['x'], async (ns) => {
      name = ns.name('x');
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.ok(name.startsWith(`plt-${process.pid}-`));
  assert.ok(!(await leftoverNetns()).includes(name));
});
