import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClient } from '../lib/kube/fake.ts';
import { InformerFactory } from '../lib/kube/informer.ts';
import { MemoryEventRecorder } from '../lib/kube/events.ts';
import { Nodes, Pods } from '../lib/kube/resources.ts';
import type { KubeObject } from '../lib/kube/object.ts';
import { Scheduler } from './scheduler.ts';
import { makeNode, makePod } from './testing/objects.ts';
import { eventually } from '../test/harness/eventually.ts';

async function setup(nodes: KubeObject[], t: { after(fn: () => unknown): void }) {
  const client = new FakeClient();
  for (const n of nodes) client.seed(Nodes, n);
  const informers = new InformerFactory(client);
  const recorder = new MemoryEventRecorder();
  const s = new Scheduler({ client, informers, recorder, log: () => {} });
  t.after(async () => {
    await s.stop();
    informers.stop();
  });
  await s.start();
  const pods = informers.informer(Pods);
  const nodeInformer = informers.informer(Nodes);
  /** a pod created through the API: in the fake store and seen by the informer */
  const create = (p: KubeObject) => pods.upsert(client.seed(Pods, p));
  /**
   * The scheduler has taken every pod it was given through its scheduling cycle: none waits in the active queue or is
   * in flight. A bound pod's binding and Scheduled event, a failed one's event and status patch, are written by then;
   * a preemption's deletions come after (wait for them apart).
   */
  const settle = () =>
    eventually('the scheduler has nothing active or in flight', () => {
      const st = s.queue.stats();
      return st.active === 0 && st.inFlight === 0;
    });
  return { client, recorder, s, pods, nodeInformer, create, settle };
}

const bindings = (c: FakeClient) =>
  c
    .writes()
    .filter((w) => w.subresource === 'binding')
    .map((w) => `${w.name}->${w.body.target.name}`);
const statusPatches = (c: FakeClient) => c.writes().filter((w) => w.verb === 'patch' && w.subresource === 'status');

test('a pod is bound to the node where it fits, with a Scheduled event', async (t) => {
  const { client, recorder, create, settle } = await setup(
    [makeNode('small', { cpu: '500m' }), makeNode('big', { cpu: '4' })],
    t,
  );
  create(makePod('p', { cpu: '1' }));
  await settle();
  assert.deepEqual(bindings(client), ['p->big']);
  assert.deepEqual(
    recorder.events.map((e) => [e.type, e.reason, e.message]),
    [['Normal', 'Scheduled', 'Successfully assigned default/p to big']],
  );
});

test('assumed pods count before their bindings come back, so two pods do not overcommit one node', async (t) => {
  const { client, s, create, pods, settle } = await setup(
    [makeNode('a', { cpu: '1' }), makeNode('b', { cpu: '1' })],
    t,
  );
  create(makePod('p1', { cpu: '600m' }));
  create(makePod('p2', { cpu: '600m' }));
  await settle();
  const b = bindings(client)
    .map((x) => x.split('->')[1])
    .sort();
  assert.deepEqual(b, ['a', 'b'], 'one pod per node: the first placement was counted before any watch event');
  assert.equal(s.cache.assumedCount(), 2);
  // the watch catches up: the bound pods confirm the assumptions, counted once
  for (const name of ['p1', 'p2']) {
    const node = bindings(client)
      .find((x) => x.startsWith(`${name}->`))!
      .split('->')[1];
    pods.upsert({
      ...client.stored(Pods, 'default', name)!,
      spec: { ...client.stored(Pods, 'default', name)!.spec, nodeName: node },
    });
  }
  assert.equal(s.cache.assumedCount(), 0);
  assert.equal(s.cache.node('a')!.requested.cpu, 600);
  assert.equal(s.cache.node('a')!.pods.size, 1);
});

test('a pod that fits nowhere gets the Unschedulable condition and a FailedScheduling event with the upstream message', async (t) => {
  const tainted = makeNode('t', {
    cpu: '8',
    taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }],
  });
  const { client, recorder, s, nodeInformer, create, settle } = await setup(
    [
      makeNode('a', { cpu: '1' }),
      makeNode('b', { cpu: '1' }),
      makeNode('c', { cpu: '1' }),
      tainted,
      makeNode('d', { cpu: '8', unschedulable: true }),
    ],
    t,
  );
  create(makePod('huge', { cpu: '2' }));
  await settle();
  const want =
    '0/5 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 1 node(s) were unschedulable, 3 Insufficient cpu. ' +
    'preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling.';
  const patches = statusPatches(client);
  assert.equal(patches.length, 1);
  const cond = patches[0].body.status.conditions[0];
  assert.deepEqual(
    [cond.type, cond.status, cond.reason, cond.message],
    ['PodScheduled', 'False', 'Unschedulable', want],
  );
  assert.deepEqual(
    recorder.events.map((e) => [e.type, e.reason, e.message]),
    [['Warning', 'FailedScheduling', want]],
  );
  assert.equal(bindings(client).length, 0);
  assert.equal(s.queue.stats().unschedulable, 1);

  // a new node that fits moves it back, and it is bound after its backoff (1 s)
  nodeInformer.upsert(makeNode('e', { cpu: '4' }));
  assert.equal(s.queue.stats().backoff, 1);
  await eventually('bound after the backoff', () => bindings(client).length > 0);
  assert.deepEqual(bindings(client), ['huge->e']);
});

test('a pod short of room that other pods hold is told no preemption victims were found', async (t) => {
  const { client, create, pods, settle } = await setup([makeNode('a', { cpu: '1' })], t);
  pods.upsert(makePod('holder', { cpu: '800m', node: 'a' }));
  create(makePod('p', { cpu: '500m' }));
  await settle();
  assert.equal(
    statusPatches(client)[0].body.status.conditions[0].message,
    '0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.',
  );
});

