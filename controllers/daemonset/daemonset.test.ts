import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../lib/kube/object.ts';
import { ControllerRevisions, DaemonSets, Nodes, Pods } from '../../lib/kube/resources.ts';
import { ControllerFixture, exactly } from '../testing.ts';
import { REVISION_HASH_LABEL } from '../../lib/kube/history.ts';
import { daemonSetController } from './index.ts';
import { nodeShouldRunDaemonPod, targetNodeName } from './eligibility.ts';
import { revisionData, templateHash } from '../../lib/kube/history.ts';

const NOW = Date.parse('2024-05-01T10:00:00Z');
const T0 = '2024-05-01T09:00:00Z';
const DS_UID = 'ds-uid-1';

function daemonSet(extra: { spec?: any; status?: any; generation?: number } = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: {
      name: 'agent',
      namespace: 'kube-system',
      uid: DS_UID,
      generation: extra.generation ?? 1,
      resourceVersion: '10',
    },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'a', image: 'agent:1' }] } },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
      revisionHistoryLimit: 10,
      ...extra.spec,
    },
    status: extra.status ?? {
      currentNumberScheduled: 0,
      numberMisscheduled: 0,
      desiredNumberScheduled: 0,
      numberReady: 0,
    },
  };
}

function node(
  name: string,
  extra: { labels?: Record<string, string>; taints?: any[]; unschedulable?: boolean } = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...extra.labels } },
    spec: { taints: extra.taints, unschedulable: extra.unschedulable },
  };
}

function pod(
  name: string,
  nodeName: string,
  hash: string,
  state: 'ready' | 'unready' | 'failed' = 'ready',
  extra: Partial<KubeObject['metadata']> = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'kube-system',
      uid: `uid-${name}`,
      creationTimestamp: T0,
      labels: { app: 'agent', [REVISION_HASH_LABEL]: hash },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent', uid: DS_UID, controller: true }],
      ...extra,
    },
    spec: { nodeName, containers: [{ name: 'a', image: 'agent:1' }] },
    status: {
      phase: state === 'failed' ? 'Failed' : 'Running',
      conditions: [{ type: 'Ready', status: state === 'ready' ? 'True' : 'False', lastTransitionTime: T0 }],
    },
  };
}

async function setup(ds: KubeObject, nodes: KubeObject[], pods: KubeObject[] = [], revisions: KubeObject[] = []) {
  const t = await ControllerFixture.of(daemonSetController, { clock: NOW });
  t.seed(DaemonSets, ds);
  for (const n of nodes) t.seed(Nodes, n);
  for (const p of pods) t.seed(Pods, p);
  for (const cr of revisions) t.seed(ControllerRevisions, cr);
  t.drain();
  return t;
}

const STATUS = 'update daemonsets/status kube-system/agent';
const deletes = (...names: string[]) => names.map((n) => `delete pods kube-system/${n}`);

function revisionOf(ds: KubeObject, revision: number): KubeObject {
  const hash = templateHash(ds.spec.template);
  return {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name: `agent-${hash}`,
      namespace: 'kube-system',
      labels: { app: 'agent', [REVISION_HASH_LABEL]: hash },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'DaemonSet',
          name: 'agent',
          uid: DS_UID,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    data: revisionData(ds.spec.template),
    revision,
  };
}

