import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../lib/kube/object.ts';
import { ControllerRevisions, Pods, StatefulSets } from '../../lib/kube/resources.ts';
import { revisionData, templateHash } from '../../lib/kube/history.ts';
import { ControllerFixture, exactly } from '../testing.ts';
import { ordinalOf, statefulSetController } from './index.ts';

const UID = 'sts-uid';
const T0 = '2024-05-01T09:00:00Z';
const tpl = (image: string) => ({ metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image }] } });

function sts(spec: any = {}, status: any = {}, generation = 1): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: 'default', uid: UID, generation },
    spec: {
      replicas: 3,
      serviceName: 'db-headless',
      selector: { matchLabels: { app: 'db' } },
      template: tpl('db:1'),
      podManagementPolicy: 'OrderedReady',
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      revisionHistoryLimit: 10,
      ...spec,
    },
    status: { replicas: 0, availableReplicas: 0, ...status },
  };
}

function revision(template: any, n: number): KubeObject {
  const hash = templateHash(template);
  return {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name: `db-${hash}`,
      namespace: 'default',
      labels: { app: 'db', 'controller.kubernetes.io/hash': hash },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: UID, controller: true }],
    },
    data: revisionData(template),
    revision: n,
  };
}

function pod(ordinal: number, rev: string, state: 'ready' | 'unready' | 'terminating' = 'ready'): KubeObject {
  const name = `db-${ordinal}`;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      labels: { app: 'db', 'controller-revision-hash': rev },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: UID, controller: true }],
      ...(state === 'terminating' ? { deletionTimestamp: T0 } : {}),
    },
    spec: { nodeName: 'n1', containers: [] },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: state === 'ready' ? 'True' : 'False', lastTransitionTime: T0 }],
    },
  };
}

async function setup(set: KubeObject, pods: KubeObject[] = [], revisions: KubeObject[] = []) {
  const t = await ControllerFixture.of(statefulSetController, { clock: Date.parse('2024-05-01T10:00:00Z') });
  t.seed(StatefulSets, set);
  for (const p of pods) t.seed(Pods, p);
  for (const r of revisions) t.seed(ControllerRevisions, r);
  t.drain();
  return t;
}

const STATUS = 'update statefulsets/status default/db';

const rev1 = revision(tpl('db:1'), 1);
const R1 = rev1.metadata.name!;

