import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildBusyboxImage, buildPauseImage, busyboxShortName } from './builtin.ts';

const missing = !existsSync('/bin/busybox')
  ? 'busybox-static is not installed'
  : !existsSync('/usr/bin/gcc')
    ? 'gcc is not installed'
    : undefined;

describe('built-in images', { skip: missing }, () => {
  it('are reproducible: two builds give the same bytes and digests', () => {
    const a = mkdtempSync(path.join(os.tmpdir(), 'skiff-img-a-'));
    const b = mkdtempSync(path.join(os.tmpdir(), 'skiff-img-b-'));
    try {
      const [pa, ba] = [buildPauseImage(a), buildBusyboxImage(a)];
      const [pb, bb] = [buildPauseImage(b), buildBusyboxImage(b)];
      assert.equal(pa.manifestDigest, pb.manifestDigest);
      assert.equal(ba.manifestDigest, bb.manifestDigest);
      assert.ok(readFileSync(ba.file).equals(readFileSync(bb.file)));
      // an OCI layout whose index names the image (and its short alias) for containerd
      const index = JSON.parse(execFileSync('tar', ['-xOf', ba.file, './index.json'], { encoding: 'utf8' }));
      const names = index.manifests.map((m: any) => m.annotations['io.containerd.image.name']);
      assert.deepEqual(names, [ba.name, busyboxShortName()]);
      const listing = execFileSync('tar', ['-tvf', ba.file], { encoding: 'utf8' });
      assert.match(listing, /oci-layout/);
      assert.doesNotMatch(
        listing
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split(/\s+/)[1])
          .join(' '),
        /[^0]\/|\/[^0]/,
        'owner and group are 0',
      );
    } finally {
      rmSync(a, { recursive: true, force: true });
      rmSync(b, { recursive: true, force: true });
    }
  });
});
