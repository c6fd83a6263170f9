import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { fixtureBody } from './nat-fixture.js';
import {
  alreadyAsRequested,
  changedLines,
  configConf,
  editConfigMap,
  forReplace,
  readSettings,
} from '../../../src/steps/configmap.js';

const CM = fixtureBody('kubectl/27-v1.34-get-cm-kube-proxy-yaml-complete.txt');

test('reads mode "" (iptables default), empty scheduler and strictARP false from the real 1.34 ConfigMap', () => {
  assert.deepEqual(readSettings(CM), { mode: '', scheduler: '', strictARP: false });
  assert.ok(alreadyAsRequested(readSettings(CM), { mode: 'iptables' }));
  assert.ok(!alreadyAsRequested(readSettings(CM), { mode: 'ipvs' }));
});

test('mode ipvs changes exactly the one mode line; every other byte stays', () => {
  const out = editConfigMap(CM, { mode: 'ipvs' });
  assert.deepEqual(changedLines(CM, out), { removed: ['    mode: ""'], added: ['    mode: ipvs'] });
  assert.equal(out.length, CM.length - '""'.length + 'ipvs'.length);
  assert.equal(readSettings(out).mode, 'ipvs');
});

test('mode ipvs + scheduler sh + strictARP changes exactly three lines, in place', () => {
  const out = editConfigMap(CM, { mode: 'ipvs', scheduler: 'sh', strictARP: true });
  const a = CM.split('\n');
  const b = out.split('\n');
  assert.equal(a.length, b.length);
  const diff = a.map((l, i) => [l, b[i]] as const).filter(([x, y]) => x !== y);
  assert.deepEqual(diff, [
    ['      scheduler: ""', '      scheduler: sh'],
    ['      strictARP: false', '      strictARP: true'],
    ['    mode: ""', '    mode: ipvs'],
  ]);
  assert.deepEqual(readSettings(out), { mode: 'ipvs', scheduler: 'sh', strictARP: true });
  // kubeconfig.conf and metadata untouched
  const po = parse(out) as { data: Record<string, string>; metadata: unknown };
  const pi = parse(CM) as { data: Record<string, string>; metadata: unknown };
  assert.equal(po.data['kubeconfig.conf'], pi.data['kubeconfig.conf']);
  assert.deepEqual(po.metadata, pi.metadata);
});

test('editing back restores the original bytes (iptables with "" is a different text, so a restore uses the backup)', () => {
  const there = editConfigMap(CM, { mode: 'ipvs', scheduler: 'rr' });
  const back = editConfigMap(there, { mode: 'iptables', scheduler: '' });
  assert.equal(readSettings(back).mode, 'iptables');
  assert.deepEqual(changedLines(CM, back), {
    removed: ['    mode: ""'],
    added: ['    mode: iptables'],
  });
});

test('kind-style config.conf without ipvs section: the section is inserted in sorted place', () => {
  const kind = [
    'apiVersion: v1',
    'data:',
    '  config.conf: |-',
    '    apiVersion: kubeproxy.config.k8s.io/v1alpha1',
    '    bindAddress: 0.0.0.0',
    '    iptables:',
    '      minSyncPeriod: 1s',
    '    kind: KubeProxyConfiguration',
    '    mode: iptables',
    '  kubeconfig.conf: |-',
    '    apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: kube-proxy',
    '  namespace: kube-system',
    '  resourceVersion: "412"',
    '',
  ].join('\n');
  const out = editConfigMap(kind, { mode: 'ipvs', scheduler: 'wrr' });
  assert.match(
    out,
    /\n {4}iptables:\n {6}minSyncPeriod: 1s\n {4}ipvs:\n {6}scheduler: wrr\n {4}kind: KubeProxyConfiguration\n {4}mode: ipvs\n/,
  );
  assert.deepEqual(readSettings(out), { mode: 'ipvs', scheduler: 'wrr', strictARP: false });
});

test('a ConfigMap without config.conf is refused with a hint, not guessed', () => {
  assert.throws(
    () => editConfigMap('apiVersion: v1\nkind: ConfigMap\ndata:\n  other: x\n', { mode: 'ipvs' }),
    /no config\.conf block/,
  );
});

test('forReplace drops only metadata.resourceVersion', () => {
  const r = forReplace(CM);
  assert.deepEqual(changedLines(CM, r), { removed: ['  resourceVersion: "291"'], added: [] });
  assert.equal(configConf(r), configConf(CM));
});