describe('daemonset eligibility', () => {
  it('follows node selector, required affinity and taints with the daemon tolerations', () => {
    const ds = daemonSet({
      spec: {
        template: { metadata: { labels: { app: 'agent' } }, spec: { nodeSelector: { role: 'edge' }, containers: [] } },
      },
    });
    assert.deepEqual(nodeShouldRunDaemonPod(ds, node('a', { labels: { role: 'edge' } })), {
      shouldRun: true,
      shouldContinueRunning: true,
    });
    assert.deepEqual(nodeShouldRunDaemonPod(ds, node('b')), { shouldRun: false, shouldContinueRunning: false });
    const noSchedule = node('c', {
      labels: { role: 'edge' },
      taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }],
    });
    assert.deepEqual(nodeShouldRunDaemonPod(ds, noSchedule), { shouldRun: false, shouldContinueRunning: true });
    const noExecute = node('d', {
      labels: { role: 'edge' },
      taints: [{ key: 'dedicated', value: 'db', effect: 'NoExecute' }],
    });
    assert.deepEqual(nodeShouldRunDaemonPod(ds, noExecute), { shouldRun: false, shouldContinueRunning: false });
    // the default daemon tolerations cover these, and unschedulable nodes too
    const sick = node('e', {
      labels: { role: 'edge' },
      unschedulable: true,
      taints: [
        { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' },
        { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' },
        { key: 'node.kubernetes.io/memory-pressure', effect: 'NoSchedule' },
      ],
    });
    assert.deepEqual(nodeShouldRunDaemonPod(ds, sick), { shouldRun: true, shouldContinueRunning: true });
    const affinity = daemonSet({
      spec: {
        template: {
          metadata: { labels: { app: 'agent' } },
          spec: {
            affinity: {
              nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                  nodeSelectorTerms: [
                    { matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1', 'z2'] }] },
                    { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['x'] }] },
                  ],
                },
              },
            },
            containers: [],
          },
        },
      },
    });
    assert.equal(nodeShouldRunDaemonPod(affinity, node('a', { labels: { zone: 'z2' } })).shouldRun, true);
    assert.equal(nodeShouldRunDaemonPod(affinity, node('x')).shouldRun, true);
    assert.equal(nodeShouldRunDaemonPod(affinity, node('y', { labels: { zone: 'z3' } })).shouldRun, false);
  });
});

