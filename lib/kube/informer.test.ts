import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClient } from './fake.ts';
import { Informer } from './informer.ts';
import { ConfigMaps } from './resources.ts';
import type { WatchEvent } from './api.ts';
import { eventually } from '../../test/harness/eventually.ts';

/** a fake whose watches the test drives by hand */
class DrivenClient extends FakeClient {
  watches: { onEvent: (e: WatchEvent) => void; done: (err?: Error) => void; rv?: string }[] = [];
  override watch(_r: any, opts: any, onEvent: any, done: any) {
    this.watches.push({ onEvent, done, rv: opts.resourceVersion });
    return { stop() {} };
  }
}

const tick = () => new Promise((r) => setTimeout(r, 10));

test('a 410 during the watch relists and turns the difference into events', async () => {
  const c = new DrivenClient();
  c.seed(ConfigMaps, { metadata: { name: 'a', namespace: 'n' } });
  c.seed(ConfigMaps, { metadata: { name: 'b', namespace: 'n' } });
  const inf = new Informer(c, ConfigMaps);
  const seen: string[] = [];
  inf.addEventHandler({
    onAdd: (o) => seen.push(`add ${o.metadata.name}`),
    onDelete: (o) => seen.push(`delete ${o.metadata.name}`),
    onUpdate: (_o, n) => seen.push(`update ${n.metadata.name}`),
  });
  inf.start();
  await inf.waitForSync();
  await tick();
  assert.equal(c.watches.length, 1);
  assert.deepEqual(seen.sort(), ['add a', 'add b']);
  seen.length = 0;
  // meanwhile: b goes, c comes, a changes; the watch learns its version is gone
  await c.delete(ConfigMaps, 'n', 'b');
  await c.create(ConfigMaps, { metadata: { name: 'c', namespace: 'n' } });
  await c.patch(ConfigMaps, 'n', 'a', { data: { k: 'v' } }, 'merge');
  c.watches[0].onEvent({ type: 'ERROR', object: { kind: 'Status', code: 410, metadata: {} } as any });
  c.watches[0].done();
  await tick();
  assert.deepEqual(seen.sort(), ['add c', 'delete b', 'update a']);
  assert.equal(c.watches.length, 2, 'watching again after the relist');
  assert.equal(inf.hasSynced(), true);
});

test('a broken watch resumes from the last resourceVersion without relisting', async () => {
  const c = new DrivenClient();
  const inf = new Informer(c, ConfigMaps);
  inf.start();
  await inf.waitForSync();
  await tick();
  c.watches[0].onEvent({
    type: 'ADDED',
    object: { kind: 'ConfigMap', metadata: { name: 'x', namespace: 'n', resourceVersion: '77' } },
  });
  c.watches[0].onEvent({ type: 'BOOKMARK', object: { kind: 'ConfigMap', metadata: { resourceVersion: '80' } } });
  const lists = c.actions.filter((a) => a.verb === 'list').length;
  c.watches[0].done(new Error('connection reset'));
  // the watch starts again after its retry delay
  await eventually('the watch started again', () => c.watches.length > 1);
  assert.equal(c.watches.length, 2);
  assert.equal(c.watches[1].rv, '80');
  assert.equal(c.actions.filter((a) => a.verb === 'list').length, lists);
  assert.equal(inf.get('n/x')?.metadata.resourceVersion, '77');
  inf.stop();
});

test('indexes follow updates and deletes', () => {
  const inf = new Informer(new FakeClient(), ConfigMaps);
  inf.addIndex('app', (o) => (o.metadata.labels?.app ? [o.metadata.labels.app] : []));
  inf.upsert({ metadata: { name: 'a', namespace: 'n', labels: { app: 'x' } } });
  inf.upsert({ metadata: { name: 'b', namespace: 'n', labels: { app: 'x' } } });
  assert.equal(inf.byIndex('app', 'x').length, 2);
  inf.upsert({ metadata: { name: 'a', namespace: 'n', labels: { app: 'y' } } });
  assert.deepEqual(
    inf.byIndex('app', 'x').map((o) => o.metadata.name),
    ['b'],
  );
  inf.remove({ metadata: { name: 'b', namespace: 'n' } });
  assert.equal(inf.byIndex('app', 'x').length, 0);
  assert.equal(inf.byIndex('app', 'y').length, 1);
});
