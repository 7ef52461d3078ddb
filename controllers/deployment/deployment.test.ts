import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClient } from '../../lib/kube/fake.ts';
import { InformerFactory } from '../../lib/kube/informer.ts';
import { MemoryEventRecorder } from '../../lib/kube/events.ts';
import { Deployments, Pods, ReplicaSets } from '../../lib/kube/resources.ts';
import type { KubeObject } from '../../lib/kube/object.ts';
import { DEFAULT_CONTROLLER_OPTIONS, type ControllerContext } from '../controller.ts';
import { DeploymentReconciler, REVISION } from './index.ts';
import { podTemplateHash } from './hash.ts';
import { surgeAndUnavailable } from './rollout-math.ts';
import { stallCauses } from './causes.ts';

function harness() {
  const client = new FakeClient();
  const informers = new InformerFactory(client);
  const recorder = new MemoryEventRecorder();
  const ctx: ControllerContext = {
    client,
    informers,
    recorder,
    enqueue: () => {},
    enqueueAfter: () => {},
    options: DEFAULT_CONTROLLER_OPTIONS,
    log: () => {},
    now: Date.now,
    served: async (c) => [...c],
  };
  const r = new DeploymentReconciler(ctx);
  informers.markAllSynced();
  const put = (res: typeof Deployments, o: KubeObject) => {
    const stored = client.seed(res, o);
    informers.informer(res).upsert(stored);
    return stored;
  };
  return { client, informers, recorder, r, put };
}

const template = (image: string) => ({
  metadata: { labels: { app: 'web' } },
  spec: { containers: [{ name: 'app', image }] },
});

function deployment(replicas: number, image: string, extra: any = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'ns', uid: 'd-uid', generation: 1 },
    spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: template(image), ...extra },
  };
}

function replicaSet(image: string, replicas: number, available: number, revision: string, created: string): KubeObject {
  const hash = podTemplateHash(template(image));
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `web-${hash}`,
      namespace: 'ns',
      uid: `rs-${image}`,
      creationTimestamp: created,
      annotations: { [REVISION]: revision },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd-uid', controller: true }],
    },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web', 'pod-template-hash': hash } },
      template: { ...template(image), metadata: { labels: { app: 'web', 'pod-template-hash': hash } } },
    },
    status: { replicas, readyReplicas: available, availableReplicas: available },
  };
}

test('maxSurge and maxUnavailable round like Kubernetes', () => {
  assert.deepEqual(surgeAndUnavailable({ spec: { replicas: 10 } }), { maxSurge: 3, maxUnavailable: 2 });
  assert.deepEqual(
    surgeAndUnavailable({ spec: { replicas: 3, strategy: { rollingUpdate: { maxSurge: 0, maxUnavailable: 0 } } } }),
    { maxSurge: 0, maxUnavailable: 1 },
  );
  assert.deepEqual(
    surgeAndUnavailable({ spec: { replicas: 4, strategy: { rollingUpdate: { maxSurge: '50%', maxUnavailable: 1 } } } }),
    { maxSurge: 2, maxUnavailable: 1 },
  );
});

test('the first rollout creates the ReplicaSet with the template hash and revision 1', async () => {
  const h = harness();
  h.put(Deployments, deployment(3, 'v1'));
  await h.r.reconcile('ns/web');
  const create = h.client.writes().find((w) => w.verb === 'create' && w.resource === 'replicasets')!;
  const hash = podTemplateHash(template('v1'));
  assert.equal(create.body.metadata.name, `web-${hash}`);
  assert.equal(create.body.spec.replicas, 3);
  assert.equal(create.body.spec.selector.matchLabels['pod-template-hash'], hash);
  assert.equal(create.body.spec.template.metadata.labels['pod-template-hash'], hash);
  assert.equal(create.body.metadata.annotations[REVISION], '1');
  assert.equal(create.body.metadata.annotations['deployment.kubernetes.io/desired-replicas'], '3');
  assert.equal(create.body.metadata.annotations['deployment.kubernetes.io/max-replicas'], '4');
  assert.deepEqual(
    h.recorder.events.map((e) => e.message),
    [`Scaled up replica set web-${hash} from 0 to 3`],
  );
  const status = h.client.writes().find((w) => w.subresource === 'status')!.body.status;
  assert.equal(status.conditions.find((c: any) => c.type === 'Progressing').reason, 'NewReplicaSetCreated');
  assert.equal(status.conditions.find((c: any) => c.type === 'Available').status, 'False');
});

