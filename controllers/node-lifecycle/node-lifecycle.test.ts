import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryEventRecorder } from '../../lib/kube/events.ts';
import { FakeClient } from '../../lib/kube/fake.ts';
import { InformerFactory } from '../../lib/kube/informer.ts';
import type { KubeObject } from '../../lib/kube/object.ts';
import { Leases, Nodes, Pods } from '../../lib/kube/resources.ts';
import { NODE_LEASE_NAMESPACE, NodeLifecycleReconciler, POD_NODE_INDEX } from './index.ts';

const T0 = Date.parse('2024-05-01T10:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
const GRACE = 40_000;

function node(name: string, ready: string, heartbeat: number, taints?: any[]): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name },
    spec: taints ? { taints } : {},
    status: {
      conditions: ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'].map((type) => ({
        type,
        status: type === 'Ready' ? ready : 'False',
        reason: 'KubeletReady',
        message: 'ok',
        lastHeartbeatTime: iso(heartbeat),
        lastTransitionTime: iso(T0 - 3600_000),
      })),
    },
  };
}

function pod(name: string, nodeName: string, tolerations?: any[]): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', uid: `uid-${name}` },
    spec: { nodeName, containers: [{ name: 'c' }], ...(tolerations ? { tolerations } : {}) },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: iso(T0 - 60_000) }] },
  };
}

function setup(nodes: KubeObject[], pods: KubeObject[] = [], leases: KubeObject[] = []) {
  const client = new FakeClient();
  const informers = new InformerFactory(client);
  const podInf = informers.informer(Pods);
  podInf.addIndex(POD_NODE_INDEX, (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []));
  for (const n of nodes) informers.informer(Nodes).upsert(structuredClone(client.seed(Nodes, n)));
  for (const p of pods) podInf.upsert(structuredClone(client.seed(Pods, p)));
  for (const l of leases) informers.informer(Leases, { namespace: NODE_LEASE_NAMESPACE }).upsert(l);
  informers.markAllSynced();
  const recorder = new MemoryEventRecorder();
  const clock = { now: T0 };
  const enqueued: string[] = [];
  const r = new NodeLifecycleReconciler(
    client,
    informers.informer(Nodes),
    informers.informer(Leases, { namespace: NODE_LEASE_NAMESPACE }),
    podInf,
    recorder,
    { nodeMonitorGracePeriodMs: GRACE, nodeMonitorPeriodMs: 5000 },
    (k) => enqueued.push(k),
    () => {},
    () => clock.now,
  );
  /** the writes as the informers would show them */
  const refresh = () => {
    for (const n of informers.informer(Nodes).list())
      informers.informer(Nodes).upsert(structuredClone(client.stored(Nodes, undefined, n.metadata.name!))!);
    for (const p of podInf.list())
      podInf.upsert(structuredClone(client.stored(Pods, p.metadata.namespace, p.metadata.name!))!);
  };
  return { client, informers, recorder, clock, enqueued, r, refresh };
}

