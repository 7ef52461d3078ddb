import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClient } from '../lib/kube/fake.ts';
import { InformerFactory } from '../lib/kube/informer.ts';
import { MemoryEventRecorder } from '../lib/kube/events.ts';
import { Nodes, Pods } from '../lib/kube/resources.ts';
import type { KubeObject } from '../lib/kube/object.ts';
import { Scheduler } from './scheduler.ts';

function node(name: string, cpu: string, extra: Partial<KubeObject> = {}): KubeObject {
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(extra.metadata?.labels ?? {}) } },
    spec: extra.spec ?? {},
    status: { allocatable: { cpu, memory: '8Gi', pods: '110' } },
  };
}

function pod(name: string, cpu: string, spec: any = {}): KubeObject {
  return { metadata: { name, namespace: 'default', uid: `uid-${name}` }, spec: { containers: [{ name: 'c', image: 'x', resources: { requests: { cpu } } }], ...spec }, status: { phase: 'Pending' } };
}

async function setup(nodes: KubeObject[]) {
  const client = new FakeClient();
  for (const n of nodes) client.seed(Nodes, n);
  const informers = new InformerFactory(client);
  const recorder = new MemoryEventRecorder();
  const s = new Scheduler({ client, informers, recorder, log: () => {} });
  await s.start();
  const pods = informers.informer(Pods);
  const settle = () => new Promise((r) => setTimeout(r, 30));
  return { client, recorder, s, pods, settle };
}

const bindings = (c: FakeClient) => c.writes().filter((w) => w.subresource === 'binding').map((w) => `${w.name}->${w.body.target.name}`);

test('a pod is bound to the node where it fits, with a Scheduled event', async () => {
  const { client, recorder, s, pods, settle } = await setup([node('small', '500m'), node('big', '4')]);
  pods.upsert(pod('p', '1'));
  await settle();
  assert.deepEqual(bindings(client), ['p->big']);
  assert.deepEqual(recorder.events.map((e) => [e.type, e.reason, e.message]), [['Normal', 'Scheduled', 'Successfully assigned default/p to big']]);
  await s.stop();
});

test('assumed pods count before their bindings come back', async () => {
  const { client, s, pods, settle } = await setup([node('a', '1'), node('b', '1')]);
  pods.upsert(pod('p1', '600m'));
  pods.upsert(pod('p2', '600m'));
  await settle();
  const b = bindings(client).map((x) => x.split('->')[1]).sort();
  assert.deepEqual(b, ['a', 'b'], 'one pod per node: the first placement was counted before any watch event');
  await s.stop();
});

test('a pod that fits nowhere gets the Unschedulable condition and a FailedScheduling event with the reasons', async () => {
  const tainted = node('t', '8', { spec: { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] } });
  const { client, recorder, s, pods, settle } = await setup([node('a', '1'), node('b', '1'), node('c', '1'), tainted, node('d', '8', { spec: { unschedulable: true } })]);
  client.seed(Pods, pod('huge', '2'));
  pods.upsert(client.stored(Pods, 'default', 'huge')!);
  await settle();
  const want = "0/5 nodes are available: 1 node(s) had untolerated taint {dedicated: db}, 1 node(s) were unschedulable, 3 Insufficient cpu.";
  const patch = client.writes().find((w) => w.subresource === 'status');
  assert.ok(patch, 'status patched');
  assert.deepEqual(patch.body.status.conditions[0].type, 'PodScheduled');
  assert.equal(patch.body.status.conditions[0].status, 'False');
  assert.equal(patch.body.status.conditions[0].reason, 'Unschedulable');
  assert.equal(patch.body.status.conditions[0].message, want);
  assert.deepEqual(recorder.events.map((e) => [e.type, e.reason, e.message]), [['Warning', 'FailedScheduling', want]]);
  assert.equal(bindings(client).length, 0);
  assert.equal(s.queue.stats().unschedulable, 1);

  // a new node that fits moves it back, and it is bound (after its backoff)
  s.queue.moveAllToActiveOrBackoff();
  const nodes = (s as any).nodes;
  nodes.upsert(node('e', '4'));
  await new Promise((r) => setTimeout(r, 1200));
  assert.deepEqual(bindings(client), ['huge->e']);
  await s.stop();
});

test('node selectors, tolerations and host ports steer placement', async () => {
  const { client, s, pods, settle } = await setup([
    node('plain', '4'),
    node('gpu', '4', { metadata: { name: 'gpu', labels: { accel: 'gpu' } }, spec: { taints: [{ key: 'gpu', effect: 'NoSchedule' }] } }),
  ]);
  pods.upsert(pod('wants-gpu', '100m', { nodeSelector: { accel: 'gpu' }, tolerations: [{ key: 'gpu', operator: 'Exists', effect: 'NoSchedule' }] }));
  await settle();
  const port = (n: string) => pod(n, '100m', { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80, hostPort: 8080 }] }], tolerations: [{ operator: 'Exists' }] });
  pods.upsert(port('h1'));
  await settle();
  pods.upsert(port('h2'));
  await settle();
  const b = bindings(client);
  assert.equal(b[0], 'wants-gpu->gpu');
  const hosts = b.slice(1).map((x) => x.split('->')[1]).sort();
  assert.deepEqual(hosts, ['gpu', 'plain'], 'the same host port goes to different nodes');
  await s.stop();
});

test("a controller's pods are spread over nodes by default", async () => {
  const { client, s, pods, settle } = await setup([node('a', '8'), node('b', '8'), node('c', '8')]);
  for (let i = 0; i < 6; i++) {
    const p = pod(`r-${i}`, '10m');
    p.metadata.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'r', uid: 'rs-1', controller: true }];
    pods.upsert(p);
  }
  await settle();
  const per = new Map<string, number>();
  for (const b of bindings(client)) per.set(b.split('->')[1], (per.get(b.split('->')[1]) ?? 0) + 1);
  assert.deepEqual([...per.values()], [2, 2, 2]);
  await s.stop();
});
