import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyMergePatch } from './merge-patch.ts';

describe('merge patch (RFC 7386)', () => {
  const cm = () => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'c', labels: { a: '1', b: '2' } },
    data: { x: '1', y: '2' },
  });

  it('merges objects and removes members set to null', () => {
    const before = cm();
    const out = applyMergePatch(before, { metadata: { labels: { a: null, c: '3' } }, data: { y: null, z: '3' } });
    assert.deepEqual(out.metadata.labels, { b: '2', c: '3' });
    assert.deepEqual(out.data, { x: '1', z: '3' });
    assert.deepEqual(before, cm());
  });

  it('replaces arrays and scalars, creates missing objects without nulls', () => {
    const pod = {
      spec: {
        containers: [
          { name: 'a', image: 'x' },
          { name: 'b', image: 'y' },
        ],
      },
    };
    const out = applyMergePatch(pod, {
      spec: { containers: [{ name: 'a', image: 'z' }], nodeSelector: { disk: 'ssd', gone: null } },
    });
    assert.deepEqual(out, { spec: { containers: [{ name: 'a', image: 'z' }], nodeSelector: { disk: 'ssd' } } });
  });

  it('RFC 7386 examples', () => {
    assert.deepEqual(applyMergePatch({ a: 'b' }, { a: 'c' }), { a: 'c' });
    assert.deepEqual(applyMergePatch({ a: 'b' }, { b: 'c' }), { a: 'b', b: 'c' });
    assert.deepEqual(applyMergePatch({ a: 'b' }, { a: null }), {});
    assert.deepEqual(applyMergePatch({ a: [{ b: 'c' }] }, { a: [1] }), { a: [1] });
    assert.deepEqual(applyMergePatch({ e: null }, { a: 1 }), { e: null, a: 1 });
    assert.deepEqual(applyMergePatch({ a: 'foo' }, 'bar'), 'bar');
    assert.deepEqual(applyMergePatch({}, { a: { bb: { ccc: null } } }), { a: { bb: {} } });
  });
});