describe('node lifecycle', () => {
  it('a silent node gets Unknown conditions, its pods not ready, unreachable taints and an event', async () => {
    const t = setup([node('n1', 'True', T0 - 50_000)], [pod('a', 'n1')]);
    t.clock.now = T0;
    await t.r.reconcile('n1');
    // seen first now: it gets its grace period from this moment
    assert.deepEqual(t.client.writes(), []);
    t.clock.now = T0 + GRACE + 1;
    await t.r.reconcile('n1');
    const w = t.client.writes();
    assert.deepEqual(
      w.map((a) => `${a.verb} ${a.resource}/${a.name} ${a.subresource ?? ''}`),
      ['update nodes/n1 status', 'update pods/a status', 'update nodes/n1 '],
    );
    const now = iso(t.clock.now);
    for (const c of w[0].body.status.conditions) {
      assert.deepEqual(
        { s: c.status, r: c.reason, m: c.message, t: c.lastTransitionTime },
        { s: 'Unknown', r: 'NodeStatusUnknown', m: 'Kubelet stopped posting node status.', t: now },
      );
    }
    assert.deepEqual(w[1].body.status.conditions, [{ type: 'Ready', status: 'False', lastTransitionTime: now }]);
    assert.deepEqual(w[2].body.spec.taints, [
      { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule', timeAdded: now },
      { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: now },
    ]);
    assert.deepEqual(t.recorder.events, [
      { object: 'Node/n1', type: 'Normal', reason: 'NodeNotReady', message: 'Node n1 status is now: NodeNotReady' },
      { object: 'Pod/default/a', type: 'Warning', reason: 'NodeNotReady', message: 'Node is not ready' },
    ]);
    assert.deepEqual(t.enqueued, ['default/a'], 'pods of a node whose NoExecute taints change are looked at');
    // nothing more to write on the next check
    t.refresh();
    t.client.clearActions();
    await t.r.reconcile('n1');
    assert.deepEqual(t.client.writes(), []);
  });

  it('a fresh lease keeps a node healthy; Ready=False gets not-ready taints, Ready=True removes them', async () => {
    const lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'n1', namespace: NODE_LEASE_NAMESPACE },
      spec: { renewTime: iso(T0 - 1000) },
    };
    const t = setup(
      [node('n1', 'False', T0 - 3600_000, [{ key: 'dedicated', value: 'x', effect: 'NoSchedule' }])],
      [],
      [lease],
    );
    await t.r.reconcile('n1');
    let w = t.client.writes();
    assert.equal(w.length, 1);
    assert.deepEqual(w[0].body.spec.taints, [
      { key: 'dedicated', value: 'x', effect: 'NoSchedule' },
      { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule', timeAdded: iso(T0) },
      { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute', timeAdded: iso(T0) },
    ]);
    const back = structuredClone(t.client.stored(Nodes, undefined, 'n1'))!;
    back.status.conditions[0].status = 'True';
    t.informers.informer(Nodes).upsert(t.client.seed(Nodes, back));
    t.client.clearActions();
    await t.r.reconcile('n1');
    w = t.client.writes();
    assert.equal(w.length, 1);
    assert.deepEqual(w[0].body.spec.taints, [{ key: 'dedicated', value: 'x', effect: 'NoSchedule' }]);
  });

  it('evicts pods after their toleration runs out, at once without one, never without tolerationSeconds', async () => {
    const taints = [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: iso(T0) }];
    const t = setup(
      [node('n1', 'Unknown', T0, taints)],
      [
        pod('bare', 'n1'),
        pod('tol', 'n1', [
          { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
        ]),
        pod('forever', 'n1', [{ operator: 'Exists' }]),
      ],
    );
    assert.equal(await t.r.reconcile('default/bare'), undefined);
    assert.deepEqual(await t.r.reconcile('default/tol'), { requeueAfterMs: 300_000 });
    assert.equal(await t.r.reconcile('default/forever'), undefined);
    assert.deepEqual(
      t.client.writes().map((a) => `${a.verb} ${a.name}`),
      ['patch bare', 'delete bare'],
    );
    assert.deepEqual(t.client.writes()[0].body, {
      metadata: { uid: 'uid-bare' },
      status: {
        conditions: [
          {
            type: 'DisruptionTarget',
            status: 'True',
            lastTransitionTime: iso(T0),
            reason: 'DeletionByTaintManager',
            message: 'Taint manager: deleting due to NoExecute taint',
          },
        ],
      },
    });
    t.clock.now = T0 + 299_000;
    assert.deepEqual(await t.r.reconcile('default/tol'), { requeueAfterMs: 1000 });
    t.clock.now = T0 + 300_000;
    await t.r.reconcile('default/tol');
    assert.deepEqual(
      t.client.writes().map((a) => `${a.verb} ${a.name}`),
      ['patch bare', 'delete bare', 'patch tol', 'delete tol'],
    );
    assert.deepEqual(t.client.writes()[3].body, { preconditions: { uid: 'uid-tol' } });
    assert.deepEqual(
      t.recorder.events.map((e) => `${e.object} ${e.reason} ${e.message}`),
      [
        'Pod/default/bare TaintManagerEviction Marking for deletion Pod default/bare',
        'Pod/default/tol TaintManagerEviction Marking for deletion Pod default/tol',
      ],
    );
  });

  it('cancels the eviction when the taint goes away', async () => {
    const taints = [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: iso(T0) }];
    const tol = [
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 },
    ];
    const t = setup([node('n1', 'Unknown', T0, taints)], [pod('tol', 'n1', tol)]);
    assert.deepEqual(await t.r.reconcile('default/tol'), { requeueAfterMs: 60_000 });
    t.informers.informer(Nodes).upsert(node('n1', 'True', T0 + 30_000));
    t.clock.now = T0 + 30_000;
    await t.r.reconcile('default/tol');
    t.clock.now = T0 + 60_000;
    await t.r.reconcile('default/tol');
    assert.deepEqual(t.client.writes(), []);
    assert.deepEqual(
      t.recorder.events.map((e) => e.message),
      ['Cancelling deletion of Pod default/tol'],
    );
  });

  it('judges silence on its own clock: a changing lease keeps a node with a skewed clock healthy', async () => {
    const leaseAt = (t: string) => ({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'n1', namespace: NODE_LEASE_NAMESPACE },
      spec: { renewTime: t },
    });
    // the node's clock is an hour behind
    const t = setup([node('n1', 'True', T0 - 3600_000)], [], [leaseAt('2024-05-01T09:00:00.000000Z')]);
    const leases = t.informers.informer(Leases, { namespace: NODE_LEASE_NAMESPACE });
    await t.r.reconcile('n1');
    for (let i = 1; i <= 10; i++) {
      t.clock.now = T0 + i * 10_000;
      leases.upsert(leaseAt(`2024-05-01T09:00:${String(i * 5).padStart(2, '0')}.000000Z`));
      await t.r.reconcile('n1');
    }
    assert.deepEqual(t.client.writes(), [], 'renewals seen every 10 s: never silent');
    t.clock.now = T0 + 100_000 + GRACE + 1;
    await t.r.reconcile('n1');
    assert.equal(
      t.client.writes()[0]?.subresource,
      'status',
      'silent for the grace period since the last renewal seen',
    );
  });

  it('taints by condition: pressure, network and unschedulable get NoSchedule taints; a Ready=False node marks its pods not ready', async () => {
    const n = node('n1', 'True', T0);
    n.status.conditions.find((c: any) => c.type === 'MemoryPressure').status = 'True';
    n.spec.unschedulable = true;
    const t = setup([n], [pod('a', 'n1')]);
    await t.r.reconcile('n1');
    assert.deepEqual(t.client.writes()[0].body.spec.taints, [
      { key: 'node.kubernetes.io/memory-pressure', effect: 'NoSchedule', timeAdded: iso(T0) },
      { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule', timeAdded: iso(T0) },
    ]);
    t.refresh();
    t.client.clearActions();
    const down = structuredClone(t.client.stored(Nodes, undefined, 'n1'))!;
    down.status.conditions.find((c: any) => c.type === 'Ready').status = 'False';
    t.informers.informer(Nodes).upsert(t.client.seed(Nodes, down));
    await t.r.reconcile('n1');
    assert.deepEqual(
      t.client.writes().map((a) => `${a.verb} ${a.resource}/${a.name} ${a.subresource ?? ''}`),
      ['update pods/a status', 'update nodes/n1 '],
    );
    assert.deepEqual(
      t.client.writes()[1].body.spec.taints.map((x: any) => `${x.key}:${x.effect}`),
      [
        'node.kubernetes.io/memory-pressure:NoSchedule',
        'node.kubernetes.io/unschedulable:NoSchedule',
        'node.kubernetes.io/not-ready:NoSchedule',
        'node.kubernetes.io/not-ready:NoExecute',
      ],
    );
  });

  it('counts the first toleration matching each taint; zero seconds evicts at once', async () => {
    const taints = [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: iso(T0) }];
    const t = setup(
      [node('n1', 'Unknown', T0, taints)],
      [
        pod('first', 'n1', [
          { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 },
          { operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 10 },
        ]),
        pod('zero', 'n1', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', tolerationSeconds: 0 }]),
      ],
    );
    assert.deepEqual(await t.r.reconcile('default/first'), { requeueAfterMs: 60_000 });
    await t.r.reconcile('default/zero');
    assert.deepEqual(
      t.client.writes().map((a) => `${a.verb} ${a.name}`),
      ['patch zero', 'delete zero'],
    );
  });
});
