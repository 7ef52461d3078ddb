import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../lib/kube/object.ts';
import { Leases, Nodes, Pods } from '../../lib/kube/resources.ts';
import { ControllerFixture, exactly } from '../testing.ts';
import { NODE_LEASE_NAMESPACE, nodeLifecycleController } from './index.ts';

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

async function setup(nodes: KubeObject[], pods: KubeObject[] = [], leases: KubeObject[] = []) {
  const t = await ControllerFixture.of(nodeLifecycleController, {
    options: { nodeMonitorGracePeriodMs: GRACE, nodeMonitorPeriodMs: 5000 },
    clock: T0,
  });
  for (const n of nodes) t.seed(Nodes, n);
  for (const p of pods) t.seed(Pods, p);
  for (const l of leases) t.cache(Leases, l);
  t.drain();
  return t;
}

const readyFalse = (at: number) => ({ type: 'Ready', status: 'False', lastTransitionTime: iso(at) });

describe('node lifecycle', () => {
  it('a silent node gets Unknown conditions, its pods not ready, unreachable taints and an event', async () => {
    const t = await setup([node('n1', 'True', T0 - 50_000)], [pod('a', 'n1')]);
    await t.sync('n1');
    // seen first now: it gets its grace period from this moment
    t.expectWrites([]);
    t.clock = T0 + GRACE + 1;
    await t.sync('n1');
    const now = iso(t.clock);
    const w = t.writes();
    t.expectWrites([
      'update nodes/status n1',
      { action: 'update pods/status default/a', has: { status: { conditions: exactly([readyFalse(t.clock)]) } } },
      {
        action: 'update nodes n1',
        has: {
          spec: {
            taints: exactly([
              { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule', timeAdded: now },
              { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: now },
            ]),
          },
        },
      },
    ]);
    for (const c of w[0].body.status.conditions) {
      assert.deepEqual(
        { s: c.status, r: c.reason, m: c.message, t: c.lastTransitionTime },
        { s: 'Unknown', r: 'NodeStatusUnknown', m: 'Kubelet stopped posting node status.', t: now },
      );
    }
    assert.deepEqual(t.recorder.events, [
      { object: 'Node/n1', type: 'Normal', reason: 'NodeNotReady', message: 'Node n1 status is now: NodeNotReady' },
      { object: 'Pod/default/a', type: 'Warning', reason: 'NodeNotReady', message: 'Node is not ready' },
    ]);
    assert.deepEqual(t.drain(), ['default/a'], 'pods of a node whose NoExecute taints change are looked at');
    // nothing more to write on the next check
    t.observeWrites();
    t.drain();
    await t.sync('n1');
    t.expectWrites([]);
  });

  it('a fresh lease keeps a node healthy; Ready=False gets not-ready taints, Ready=True removes them', async () => {
    const lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'n1', namespace: NODE_LEASE_NAMESPACE },
      spec: { renewTime: iso(T0 - 1000) },
    };
    const t = await setup(
      [node('n1', 'False', T0 - 3600_000, [{ key: 'dedicated', value: 'x', effect: 'NoSchedule' }])],
      [],
      [lease],
    );
    await t.sync('n1');
    t.expectWrites([
      {
        action: 'update nodes n1',
        has: {
          spec: {
            taints: exactly([
              { key: 'dedicated', value: 'x', effect: 'NoSchedule' },
              { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule', timeAdded: iso(T0) },
              { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute', timeAdded: iso(T0) },
            ]),
          },
        },
      },
    ]);
    const back = structuredClone(t.client.stored(Nodes, undefined, 'n1'))!;
    back.status.conditions[0].status = 'True';
    t.seed(Nodes, back);
    await t.sync('n1');
    t.expectWrites([
      {
        action: 'update nodes n1',
        has: { spec: { taints: exactly([{ key: 'dedicated', value: 'x', effect: 'NoSchedule' }]) } },
      },
    ]);
  });

  it('evicts pods after their toleration runs out, at once without one, never without tolerationSeconds', async () => {
    const taints = [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: iso(T0) }];
    const t = await setup(
      [node('n1', 'Unknown', T0, taints)],
      [
        pod('bare', 'n1'),
        pod('tol', 'n1', [
          { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
        ]),
        pod('forever', 'n1', [{ operator: 'Exists' }]),
      ],
    );
    assert.equal(await t.sync('default/bare'), undefined);
    assert.deepEqual(await t.sync('default/tol'), { requeueAfterMs: 300_000 });
    assert.equal(await t.sync('default/forever'), undefined);
    const disruption = (uid: string) => ({
      metadata: { uid },
      status: {
        conditions: [
          {
            type: 'DisruptionTarget',
            status: 'True',
            lastTransitionTime: iso(t.clock!),
            reason: 'DeletionByTaintManager',
            message: 'Taint manager: deleting due to NoExecute taint',
          },
        ],
      },
    });
    t.expectWrites([
      { action: 'patch pods/status default/bare', body: disruption('uid-bare'), patchType: 'strategic' },
      { action: 'delete pods default/bare', body: { preconditions: { uid: 'uid-bare' } } },
    ]);
    t.clock = T0 + 299_000;
    assert.deepEqual(await t.sync('default/tol'), { requeueAfterMs: 1000 });
    t.clock = T0 + 300_000;
    await t.sync('default/tol');
    t.expectWrites([
      { action: 'patch pods/status default/tol', body: disruption('uid-tol') },
      { action: 'delete pods default/tol', body: { preconditions: { uid: 'uid-tol' } } },
    ]);
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
    const t = await setup([node('n1', 'Unknown', T0, taints)], [pod('tol', 'n1', tol)]);
    assert.deepEqual(await t.sync('default/tol'), { requeueAfterMs: 60_000 });
    t.cache(Nodes, node('n1', 'True', T0 + 30_000));
    t.clock = T0 + 30_000;
    await t.sync('default/tol');
    t.clock = T0 + 60_000;
    await t.sync('default/tol');
    t.expectWrites([]);
    assert.deepEqual(
      t.recorder.events.map((e) => e.message),
      ['Cancelling deletion of Pod default/tol'],
    );
  });

  it('judges silence on its own clock: a changing lease keeps a node with a skewed clock healthy', async () => {
    const leaseAt = (at: string) => ({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'n1', namespace: NODE_LEASE_NAMESPACE },
      spec: { renewTime: at },
    });
    // the node's clock is an hour behind
    const t = await setup([node('n1', 'True', T0 - 3600_000)], [], [leaseAt('2024-05-01T09:00:00.000000Z')]);
    await t.sync('n1');
    for (let i = 1; i <= 10; i++) {
      t.clock = T0 + i * 10_000;
      t.cache(Leases, leaseAt(`2024-05-01T09:00:${String(i * 5).padStart(2, '0')}.000000Z`));
      await t.sync('n1');
    }
    t.expectWrites([]); // renewals seen every 10 s: never silent
    t.clock = T0 + 100_000 + GRACE + 1;
    await t.sync('n1');
    // silent for the grace period since the last renewal seen
    t.expectWrites(['update nodes/status n1', 'update nodes n1']);
  });

  it('taints by condition: pressure, network and unschedulable get NoSchedule taints; a Ready=False node marks its pods not ready', async () => {
    const n = node('n1', 'True', T0);
    n.status.conditions.find((c: any) => c.type === 'MemoryPressure').status = 'True';
    n.spec.unschedulable = true;
    const t = await setup([n], [pod('a', 'n1')]);
    await t.sync('n1');
    t.expectWrites([
      {
        action: 'update nodes n1',
        has: {
          spec: {
            taints: exactly([
              { key: 'node.kubernetes.io/memory-pressure', effect: 'NoSchedule', timeAdded: iso(T0) },
              { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule', timeAdded: iso(T0) },
            ]),
          },
        },
      },
    ]);
    t.observeWrites();
    const down = structuredClone(t.client.stored(Nodes, undefined, 'n1'))!;
    down.status.conditions.find((c: any) => c.type === 'Ready').status = 'False';
    t.seed(Nodes, down);
    await t.sync('n1');
    const keys = (taints: { key: string; effect: string }[]) => taints.map((x) => `${x.key}:${x.effect}`);
    const w = t.writes();
    t.expectWrites(['update pods/status default/a', 'update nodes n1']);
    assert.deepEqual(keys(w[1].body.spec.taints), [
      'node.kubernetes.io/memory-pressure:NoSchedule',
      'node.kubernetes.io/unschedulable:NoSchedule',
      'node.kubernetes.io/not-ready:NoSchedule',
      'node.kubernetes.io/not-ready:NoExecute',
    ]);
  });

  it('counts the first toleration matching each taint; zero seconds evicts at once', async () => {
    const taints = [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: iso(T0) }];
    const t = await setup(
      [node('n1', 'Unknown', T0, taints)],
      [
        pod('first', 'n1', [
          { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 },
          { operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 10 },
        ]),
        pod('zero', 'n1', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', tolerationSeconds: 0 }]),
      ],
    );
    assert.deepEqual(await t.sync('default/first'), { requeueAfterMs: 60_000 });
    await t.sync('default/zero');
    t.expectWrites(['patch pods/status default/zero', 'delete pods default/zero']);
  });

  it('queues nodes, and pods by their own key when they are bound, moved, or change their tolerations', async () => {
    const t = await setup([node('n1', 'True', T0)]);
    assert.deepEqual(t.drain(), []);
    t.cache(Pods, pod('a', 'n1'));
    t.cache(Pods, { ...pod('b', 'n1'), spec: {} });
    t.cache(Pods, { ...pod('a', 'n1'), metadata: { ...pod('a', 'n1').metadata, labels: { x: 'y' } } });
    t.cache(Pods, pod('a', 'n1', [{ operator: 'Exists' }]));
    t.cache(Pods, pod('b', 'n2'));
    t.remove(Pods, pod('b', 'n2'));
    t.cache(Nodes, node('n2', 'True', T0));
    assert.deepEqual(t.drain(), ['default/a', 'default/a', 'default/b', 'default/b', 'n2']);
  });
});
