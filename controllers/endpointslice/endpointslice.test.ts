import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClient } from '../../lib/kube/fake.ts';
import { InformerFactory } from '../../lib/kube/informer.ts';
import type { KubeObject } from '../../lib/kube/object.ts';
import { EndpointSlices, Nodes, Pods, Services } from '../../lib/kube/resources.ts';
import { EndpointSliceReconciler, SLICE_SERVICE_INDEX, sliceServiceKeys } from './index.ts';

const NOW = new Date('2024-05-01T10:00:00Z');
const svc: KubeObject = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'default', uid: 'svc-uid' },
  spec: { selector: { app: 'web' }, clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'web' }] },
};

function pod(i: number, ready = true, extra: any = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `p${i}`, namespace: 'default', uid: `uid-${i}`, labels: { app: 'web' }, ...extra.metadata },
    spec: { nodeName: 'n1', containers: [{ name: 'c', ports: [{ name: 'web', containerPort: 8080 }] }] },
    status: { phase: 'Running', podIP: `10.244.${Math.floor(i / 256)}.${i % 256}`, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  };
}

function setup(pods: KubeObject[]) {
  const client = new FakeClient();
  const informers = new InformerFactory(client);
  const slices = informers.informer(EndpointSlices);
  slices.addIndex(SLICE_SERVICE_INDEX, sliceServiceKeys);
  informers.informer(Services).upsert(svc);
  informers.informer(Nodes).upsert({ metadata: { name: 'n1', labels: { 'topology.kubernetes.io/zone': 'z1' } } });
  for (const p of pods) informers.informer(Pods).upsert(p);
  informers.markAllSynced();
  const r = new EndpointSliceReconciler(client, informers.informer(Services), informers.informer(Pods), slices, informers.informer(Nodes), () => NOW);
  /** the slices written, as the informer would show them */
  const sync = () => {
    for (const a of client.writes()) {
      const stored = client.stored(EndpointSlices, 'default', a.name!);
      if (stored) slices.upsert(structuredClone(stored));
      else if (a.verb === 'delete') slices.remove({ metadata: { name: a.name, namespace: 'default' } });
    }
    client.clearActions();
  };
  return { client, informers, r, sync };
}

describe('endpointslice controller', () => {
  it('creates a slice owned by the service with the pods, their conditions and zone', async () => {
    const t = setup([pod(1), pod(2, false), pod(3, true, { metadata: { deletionTimestamp: '2024-05-01T09:59:00Z' } })]);
    await t.r.reconcile('default/web');
    const w = t.client.writes();
    assert.equal(w.length, 1);
    assert.equal(w[0].verb, 'create');
    const ep = (i: number, ready: boolean, serving: boolean, terminating: boolean) => ({
      addresses: [`10.244.0.${i}`],
      conditions: { ready, serving, terminating },
      targetRef: { kind: 'Pod', namespace: 'default', name: `p${i}`, uid: `uid-${i}` },
      nodeName: 'n1',
      zone: 'z1',
    });
    assert.deepEqual(w[0].body, {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        generateName: 'web-',
        namespace: 'default',
        labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
        annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': NOW.toISOString() },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'svc-uid', controller: true, blockOwnerDeletion: true }],
      },
      addressType: 'IPv4',
      endpoints: [ep(1, true, true, false), ep(2, false, false, false), ep(3, false, true, true)],
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    });
  });

  it('cuts at 100 endpoints, then updates minimally and deletes emptied slices', async () => {
    const pods = Array.from({ length: 150 }, (_, i) => pod(i + 1));
    const t = setup(pods);
    await t.r.reconcile('default/web');
    assert.deepEqual(t.client.writes().map((a) => `${a.verb} ${a.body.endpoints.length}`), ['create 100', 'create 50']);
    t.sync();
    await t.r.reconcile('default/web');
    assert.deepEqual(t.client.writes(), [], 'unchanged content writes nothing');
    // one pod of the second slice goes not ready: only that slice is written
    t.informers.informer(Pods).upsert(pod(120, false));
    await t.r.reconcile('default/web');
    let w = t.client.writes();
    assert.deepEqual(w.map((a) => `${a.verb} ${a.name}`), ['update web-xxxx2']);
    assert.equal(w[0].body.endpoints.length, 50);
    assert.equal(w[0].body.endpoints.find((e: any) => e.targetRef.name === 'p120').conditions.ready, false);
    t.sync();
    // the pods of the second slice go away
    for (let i = 101; i <= 150; i++) t.informers.informer(Pods).remove(pod(i));
    await t.r.reconcile('default/web');
    w = t.client.writes();
    assert.deepEqual(w.map((a) => `${a.verb} ${a.name}`), ['delete web-xxxx2']);
  });

  it('keeps one empty placeholder slice when the service has no endpoints', async () => {
    const t = setup([]);
    await t.r.reconcile('default/web');
    const w = t.client.writes();
    assert.deepEqual(w.map((a) => [a.verb, a.body.endpoints, a.body.ports]), [['create', [], []]]);
    t.sync();
    await t.r.reconcile('default/web');
    assert.deepEqual(t.client.writes(), []);
  });
});
