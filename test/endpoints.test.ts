/**
 * Endpoints and EndpointSlices against a real `skiff server` running only the endpoints, EndpointSlice and garbage
 * collector controllers: a pod's readiness change (a patch of its status, as a kubelet would write it) shows in both,
 * the slice changed in place; named ports resolve per pod; deleting the Service removes its Endpoints and its slices.
 * (How fast a change shows is a figure for bench/, not a test.)
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSkiff, type SkiffProcess } from './harness/skiff.ts';
import { Client } from '../lib/kube/client.ts';
import { isNotFound } from '../lib/kube/api.ts';
import type { KubeObject } from '../lib/kube/object.ts';
import { EndpointSlices, EndpointsR, Nodes, Pods, Services } from '../lib/kube/resources.ts';
import { eventually } from './harness/eventually.ts';

const NS = 'default';

function pod(name: string, port: number): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS, labels: { app: 'web' } },
    spec: {
      nodeName: 'n1',
      containers: [{ name: 'app', image: 'registry.local/web:1', ports: [{ name: 'http', containerPort: port }] }],
    },
  };
}

function status(ip: string, ready: boolean) {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    status: {
      phase: 'Running',
      podIP: ip,
      podIPs: [{ ip }],
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: now }],
    },
  };
}

describe('endpoints and EndpointSlices against a real API server', () => {
  let s: SkiffProcess;
  let c: Client;
  const slicesOf = async (svc: string) =>
    (await c.list(EndpointSlices, { namespace: NS, labelSelector: `kubernetes.io/service-name=${svc}` })).items;

  before(async () => {
    s = await startSkiff({
      args: ['--disable-scheduler', '--controllers', 'endpoints,endpointslice,garbage-collector'],
    });
    c = await Client.fromKubeconfig(s.kubeconfig);
    await c.create(Nodes, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n1', labels: { 'topology.kubernetes.io/zone': 'zone-a' } },
    });
  });
  after(async () => {
    c?.close();
    await s?.stop();
    s?.cleanup();
  });

  it('lists the pods, and a readiness change shows in the Endpoints and the EndpointSlice', async () => {
    await c.create(Services, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: NS, labels: { tier: 'front' } },
      spec: { selector: { app: 'web' }, ports: [{ name: 'web', port: 80, targetPort: 'http' }] },
    });
    await c.create(Pods, pod('a', 8080));
    await c.create(Pods, pod('b', 9090));
    await c.patch(Pods, NS, 'a', status('10.244.0.10', true), 'merge', { subresource: 'status' });
    await c.patch(Pods, NS, 'b', status('10.244.0.11', true), 'merge', { subresource: 'status' });

    const ep = await eventually('Endpoints with both pods', async () => {
      const e = await c.get(EndpointsR, NS, 'web');
      return e.subsets?.length === 2 && e;
    });
    assert.equal(ep.metadata.labels?.['endpoints.kubernetes.io/managed-by'], 'endpoint-controller');
    assert.equal(ep.metadata.labels?.tier, 'front');
    assert.deepEqual(
      ep.subsets?.map((sub: any) => [
        sub.addresses.map((a: any) => `${a.ip} ${a.nodeName} ${a.targetRef.name}`),
        sub.ports.map((p: any) => `${p.name} ${p.port}`),
      ]),
      [
        [['10.244.0.10 n1 a'], ['web 8080']],
        [['10.244.0.11 n1 b'], ['web 9090']],
      ],
      'a named target port resolves per pod',
    );
    const slices = await eventually('EndpointSlices with both pods', async () => {
      const items = await slicesOf('web');
      return items.reduce((n, sl) => n + (sl.endpoints?.length ?? 0), 0) === 2 && items;
    });
    assert.equal(slices.length, 2, 'one slice per set of resolved ports');
    for (const sl of slices) {
      assert.equal(sl.addressType, 'IPv4');
      assert.equal(sl.metadata.labels?.['endpointslice.kubernetes.io/managed-by'], 'endpointslice-controller.k8s.io');
      assert.equal(sl.metadata.ownerReferences?.[0]?.kind, 'Service');
      assert.equal(sl.endpoints?.[0].zone, 'zone-a');
      assert.deepEqual(sl.endpoints?.[0].conditions, { ready: true, serving: true, terminating: false });
    }

    await c.patch(Pods, NS, 'a', status('10.244.0.10', false), 'merge', { subresource: 'status' });
    await eventually('pod a in notReadyAddresses', async () => {
      const e = await c.get(EndpointsR, NS, 'web');
      return e.subsets?.some((sub: any) => sub.notReadyAddresses?.some((a: any) => a.targetRef.name === 'a'));
    });
    const after = await eventually('pod a not ready in its slice', async () => {
      const items = await slicesOf('web');
      return (
        items.some((sl) =>
          sl.endpoints?.some(
            (e: any) => e.targetRef.name === 'a' && e.conditions.ready === false && e.conditions.serving === false,
          ),
        ) && items
      );
    });
    const names = (list: KubeObject[]) => list.map((sl) => sl.metadata.name).sort();
    assert.deepEqual(names(after), names(slices), 'the change was made in place');
  });

  it('removes the Endpoints and, through their owner, the slices of a deleted Service', async () => {
    await c.delete(Services, NS, 'web');
    await eventually('Endpoints gone', async () => {
      try {
        await c.get(EndpointsR, NS, 'web');
        return false;
      } catch (e) {
        return isNotFound(e);
      }
    });
    await eventually('slices gone', async () => (await slicesOf('web')).length === 0);
  });
});