test('a rolling update surges the new set and scales the old one within maxUnavailable', async () => {
  const h = harness();
  // 4 replicas, maxSurge 1, maxUnavailable 1: the new set may start with 1; the old may go to 3
  h.put(
    Deployments,
    deployment(4, 'v2', { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } } }),
  );
  h.put(ReplicaSets, replicaSet('v1', 4, 4, '1', '2026-01-01T00:00:00Z'));
  await h.r.reconcile('ns/web');
  const w = h.client.writes();
  const create = w.find((x) => x.verb === 'create')!;
  assert.equal(create.body.spec.replicas, 1, 'surge: 4 + 1 - 4 = 1');
  assert.equal(create.body.metadata.annotations[REVISION], '2');
  const scaleOld = w.find(
    (x) => x.verb === 'patch' && x.resource === 'replicasets' && x.body.spec?.replicas !== undefined,
  )!;
  assert.equal(scaleOld.name, `web-${podTemplateHash(template('v1'))}`);
  assert.equal(scaleOld.body.spec.replicas, 3, 'available 4 - minAvailable 3 = 1 old pod may go');
});

test('Recreate scales the old set to zero and waits for its pods before creating the new one', async () => {
  const h = harness();
  h.put(Deployments, deployment(2, 'v2', { strategy: { type: 'Recreate' } }));
  const old = h.put(ReplicaSets, replicaSet('v1', 2, 2, '1', '2026-01-01T00:00:00Z'));
  h.put(Pods, {
    metadata: {
      name: 'old-pod',
      namespace: 'ns',
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: old.metadata.name!,
          uid: old.metadata.uid!,
          controller: true,
        },
      ],
    },
    status: { phase: 'Running' },
  } as any);
  await h.r.reconcile('ns/web');
  let w = h.client.writes();
  assert.equal(w.filter((x) => x.verb === 'create').length, 0, 'no new set while old pods run');
  assert.equal(w.find((x) => x.verb === 'patch' && x.resource === 'replicasets')!.body.spec.replicas, 0);
  // the old pods are gone: now the new set comes
  h.informers.informer(Pods).remove({ metadata: { name: 'old-pod', namespace: 'ns' } });
  h.informers
    .informer(ReplicaSets)
    .upsert({ ...h.client.stored(ReplicaSets, 'ns', old.metadata.name!)!, status: { replicas: 0 } });
  h.informers.informer(Deployments).upsert(h.client.stored(Deployments, 'ns', 'web')!);
  h.client.clearActions();
  await h.r.reconcile('ns/web');
  w = h.client.writes();
  assert.equal(w.find((x) => x.verb === 'create')!.body.spec.replicas, 2);
});

test('a paused Deployment does not roll out', async () => {
  const h = harness();
  h.put(Deployments, deployment(2, 'v2', { paused: true }));
  h.put(ReplicaSets, replicaSet('v1', 2, 2, '1', '2026-01-01T00:00:00Z'));
  await h.r.reconcile('ns/web');
  const w = h.client.writes();
  assert.equal(w.filter((x) => x.verb === 'create').length, 0);
  const cond = w
    .find((x) => x.subresource === 'status')!
    .body.status.conditions.find((c: any) => c.type === 'Progressing');
  assert.deepEqual([cond.status, cond.reason, cond.message], ['Unknown', 'DeploymentPaused', 'Deployment is paused']);
});

test('going back to an old template reuses its ReplicaSet with the next revision', async () => {
  const h = harness();
  // as kubectl rollout undo writes it: the old ReplicaSet's template, with a null creationTimestamp
  const d = deployment(2, 'v1');
  d.spec.template.metadata.creationTimestamp = null;
  h.put(Deployments, d);
  h.put(ReplicaSets, replicaSet('v1', 0, 0, '1', '2026-01-01T00:00:00Z'));
  h.put(ReplicaSets, replicaSet('v2', 2, 2, '2', '2026-01-02T00:00:00Z'));
  await h.r.reconcile('ns/web');
  const w = h.client.writes();
  assert.equal(w.filter((x) => x.verb === 'create').length, 0);
  const ann = w.find((x) => x.verb === 'patch' && x.body.metadata?.annotations?.[REVISION])!;
  assert.equal(ann.name, `web-${podTemplateHash(template('v1'))}`);
  assert.equal(ann.body.metadata.annotations[REVISION], '3');
  assert.equal(ann.body.metadata.annotations['deployment.kubernetes.io/revision-history'], '1');
  const dRev = w.find((x) => x.resource === 'deployments' && x.verb === 'patch')!;
  assert.equal(dRev.body.metadata.annotations[REVISION], '3');
});

