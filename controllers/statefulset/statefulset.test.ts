import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryEventRecorder } from '../../lib/kube/events.ts';
import { FakeClient } from '../../lib/kube/fake.ts';
import { InformerFactory } from '../../lib/kube/informer.ts';
import type { KubeObject } from '../../lib/kube/object.ts';
import { ControllerRevisions, Pods, StatefulSets } from '../../lib/kube/resources.ts';
import { revisionData, templateHash } from '../../lib/kube/history.ts';
import { ordinalOf, StatefulSetReconciler } from './index.ts';

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

function setup(set: KubeObject, pods: KubeObject[] = [], revisions: KubeObject[] = []) {
  const client = new FakeClient();
  const factory = new InformerFactory(client);
  const recorder = new MemoryEventRecorder();
  const put = (r: any, o: KubeObject) => factory.informer(r).upsert(structuredClone(client.seed(r, o)));
  put(StatefulSets, set);
  for (const p of pods) put(Pods, p);
  for (const r of revisions) put(ControllerRevisions, r);
  const reconciler = new StatefulSetReconciler(
    client,
    recorder,
    factory.informer(StatefulSets),
    factory.informer(Pods),
    factory.informer(ControllerRevisions),
    () => Date.parse('2024-05-01T10:00:00Z'),
  );
  factory.markAllSynced();
  const summary = () =>
    client.writes().map((a) => `${a.verb} ${a.resource}${a.subresource ? '/' + a.subresource : ''} ${a.name}`);
  return { client, recorder, reconciler, summary };
}

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
    const t = setup(sts());
    await t.reconciler.reconcile('default/db');
    assert.deepEqual(t.summary(), [
      `create controllerrevisions ${R1}`,
      'update statefulsets/status db',
      'create pods db-0',
    ]);
    const [cr, st, p] = t.client.writes().map((a) => a.body);
    assert.equal(cr.revision, 1);
    assert.deepEqual(cr.metadata.labels, { app: 'db', 'controller.kubernetes.io/hash': templateHash(tpl('db:1')) });
    assert.deepEqual(st.status, {
      replicas: 0,
      availableReplicas: 0,
      observedGeneration: 1,
      currentRevision: R1,
      updateRevision: R1,
      collisionCount: 0,
    });
    assert.equal(p.metadata.name, 'db-0');
    assert.deepEqual(p.metadata.labels, {
      app: 'db',
      'statefulset.kubernetes.io/pod-name': 'db-0',
      'apps.kubernetes.io/pod-index': '0',
      'controller-revision-hash': R1,
    });
    assert.equal(p.spec.hostname, 'db-0');
    assert.equal(p.spec.subdomain, 'db-headless');
    assert.deepEqual(p.metadata.ownerReferences, [
      { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: UID, controller: true, blockOwnerDeletion: true },
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
    const t = setup(sts({}, { currentRevision: R1, updateRevision: R1 }), [pod(0, R1, 'unready')], [rev1]);
    await t.reconciler.reconcile('default/db');
    assert.deepEqual(t.summary(), ['update statefulsets/status db']);
    const t2 = setup(sts(), [pod(0, R1)], [rev1]);
    await t2.reconciler.reconcile('default/db');
    assert.deepEqual(t2.summary(), ['update statefulsets/status db', 'create pods db-1']);
    assert.deepEqual(t2.client.writes()[0].body.status, {
      replicas: 1,
      availableReplicas: 1,
      observedGeneration: 1,
      readyReplicas: 1,
      currentReplicas: 1,
      updatedReplicas: 1,
      currentRevision: R1,
      updateRevision: R1,
      collisionCount: 0,
    });
  });

  it('Parallel creates all missing pods and removes all surplus ones at once', async () => {
    const t = setup(sts({ podManagementPolicy: 'Parallel' }), [pod(1, R1, 'unready')], [rev1]);
    await t.reconciler.reconcile('default/db');
    assert.deepEqual(
      t.summary().filter((s) => s.includes('pods')),
      ['create pods db-0', 'create pods db-2'],
    );
    const t2 = setup(
      sts({ podManagementPolicy: 'Parallel', replicas: 1 }),
      [pod(0, R1), pod(1, R1), pod(2, R1)],
      [rev1],
    );
    await t2.reconciler.reconcile('default/db');
    assert.deepEqual(
      t2.summary().filter((s) => s.includes('pods')),
      ['delete pods db-2', 'delete pods db-1'],
    );
  });

  it('OrderedReady scales down from the highest ordinal, one at a time', async () => {
    const t = setup(sts({ replicas: 1 }), [pod(0, R1), pod(1, R1), pod(2, R1)], [rev1]);
    await t.reconciler.reconcile('default/db');
    assert.deepEqual(
      t.summary().filter((s) => s.includes('pods')),
      ['delete pods db-2'],
    );
    assert.deepEqual(t.client.writes().find((a) => a.verb === 'delete')!.body, { preconditions: { uid: 'uid-db-2' } });
    // still terminating: wait
    const t2 = setup(sts({ replicas: 1 }), [pod(0, R1), pod(1, R1), pod(2, R1, 'terminating')], [rev1]);
    await t2.reconciler.reconcile('default/db');
    assert.deepEqual(
      t2.summary().filter((s) => s.includes('pods')),
      [],
    );
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
    const t = setup(set, [pod(0, R1), pod(1, R1), pod(2, R1)], [rev1]);
    await t.reconciler.reconcile('default/db');
    assert.deepEqual(t.summary(), [
      `create controllerrevisions ${R2}`,
      'update statefulsets/status db',
      'delete pods db-2',
    ]);
    assert.equal(t.client.writes()[0].body.revision, 2);
    assert.deepEqual(t.client.writes()[1].body.status, {
      replicas: 3,
      availableReplicas: 3,
      observedGeneration: 2,
      readyReplicas: 3,
      currentReplicas: 3,
      currentRevision: R1,
      updateRevision: R2,
      collisionCount: 0,
    });

    // db-2 gone: it comes back from the new revision
    const t2 = setup(set, [pod(0, R1), pod(1, R1)], [rev1, rev2]);
    await t2.reconciler.reconcile('default/db');
    const created = t2.client.writes().find((a) => a.verb === 'create')!.body;
    assert.equal(created.metadata.name, 'db-2');
    assert.equal(created.metadata.labels['controller-revision-hash'], R2);
    assert.equal(created.spec.containers[0].image, 'db:2');

    // db-2 updated but not ready: wait; then ready: db-1 goes
    const t3 = setup(set, [pod(0, R1), pod(1, R1), pod(2, R2, 'unready')], [rev1, rev2]);
    await t3.reconciler.reconcile('default/db');
    assert.deepEqual(
      t3.summary().filter((s) => s.includes('pods')),
      [],
    );
    const t4 = setup(set, [pod(0, R1), pod(1, R1), pod(2, R2)], [rev1, rev2]);
    await t4.reconciler.reconcile('default/db');
    assert.deepEqual(
      t4.summary().filter((s) => s.includes('pods')),
      ['delete pods db-1'],
    );

    // partition 2: ordinals below it stay on the old revision, and are recreated from it
    const parted = sts(
      { template: tpl('db:2'), updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } },
      { currentRevision: R1 },
      2,
    );
    const t5 = setup(parted, [pod(1, R1), pod(2, R2)], [rev1, rev2]);
    await t5.reconciler.reconcile('default/db');
    const p0 = t5.client.writes().find((a) => a.verb === 'create')!.body;
    assert.equal(p0.metadata.name, 'db-0');
    assert.equal(p0.metadata.labels['controller-revision-hash'], R1);
    assert.equal(p0.spec.containers[0].image, 'db:1');
    const t6 = setup(parted, [pod(0, R1), pod(1, R1), pod(2, R2)], [rev1, rev2]);
    await t6.reconciler.reconcile('default/db');
    assert.deepEqual(
      t6.summary().filter((s) => s.includes('pods')),
      [],
    );

    // all updated and ready: the update revision becomes current
    const t7 = setup(set, [pod(0, R2), pod(1, R2), pod(2, R2)], [rev1, rev2]);
    await t7.reconciler.reconcile('default/db');
    assert.deepEqual(t7.client.writes()[0].body.status, {
      replicas: 3,
      availableReplicas: 3,
      observedGeneration: 2,
      readyReplicas: 3,
      currentReplicas: 3,
      updatedReplicas: 3,
      currentRevision: R2,
      updateRevision: R2,
      collisionCount: 0,
    });
  });

  it('OnDelete leaves old pods alone', async () => {
    const set = sts({ template: tpl('db:2'), updateStrategy: { type: 'OnDelete' } }, { currentRevision: R1 }, 2);
    const t = setup(set, [pod(0, R1), pod(1, R1), pod(2, R1)], [rev1, revision(tpl('db:2'), 2)]);
    await t.reconciler.reconcile('default/db');
    assert.deepEqual(
      t.summary().filter((s) => s.includes('pods')),
      [],
    );
  });
});
