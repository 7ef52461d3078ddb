import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClient } from '../lib/kube/fake.ts';
import { ConfigMaps } from '../lib/kube/resources.ts';
import { keyOf } from '../lib/kube/object.ts';
import { MemoryQueue } from '../lib/workqueue/memory.ts';
import { ControllerManager, selectControllers } from './manager.ts';
import type { ControllerDefinition } from './controller.ts';

const def = (name: string, disabledByDefault = false): ControllerDefinition => ({ name, component: `${name}-controller`, disabledByDefault, setup: () => ({ reconcile: async () => {} }) });

test('--controllers picks by name, star and minus', () => {
  const defs = [def('a'), def('b'), def('c', true)];
  assert.deepEqual(selectControllers(defs).map((d) => d.name), ['a', 'b']);
  assert.deepEqual(selectControllers(defs, ['*', '-a']).map((d) => d.name), ['b']);
  assert.deepEqual(selectControllers(defs, ['*', 'c']).map((d) => d.name), ['a', 'b', 'c']);
  assert.deepEqual(selectControllers(defs, ['c']).map((d) => d.name), ['c']);
  assert.throws(() => selectControllers(defs, ['nope']), /unknown controller "nope"; known: a, b, c/);
});

test('keys from informer events are reconciled after sync; errors retry with backoff; requeueAfter comes back', async () => {
  const client = new FakeClient();
  client.seed(ConfigMaps, { metadata: { name: 'x', namespace: 'n' } });
  const seen: string[] = [];
  let failures = 1;
  const d: ControllerDefinition = {
    name: 'cm',
    component: 'cm-controller',
    workers: 2,
    setup(ctx) {
      const inf = ctx.informers.informer(ConfigMaps);
      inf.addEventHandler({ onAdd: (o) => ctx.enqueue(keyOf(o)) });
      return {
        async reconcile(key) {
          assert.ok(inf.hasSynced(), 'never before the cache is synced');
          seen.push(key);
          if (failures-- > 0) throw new Error('transient');
          if (seen.length === 2) return { requeueAfterMs: 20 };
        },
      };
    },
  };
  const m = new ControllerManager({ client, queues: (n) => new MemoryQueue(n), definitions: [d], log: () => {} });
  await m.start();
  await new Promise((r) => setTimeout(r, 300));
  await m.stop();
  assert.deepEqual(seen, ['n/x', 'n/x', 'n/x'], 'failed once, succeeded asking to come back, came back');
  assert.deepEqual(m.controllers(), ['cm']);
});
