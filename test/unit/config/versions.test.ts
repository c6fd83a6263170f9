/**
 * The versions table: node images pinned by digest, one per minor, matching their keys;
 * checksums well formed; and the checker catches each kind of breakage.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  checkVersions,
  IMAGE_RE,
  imageFor,
  loadVersions,
  parseMinor,
} from '../../../src/config/versions.js';
import { UserError } from '../../../src/core/errors.js';
import { ROOT } from '../../helpers/cli.js';

const FILE = join(ROOT, 'configs/versions.yaml');
const raw = () => parse(readFileSync(FILE, 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

test('configs/versions.yaml passes the checker', () => {
  assert.deepEqual(checkVersions(raw()), []);
  const t = loadVersions({ PROXYLAB_VERSIONS_FILE: FILE });
  assert.equal(t.kind.version, 'v0.31.0');
  assert.ok(t.default in t.images);
});

test('every image is pinned by digest, is the Kubernetes minor of its key, and digests are unique', () => {
  const t = loadVersions({ PROXYLAB_VERSIONS_FILE: FILE });
  const digests = new Set<string>();
  for (const [minor, image] of Object.entries(t.images)) {
    const m = IMAGE_RE.exec(image);
    assert.ok(m, image);
    assert.equal(`${m[1]}.${m[2]}`, minor);
    assert.ok(!digests.has(m[4]!));
    digests.add(m[4]!);
    assert.equal(imageFor(t, parseMinor(minor)!).image, image);
  }
  assert.ok(Object.keys(t.images).length >= 3);
  // the Linux builds of both tools have pinned checksums
  for (const tool of ['kind', 'kubectl'] as const)
    for (const p of ['linux-amd64', 'linux-arm64'])
      assert.match(t[tool].sha256[p]!, /^[0-9a-f]{64}$/);
  assert.throws(
    () => imageFor(t, 20),
    (e: unknown) =>
      e instanceof UserError && /no kind node image is pinned for Kubernetes 1\.20/.test(e.message),
  );
});

test('the checker catches a tag without digest, a wrong key, a bad checksum, a bad default, unknown keys', () => {
  const doc = raw();
  doc.images['1.34'] = 'kindest/node:v1.34.3';
  doc.images['1.32'] = doc.images['1.33'];
  doc.kind.sha256['linux-amd64'] = 'abc';
  doc.default = '1.99';
  doc.extra = true;
  const p = checkVersions(doc).map((x) => `${x.at}: ${x.message}`);
  assert.ok(p.includes('extra: unknown key'), p.join('\n'));
  assert.ok(p.includes('kind.sha256.linux-amd64: must be 64 lowercase hex digits'));
  assert.ok(
    p.includes('images.1.34: must be kindest/node:vX.Y.Z@sha256:<64 hex> (pinned by digest)'),
  );
  assert.ok(p.includes('images.1.32: image is Kubernetes 1.33, not 1.32'));
  assert.ok(p.includes('default: must be one of the minors in images'));
});
