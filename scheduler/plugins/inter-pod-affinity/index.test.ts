import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SchedulerCache } from '../../cache.ts';
import { CycleState } from '../../framework/types.ts';
import { makeNode, makePod, snapshotOf } from '../../testing/objects.ts';
import { interPodAffinity } from './index.ts';
import { schedulePod, fitErrorMessage, resolveProfile } from '../../algorithm.ts';
import { DEFAULT_PROFILE } from '../registry.ts';

const profile = resolveProfile(DEFAULT_PROFILE);

function cluster(zones: Record<string, string>) {
  const c = new SchedulerCache();
  for (const [name, zone] of Object.entries(zones)) {
    c.upsertNode({
      metadata: { name, labels: { 'kubernetes.io/hostname': name, 'topology.kubernetes.io/zone': zone } },
      spec: {},
      status: { allocatable: { cpu: '8', memory: '16Gi', pods: '110' } },
    });
  }
  return c;
}

const placed = (name: string, node: string, labels: Record<string, string>, spec: any = {}) => ({
  metadata: { name, namespace: 'ns', labels },
  spec: { nodeName: node, containers: [{ name: 'c' }], ...spec },
});

test('required pod anti-affinity keeps a pod out of the zone of a matching pod', () => {
  const c = cluster({ a: 'z1', b: 'z1', c: 'z2' });
  c.upsertPod(placed('db-0', 'a', { app: 'db' }));
  const pod = {
    metadata: { name: 'db-1', namespace: 'ns', labels: { app: 'db' } },
    spec: {
      containers: [{ name: 'c' }],
      affinity: {
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { topologyKey: 'topology.kubernetes.io/zone', labelSelector: { matchLabels: { app: 'db' } } },
          ],
        },
      },
    },
  };
  for (let i = 0; i < 5; i++) assert.equal(schedulePod(profile, pod, c, i).node, 'c');
  c.upsertPod(placed('db-2', 'c', { app: 'db' }));
  const d = schedulePod(profile, pod, c, 0);
  assert.equal(d.node, undefined);
  assert.equal(fitErrorMessage(3, d), "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules.");
});

test("an existing pod's anti-affinity keeps matching pods away from its node", () => {
  const c = cluster({ a: 'z1', b: 'z2' });
  c.upsertPod(
    placed(
      'loner',
      'a',
      { app: 'loner' },
      {
        affinity: {
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'web' } } },
            ],
          },
        },
      },
    ),
  );
  const pod = {
    metadata: { name: 'w', namespace: 'ns', labels: { app: 'web' } },
    spec: { containers: [{ name: 'c' }] },
  };
  for (let i = 0; i < 4; i++) assert.equal(schedulePod(profile, pod, c, i).node, 'b');
});

test('required pod affinity places a pod next to its partner', () => {
  const c = cluster({ a: 'z1', b: 'z2', c: 'z3' });
  c.upsertPod(placed('cache', 'b', { app: 'cache' }));
  const pod = {
    metadata: { name: 'web', namespace: 'ns', labels: { app: 'web' } },
    spec: {
      containers: [{ name: 'c' }],
      affinity: {
        podAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'cache' } } },
          ],
        },
      },
    },
  };
  for (let i = 0; i < 4; i++) assert.equal(schedulePod(profile, pod, c, i).node, 'b');
});

test('topology spread with DoNotSchedule rejects the zone that would exceed maxSkew', () => {
  const c = cluster({ a: 'z1', b: 'z2' });
  c.upsertPod(placed('p0', 'a', { app: 'x' }));
  const pod = {
    metadata: { name: 'p1', namespace: 'ns', labels: { app: 'x' } },
    spec: {
      containers: [{ name: 'c' }],
      topologySpreadConstraints: [
        {
          maxSkew: 1,
          topologyKey: 'topology.kubernetes.io/zone',
          whenUnsatisfiable: 'DoNotSchedule',
          labelSelector: { matchLabels: { app: 'x' } },
        },
      ],
    },
  };
  for (let i = 0; i < 4; i++) assert.equal(schedulePod(profile, pod, c, i).node, 'b');
  const noZone = new SchedulerCache();
  noZone.upsertNode({
    metadata: { name: 'bare', labels: {} },
    spec: {},
    status: { allocatable: { cpu: '1', memory: '1Gi', pods: '10' } },
  });
  const d = schedulePod(profile, pod, noZone, 0);
  assert.equal(
    fitErrorMessage(1, d),
    "0/1 nodes are available: 1 node(s) didn't match pod topology spread constraints (missing required label).",
  );
});

test('preferred node affinity wins over an emptier node', () => {
  const c = cluster({ a: 'z1', b: 'z2' });
  const pod = {
    metadata: { name: 'p', namespace: 'ns' },
    spec: {
      containers: [{ name: 'c' }],
      affinity: {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            {
              weight: 100,
              preference: {
                matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['z2'] }],
              },
            },
          ],
        },
      },
    },
  };
  c.upsertPod({
    metadata: { name: 'busy', namespace: 'ns' },
    spec: { nodeName: 'b', containers: [{ name: 'c', resources: { requests: { cpu: '4' } } }] },
  });
  for (let i = 0; i < 4; i++) assert.equal(schedulePod(profile, pod, c, i).node, 'b');
});

test("preferred affinity of the incoming pod and the placed pods' terms towards it score per topology domain", () => {
  const zoned = (name: string, zone: string) => makeNode(name, { labels: { 'topology.kubernetes.io/zone': zone } });
  const zoneTerm = (app: string) => ({
    topologyKey: 'topology.kubernetes.io/zone',
    labelSelector: { matchLabels: { app } },
  });
  const snap = snapshotOf(
    [zoned('a', 'z1'), zoned('b', 'z2'), zoned('c', 'z3')],
    [
      makePod('cache', { labels: { app: 'cache' }, node: 'a' }),
      // a placed pod that prefers to be away from web pods: counts against its zone
      makePod('batch', {
        labels: { app: 'batch' },
        node: 'b',
        spec: {
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, podAffinityTerm: zoneTerm('web') }],
            },
          },
        },
      }),
    ],
  );
  const web = makePod('web', {
    labels: { app: 'web' },
    spec: {
      affinity: {
        podAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, podAffinityTerm: zoneTerm('cache') }],
        },
      },
    },
  });
  const state = new CycleState();
  const nodes = snap.nodes();
  assert.equal(interPodAffinity.preScore(state, web, nodes, snap).code, 'Success');
  const scores = nodes.map((n) => interPodAffinity.score(state, web, n));
  assert.deepEqual(scores, [10, -50, 0]);
  interPodAffinity.normalizeScores(state, web, scores);
  assert.deepEqual(scores, [100, 0, 83]);
  assert.equal(
    interPodAffinity.preScore(new CycleState(), makePod('plain'), nodes, snapshotOf([zoned('x', 'z1')])).code,
    'Skip',
  );
});
