import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PatchError } from './errors.ts';
import { applyJsonPatch, decodePointerToken, encodePointerToken } from './json-patch.ts';

const pod = () => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', labels: { app: 'web', 'app.kubernetes.io/name': 'web' }, annotations: { 'a~b': 'x' } },
  spec: { containers: [{ name: 'app', image: 'nginx:1.25', args: ['-g', 'daemon off;'] }] },
});

function rejects(fn: () => unknown, status: number, detail?: RegExp): PatchError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof PatchError, `expected a PatchError, got ${String(e)}`);
    assert.equal(e.status, status);
    if (detail) assert.match(e.detail ?? e.message, detail);
    return e;
  }
  assert.fail('expected the patch to fail');
}

describe('JSON patch', () => {
  it('adds, removes, replaces, moves, copies and tests', () => {
    const before = pod();
    const out = applyJsonPatch(before, [
      { op: 'test', path: '/metadata/name', value: 'web' },
      { op: 'add', path: '/metadata/labels/tier', value: 'front' },
      { op: 'add', path: '/spec/containers/0/args/-', value: '--x' },
      { op: 'add', path: '/spec/containers/0/args/0', value: 'first' },
      { op: 'replace', path: '/spec/containers/0/image', value: 'nginx:1.26' },
      { op: 'remove', path: '/metadata/labels/app' },
      { op: 'copy', from: '/metadata/labels/tier', path: '/metadata/annotations/tier' },
      { op: 'move', from: '/metadata/annotations/a~0b', path: '/metadata/annotations/moved' },
      { op: 'replace', path: '/metadata/labels/app.kubernetes.io~1name', value: 'site' },
    ]);
    assert.deepEqual(out.metadata.labels, { 'app.kubernetes.io/name': 'site', tier: 'front' });
    assert.deepEqual(out.metadata.annotations, { tier: 'front', moved: 'x' });
    assert.deepEqual(out.spec.containers[0].args, ['first', '-g', 'daemon off;', '--x']);
    assert.equal(out.spec.containers[0].image, 'nginx:1.26');
    assert.deepEqual(before, pod(), 'the input is not modified');
  });

  it('escapes pointer tokens', () => {
    assert.equal(encodePointerToken('a/b~c'), 'a~1b~0c');
    assert.equal(decodePointerToken('a~1b~0c'), 'a/b~c');
    assert.equal(decodePointerToken('~01'), '~1');
  });

  it('supports negative indexes and replacing a missing member (as the API server does)', () => {
    const out = applyJsonPatch(pod(), [
      { op: 'remove', path: '/spec/containers/0/args/-1' },
      { op: 'replace', path: '/spec/nodeName', value: 'n1' },
    ]);
    assert.deepEqual(out.spec.containers[0].args, ['-g']);
    assert.equal((out.spec as Record<string, unknown>).nodeName, 'n1');
  });

  it('a failed test is 422 Invalid with the generic message', () => {
    const e = rejects(
      () => applyJsonPatch(pod(), [{ op: 'test', path: '/metadata/name', value: 'other' }]),
      422,
      /testing value \/metadata\/name failed/,
    );
    assert.equal(e.reason, 'Invalid');
    assert.equal(e.message, 'the server rejected our request due to an error in our request');
  });

  it('test of a missing member passes only for null', () => {
    applyJsonPatch(pod(), [{ op: 'test', path: '/metadata/namespace', value: null }]);
    rejects(() => applyJsonPatch(pod(), [{ op: 'test', path: '/metadata/namespace', value: 'default' }]), 422);
  });

  it('operations that cannot apply are 422', () => {
    rejects(
      () => applyJsonPatch(pod(), [{ op: 'remove', path: '/metadata/labels/missing' }]),
      422,
      /Unable to remove nonexistent key: missing/,
    );
    rejects(
      () => applyJsonPatch(pod(), [{ op: 'add', path: '/spec/missing/x', value: 1 }]),
      422,
      /doc is missing path: "\/spec\/missing\/x"/,
    );
    rejects(
      () => applyJsonPatch(pod(), [{ op: 'add', path: '/spec/containers/5', value: {} }]),
      422,
      /invalid index referenced/,
    );
    rejects(
      () => applyJsonPatch(pod(), [{ op: 'replace', path: '/spec/containers/3', value: {} }]),
      422,
      /invalid index/,
    );
    rejects(() => applyJsonPatch(pod(), [{ op: 'move', from: '/nope/deeper', path: '/x' }]), 422, /missing from path/);
    rejects(
      () => applyJsonPatch(pod(), [{ op: 'move', from: '/nope', path: '/x' }]),
      422,
      /Unable to remove nonexistent key: nope/,
    );
    rejects(() => applyJsonPatch(pod(), [{ op: 'frobnicate', path: '/x' }]), 422, /Unexpected kind: frobnicate/);
    rejects(() => applyJsonPatch(pod(), [{ op: 'add', value: 1 }]), 422, /missing path field/);
  });

  it('a body that is not a list of operations is 400', () => {
    rejects(() => applyJsonPatch(pod(), { op: 'add' }), 400);
    rejects(() => applyJsonPatch(pod(), [1]), 400);
  });

  it('more than 10000 operations is 413', () => {
    const ops = Array.from({ length: 10001 }, () => ({ op: 'test', path: '/kind', value: 'Pod' }));
    const e = rejects(() => applyJsonPatch(pod(), ops), 413);
    assert.equal(e.message, 'The allowed maximum operations in a JSON patch is 10000, got 10001');
  });

  it('copies may add at most 3 MiB in all: a document copied into itself does not double until memory runs out', () => {
    const doc = { kind: 'ConfigMap', data: { a: 'x'.repeat(1000) } };
    // each copy doubles data: 2^40 KB if nothing stops it
    const ops = Array.from({ length: 40 }, (_, i) => ({ op: 'copy', from: '/data', path: `/data/c${i}` }));
    const e = rejects(() => applyJsonPatch(doc, ops), 422);
    assert.match(
      e.detail ?? '',
      /^Unable to complete the copy, the accumulated size increase of copy is \d+, exceeding the limit 3145728$/,
    );
    // within the budget copies apply
    const ok = applyJsonPatch(doc, ops.slice(0, 5)) as any;
    assert.equal(JSON.stringify(ok.data).length > 30_000, true);
  });

  it('stops at the first failing operation and leaves the input alone', () => {
    const p = pod();
    rejects(
      () =>
        applyJsonPatch(p, [
          { op: 'add', path: '/metadata/labels/x', value: 'y' },
          { op: 'test', path: '/kind', value: 'Node' },
        ]),
      422,
    );
    assert.deepEqual(p, pod());
  });
});
