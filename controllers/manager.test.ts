import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClient } from '../lib/kube/fake.ts';
import { ConfigMaps, Leases, Pods, ReplicaSets, Secrets } from '../lib/kube/resources.ts';
import { keyOf } from '../lib/kube/object.ts';
import type { LeaderElectorOptions } from '../lib/kube/leader-election.ts';
import { MemoryQueue } from '../lib/workqueue/memory.ts';
import { ControllerManager, selectControllers } from './manager.ts';
import { controlledBy, type ControllerDefinition } from './controller.ts';
import { Expectations } from './expectations.ts';
import { ControllerFixture } from './testing.ts';

const def = (name: string, disabledByDefault = false): ControllerDefinition => ({
  name,
  component: `${name}-controller`,
  disabledByDefault,
  reconciler: () => ({ reconcile: async () => {} }),
});

test('--controllers picks by name, star and minus', () => {
  const defs = [def('a'), def('b'), def('c', true)];
  assert.deepEqual(
    selectControllers(defs).map((d) => d.name),
    ['a', 'b'],
  );
  assert.deepEqual(
    selectControllers(defs, ['*', '-a']).map((d) => d.name),
    ['b'],
  );
  assert.deepEqual(
    selectControllers(defs, ['*', 'c']).map((d) => d.name),
    ['a', 'b', 'c'],
  );
  assert.deepEqual(
    selectControllers(defs, ['c']).map((d) => d.name),
    ['c'],
  );
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
    for: ConfigMaps,
    reconciler(ctx) {
      const inf = ctx.informers.informer(ConfigMaps);
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
  await until(() => seen.length >= 3, 'the key came back');
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
    for: ConfigMaps,
    reconciler(ctx) {
      const inf = ctx.informers.informer(ConfigMaps);
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
  const one = new ControllerManager({
    client,
    queues: shared,
    definitions: [d('one')],
    options: { sharedQueue: true },
    host: 'one',
    log: () => {},
  });
  const two = new ControllerManager({
    client,
    queues: shared,
    definitions: [d('two')],
    options: { sharedQueue: true },
    host: 'two',
    log: () => {},
  });
  await one.start();
  await two.start();
  await until(() => acted.length > 0, 'a manager acted');
  await new Promise((r) => setTimeout(r, 200)); // time for the other manager to act, were it to
  await one.stop();
  await two.stop();
  assert.equal(caughtUp.length, 1, `one manager took the Lease: ${caughtUp.join(', ')}`);
  assert.deepEqual(acted, [`${caughtUp[0]} n/x`], 'only the Lease holder reconciled, once');
  const lease = await client.get(Leases, 'kube-system', 'skiff-solo');
  assert.ok(lease, 'the Lease kube-system/skiff-solo exists');
});

/** takes the Lease when it runs and gives it up on stop(), as a candidate alone with a free Lease would */
class FakeElector {
  leading = false;
  constructor(private readonly opts: LeaderElectorOptions) {}
  isLeader(): boolean {
    return this.leading;
  }
  async run(): Promise<void> {
    await new Promise((r) => setImmediate(r)); // taking the Lease is a request to the API server
    this.lead();
  }
  async stop(): Promise<void> {
    this.lose();
  }
  lead(): void {
    if (this.leading) return;
    this.leading = true;
    this.opts.onStartedLeading();
  }
  lose(): void {
    if (!this.leading) return;
    this.leading = false;
    this.opts.onStoppedLeading();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** waits for the condition; the bound is for one that never comes, generous for a loaded machine */
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(2);
  }
}

function deferred(): { promise: Promise<void>; resolve(): void; reject(e: Error): void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** one manager with a singleton whose catch-up and elector the test drives */
async function singleton(catchUp: () => Promise<void>, catchUpRetry?: { initialMs: number; maxMs: number }) {
  const acted: string[] = [];
  const logs: string[] = [];
  const electors: FakeElector[] = [];
  let enqueue!: (key: string) => void;
  const d: ControllerDefinition = {
    name: 'solo',
    component: 'solo-controller',
    singleton: true,
    reconciler(ctx) {
      enqueue = ctx.enqueue;
      return {
        async reconcile(key) {
          acted.push(key);
        },
        onStartedLeading: catchUp,
      };
    },
  };
  const m = new ControllerManager({
    client: new FakeClient(),
    queues: () => {
      throw new Error('a singleton must not take a shared queue');
    },
    definitions: [d],
    options: { sharedQueue: true, workers: 1 },
    log: (msg) => logs.push(msg),
    elector: (opts) => {
      const e = new FakeElector(opts);
      electors.push(e);
      return e;
    },
    catchUpRetry,
  });
  await m.start();
  await until(() => !!electors[0]?.isLeader(), 'the singleton takes its Lease');
  return { m, acted, logs, elector: electors[0]!, enqueue };
}

test('a singleton that loses its Lease while catching up does not act', async () => {
  const pending = deferred();
  const t = await singleton(() => pending.promise);
  assert.ok(t.elector.isLeader());
  t.enqueue('n/a');
  t.elector.lose();
  pending.resolve();
  await sleep(20);
  t.enqueue('n/b');
  await sleep(20);
  assert.deepEqual(t.acted, [], 'no key reconciled after the Lease was lost');
  assert.ok(!t.logs.some((l) => l.includes(': acting (')), t.logs.join('\n'));
  await t.m.stop();
});

test('a catch-up of an earlier term finishing late does not make the new term act before its own catch-up', async () => {
  const first = deferred();
  const second = deferred();
  const catchUps = [first, second];
  const t = await singleton(() => catchUps.shift()!.promise);
  t.elector.lose();
  t.elector.lead();
  first.resolve();
  await sleep(20);
  t.enqueue('n/a');
  await sleep(20);
  assert.deepEqual(t.acted, [], 'waits for the catch-up of the current term');
  second.resolve();
  await until(() => t.acted.length === 1, 'the key is reconciled');
  assert.deepEqual(t.acted, ['n/a']);
  await t.m.stop();
});

test('a failing catch-up keeps the Lease and is retried with growing delays, from the start again after a success', async () => {
  let fail = 5;
  const attempts: number[] = [];
  const t = await singleton(
    async () => {
      attempts.push(performance.now());
      if (fail-- > 0) throw new Error('list nodes: connection refused');
    },
    { initialMs: 20, maxMs: 80 },
  );
  await until(() => attempts.length === 6, 'the sixth catch-up');
  assert.ok(t.elector.isLeader(), 'the Lease was kept while retrying');
  const delays = t.logs
    .filter((l) => l.includes('retrying in'))
    .map((l) => Number(/retrying in ([\d.]+) s/.exec(l)![1]) * 1000);
  assert.deepEqual(delays, [20, 40, 80, 80, 80]);
  for (let i = 1; i < attempts.length; i++) {
    // timers may fire up to a millisecond early
    assert.ok(
      attempts[i]! - attempts[i - 1]! >= delays[i - 1]! - 2,
      `attempt ${i + 1} came after ${attempts[i]! - attempts[i - 1]!} ms, before its delay of ${delays[i - 1]} ms`,
    );
  }
  assert.match(
    t.logs.find((l) => l.includes('retrying in'))!,
    /list nodes: connection refused/,
  );
  await until(() => t.logs.some((l) => l.includes(': acting (')), 'the singleton acts');
  t.enqueue('n/a');
  await until(() => t.acted.length === 1, 'the key is reconciled');

  // a success resets the backoff
  fail = 1;
  t.elector.lose();
  t.elector.lead();
  await until(() => attempts.length === 8, 'the catch-up after taking the Lease again');
  const after = t.logs.filter((l) => l.includes('retrying in'));
  assert.equal(after.length, 6);
  assert.match(after[5]!, /retrying in 0.02 s/);
  await t.m.stop();
});

test('stop() and a lost Lease cancel a pending retry of the catch-up', async () => {
  for (const end of ['stop', 'lose'] as const) {
    let attempts = 0;
    const t = await singleton(
      async () => {
        attempts++;
        throw new Error('forbidden');
      },
      { initialMs: 30, maxMs: 30 },
    );
    await until(() => t.logs.some((l) => l.includes('retrying in')), 'the first failure');
    if (end === 'stop') await t.m.stop();
    else t.elector.lose();
    await sleep(100);
    assert.equal(attempts, 1, `no retry after ${end}`);
    if (end === 'lose') await t.m.stop();
  }
});

test('a declaration wires its kinds: for queues the key, owns the owner (with its expectations), watches a mapping', async () => {
  class Sets {
    readonly expectations = new Expectations();
    async reconcile(): Promise<void> {}
  }
  const t = await ControllerFixture.of<Sets>({
    name: 'sets',
    component: 'sets-controller',
    for: ReplicaSets,
    owns: [{ resource: Pods, expectations: (r) => r.expectations }],
    watches: [
      // a ConfigMap names the set it concerns in a label; only changes of its data count, seen after 100 ms
      {
        resource: ConfigMaps,
        map: (cm) => (cm.metadata.labels?.set ? [`${cm.metadata.namespace}/${cm.metadata.labels.set}`] : []),
        update: (old, cm) => JSON.stringify(old.data) !== JSON.stringify(cm.data),
        delete: () => false,
        delayMs: 100,
      },
    ],
    reconciler: () => new Sets(),
  });
  const rs = t.seed(ReplicaSets, { metadata: { name: 'web', namespace: 'n', uid: 'rs-1' } });
  assert.deepEqual(t.drain(), ['n/web']);
  t.reconciler.expectations.expectCreations('n/web', 1);
  const ref = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: 'rs-1', controller: true };
  const pod = t.seed(Pods, { metadata: { name: 'web-a', namespace: 'n', uid: 'p-1', ownerReferences: [ref] } });
  assert.deepEqual(t.drain(), ['n/web']);
  assert.ok(t.reconciler.expectations.satisfied('n/web'), 'the creation is observed');
  assert.deepEqual(
    controlledBy(t.informers.informer(Pods), 'rs-1').map((p) => p.metadata.name),
    ['web-a'],
    'owned objects are indexed by their controller',
  );
  // an owner of the same name but another uid is not this one
  t.seed(Pods, { metadata: { name: 'stale', namespace: 'n', ownerReferences: [{ ...ref, uid: 'rs-0' }] } });
  t.seed(Secrets, { metadata: { name: 'ignored', namespace: 'n' } });
  assert.deepEqual(t.drain(), []);
  t.reconciler.expectations.expectDeletions('n/web', ['p-1']);
  t.cache(Pods, { ...pod, metadata: { ...pod.metadata, deletionTimestamp: '2024-01-01T00:00:00Z' } });
  assert.ok(t.reconciler.expectations.satisfied('n/web'), 'a deletion is observed when it starts');
  const cm = t.seed(ConfigMaps, { metadata: { name: 'c', namespace: 'n', labels: { set: 'web' } }, data: { a: '1' } });
  t.cache(ConfigMaps, { ...cm, metadata: { ...cm.metadata, annotations: { x: 'y' } } });
  t.cache(ConfigMaps, { ...cm, data: { a: '2' } });
  t.remove(ConfigMaps, cm);
  assert.deepEqual(t.drain(), ['n/web', 'n/web after 100 ms', 'n/web after 100 ms']);
  t.reconciler.expectations.expectCreations('n/web', 1);
  t.remove(ReplicaSets, rs);
  assert.deepEqual(t.reconciler.expectations.pending('n/web'), undefined, 'a deleted owner is forgotten');
});
