import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClient } from '../../lib/kube/fake.ts';
import { InformerFactory } from '../../lib/kube/informer.ts';
import type { KubeObject } from '../../lib/kube/object.ts';
import { EndpointSlices, Nodes, Pods, Services } from '../../lib/kube/resources.ts';
import { MemoryEventRecorder } from '../../lib/kube/events.ts';
import { DEFAULT_CONTROLLER_OPTIONS } from '../controller.ts';
import {
  endpointSliceController,
  EndpointSliceReconciler,
  SLICE_SERVICE_INDEX,
  sliceServiceKeys,
  STALE_CACHE_RETRY_MS,
} from './index.ts';

const CREATED = '2024-05-01T09:00:00Z';
const svc: KubeObject = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'default', uid: 'svc-uid', creationTimestamp: CREATED },
  spec: {
    selector: { app: 'web' },
    clusterIP: '10.96.0.10',
    ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'web' }],
  },
};

function pod(i: number, ready = true, extra: any = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `p${i}`, namespace: 'default', uid: `uid-${i}`, labels: { app: 'web' }, ...extra.metadata },
    spec: { nodeName: 'n1', containers: [{ name: 'c', ports: [{ name: 'web', containerPort: 8080 }] }] },
    status: {
      phase: 'Running',
      podIP: `10.244.${Math.floor(i / 256)}.${i % 256}`,
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    },
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
  const r = new EndpointSliceReconciler(
    client,
    informers.informer(Services),
    informers.informer(Pods),
    slices,
    informers.informer(Nodes),
  );
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
        labels: {
          'kubernetes.io/service-name': 'web',
          'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
        },
        annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': CREATED },
        ownerReferences: [
          {
            apiVersion: 'v1',
            kind: 'Service',
            name: 'web',
            uid: 'svc-uid',
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
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
    assert.deepEqual(
      t.client.writes().map((a) => `${a.verb} ${a.body.endpoints.length}`),
      ['create 100', 'create 50'],
    );
    t.sync();
    await t.r.reconcile('default/web');
    assert.deepEqual(t.client.writes(), [], 'unchanged content writes nothing');
    // one pod of the second slice goes not ready: only that slice is written
    t.informers.informer(Pods).upsert(pod(120, false));
    await t.r.reconcile('default/web');
    let w = t.client.writes();
    assert.deepEqual(
      w.map((a) => `${a.verb} ${a.name}`),
      ['update web-xxxx2'],
    );
    assert.equal(w[0].body.endpoints.length, 50);
    assert.equal(w[0].body.endpoints.find((e: any) => e.targetRef.name === 'p120').conditions.ready, false);
    t.sync();
    // the pods of the second slice go away
    for (let i = 101; i <= 150; i++) t.informers.informer(Pods).remove(pod(i));
    await t.r.reconcile('default/web');
    w = t.client.writes();
    assert.deepEqual(
      w.map((a) => `${a.verb} ${a.name}`),
      ['delete web-xxxx2'],
    );
  });

  it('keeps one empty placeholder slice when the service has no endpoints', async () => {
    const t = setup([]);
    await t.r.reconcile('default/web');
    const w = t.client.writes();
    assert.deepEqual(
      w.map((a) => [a.verb, a.body.endpoints, a.body.ports]),
      [['create', [], []]],
    );
    t.sync();
    await t.r.reconcile('default/web');
    assert.deepEqual(t.client.writes(), []);
  });

  it('waits for its own writes to reach the cache instead of creating duplicates', async () => {
    const t = setup([pod(1)]);
    await t.r.reconcile('default/web');
    assert.deepEqual(await t.r.reconcile('default/web'), { requeueAfterMs: STALE_CACHE_RETRY_MS });
    assert.equal(t.client.writes().length, 1, 'no second create before the first is seen');
    t.sync();
    assert.equal(await t.r.reconcile('default/web'), undefined);
    assert.deepEqual(t.client.writes(), []);
  });

  it('turns the placeholder into the first slice, and skips pods of unknown nodes with an error', async () => {
    const t = setup([]);
    await t.r.reconcile('default/web');
    t.sync();
    t.informers.informer(Pods).upsert(pod(1));
    t.informers.informer(Pods).upsert({ ...pod(2), spec: { ...pod(2).spec, nodeName: 'gone' } });
    await assert.rejects(t.r.reconcile('default/web'), /skipping Pod p2 for Service default\/web: Node gone Not Found/);
    const w = t.client.writes();
    assert.deepEqual(
      w.map((a) => `${a.verb} ${a.name}`),
      ['update web-xxxx1'],
    );
    assert.deepEqual(
      w[0].body.endpoints.map((e: any) => e.targetRef.name),
      ['p1'],
    );
    assert.deepEqual(w[0].body.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
  });

  it('puts new endpoints in the unchanged slice closest to full that takes them all', async () => {
    const t = setup(Array.from({ length: 150 }, (_, i) => pod(i + 1)));
    await t.r.reconcile('default/web');
    t.sync();
    for (let i = 151; i <= 160; i++) t.informers.informer(Pods).upsert(pod(i));
    await t.r.reconcile('default/web');
    let w = t.client.writes();
    assert.deepEqual(
      w.map((a) => `${a.verb} ${a.name} ${a.body.endpoints.length}`),
      ['update web-xxxx2 60'],
    );
    t.sync();
    // more than any slice can take: a new slice
    for (let i = 161; i <= 250; i++) t.informers.informer(Pods).upsert(pod(i));
    await t.r.reconcile('default/web');
    w = t.client.writes();
    assert.deepEqual(
      w.map((a) => `${a.verb} ${a.body.endpoints.length}`),
      ['create 90'],
    );
  });

  it('ignores the watch events of its own writes and syncs on changes by others', async () => {
    const client = new FakeClient();
    const informers = new InformerFactory(client);
    const later: string[] = [];
    informers.informer(Services).upsert(svc);
    informers.informer(Nodes).upsert({ metadata: { name: 'n1' } });
    informers.markAllSynced();
    const r = await endpointSliceController.setup!({
      client,
      informers,
      recorder: new MemoryEventRecorder(),
      enqueue: () => {},
      enqueueAfter: (k) => later.push(k),
      options: DEFAULT_CONTROLLER_OPTIONS,
      log: () => {},
      now: Date.now,
      served: async (c) => [...c],
    });
    await r.reconcile('default/web');
    const slices = informers.informer(EndpointSlices);
    const own = client.stored(EndpointSlices, 'default', client.writes()[0].name!)!;
    slices.upsert(structuredClone(own));
    assert.deepEqual(later, [], 'its own create');
    slices.upsert({
      ...structuredClone(own),
      metadata: {
        ...own.metadata,
        resourceVersion: String(Number(own.metadata.resourceVersion) + 5),
        labels: { ...own.metadata.labels, x: 'y' },
      },
    });
    assert.deepEqual(later, ['default/web'], 'an edit by someone else');
  });
});
