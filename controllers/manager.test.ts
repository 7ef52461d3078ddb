import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClient } from '../lib/kube/fake.ts';
import { ConfigMaps, Leases } from '../lib/kube/resources.ts';
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

test('a singleton controller beside a shared queue acts in one manager at a time, behind its own Lease', async () => {
  const client = new FakeClient();
  client.seed(ConfigMaps, { metadata: { name: 'x', namespace: 'n' } });
  const acted: string[] = [];
  const caughtUp: string[] = [];
  const d = (who: string): ControllerDefinition => ({
    name: 'solo',
    component: 'solo-controller',
    singleton: true,
    setup(ctx) {
      const inf = ctx.informers.informer(ConfigMaps);
      inf.addEventHandler({ onAdd: (o) => ctx.enqueue(keyOf(o)) });
      return {
        async reconcile(key) {
          acted.push(`${who} ${key}`);
        },
        async onStartedLeading() {
          caughtUp.push(who);
          for (const o of inf.list()) ctx.enqueue(keyOf(o));
        },
      };
    },
  });
  // the shared queue itself is not used by a singleton: each manager keeps its own
  const shared = () => {
    throw new Error('a singleton must not take a shared queue');
  };
  const one = new ControllerManager({ client, queues: shared, definitions: [d('one')], options: { sharedQueue: true }, host: 'one', log: () => {} });
  const two = new ControllerManager({ client, queues: shared, definitions: [d('two')], options: { sharedQueue: true }, host: 'two', log: () => {} });
  await one.start();
  await two.start();
  const deadline = Date.now() + 5000;
  while (acted.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 200));
  await one.stop();
  await two.stop();
  assert.equal(caughtUp.length, 1, `one manager took the Lease: ${caughtUp.join(', ')}`);
  assert.deepEqual(acted, [`${caughtUp[0]} n/x`], 'only the Lease holder reconciled, once');
  const lease = await client.get(Leases, 'kube-system', 'skiff-solo');
  assert.ok(lease, 'the Lease kube-system/skiff-solo exists');
});
