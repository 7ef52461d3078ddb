import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Deployments, Pods, ReplicaSets, type Resource } from '../../lib/kube/resources.ts';
import type { KubeObject } from '../../lib/kube/object.ts';
import { ControllerFixture, exactly } from '../testing.ts';
import { deploymentController, REVISION, type DeploymentReconciler } from './index.ts';
import { templateHash } from '../../lib/kube/history.ts';
import { surgeAndUnavailable } from './rollout-math.ts';
import { stallCauses } from './causes.ts';

async function setup() {
  const t = await ControllerFixture.of(deploymentController);
  return Object.assign(t, { put: (r: Resource, o: KubeObject) => t.seed(r, o) });
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
  const hash = templateHash(template(image));
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

const H1 = templateHash(template('v1'));
const H2 = templateHash(template('v2'));
const STATUS = 'update deployments/status ns/web';
/** the merge patch of the Deployment's revision annotation */
const revisionPatch = (rev: string) => ({
  action: 'patch deployments ns/web',
  body: { metadata: { annotations: { [REVISION]: rev } } },
});
/** the merge patch of a ReplicaSet's desired-replicas and max-replicas annotations */
const replicaAnnotations = (desired: number, max: number) => ({
  metadata: {
    annotations: {
      'deployment.kubernetes.io/desired-replicas': String(desired),
      'deployment.kubernetes.io/max-replicas': String(max),
    },
  },
});
const conditionsOf = (t: ControllerFixture<DeploymentReconciler>) =>
  Object.fromEntries(
    t.client.stored(Deployments, 'ns', 'web')!.status.conditions.map((c: any) => [c.type, `${c.status} ${c.reason}`]),
  );

test('the first rollout creates the ReplicaSet with the template hash and revision 1', async () => {
  const h = await setup();
  h.put(Deployments, deployment(3, 'v1'));
  await h.sync('ns/web');
  h.expectWrites([
    {
      action: `create replicasets ns/web-${H1}`,
      has: {
        metadata: {
          name: `web-${H1}`,
          annotations: exactly({
            [REVISION]: '1',
            'deployment.kubernetes.io/desired-replicas': '3',
            'deployment.kubernetes.io/max-replicas': '4',
          }),
          ownerReferences: exactly([
            {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              name: 'web',
              uid: 'd-uid',
              controller: true,
              blockOwnerDeletion: true,
            },
          ]),
        },
        spec: {
          replicas: 3,
          selector: { matchLabels: { 'pod-template-hash': H1 } },
          template: { metadata: { labels: { 'pod-template-hash': H1 } } },
        },
      },
    },
    revisionPatch('1'),
    STATUS,
  ]);
  assert.deepEqual(
    h.recorder.events.map((e) => e.message),
    [`Scaled up replica set web-${H1} from 0 to 3`],
  );
  assert.deepEqual(conditionsOf(h), {
    Available: 'False MinimumReplicasUnavailable',
    Progressing: 'True NewReplicaSetCreated',
  });
});

test('a rolling update surges the new set and scales the old one within maxUnavailable', async () => {
  const h = await setup();
  // 4 replicas, maxSurge 1, maxUnavailable 1: the new set may start with 1; the old may go to 3
  h.put(
    Deployments,
    deployment(4, 'v2', { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } } }),
  );
  h.put(ReplicaSets, replicaSet('v1', 4, 4, '1', '2026-01-01T00:00:00Z'));
  await h.sync('ns/web');
  h.expectWrites([
    // surge: 4 + 1 - 4 = 1
    {
      action: `create replicasets ns/web-${H2}`,
      has: { spec: { replicas: 1 }, metadata: { annotations: { [REVISION]: '2' } } },
    },
    revisionPatch('2'),
    // available 4 - minAvailable 3 = 1 old pod may go
    {
      action: `patch replicasets ns/web-${H1}`,
      body: {
        metadata: {
          annotations: {
            'deployment.kubernetes.io/desired-replicas': '4',
            'deployment.kubernetes.io/max-replicas': '5',
          },
        },
        spec: { replicas: 3 },
      },
    },
    STATUS,
  ]);
});

test('Recreate scales the old set to zero and waits for its pods before creating the new one', async () => {
  const h = await setup();
  h.put(Deployments, deployment(2, 'v2', { strategy: { type: 'Recreate' } }));
  const old = h.put(ReplicaSets, replicaSet('v1', 2, 2, '1', '2026-01-01T00:00:00Z'));
  const oldPod = h.put(Pods, {
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
  });
  await h.sync('ns/web');
  // no new set while old pods run
  h.expectWrites([{ action: `patch replicasets ns/web-${H1}`, has: { spec: { replicas: 0 } } }, STATUS]);
  // the old pods are gone: now the new set comes
  h.remove(Pods, oldPod);
  h.cache(ReplicaSets, { ...h.client.stored(ReplicaSets, 'ns', old.metadata.name!)!, status: { replicas: 0 } });
  h.observe(Deployments, 'ns', 'web');
  await h.sync('ns/web');
  h.expectWrites([
    { action: `create replicasets ns/web-${H2}`, has: { spec: { replicas: 2 } } },
    revisionPatch('2'),
    STATUS,
  ]);
});

