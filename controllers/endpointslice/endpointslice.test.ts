import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../lib/kube/object.ts';
import { EndpointSlices, Nodes, Pods, Services } from '../../lib/kube/resources.ts';
import { ControllerFixture, exactly } from '../testing.ts';
import { endpointSliceController, type EndpointSliceReconciler, STALE_CACHE_RETRY_MS } from './index.ts';

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

async function setup(pods: KubeObject[], nodeLabels: Record<string, string> = { 'topology.kubernetes.io/zone': 'z1' }) {
  const t = await ControllerFixture.of(endpointSliceController);
  t.cache(Services, svc);
  t.cache(Nodes, { metadata: { name: 'n1', labels: nodeLabels } });
  for (const p of pods) t.cache(Pods, p);
  t.drain();
  return t;
}

/** the number of endpoints of each slice the API holds, by name */
function sizes(t: ControllerFixture<EndpointSliceReconciler>, ...names: string[]): number[] {
  return names.map((n) => t.client.stored(EndpointSlices, 'default', n)!.endpoints.length);
}

const http8080 = [{ name: 'http', port: 8080, protocol: 'TCP' }];

describe('endpointslice controller', () => {
  it('creates a slice owned by the service with the pods, their conditions and zone', async () => {
    const t = await setup([
      pod(1),
      pod(2, false),
      pod(3, true, { metadata: { deletionTimestamp: '2024-05-01T09:59:00Z' } }),
    ]);
    await t.sync('default/web');
    const ep = (i: number, ready: boolean, serving: boolean, terminating: boolean) => ({
      addresses: [`10.244.0.${i}`],
      conditions: { ready, serving, terminating },
      targetRef: { kind: 'Pod', namespace: 'default', name: `p${i}`, uid: `uid-${i}` },
      nodeName: 'n1',
      zone: 'z1',
    });
    t.expectWrites([
      {
        action: 'create endpointslices default/web-xxxx1',
        body: {
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
          ports: http8080,
        },
      },
    ]);
  });

  it('cuts at 100 endpoints, then updates minimally and deletes emptied slices', async () => {
    const t = await setup(Array.from({ length: 150 }, (_, i) => pod(i + 1)));
    await t.sync('default/web');
    t.expectWrites(['create endpointslices default/web-xxxx1', 'create endpointslices default/web-xxxx2']);
    assert.deepEqual(sizes(t, 'web-xxxx1', 'web-xxxx2'), [100, 50]);
    t.observeWrites();
    await t.sync('default/web');
    t.expectWrites([]); // unchanged content writes nothing
    // one pod of the second slice goes not ready: only that slice is written
    t.cache(Pods, pod(120, false));
    await t.sync('default/web');
    t.expectWrites(['update endpointslices default/web-xxxx2']);
    const second = t.client.stored(EndpointSlices, 'default', 'web-xxxx2')!;
    assert.equal(second.endpoints.length, 50);
    assert.equal(second.endpoints.find((e: any) => e.targetRef.name === 'p120').conditions.ready, false);
    t.observeWrites();
    // the pods of the second slice go away
    for (let i = 101; i <= 150; i++) t.remove(Pods, pod(i));
    await t.sync('default/web');
    t.expectWrites(['delete endpointslices default/web-xxxx2']);
  });

  it('keeps one empty placeholder slice when the service has no endpoints', async () => {
    const t = await setup([]);
    await t.sync('default/web');
    t.expectWrites([{ action: 'create endpointslices default/web-xxxx1', has: { endpoints: [], ports: [] } }]);
    t.observeWrites();
    await t.sync('default/web');
    t.expectWrites([]);
  });

  it('waits for its own writes to reach the cache instead of creating duplicates', async () => {
    const t = await setup([pod(1)]);
    await t.sync('default/web');
    assert.deepEqual(await t.sync('default/web'), { requeueAfterMs: STALE_CACHE_RETRY_MS });
    t.expectWrites(['create endpointslices default/web-xxxx1']); // no second create before the first is seen
    t.observeWrites();
    assert.equal(await t.sync('default/web'), undefined);
    t.expectWrites([]);
  });

  it('turns the placeholder into the first slice, and skips pods of unknown nodes with an error', async () => {
    const t = await setup([]);
    await t.sync('default/web');
    t.expectWrites(['create endpointslices default/web-xxxx1']);
    t.observeWrites();
    t.cache(Pods, pod(1));
    t.cache(Pods, { ...pod(2), spec: { ...pod(2).spec, nodeName: 'gone' } });
    await assert.rejects(t.sync('default/web'), /skipping Pod p2 for Service default\/web: Node gone Not Found/);
    t.expectWrites([
      {
        action: 'update endpointslices default/web-xxxx1',
        has: { endpoints: [{ targetRef: { name: 'p1' } }], ports: exactly(http8080) },
      },
    ]);
  });

  it('puts new endpoints in the unchanged slice closest to full that takes them all', async () => {
    const t = await setup(Array.from({ length: 150 }, (_, i) => pod(i + 1)));
    await t.sync('default/web');
    t.expectWrites(['create endpointslices default/web-xxxx1', 'create endpointslices default/web-xxxx2']);
    t.observeWrites();
    for (let i = 151; i <= 160; i++) t.cache(Pods, pod(i));
    await t.sync('default/web');
    t.expectWrites(['update endpointslices default/web-xxxx2']);
    assert.deepEqual(sizes(t, 'web-xxxx1', 'web-xxxx2'), [100, 60]);
    t.observeWrites();
    // more than any slice can take: a new slice
    for (let i = 161; i <= 250; i++) t.cache(Pods, pod(i));
    await t.sync('default/web');
    t.expectWrites(['create endpointslices default/web-xxxx3']);
    assert.deepEqual(sizes(t, 'web-xxxx3'), [90]);
  });

  it('ignores the watch events of its own writes and syncs on changes by others, a second later', async () => {
    const t = await setup([], {});
    await t.sync('default/web');
    t.expectWrites(['create endpointslices default/web-xxxx1']);
    t.observeWrites();
    assert.deepEqual(t.drain(), [], 'its own create');
    const own = t.client.stored(EndpointSlices, 'default', 'web-xxxx1')!;
    t.cache(EndpointSlices, {
      ...structuredClone(own),
      metadata: {
        ...own.metadata,
        resourceVersion: String(Number(own.metadata.resourceVersion) + 5),
        labels: { ...own.metadata.labels, x: 'y' },
      },
    });
    assert.deepEqual(t.drain(), ['default/web after 1000 ms'], 'an edit by someone else');
  });
});
