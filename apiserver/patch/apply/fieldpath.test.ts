import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolve } from '../../openapi/index.ts';
import { FieldSet, field, keyElement, parsePathElement, pathString, serializePathElement } from './fieldpath.ts';
import { Types, toFieldSet } from './typed.ts';

describe('field paths and sets', () => {
  it('serializes path elements as FieldsV1 keys and parses them back', () => {
    const cases = [
      field('metadata'),
      keyElement([['protocol', 'TCP'], ['containerPort', 80]]),
      { kind: 'value' as const, value: 'example.com/finalizer' },
      { kind: 'index' as const, index: 3 },
    ];
    const keys = cases.map(serializePathElement);
    assert.deepEqual(keys, ['f:metadata', 'k:{"containerPort":80,"protocol":"TCP"}', 'v:"example.com/finalizer"', 'i:3']);
    for (let i = 0; i < keys.length; i++) assert.deepEqual(parsePathElement(keys[i]), cases[i]);
    assert.equal(serializePathElement({ kind: 'value', value: 'a<b&c' }), 'v:"a\\u003cb\\u0026c"');
  });

  it('renders paths for messages', () => {
    assert.equal(pathString([field('spec'), field('containers'), keyElement([['name', 'app']]), field('image')]), '.spec.containers[name="app"].image');
    assert.equal(pathString([field('metadata'), field('finalizers'), { kind: 'value', value: 'x' }]), '.metadata.finalizers[="x"]');
  });

  it('round-trips FieldsV1 with "." for nodes that are members and have children', () => {
    const v1 = { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'f:spec': { 'f:replicas': {} } };
    const s = FieldSet.fromFieldsV1(v1);
    assert.ok(s.has([field('metadata'), field('labels')]));
    assert.ok(!s.has([field('metadata')]));
    assert.deepEqual(s.toFieldsV1(), v1);
    assert.equal(s.paths().length, 3);
  });

  it('union, difference and intersection are path-wise', () => {
    const a = FieldSet.of([field('spec'), field('replicas')], [field('spec'), field('paused')], [field('spec')]);
    const b = FieldSet.of([field('spec'), field('replicas')]);
    assert.deepEqual(a.difference(b).toFieldsV1(), { 'f:spec': { '.': {}, 'f:paused': {} } });
    assert.deepEqual(a.intersection(b).toFieldsV1(), { 'f:spec': { 'f:replicas': {} } });
    assert.ok(a.union(b).equals(a));
    // a member does not remove its children in a plain difference, but does in a recursive one
    assert.ok(!a.difference(FieldSet.of([field('spec')])).isEmpty());
    assert.ok(a.recursiveDifference(FieldSet.of([field('spec')])).isEmpty());
  });

  it('lists FieldsV1 members in Kubernetes order (fields, then keys, then values)', () => {
    const s = FieldSet.of([field('b')], [field('a')], [{ kind: 'value', value: 'z' }], [keyElement([['name', 'x']])]);
    assert.deepEqual(Object.keys(s.toFieldsV1()), ['f:a', 'f:b', 'k:{"name":"x"}', 'v:"z"']);
  });

  it('encodes set items by value (finalizers)', () => {
    const types = new Types({ resolve });
    const set = toFieldSet(types, { metadata: { finalizers: ['a.io/x', 'b.io/y'] } }, { ref: 'io.k8s.api.core.v1.Pod' });
    assert.deepEqual(set.toFieldsV1(), { 'f:metadata': { 'f:finalizers': { 'v:"a.io/x"': {}, 'v:"b.io/y"': {} } } });
  });
});
