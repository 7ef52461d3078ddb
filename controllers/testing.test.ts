import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigMaps, Namespaces } from '../lib/kube/resources.ts';
import type { ControllerContext } from './controller.ts';
import { ControllerFixture } from './testing.ts';

/** a controller that gives each namespace a ConfigMap "hello", and labels the namespace */
const hello = {
  name: 'hello',
  component: 'hello-controller',
  for: Namespaces,
  reconciler: (ctx: ControllerContext) => ({
    async reconcile(ns: string) {
      await ctx.client.create(ConfigMaps, {
        metadata: { name: 'hello', namespace: ns },
        data: { at: String(ctx.now()) },
      });
      await ctx.client.patch(Namespaces, undefined, ns, { metadata: { labels: { hello: 'yes' } } }, 'merge');
    },
  }),
};

test('the fixture compares the whole ordered list of writes: a missing or an extra one fails', async () => {
  const t = await ControllerFixture.of(hello, { clock: 42 });
  t.seed(Namespaces, { metadata: { name: 'shop' } });
  assert.deepEqual(t.drain(), ['shop']);
  await t.sync('shop');
  assert.throws(() => t.expectWrites(['create configmaps shop/hello']), /the writes, in order/);
  assert.throws(
    () => t.expectWrites(['create configmaps shop/hello', 'patch namespaces shop', 'patch namespaces shop']),
    /the writes, in order/,
  );
  assert.throws(
    () =>
      t.expectWrites([
        { action: 'create configmaps shop/hello', has: { data: { at: '43' } } },
        'patch namespaces shop',
      ]),
    /write 1 \(create configmaps shop\/hello\): body\.data\.at/,
  );
  t.expectWrites(['create configmaps shop/hello', 'patch namespaces shop']);
});

test('the fixture checks a whole body, the part of it given, and the patch type', async () => {
  const t = await ControllerFixture.of(hello, { clock: 42 });
  t.seed(Namespaces, { metadata: { name: 'shop' } });
  await t.sync('shop');
  t.expectWrites([
    {
      action: 'create configmaps shop/hello',
      has: { metadata: { name: 'hello', labels: undefined }, data: { at: '42' } },
    },
    { action: 'patch namespaces shop', body: { metadata: { labels: { hello: 'yes' } } }, patchType: 'merge' },
  ]);
  // forgotten once checked; the written objects reach the caches as a watch would bring them
  t.expectWrites([]);
  t.observeWrites();
  assert.equal(t.informers.informer(Namespaces).get('shop')?.metadata.labels?.hello, 'yes');
});
