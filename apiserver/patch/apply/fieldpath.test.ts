import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolve } from '../../openapi/index.ts';
import {
  FieldSet,
  PathCursor,
  field,
  keyElement,
  parsePathElement,
  pathString,
  serializePathElement,
} from './fieldpath.ts';
import { Types, compare, toFieldSet } from './typed.ts';

describe('field paths and sets', () => {
  it('serializes path elements as FieldsV1 keys and parses them back', () => {
    const cases = [
      field('metadata'),
      keyElement([
        ['protocol', 'TCP'],
        ['containerPort', 80],
      ]),
      { kind: 'value' as const, value: 'example.com/finalizer' },
      { kind: 'index' as const, index: 3 },
    ];
    const keys = cases.map(serializePathElement);
    assert.deepEqual(keys, [
      'f:metadata',
      'k:{"containerPort":80,"protocol":"TCP"}',
      'v:"example.com/finalizer"',
      'i:3',
    ]);
    for (let i = 0; i < keys.length; i++) assert.deepEqual(parsePathElement(keys[i]), cases[i]);
    assert.equal(serializePathElement({ kind: 'value', value: 'a<b&c' }), 'v:"a\\u003cb\\u0026c"');
  });

  it('renders paths for messages', () => {
    assert.equal(
      pathString([field('spec'), field('containers'), keyElement([['name', 'app']]), field('image')]),
      '.spec.containers[name="app"].image',
    );
    assert.equal(
      pathString([field('metadata'), field('finalizers'), { kind: 'value', value: 'x' }]),
      '.metadata.finalizers[="x"]',
    );
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
    const set = toFieldSet(
      types,
      { metadata: { finalizers: ['a.io/x', 'b.io/y'] } },
      { ref: 'io.k8s.api.core.v1.Pod' },
    );
    assert.deepEqual(set.toFieldsV1(), { 'f:metadata': { 'f:finalizers': { 'v:"a.io/x"': {}, 'v:"b.io/y"': {} } } });
  });

  it('inserts the paths of cursors as it inserts paths, into any number of sets', () => {
    const paths = [
      [field('spec'), field('containers'), keyElement([['name', 'app']]), field('image')],
      [field('spec'), field('containers'), keyElement([['name', 'app']])],
      [field('spec'), field('replicas')],
      [field('metadata'), field('finalizers'), { kind: 'value' as const, value: 'x' }],
    ];
    const a = new FieldSet();
    const b = new FieldSet();
    for (const p of paths) {
      let cur = PathCursor.ROOT;
      for (const pe of p) cur = pe.kind === 'field' ? cur.field(pe.name) : cur.child(pe);
      assert.deepEqual(cur.path(), p);
      a.insertAt(cur);
      b.insertAt(cur);
    }
    a.insertAt(PathCursor.ROOT); // the root is no path
    const expected = FieldSet.of(...paths);
    assert.ok(a.equals(expected) && b.equals(expected));
    assert.deepEqual(a.toFieldsV1(), expected.toFieldsV1());
  });

  it('compares two objects leaving ignored paths out, as taking them off afterwards would', () => {
    const types = new Types({ resolve });
    const schema = { ref: 'io.k8s.api.core.v1.Pod' };
    const before = {
      metadata: { labels: { a: '1', gone: 'x' } },
      spec: { containers: [{ name: 'app', image: 'v1', ports: [{ containerPort: 80 }] }] },
      status: { phase: 'Pending' },
    };
    const after = {
      metadata: { labels: { a: '2', b: '1' } },
      spec: {
        containers: [
          { name: 'app', image: 'v2' },
          { name: 'side', image: 's' },
        ],
      },
      status: { phase: 'Running', podIP: '10.0.0.1' },
    };
    for (const ignored of [
      FieldSet.of([field('status')]),
      FieldSet.of([field('spec')], [field('metadata')]),
      FieldSet.of(
        [field('spec'), field('containers'), keyElement([['name', 'app']]), field('image')],
        [field('metadata'), field('labels'), field('gone')],
      ),
    ]) {
      const all = compare(types, before, after, schema);
      const some = compare(types, before, after, schema, ignored);
      for (const k of ['added', 'modified', 'removed'] as const) {
        assert.deepEqual(some[k].toFieldsV1(), all[k].recursiveDifference(ignored).toFieldsV1(), k);
      }
    }
    // one set for added and modified gathers both
    const changed = new FieldSet();
    const removed = new FieldSet();
    compare(types, before, after, schema, undefined, { added: changed, modified: changed, removed });
    const all = compare(types, before, after, schema);
    assert.ok(changed.equals(all.added.union(all.modified)));
    assert.ok(removed.equals(all.removed));
    assert.ok(!removed.isEmpty() && !all.added.isEmpty() && !all.modified.isEmpty());
  });
});