describe('daemonset controller', () => {
  it('creates one pod per eligible node, pinned by node affinity, with a ControllerRevision and status', async () => {
    const ds = daemonSet();
    const hash = templateHash(ds.spec.template);
    const t = await setup(ds, [
      node('n1'),
      node('n2', { taints: [{ key: 'gpu', value: 'yes', effect: 'NoSchedule' }] }),
      node('n3', { taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }] }),
    ]);
    await t.sync('kube-system/agent');
    const w = t.writes();
    const ownerRefs = exactly([
      {
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        name: 'agent',
        uid: DS_UID,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    const daemonPod = {
      metadata: {
        generateName: 'agent-',
        labels: exactly({ app: 'agent', [REVISION_HASH_LABEL]: hash, 'pod-template-generation': '1' }),
        ownerReferences: ownerRefs,
      },
      spec: { nodeName: undefined },
    };
    // the first batch is one pod, the next two: both creations happen
    t.expectWrites([
      {
        action: `create controllerrevisions kube-system/agent-${hash}`,
        has: {
          revision: 1,
          data: exactly({ spec: { template: { ...ds.spec.template, $patch: 'replace' } } }),
          metadata: { labels: { [REVISION_HASH_LABEL]: hash }, ownerReferences: [{ uid: DS_UID }] },
        },
      },
      { action: 'create pods kube-system/agent-xxxx1', has: daemonPod },
      { action: 'create pods kube-system/agent-xxxx2', has: daemonPod },
      {
        action: STATUS,
        has: {
          status: exactly({
            currentNumberScheduled: 0,
            numberMisscheduled: 0,
            desiredNumberScheduled: 2,
            numberReady: 0,
            observedGeneration: 1,
            numberUnavailable: 2,
          }),
        },
      },
    ]);
    const created = [w[1].body, w[2].body];
    assert.deepEqual(created.map((p) => targetNodeName(p)).sort(), ['n1', 'n3']);
    const p = created[0];
    assert.deepEqual(p.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms, [
      { matchFields: [{ key: 'metadata.name', operator: 'In', values: [targetNodeName(p)] }] },
    ]);
    assert.deepEqual(
      p.spec.tolerations.map((x: any) => `${x.key}:${x.effect}`),
      [
        'not-ready:NoExecute',
        'unreachable:NoExecute',
        'disk-pressure:NoSchedule',
        'memory-pressure:NoSchedule',
        'pid-pressure:NoSchedule',
        'unschedulable:NoSchedule',
      ].map((x) => `node.kubernetes.io/${x}`),
    );
    assert.deepEqual(
      t.recorder.events.map((e) => e.reason),
      ['SuccessfulCreate', 'SuccessfulCreate'],
    );

    // the informer has seen the revision and the status, not the pods yet: no second creation
    t.observe(ControllerRevisions, 'kube-system', `agent-${hash}`);
    t.observe(DaemonSets, 'kube-system', 'agent');
    await t.sync('kube-system/agent');
    t.expectWrites([]);
    // once it has, the expectations are met and nothing is missing
    t.observeWrites();
    t.drain();
    await t.sync('kube-system/agent');
    t.expectWrites([STATUS]);
  });

  it('deletes failed pods, extra pods and pods on nodes that no longer fit; keeps them on NoSchedule-tainted nodes', async () => {
    const ds = daemonSet({
      spec: {
        template: {
          metadata: { labels: { app: 'agent' } },
          spec: { nodeSelector: { role: 'edge' }, containers: [{ name: 'a', image: 'agent:1' }] },
        },
      },
    });
    const hash = templateHash(ds.spec.template);
    const nodes = [
      node('n1', { labels: { role: 'edge' } }),
      node('n2'), // label removed
      node('n3', { labels: { role: 'edge' }, taints: [{ key: 'maint', effect: 'NoSchedule' }] }),
      node('n4', { labels: { role: 'edge' } }),
    ];
    const pods = [
      pod('a1', 'n1', hash),
      pod('a1b', 'n1', hash, 'ready', { creationTimestamp: '2024-05-01T09:30:00Z' }),
      pod('a2', 'n2', hash),
      pod('a3', 'n3', hash),
      pod('a4', 'n4', hash, 'failed'),
      pod('gone', 'n9', hash),
    ];
    const t = await setup(ds, nodes, pods, [revisionOf(ds, 1)]);
    await t.sync('kube-system/agent');
    // n4 gets its pod once the failed one is gone; desired: n1, n4; scheduled: n1 (a1), n4 (a4); misscheduled: n2,
    // n3, n9
    t.expectWrites([
      ...deletes('a1b', 'a2', 'a4', 'gone'),
      {
        action: STATUS,
        has: {
          status: exactly({
            currentNumberScheduled: 2,
            numberMisscheduled: 3,
            desiredNumberScheduled: 2,
            numberReady: 1,
            observedGeneration: 1,
            updatedNumberScheduled: 2,
            numberAvailable: 1,
            numberUnavailable: 1,
          }),
        },
      },
    ]);
    assert.deepEqual(
      t.recorder.events.map((e) => `${e.reason} ${e.message}`),
      [
        'FailedDaemonPod Found failed daemon pod kube-system/a4 on node n4, will try to kill it',
        'SuccessfulDelete Deleted pod: a1b',
        'SuccessfulDelete Deleted pod: a2',
        'SuccessfulDelete Deleted pod: a4',
        'SuccessfulDelete Deleted pod: gone',
      ],
    );
  });

  it('rolls a new template out maxUnavailable nodes at a time, unavailable old pods first', async () => {
    const old = daemonSet();
    const oldHash = templateHash(old.spec.template);
    const ds = daemonSet({
      generation: 2,
      spec: {
        template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'a', image: 'agent:2' }] } },
      },
    });
    const newHash = templateHash(ds.spec.template);
    assert.notEqual(oldHash, newHash);
    const nodes = ['n1', 'n2', 'n3', 'n4'].map((n) => node(n));
    const pods = [
      pod('p1', 'n1', oldHash),
      pod('p2', 'n2', oldHash),
      pod('p3', 'n3', oldHash, 'unready'),
      pod('p4', 'n4', oldHash),
    ];
    const t = await setup(ds, nodes, pods, [revisionOf(old, 1)]);
    await t.sync('kube-system/agent');
    // p3 is unavailable: it goes at once and uses the one unavailability allowed
    t.expectWrites([
      { action: `create controllerrevisions kube-system/agent-${newHash}`, has: { revision: 2 } },
      ...deletes('p3'),
      { action: STATUS, has: { status: { updatedNumberScheduled: undefined, observedGeneration: 2 } } },
    ]);

    // p3 replaced by a new available pod: the next old one goes
    const t2 = await setup(
      ds,
      nodes,
      [pod('p1', 'n1', oldHash), pod('p2', 'n2', oldHash), pod('p3new', 'n3', newHash), pod('p4', 'n4', oldHash)],
      [revisionOf(old, 1), revisionOf(ds, 2)],
    );
    await t2.sync('kube-system/agent');
    t2.expectWrites([...deletes('p1'), { action: STATUS, has: { status: { updatedNumberScheduled: 1 } } }]);

    // a new pod not ready yet: nothing more goes
    const t3 = await setup(
      ds,
      nodes,
      [
        pod('p1', 'n1', oldHash),
        pod('p2', 'n2', oldHash),
        pod('p3new', 'n3', newHash, 'unready'),
        pod('p4', 'n4', oldHash),
      ],
      [revisionOf(old, 1), revisionOf(ds, 2)],
    );
    await t3.sync('kube-system/agent');
    t3.expectWrites([STATUS]);

    // maxUnavailable 50% of 4 nodes: two at a time
    const wide = daemonSet({
      generation: 2,
      spec: { ...ds.spec, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '50%' } } },
    });
    const t4 = await setup(
      wide,
      nodes,
      [pod('p1', 'n1', oldHash), pod('p2', 'n2', oldHash), pod('p3', 'n3', oldHash), pod('p4', 'n4', oldHash)],
      [revisionOf(old, 1), revisionOf(ds, 2)],
    );
    await t4.sync('kube-system/agent');
    t4.expectWrites([...deletes('p1', 'p2'), STATUS]);
  });

  it('OnDelete leaves old pods alone, and a template back to an old revision renumbers it', async () => {
    const old = daemonSet();
    const oldHash = templateHash(old.spec.template);
    const v2 = daemonSet({
      spec: {
        template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'a', image: 'agent:2' }] } },
      },
    });
    const ds = daemonSet({ generation: 3, spec: { updateStrategy: { type: 'OnDelete' } } });
    const t = await setup(ds, [node('n1')], [pod('p1', 'n1', oldHash)], [revisionOf(old, 1), revisionOf(v2, 2)]);
    await t.sync('kube-system/agent');
    t.expectWrites([
      { action: `update controllerrevisions kube-system/agent-${oldHash}`, has: { revision: 3 } },
      { action: STATUS, has: { status: { updatedNumberScheduled: 1 } } },
    ]);

    const onDelete = daemonSet({ generation: 2, spec: { ...v2.spec, updateStrategy: { type: 'OnDelete' } } });
    const t2 = await setup(onDelete, [node('n1')], [pod('p1', 'n1', oldHash)], [revisionOf(old, 1), revisionOf(v2, 2)]);
    await t2.sync('kube-system/agent');
    t2.expectWrites([STATUS]);
  });

  it('writes nothing when all is in place, and prunes revisions beyond the history limit', async () => {
    const revs = [1, 2, 3].map((i) =>
      revisionOf(
        daemonSet({
          spec: {
            template: {
              metadata: { labels: { app: 'agent' } },
              spec: { containers: [{ name: 'a', image: `agent:old${i}` }] },
            },
          },
        }),
        i,
      ),
    );
    const ds = daemonSet({ spec: { revisionHistoryLimit: 1 } });
    const hash = templateHash(ds.spec.template);
    const status = {
      currentNumberScheduled: 1,
      numberMisscheduled: 0,
      desiredNumberScheduled: 1,
      numberReady: 1,
      observedGeneration: 1,
      updatedNumberScheduled: 1,
      numberAvailable: 1,
    };
    const t = await setup({ ...ds, status }, [node('n1')], [pod('p1', 'n1', hash)], [...revs, revisionOf(ds, 4)]);
    await t.sync('kube-system/agent');
    t.expectWrites([
      `delete controllerrevisions kube-system/${revs[0].metadata.name}`,
      `delete controllerrevisions kube-system/${revs[1].metadata.name}`,
    ]);
  });

  it('queues a daemon set for its pods (counting them against its expectations) and every one for node changes', async () => {
    const ds = daemonSet();
    const hash = templateHash(ds.spec.template);
    const t = await setup(ds, [node('n1')]);
    t.reconciler.expectations.expectCreations('kube-system/agent', 1);
    t.cache(Pods, pod('p1', 'n1', hash));
    assert.ok(t.reconciler.expectations.satisfied('kube-system/agent'), 'the creation is observed');
    t.cache(Nodes, { ...node('n1'), status: { conditions: [] } });
    t.cache(Nodes, node('n1', { labels: { role: 'edge' } }));
    t.cache(Nodes, node('n2'));
    assert.deepEqual(t.drain(), ['kube-system/agent', 'kube-system/agent', 'kube-system/agent']);
  });
});
