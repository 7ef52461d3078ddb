import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseFieldSelector, parseLabelSelector } from '../../lib/selectors.ts';
import { ResourceCache, encodeEvent, eventObject, type CacheEvent, type EventType } from './cache.ts';

const pod = (name: string, rev: number) =>
  ResourceCache.decode(
    `/registry/pods/default/${name}`,
    JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' } }),
    rev,
  );

function watcher(seen: { type: EventType; obj: any; line: string }[]) {
  return {
    filter: { labels: parseLabelSelector(''), fields: parseFieldSelector('') },
    deliver: (type: EventType, ev: CacheEvent) =>
      seen.push({ type, obj: eventObject(ev), line: encodeEvent(type, ev).text }),
    terminate: () => {},
  };
}

describe('ResourceCache fan-out', () => {
  it('parses an event once for all re-encoding watchers, and a replay gets its own copy', () => {
    const cache = new ResourceCache('/registry/pods/', { selectableFields: () => ({}) });
    const a: { type: EventType; obj: any; line: string }[] = [];
    const b: typeof a = [];
    cache.addWatcher(watcher(a));
    cache.addWatcher(watcher(b));
    cache.apply('PUT', pod('web', 5));
    assert.equal(a.length, 1);
    assert.equal(b.length, 1);
    assert.equal(a[0].type, 'ADDED');
    assert.equal(a[0].obj.metadata.resourceVersion, '5');
    assert.equal(a[0].obj, b[0].obj, 'one parse shared by both watchers');
    assert.equal(a[0].line, `{"type":"ADDED","object":${cache.get('/registry/pods/default/web')!.json}}\n`);
    // after the fan-out the event in the window keeps neither the lines nor the parse
    const replayed: typeof a = [];
    const w = watcher(replayed);
    const ev = { rev: 5, type: 'ADDED' as EventType, cur: cache.get('/registry/pods/default/web')! };
    w.deliver('ADDED', ev);
    w.deliver('ADDED', ev);
    assert.notEqual(replayed[0].obj, replayed[1].obj);
    assert.deepEqual(replayed[0].obj, a[0].obj);
  });
});

describe('CachedObject as a list writes it', () => {
  const cases: [string, string][] = [
    [
      "ASCII, stored in skiff's layout",
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'a', namespace: 'default' },
        data: { k: 'v' },
      }),
    ],
    [
      "non-ASCII, stored in skiff's layout",
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'b', namespace: 'default' },
        data: { k: 'grüße, 日本, 🚀' },
      }),
    ],
    ['empty metadata', JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: {} })],
    [
      'another layout (resourceVersion in the stored JSON)',
      JSON.stringify({
        metadata: { name: 'c', resourceVersion: '3' },
        kind: 'ConfigMap',
        apiVersion: 'v1',
        data: { k: 'ü' },
      }),
    ],
  ];
  for (const [what, stored] of cases) {
    it(`writes the same bytes as its JSON: ${what}`, () => {
      const o = ResourceCache.decode('/registry/configmaps/default/x', stored, 42);
      const expected = Buffer.from(o.json);
      assert.equal(o.jsonBytes(), expected.length);
      const buf = Buffer.alloc(expected.length + 4, 0x2a);
      assert.equal(o.writeJson(buf, 2), 2 + expected.length);
      assert.deepEqual(buf.subarray(2, 2 + expected.length), expected);
      assert.equal(buf.subarray(0, 2).toString() + buf.subarray(2 + expected.length).toString(), '****');
      assert.equal(JSON.parse(o.json).metadata.resourceVersion, '42');
      o.seal();
      assert.equal(o.jsonBytes(), expected.length, 'sealed');
      const again = Buffer.alloc(expected.length);
      o.writeJson(again, 0);
      assert.deepEqual(again, expected);
      assert.equal(
        o.jsonStartsWith('{"apiVersion":"v1","kind":"ConfigMap",'),
        o.json.startsWith('{"apiVersion":"v1","kind":"ConfigMap",'),
      );
    });
  }
});

describe('ResourceCache.fromWritten', () => {
  it('makes the entry decode would make from the written JSON, and keeps nothing of the written object', () => {
    const written = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', namespace: 'prod', labels: { app: 'web', tier: 'é' } },
      spec: { nodeName: 'n1' },
      status: { phase: 'Running' },
    };
    const value = JSON.stringify(written);
    const fields = (o: any) => ({ 'spec.nodeName': o.spec.nodeName, 'status.phase': o.status.phase });
    const viaDecode = new ResourceCache('/registry/pods/', { selectableFields: fields });
    const viaWritten = new ResourceCache('/registry/pods/', { selectableFields: fields });
    viaDecode.apply('PUT', ResourceCache.decode('/registry/pods/prod/web', value, 7));
    viaWritten.apply('PUT', ResourceCache.fromWritten('/registry/pods/prod/web', value, 7, written));
    const a = viaDecode.get('/registry/pods/prod/web')!;
    const b = viaWritten.get('/registry/pods/prod/web')!;
    assert.deepEqual(
      [b.json, b.labels, b.fields, b.namespace, b.name, b.rev],
      [a.json, a.labels, a.fields, a.namespace, a.name, a.rev],
    );
    assert.equal(Object.hasOwn(written.metadata, 'resourceVersion'), false, 'the written object is not changed');
    // the writer changes its object afterwards (as a response does): the cache's entry stays as stored
    written.metadata.labels.app = 'changed';
    written.spec.nodeName = 'n2';
    assert.deepEqual(b.labels, { app: 'web', tier: 'é' });
    assert.equal(b.obj.spec.nodeName, 'n1');
    assert.equal(
      viaWritten.list({ labels: parseLabelSelector('app=web'), fields: parseFieldSelector('spec.nodeName=n1') }).items
        .length,
      1,
    );
  });
});
