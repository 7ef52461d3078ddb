import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClient } from '../../lib/kube/fake.ts';
import { InformerFactory } from '../../lib/kube/informer.ts';
import { MemoryEventRecorder } from '../../lib/kube/events.ts';
import { Pods, ReplicaSets, ReplicationControllers } from '../../lib/kube/resources.ts';
import type { KubeObject } from '../../lib/kube/object.ts';
import { DEFAULT_CONTROLLER_OPTIONS, type ControllerContext } from '../controller.ts';
import { REPLICATION_CONTROLLERS, ReplicaSetReconciler, type ReplicatedKind } from './index.ts';

function harness(kind?: ReplicatedKind) {
  const client = new FakeClient();
  const informers = new InformerFactory(client);
  const recorder = new MemoryEventRecorder();
  const queued: string[] = [];
  const ctx: ControllerContext = {
    client,
    informers,
    recorder,
    enqueue: (k) => queued.push(k),
    enqueueAfter: () => {},
    options: DEFAULT_CONTROLLER_OPTIONS,
    log: () => {},
    now: Date.now,
    served: async (c) => [...c],
  };
  const r = new ReplicaSetReconciler(ctx, kind);
  informers.markAllSynced();
  return {
    client,
    informers,
    recorder,
    r,
    queued,
    sets: informers.informer(kind?.resource ?? ReplicaSets),
    pods: informers.informer(Pods),
  };
}

function rs(replicas: number): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'web', namespace: 'ns', uid: 'rs-uid', generation: 1, resourceVersion: '5' },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
    },
  };
}

function pod(
  name: string,
  opts: { ready?: boolean; node?: string; created?: string; owned?: boolean; phase?: string } = {},
): KubeObject {
  return {
    metadata: {
      name,
      namespace: 'ns',
      uid: `uid-${name}`,
      labels: { app: 'web' },
      creationTimestamp: opts.created ?? '2026-01-01T00:00:00Z',
      ...(opts.owned === false
        ? {}
        : {
            ownerReferences: [
              { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: 'rs-uid', controller: true },
            ],
          }),
    },
    spec: { nodeName: opts.node },
    status: {
      phase: opts.phase ?? 'Running',
      conditions: [
        { type: 'Ready', status: opts.ready ? 'True' : 'False', lastTransitionTime: '2026-01-01T00:00:00Z' },
      ],
    },
  };
}

