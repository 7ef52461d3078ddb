import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pods, ReplicaSets, ReplicationControllers } from '../../lib/kube/resources.ts';
import type { KubeObject } from '../../lib/kube/object.ts';
import { ControllerFixture, exactly } from '../testing.ts';
import { replicaSetController, replicationController } from './index.ts';

async function setup(def = replicaSetController) {
  const t = await ControllerFixture.of(def);
  return t;
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

const rsRef = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: 'rs-uid', controller: true };
const STATUS = 'update replicasets/status ns/web';

test('scales up in slow-start batches, and expectations stop a second round until the pods are seen', async () => {
  const t = await setup();
  t.seed(ReplicaSets, rs(3));
  await t.sync('ns/web');
  const created = {
    action: 'create pods ns/',
    has: {
      metadata: {
        generateName: 'web-',
        labels: exactly({ app: 'web' }),
        ownerReferences: exactly([{ ...rsRef, blockOwnerDeletion: true }]),
      },
    },
  };
  // the batches: 1, then 2
  t.expectWrites([
    { ...created, action: 'create pods ns/web-xxxx1' },
    { ...created, action: 'create pods ns/web-xxxx2' },
    { ...created, action: 'create pods ns/web-xxxx3' },
    { action: STATUS, has: { status: { replicas: 0 } } },
  ]);
  assert.deepEqual(
    t.recorder.events.map((e) => e.reason),
    ['SuccessfulCreate', 'SuccessfulCreate', 'SuccessfulCreate'],
  );
  t.observe(ReplicaSets, 'ns', 'web'); // the status write seen through the watch
  await t.sync('ns/web');
  t.expectWrites([]); // the creations are not seen yet: no second round
  t.observeWrites();
  assert.ok(t.reconciler.expectations.satisfied('ns/web'), 'seen now');
  await t.sync('ns/web');
  t.expectWrites([{ action: STATUS, has: { status: { replicas: 3, readyReplicas: 0 } } }]);
});

test('scales down the least valuable pods first', async () => {
  const t = await setup();
  t.seed(ReplicaSets, rs(2));
  for (const p of [
    pod('ready-old', { ready: true, node: 'n', created: '2026-01-01T00:00:00Z' }),
    pod('ready-new', { ready: true, node: 'n', created: '2026-01-02T00:00:00Z' }),
    pod('unready', { ready: false, node: 'n' }),
    pod('unscheduled', { ready: false, phase: 'Pending' }),
  ])
    t.seed(Pods, p);
  await t.sync('ns/web');
  t.expectWrites([
    { action: 'delete pods ns/unscheduled', body: { preconditions: { uid: 'uid-unscheduled' } } },
    { action: 'delete pods ns/unready', body: { preconditions: { uid: 'uid-unready' } } },
    {
      action: STATUS,
      has: {
        status: exactly({
          replicas: 4,
          fullyLabeledReplicas: 4,
          readyReplicas: 2,
          availableReplicas: 2,
          observedGeneration: 1,
        }),
      },
    },
  ]);
});

test('adopts a matching orphan instead of creating a pod', async () => {
  const t = await setup();
  t.seed(ReplicaSets, rs(1));
  const orphan = t.seed(Pods, pod('stray', { owned: false, ready: true, node: 'n' }));
  await t.sync('ns/web');
  t.expectWrites([
    {
      action: 'patch pods ns/stray',
      body: { metadata: { ownerReferences: [{ ...rsRef, blockOwnerDeletion: true }], uid: orphan.metadata.uid } },
      patchType: 'strategic',
    },
    { action: STATUS, has: { status: { replicas: 1, readyReplicas: 1 } } },
  ]);
});

test('a failed create is reported and retried', async () => {
  const t = await setup();
  t.seed(ReplicaSets, rs(1));
  t.client.failNext('create');
  await assert.rejects(t.sync('ns/web'), /injected failure/);
  assert.equal(t.recorder.events[0].reason, 'FailedCreate');
  t.expectWrites([
    'create pods ns/web-xxxx1',
    {
      action: STATUS,
      has: {
        status: { conditions: [{ type: 'ReplicaFailure', reason: 'FailedCreate', message: 'injected failure' }] },
      },
    },
  ]);
  assert.ok(t.reconciler.expectations.satisfied('ns/web'), 'a failed creation is not waited for');
});

test('runs ReplicationControllers alike: label-map selector, pods owned by the v1 ReplicationController', async () => {
  const t = await setup(replicationController);
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
  t.seed(ReplicationControllers, rc);
  // an orphan the label map selects is adopted; one with other labels is left alone
  t.seed(Pods, pod('stray', { owned: false, ready: true, node: 'n' }));
  const other = pod('other', { owned: false });
  t.seed(Pods, { ...other, metadata: { ...other.metadata, labels: { app: 'db' } } });
  assert.deepEqual(t.drain(), ['ns/web', 'ns/web'], 'the controller, and the orphan it selects');
  await t.sync('ns/web');
  const rcRef = { apiVersion: 'v1', kind: 'ReplicationController', name: 'web', uid: 'rc-uid' };
  t.expectWrites([
    { action: 'patch pods ns/stray', has: { metadata: { ownerReferences: [{ ...rcRef, controller: true }] } } },
    {
      action: 'create pods ns/web-xxxx1',
      has: { metadata: { ownerReferences: exactly([{ ...rcRef, controller: true, blockOwnerDeletion: true }]) } },
    },
    // the adopted pod (the creation is not seen yet)
    { action: 'update replicationcontrollers/status ns/web', has: { status: { replicas: 1 } } },
  ]);
});

test('queues a set for its pods, counting them against its expectations, and for orphans it selects', async () => {
  const t = await setup();
  t.seed(ReplicaSets, rs(1));
  t.seed(ReplicaSets, {
    ...rs(1),
    metadata: { ...rs(1).metadata, name: 'db', uid: 'db-uid' },
    spec: { ...rs(1).spec, selector: { matchLabels: { app: 'db' } } },
  });
  assert.deepEqual(t.drain(), ['ns/web', 'ns/db']);
  t.reconciler.expectations.expectCreations('ns/web', 1);
  const mine = pod('a', { ready: true });
  t.cache(Pods, mine);
  assert.ok(t.reconciler.expectations.satisfied('ns/web'));
  t.reconciler.expectations.expectDeletions('ns/web', ['uid-a']);
  t.cache(Pods, { ...mine, metadata: { ...mine.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } });
  assert.ok(t.reconciler.expectations.satisfied('ns/web'), 'a deletion is observed when it starts');
  // an orphan: the sets that select it, again when its labels change, not when it goes
  const orphan = pod('b', { owned: false });
  t.cache(Pods, orphan);
  t.cache(Pods, { ...orphan, status: { phase: 'Failed' } });
  t.cache(Pods, { ...orphan, metadata: { ...orphan.metadata, labels: { app: 'db' } } });
  t.remove(Pods, orphan);
  assert.deepEqual(t.drain(), ['ns/web', 'ns/web', 'ns/web', 'ns/web', 'ns/db']);
});