test('a paused Deployment does not roll out', async () => {
  const h = await setup();
  h.put(Deployments, deployment(2, 'v2', { paused: true }));
  h.put(ReplicaSets, replicaSet('v1', 2, 2, '1', '2026-01-01T00:00:00Z'));
  await h.sync('ns/web');
  h.expectWrites([
    {
      action: STATUS,
      has: {
        status: {
          conditions: [
            { type: 'Available', status: 'True' },
            { type: 'Progressing', status: 'Unknown', reason: 'DeploymentPaused', message: 'Deployment is paused' },
          ],
        },
      },
    },
  ]);
});

test('going back to an old template reuses its ReplicaSet with the next revision', async () => {
  const h = await setup();
  // as kubectl rollout undo writes it: the old ReplicaSet's template, with a null creationTimestamp
  const d = deployment(2, 'v1');
  d.spec.template.metadata.creationTimestamp = null;
  h.put(Deployments, d);
  h.put(ReplicaSets, replicaSet('v1', 0, 0, '1', '2026-01-01T00:00:00Z'));
  h.put(ReplicaSets, replicaSet('v2', 2, 2, '2', '2026-01-02T00:00:00Z'));
  await h.sync('ns/web');
  h.expectWrites([
    {
      action: `patch replicasets ns/web-${H1}`,
      has: {
        metadata: {
          annotations: { [REVISION]: '3', 'deployment.kubernetes.io/revision-history': '1' },
        },
      },
    },
    revisionPatch('3'),
    { action: `patch replicasets ns/web-${H1}`, has: { spec: { replicas: 1 } } },
    STATUS,
  ]);
});

test('old idle ReplicaSets beyond revisionHistoryLimit are deleted once the rollout is complete', async () => {
  const h = await setup();
  h.put(Deployments, deployment(1, 'v3', { revisionHistoryLimit: 1 }));
  h.put(ReplicaSets, replicaSet('v1', 0, 0, '1', '2026-01-01T00:00:00Z'));
  h.put(ReplicaSets, replicaSet('v2', 0, 0, '2', '2026-01-02T00:00:00Z'));
  h.put(ReplicaSets, { ...replicaSet('v3', 1, 1, '3', '2026-01-03T00:00:00Z') });
  const stored = h.client.stored(Deployments, 'ns', 'web')!;
  h.cache(Deployments, { ...stored, metadata: { ...stored.metadata, annotations: { [REVISION]: '3' } } });
  await h.sync('ns/web');
  h.expectWrites([
    // the replica annotations the new set lacks (as made here), as Kubernetes keeps them
    { action: `patch replicasets ns/web-${templateHash(template('v3'))}`, body: replicaAnnotations(1, 2) },
    STATUS,
    { action: `delete replicasets ns/web-${H1}`, body: { preconditions: { uid: 'rs-v1' } } },
  ]);
});

test('a stalled rollout times out with the cause seen on the new pods', async () => {
  const h = await setup();
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
  });
  await h.sync('ns/web');
  h.expectWrites([
    { action: `patch replicasets ns/web-${H2}`, body: replicaAnnotations(1, 2) },
    revisionPatch('2'),
    {
      action: STATUS,
      has: {
        status: {
          conditions: [
            {
              type: 'Progressing',
              status: 'False',
              reason: 'ProgressDeadlineExceeded',
              message: `ReplicaSet "${stored.metadata.name}" has timed out progressing. 1 pod(s) ImagePullBackOff (Back-off pulling image "v2")`,
            },
            { type: 'Available' },
          ],
        },
      },
    },
  ]);
});

test('queues a Deployment for its ReplicaSets, and for the status changes of their pods', async () => {
  const h = await setup();
  h.put(Deployments, deployment(1, 'v1'));
  const rs = h.put(ReplicaSets, replicaSet('v1', 1, 1, '1', '2026-01-01T00:00:00Z'));
  const ref = {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    name: rs.metadata.name!,
    uid: rs.metadata.uid!,
    controller: true,
  };
  const pod: KubeObject = {
    metadata: { name: 'p', namespace: 'ns', ownerReferences: [ref] },
    status: { phase: 'Pending' },
  };
  assert.deepEqual(h.drain(), ['ns/web', 'ns/web']);
  h.cache(Pods, pod);
  h.cache(Pods, { ...pod, metadata: { ...pod.metadata, labels: { x: 'y' } } });
  assert.deepEqual(h.drain(), [], 'a new pod, or one whose status did not change');
  h.cache(Pods, { ...pod, status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }] } });
  h.remove(Pods, pod);
  h.cache(ReplicaSets, { ...rs, metadata: { ...rs.metadata, ownerReferences: [] } });
  assert.deepEqual(h.drain(), ['ns/web', 'ns/web', 'ns/web'], 'the pods, then the set that went (before and after)');
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