test('a higher-priority pod preempts a lower one: the victim is marked and deleted, the pod nominated', async (t) => {
  const { client, recorder, create, settle } = await setup([makeNode('a', { cpu: '1' })], t);
  create(makePod('low', { cpu: '800m', node: 'a', priority: 0 }));
  create(makePod('high', { cpu: '500m', priority: 1000 }));
  await settle();
  // the victim is marked, then deleted, then the event told
  await eventually('the Preempted event', () => recorder.events.some((e) => e.reason === 'Preempted'));
  const w = client.writes();
  const victimMark = w.find((x) => x.verb === 'patch' && x.name === 'low')!;
  assert.equal(victimMark.body.status.conditions[0].type, 'DisruptionTarget');
  assert.equal(victimMark.body.status.conditions[0].reason, 'PreemptionByScheduler');
  assert.ok(w.some((x) => x.verb === 'delete' && x.name === 'low'));
  const high = w.find((x) => x.verb === 'patch' && x.name === 'high')!;
  assert.equal(high.body.status.nominatedNodeName, 'a');
  assert.equal(high.body.status.conditions[0].message, '0/1 nodes are available: 1 Insufficient cpu.');
  assert.ok(
    recorder.events.some(
      (e) =>
        e.reason === 'Preempted' &&
        e.object === 'Pod/default/low' &&
        e.message === 'Preempted by pod uid-high on node a',
    ),
  );
});

test('a failed binding forgets the assumed pod, reports SchedulerError, and retries after backoff', async (t) => {
  const { client, recorder, s, create, settle } = await setup([makeNode('a', { cpu: '1' })], t);
  client.failNext('create');
  create(makePod('p', { cpu: '600m' }));
  await settle();
  assert.equal(s.cache.assumedCount(), 0);
  assert.equal(s.cache.node('a')!.requested.cpu, 0, 'no longer counted on the node');
  assert.equal(statusPatches(client)[0].body.status.conditions[0].reason, 'SchedulerError');
  assert.match(recorder.events[0].message, /^binding to node a failed: injected failure/);
  assert.equal(s.queue.stats().backoff, 1);
  await eventually(
    'bound on the retry after the backoff',
    () => bindings(client).length > 1 && recorder.events.at(-1)!.reason === 'Scheduled',
  );
  assert.deepEqual(bindings(client), ['p->a', 'p->a']);
});

test('pods for another scheduler, bound or being deleted are not scheduled', async (t) => {
  const { client, create, settle } = await setup([makeNode('a')], t);
  create(makePod('other', { spec: { schedulerName: 'my-scheduler' } }));
  create({ ...makePod('gone'), metadata: { ...makePod('gone').metadata, deletionTimestamp: '2024-01-01T00:00:00Z' } });
  create(makePod('explicit', { spec: { schedulerName: 'default-scheduler' } }));
  await settle();
  assert.deepEqual(bindings(client), ['explicit->a']);
});

test('node selectors, tolerations and host ports steer placement', async (t) => {
  const { client, create, settle } = await setup(
    [makeNode('plain'), makeNode('gpu', { labels: { accel: 'gpu' }, taints: [{ key: 'gpu', effect: 'NoSchedule' }] })],
    t,
  );
  create(
    makePod('wants-gpu', {
      cpu: '100m',
      spec: { nodeSelector: { accel: 'gpu' }, tolerations: [{ key: 'gpu', operator: 'Exists', effect: 'NoSchedule' }] },
    }),
  );
  await settle();
  const port = (n: string) =>
    makePod(n, {
      spec: {
        containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80, hostPort: 8080 }] }],
        tolerations: [{ operator: 'Exists' }],
      },
    });
  create(port('h1'));
  create(port('h2'));
  await settle();
  const b = bindings(client);
  assert.equal(b[0], 'wants-gpu->gpu');
  assert.deepEqual(
    b
      .slice(1)
      .map((x) => x.split('->')[1])
      .sort(),
    ['gpu', 'plain'],
    'the same host port goes to different nodes',
  );
});

test("a controller's pods are spread over nodes by default", async (t) => {
  const { client, create, settle } = await setup(
    [makeNode('a', { cpu: '8' }), makeNode('b', { cpu: '8' }), makeNode('c', { cpu: '8' })],
    t,
  );
  for (let i = 0; i < 6; i++) create(makePod(`r-${i}`, { cpu: '10m', owner: 'r' }));
  await settle();
  const per = new Map<string, number>();
  for (const b of bindings(client)) per.set(b.split('->')[1], (per.get(b.split('->')[1]) ?? 0) + 1);
  assert.deepEqual([...per.values()], [2, 2, 2]);
});

test('a pod waiting for its affinity partner is retried when the partner is placed', async (t) => {
  const { client, s, pods, create, settle } = await setup([makeNode('a'), makeNode('b')], t);
  const web = makePod('web', {
    spec: {
      affinity: {
        podAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'cache' } } },
          ],
        },
      },
    },
  });
  create(web);
  await settle();
  assert.equal(s.queue.stats().unschedulable, 1);
  assert.match(
    statusPatches(client)[0].body.status.conditions[0].message,
    /^0\/2 nodes are available: 2 node\(s\) didn't match pod affinity rules\./,
  );
  pods.upsert(makePod('cache', { labels: { app: 'cache' }, node: 'b' }));
  assert.equal(s.queue.stats().unschedulable, 0);
  assert.equal(s.queue.stats().backoff, 1);
  await eventually('bound after the backoff', () => bindings(client).length > 0);
  assert.deepEqual(bindings(client), ['web->b']);
});