describe('statefulset controller', () => {
  it('parses ordinals', () => {
    assert.equal(ordinalOf('db', 'db-0'), 0);
    assert.equal(ordinalOf('db', 'db-12'), 12);
    assert.equal(ordinalOf('db', 'db-01'), undefined);
    assert.equal(ordinalOf('db', 'dbx-1'), undefined);
    assert.equal(ordinalOf('db', 'db-a'), undefined);
  });

  it('OrderedReady: creates ordinal 0 with its identity, with a revision and status', async () => {
    const t = await setup(sts());
    await t.sync('default/db');
    t.expectWrites([
      {
        action: `create controllerrevisions default/${R1}`,
        has: {
          revision: 1,
          metadata: { labels: exactly({ app: 'db', 'controller.kubernetes.io/hash': templateHash(tpl('db:1')) }) },
        },
      },
      {
        action: STATUS,
        has: {
          status: exactly({
            replicas: 0,
            availableReplicas: 0,
            observedGeneration: 1,
            currentRevision: R1,
            updateRevision: R1,
            collisionCount: 0,
          }),
        },
      },
      {
        action: 'create pods default/db-0',
        has: {
          metadata: {
            name: 'db-0',
            labels: exactly({
              app: 'db',
              'statefulset.kubernetes.io/pod-name': 'db-0',
              'apps.kubernetes.io/pod-index': '0',
              'controller-revision-hash': R1,
            }),
            ownerReferences: exactly([
              {
                apiVersion: 'apps/v1',
                kind: 'StatefulSet',
                name: 'db',
                uid: UID,
                controller: true,
                blockOwnerDeletion: true,
              },
            ]),
          },
          spec: { hostname: 'db-0', subdomain: 'db-headless' },
        },
      },
    ]);
    assert.deepEqual(t.recorder.events, [
      {
        object: 'StatefulSet/default/db',
        type: 'Normal',
        reason: 'SuccessfulCreate',
        message: 'create Pod db-0 in StatefulSet db successful',
      },
    ]);
  });

  it('OrderedReady waits for each pod to be Running and Ready before the next', async () => {
    const t = await setup(sts({}, { currentRevision: R1, updateRevision: R1 }), [pod(0, R1, 'unready')], [rev1]);
    await t.sync('default/db');
    t.expectWrites([STATUS]);
    const t2 = await setup(sts(), [pod(0, R1)], [rev1]);
    await t2.sync('default/db');
    t2.expectWrites([
      {
        action: STATUS,
        has: {
          status: exactly({
            replicas: 1,
            availableReplicas: 1,
            observedGeneration: 1,
            readyReplicas: 1,
            currentReplicas: 1,
            updatedReplicas: 1,
            currentRevision: R1,
            updateRevision: R1,
            collisionCount: 0,
          }),
        },
      },
      'create pods default/db-1',
    ]);
  });

  it('Parallel creates all missing pods and removes all surplus ones at once', async () => {
    const t = await setup(sts({ podManagementPolicy: 'Parallel' }), [pod(1, R1, 'unready')], [rev1]);
    await t.sync('default/db');
    t.expectWrites([STATUS, 'create pods default/db-0', 'create pods default/db-2']);
    const t2 = await setup(
      sts({ podManagementPolicy: 'Parallel', replicas: 1 }),
      [pod(0, R1), pod(1, R1), pod(2, R1)],
      [rev1],
    );
    await t2.sync('default/db');
    t2.expectWrites([STATUS, 'delete pods default/db-2', 'delete pods default/db-1']);
  });

  it('OrderedReady scales down from the highest ordinal, one at a time', async () => {
    const t = await setup(sts({ replicas: 1 }), [pod(0, R1), pod(1, R1), pod(2, R1)], [rev1]);
    await t.sync('default/db');
    t.expectWrites([STATUS, { action: 'delete pods default/db-2', body: { preconditions: { uid: 'uid-db-2' } } }]);
    // still terminating: wait
    const t2 = await setup(sts({ replicas: 1 }), [pod(0, R1), pod(1, R1), pod(2, R1, 'terminating')], [rev1]);
    await t2.sync('default/db');
    t2.expectWrites([STATUS]);
  });

  it('rolls out a new template from the highest ordinal down to the partition', async () => {
    const set = sts(
      { template: tpl('db:2') },
      {
        currentRevision: R1,
        updateRevision: R1,
        replicas: 3,
        availableReplicas: 3,
        readyReplicas: 3,
        currentReplicas: 3,
        updatedReplicas: 3,
        collisionCount: 0,
        observedGeneration: 1,
      },
      2,
    );
    const rev2 = revision(tpl('db:2'), 2);
    const R2 = rev2.metadata.name!;
    const t = await setup(set, [pod(0, R1), pod(1, R1), pod(2, R1)], [rev1]);
    await t.sync('default/db');
    t.expectWrites([
      { action: `create controllerrevisions default/${R2}`, has: { revision: 2 } },
      {
        action: STATUS,
        has: {
          status: exactly({
            replicas: 3,
            availableReplicas: 3,
            observedGeneration: 2,
            readyReplicas: 3,
            currentReplicas: 3,
            currentRevision: R1,
            updateRevision: R2,
            collisionCount: 0,
          }),
        },
      },
      'delete pods default/db-2',
    ]);

    // db-2 gone: it comes back from the new revision
    const t2 = await setup(set, [pod(0, R1), pod(1, R1)], [rev1, rev2]);
    await t2.sync('default/db');
    t2.expectWrites([
      STATUS,
      {
        action: 'create pods default/db-2',
        has: { metadata: { labels: { 'controller-revision-hash': R2 } }, spec: { containers: [{ image: 'db:2' }] } },
      },
    ]);

    // db-2 updated but not ready: wait; then ready: db-1 goes
    const t3 = await setup(set, [pod(0, R1), pod(1, R1), pod(2, R2, 'unready')], [rev1, rev2]);
    await t3.sync('default/db');
    t3.expectWrites([STATUS]);
    const t4 = await setup(set, [pod(0, R1), pod(1, R1), pod(2, R2)], [rev1, rev2]);
    await t4.sync('default/db');
    t4.expectWrites([STATUS, 'delete pods default/db-1']);

    // partition 2: ordinals below it stay on the old revision, and are recreated from it
    const parted = sts(
      { template: tpl('db:2'), updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } },
      { currentRevision: R1 },
      2,
    );
    const t5 = await setup(parted, [pod(1, R1), pod(2, R2)], [rev1, rev2]);
    await t5.sync('default/db');
    t5.expectWrites([
      STATUS,
      {
        action: 'create pods default/db-0',
        has: { metadata: { labels: { 'controller-revision-hash': R1 } }, spec: { containers: [{ image: 'db:1' }] } },
      },
    ]);
    const t6 = await setup(parted, [pod(0, R1), pod(1, R1), pod(2, R2)], [rev1, rev2]);
    await t6.sync('default/db');
    t6.expectWrites([STATUS]);

    // all updated and ready: the update revision becomes current
    const t7 = await setup(set, [pod(0, R2), pod(1, R2), pod(2, R2)], [rev1, rev2]);
    await t7.sync('default/db');
    t7.expectWrites([
      {
        action: STATUS,
        has: {
          status: exactly({
            replicas: 3,
            availableReplicas: 3,
            observedGeneration: 2,
            readyReplicas: 3,
            currentReplicas: 3,
            updatedReplicas: 3,
            currentRevision: R2,
            updateRevision: R2,
            collisionCount: 0,
          }),
        },
      },
    ]);
  });

  it('OnDelete leaves old pods alone', async () => {
    const set = sts({ template: tpl('db:2'), updateStrategy: { type: 'OnDelete' } }, { currentRevision: R1 }, 2);
    const t = await setup(set, [pod(0, R1), pod(1, R1), pod(2, R1)], [rev1, revision(tpl('db:2'), 2)]);
    await t.sync('default/db');
    t.expectWrites([STATUS]);
  });

  it('queues a set for its own events and for those of the pods it controls', async () => {
    const t = await setup(sts(), [], [rev1]);
    t.cache(Pods, pod(0, R1));
    t.cache(Pods, { ...pod(5, R1), metadata: { ...pod(5, R1).metadata, ownerReferences: [] } });
    t.remove(Pods, pod(0, R1));
    t.cache(StatefulSets, { ...sts(), metadata: { ...sts().metadata, labels: { x: 'y' } } });
    assert.deepEqual(t.drain(), ['default/db', 'default/db', 'default/db']);
  });
});