test('scales up in slow-start batches, and expectations stop a second round until the pods are seen', async () => {
  const h = harness();
  h.client.seed(ReplicaSets, rs(3));
  h.sets.upsert(h.client.stored(ReplicaSets, 'ns', 'web')!);
  await h.r.reconcile('ns/web');
  const creates = h.client.writes().filter((w) => w.verb === 'create');
  assert.equal(creates.length, 3);
  for (const c of creates) {
    assert.equal(c.body.metadata.generateName, 'web-');
    assert.deepEqual(c.body.metadata.labels, { app: 'web' });
    assert.deepEqual(c.body.metadata.ownerReferences, [
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        name: 'web',
        uid: 'rs-uid',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
  }
  assert.deepEqual(
    h.recorder.events.map((e) => e.reason),
    ['SuccessfulCreate', 'SuccessfulCreate', 'SuccessfulCreate'],
  );
  h.client.clearActions();
  h.sets.upsert(h.client.stored(ReplicaSets, 'ns', 'web')!); // the status write seen through the watch
  await h.r.reconcile('ns/web');
  assert.equal(
    h.client.writes().filter((w) => w.verb === 'create').length,
    0,
    'the creations are not seen yet: no second round',
  );
});

test('scales down the least valuable pods first', async () => {
  const h = harness();
  h.client.seed(ReplicaSets, rs(2));
  h.sets.upsert(h.client.stored(ReplicaSets, 'ns', 'web')!);
  const pods = [
    pod('ready-old', { ready: true, node: 'n', created: '2026-01-01T00:00:00Z' }),
    pod('ready-new', { ready: true, node: 'n', created: '2026-01-02T00:00:00Z' }),
    pod('unready', { ready: false, node: 'n' }),
    pod('unscheduled', { ready: false, phase: 'Pending' }),
  ];
  for (const p of pods) {
    h.client.seed(Pods, p);
    h.pods.upsert(p);
  }
  await h.r.reconcile('ns/web');
  const deletes = h.client
    .writes()
    .filter((w) => w.verb === 'delete')
    .map((w) => w.name);
  assert.deepEqual(deletes.sort(), ['unready', 'unscheduled']);
  const status = h.client.writes().find((w) => w.subresource === 'status')!.body.status;
  assert.deepEqual(status, {
    replicas: 4,
    fullyLabeledReplicas: 4,
    readyReplicas: 2,
    availableReplicas: 2,
    observedGeneration: 1,
  });
});

test('adopts a matching orphan instead of creating a pod', async () => {
  const h = harness();
  h.client.seed(ReplicaSets, rs(1));
  h.sets.upsert(h.client.stored(ReplicaSets, 'ns', 'web')!);
  const orphan = pod('stray', { owned: false, ready: true, node: 'n' });
  h.client.seed(Pods, orphan);
  h.pods.upsert(orphan);
  await h.r.reconcile('ns/web');
  const w = h.client.writes();
  assert.equal(w[0].verb, 'patch');
  assert.equal(w[0].name, 'stray');
  assert.equal(w[0].body.metadata.ownerReferences[0].uid, 'rs-uid');
  assert.equal(w.filter((x) => x.verb === 'create').length, 0);
});

test('a failed create is reported and retried', async () => {
  const h = harness();
  h.client.seed(ReplicaSets, rs(1));
  h.sets.upsert(h.client.stored(ReplicaSets, 'ns', 'web')!);
  h.client.failNext('create');
  await assert.rejects(h.r.reconcile('ns/web'), /injected failure/);
  assert.equal(h.recorder.events[0].reason, 'FailedCreate');
  const st = h.client.writes().find((w) => w.subresource === 'status')!.body.status;
  assert.equal(st.conditions[0].type, 'ReplicaFailure');
  assert.ok(h.r.expectations.satisfied('ns/web'), 'a failed creation is not waited for');
});

test('runs ReplicationControllers alike: label-map selector, pods owned by the v1 ReplicationController', async () => {
  const h = harness(REPLICATION_CONTROLLERS);
  const rc: KubeObject = {
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: { name: 'web', namespace: 'ns', uid: 'rc-uid', generation: 1, resourceVersion: '5' },
    spec: {
      replicas: 2,
      selector: { app: 'web' },
      template: { metadata: { labels: { app: 'web', tier: 'x' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
    },
  };
  h.client.seed(ReplicationControllers, rc);
  h.sets.upsert(h.client.stored(ReplicationControllers, 'ns', 'web')!);
  // an orphan the label map selects is adopted; one with other labels is left alone
  const orphan = pod('stray', { owned: false, ready: true, node: 'n' });
  const other = {
    ...pod('other', { owned: false }),
    metadata: { ...pod('other', { owned: false }).metadata, labels: { app: 'db' } },
  };
  for (const p of [orphan, other]) {
    h.client.seed(Pods, p);
    h.pods.upsert(p);
  }
  await h.r.reconcile('ns/web');
  const w = h.client.writes();
  assert.deepEqual(
    w.filter((x) => x.verb === 'patch').map((x) => x.name),
    ['stray'],
  );
  const creates = w.filter((x) => x.verb === 'create');
  assert.equal(creates.length, 1);
  assert.deepEqual(creates[0].body.metadata.ownerReferences, [
    {
      apiVersion: 'v1',
      kind: 'ReplicationController',
      name: 'web',
      uid: 'rc-uid',
      controller: true,
      blockOwnerDeletion: true,
    },
  ]);
  const status = w.find((x) => x.subresource === 'status')!;
  assert.equal(status.resource, 'replicationcontrollers');
  assert.equal(status.body.status.replicas, 1, 'the adopted pod (the creation is not seen yet)');
});