test('old idle ReplicaSets beyond revisionHistoryLimit are deleted once the rollout is complete', async () => {
  const h = harness();
  h.put(Deployments, deployment(1, 'v3', { revisionHistoryLimit: 1 }));
  h.put(ReplicaSets, replicaSet('v1', 0, 0, '1', '2026-01-01T00:00:00Z'));
  h.put(ReplicaSets, replicaSet('v2', 0, 0, '2', '2026-01-02T00:00:00Z'));
  h.put(ReplicaSets, { ...replicaSet('v3', 1, 1, '3', '2026-01-03T00:00:00Z') });
  h.informers.informer(Deployments).upsert({
    ...h.client.stored(Deployments, 'ns', 'web')!,
    metadata: { ...h.client.stored(Deployments, 'ns', 'web')!.metadata, annotations: { [REVISION]: '3' } },
  });
  await h.r.reconcile('ns/web');
  const deletes = h.client
    .writes()
    .filter((x) => x.verb === 'delete')
    .map((x) => x.name);
  assert.deepEqual(deletes, [`web-${podTemplateHash(template('v1'))}`]);
});

test('a stalled rollout times out with the cause seen on the new pods', async () => {
  const h = harness();
  const d = deployment(1, 'v2', { progressDeadlineSeconds: 1 });
  const rs2 = replicaSet('v2', 1, 0, '2', '2026-01-02T00:00:00Z');
  const long = '2020-01-01T00:00:00Z';
  d.status = {
    observedGeneration: 1,
    replicas: 2,
    updatedReplicas: 1,
    readyReplicas: 1,
    availableReplicas: 1,
    conditions: [
      {
        type: 'Progressing',
        status: 'True',
        reason: 'ReplicaSetUpdated',
        message: 'x',
        lastUpdateTime: long,
        lastTransitionTime: long,
      },
    ],
  };
  h.put(Deployments, d);
  h.put(ReplicaSets, replicaSet('v1', 1, 1, '1', '2026-01-01T00:00:00Z'));
  const stored = h.put(ReplicaSets, rs2);
  h.put(Pods, {
    metadata: {
      name: 'new-pod',
      namespace: 'ns',
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: stored.metadata.name!,
          uid: stored.metadata.uid!,
          controller: true,
        },
      ],
    },
    status: {
      phase: 'Pending',
      containerStatuses: [
        { name: 'app', state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "v2"' } } },
      ],
    },
  } as any);
  await h.r.reconcile('ns/web');
  const st = h.client.writes().find((x) => x.subresource === 'status')!.body.status;
  const p = st.conditions.find((c: any) => c.type === 'Progressing');
  assert.equal(p.status, 'False');
  assert.equal(p.reason, 'ProgressDeadlineExceeded');
  assert.equal(
    p.message,
    `ReplicaSet "${stored.metadata.name}" has timed out progressing. 1 pod(s) ImagePullBackOff (Back-off pulling image "v2")`,
  );
});

test('stall causes count reasons and the scheduler message', () => {
  const pods: any[] = [
    {
      metadata: {},
      status: {
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: '0/3 nodes are available: 3 Insufficient cpu.',
          },
        ],
      },
    },
    {
      metadata: {},
      status: { containerStatuses: [{ state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s' } } }] },
    },
    {
      metadata: {},
      status: { containerStatuses: [{ state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s' } } }] },
    },
    { metadata: {}, status: { containerStatuses: [{ state: { waiting: { reason: 'ContainerCreating' } } }] } },
  ];
  assert.equal(
    stallCauses(pods),
    '2 pod(s) CrashLoopBackOff (back-off 10s), 1 pod(s) Unschedulable (0/3 nodes are available: 3 Insufficient cpu.)',
  );
});
