import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClient } from '../../lib/kube/fake.ts';
import { InformerFactory } from '../../lib/kube/informer.ts';
import type { KubeObject } from '../../lib/kube/object.ts';
import { EndpointsR, Pods, Services } from '../../lib/kube/resources.ts';
import { EndpointsReconciler, LAST_CHANGE_TRIGGER_TIME, OVER_CAPACITY } from './index.ts';
import { watchPodsForServices } from '../../lib/kube/endpoints/service-pods.ts';

const CREATED = '2024-05-01T09:00:00Z';
const MANAGED = { 'endpoints.kubernetes.io/managed-by': 'endpoint-controller' };

function svc(spec: any = {}, name = 'web'): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default', uid: `svc-${name}`, labels: { tier: 'front' }, creationTimestamp: CREATED },
    spec: {
      selector: { app: 'web' },
      clusterIP: '10.96.0.10',
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }],
      ...spec,
    },
  };
}

function pod(
  name: string,
  ip: string | undefined,
  ready: boolean,
  extra: { labels?: Record<string, string>; spec?: any; status?: any; metadata?: any } = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      labels: extra.labels ?? { app: 'web' },
      ...extra.metadata,
    },
    spec: { nodeName: 'n1', containers: [{ name: 'c', ports: [{ name: 'web', containerPort: 8080 }] }], ...extra.spec },
    status: {
      phase: 'Running',
      ...(ip ? { podIP: ip } : {}),
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
      ...extra.status,
    },
  };
}

const ref = (name: string) => ({ kind: 'Pod', namespace: 'default', name, uid: `uid-${name}` });

function setup(objs: { services?: KubeObject[]; pods?: KubeObject[]; endpoints?: KubeObject[] }) {
  const client = new FakeClient();
  const informers = new InformerFactory(client);
  for (const s of objs.services ?? []) informers.informer(Services).upsert(s);
  for (const p of objs.pods ?? []) informers.informer(Pods).upsert(p);
  for (const e of objs.endpoints ?? []) informers.informer(EndpointsR).upsert(client.seed(EndpointsR, e));
  informers.markAllSynced();
  const r = new EndpointsReconciler(
    client,
    informers.informer(Services),
    informers.informer(Pods),
    informers.informer(EndpointsR),
  );
  return { client, informers, r };
}

describe('endpoints controller', () => {
  it('lists ready pods in addresses and not-ready ones in notReadyAddresses', async () => {
    const t = setup({
      services: [svc()],
      pods: [
        pod('b', '10.244.0.12', true),
        pod('a', '10.244.0.9', true),
        pod('c', '10.244.0.3', false),
        pod('no-ip', undefined, true),
        pod('done', '10.244.0.4', true, { status: { phase: 'Succeeded' } }),
        pod('going', '10.244.0.5', true, { metadata: { deletionTimestamp: '2024-05-01T09:00:00Z' } }),
        pod('other', '10.244.0.6', true, { labels: { app: 'db' } }),
      ],
    });
    await t.r.reconcile('default/web');
    const w = t.client.writes();
    assert.equal(w.length, 1);
    assert.equal(w[0].verb, 'create');
    assert.deepEqual(w[0].body, {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: {
        name: 'web',
        namespace: 'default',
        labels: { tier: 'front', ...MANAGED },
        annotations: { [LAST_CHANGE_TRIGGER_TIME]: CREATED },
      },
      subsets: [
        {
          addresses: [
            { ip: '10.244.0.9', nodeName: 'n1', targetRef: ref('a') },
            { ip: '10.244.0.12', nodeName: 'n1', targetRef: ref('b') },
          ],
          notReadyAddresses: [{ ip: '10.244.0.3', nodeName: 'n1', targetRef: ref('c') }],
          ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        },
      ],
    });
  });

  it('publishNotReadyAddresses lists every pod as ready', async () => {
    const t = setup({ services: [svc({ publishNotReadyAddresses: true })], pods: [pod('c', '10.244.0.3', false)] });
    await t.r.reconcile('default/web');
    assert.deepEqual(t.client.writes()[0].body.subsets, [
      {
        addresses: [{ ip: '10.244.0.3', nodeName: 'n1', targetRef: ref('c') }],
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      },
    ]);
  });

  it('resolves named target ports per pod and skips pods without the port; sets hostname for the subdomain', async () => {
    const t = setup({
      services: [svc({ ports: [{ name: 'http', port: 80, targetPort: 'web' }] })],
      pods: [
        pod('a', '10.244.0.2', true, { spec: { hostname: 'a', subdomain: 'web' } }),
        pod('b', '10.244.0.3', true, {
          spec: { containers: [{ name: 'c', ports: [{ name: 'web', containerPort: 9090 }] }] },
        }),
        pod('c', '10.244.0.4', true, {
          spec: { containers: [{ name: 'c', ports: [{ name: 'other', containerPort: 1 }] }] },
        }),
      ],
    });
    await t.r.reconcile('default/web');
    assert.deepEqual(t.client.writes()[0].body.subsets, [
      {
        addresses: [{ ip: '10.244.0.2', hostname: 'a', nodeName: 'n1', targetRef: ref('a') }],
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      },
      {
        addresses: [{ ip: '10.244.0.3', nodeName: 'n1', targetRef: ref('b') }],
        ports: [{ name: 'http', port: 9090, protocol: 'TCP' }],
      },
    ]);
  });

  it('writes nothing when the content is unchanged, updates when it differs', async () => {
    const t = setup({ services: [svc()], pods: [pod('a', '10.244.0.9', true)] });
    await t.r.reconcile('default/web');
    const created = t.client.stored(EndpointsR, 'default', 'web')!;
    t.informers.informer(EndpointsR).upsert(created);
    t.client.clearActions();
    await t.r.reconcile('default/web');
    assert.deepEqual(t.client.writes(), []);
    const notReady = pod('a', '10.244.0.9', false, {
      status: { conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: '2024-05-01T10:00:05Z' }] },
    });
    t.informers.informer(Pods).upsert(notReady);
    await t.r.reconcile('default/web');
    const w = t.client.writes();
    assert.equal(w.length, 1);
    assert.equal(w[0].verb, 'update');
    assert.equal(w[0].body.metadata.resourceVersion, created.metadata.resourceVersion);
    assert.equal(
      w[0].body.metadata.annotations[LAST_CHANGE_TRIGGER_TIME],
      '2024-05-01T10:00:05Z',
      'the pod change that caused the write',
    );
    assert.deepEqual(w[0].body.subsets, [
      {
        notReadyAddresses: [{ ip: '10.244.0.9', nodeName: 'n1', targetRef: ref('a') }],
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      },
    ]);
  });

  it('deletes the Endpoints of a deleted service, and of a service that lost its selector only when it wrote them', async () => {
    const t = setup({
      services: [
        svc({ selector: undefined }, 'manual'),
        svc({ selector: undefined }, 'was-selected'),
        svc({ type: 'ExternalName', externalName: 'x.example' }, 'ext'),
      ],
      endpoints: [
        { metadata: { name: 'web', namespace: 'default' }, subsets: [] },
        { metadata: { name: 'manual', namespace: 'default' }, subsets: [{ addresses: [{ ip: '1.2.3.4' }] }] },
        { metadata: { name: 'was-selected', namespace: 'default', labels: MANAGED }, subsets: [] },
        {
          metadata: {
            name: 'leader',
            namespace: 'default',
            annotations: { 'control-plane.alpha.kubernetes.io/leader': '{}' },
          },
        },
      ],
    });
    for (const k of ['web', 'manual', 'was-selected', 'ext', 'leader']) await t.r.reconcile(`default/${k}`);
    assert.deepEqual(
      t.client.writes().map((a) => `${a.verb} ${a.name}`),
      ['delete web', 'delete was-selected'],
    );
  });

  it('truncates beyond 1000 addresses, keeping the ready ones, and marks it', async () => {
    const pods = Array.from({ length: 1100 }, (_, i) => pod(`p${i}`, `10.244.${i >> 8}.${i & 255}`, i < 900));
    const t = setup({ services: [svc()], pods });
    await t.r.reconcile('default/web');
    const body = t.client.writes()[0].body;
    assert.equal(body.metadata.annotations[OVER_CAPACITY], 'truncated');
    assert.equal(body.subsets[0].addresses.length, 900);
    assert.equal(body.subsets[0].notReadyAddresses.length, 100);
    t.informers.informer(EndpointsR).upsert(t.client.stored(EndpointsR, 'default', 'web')!);
    t.client.clearActions();
    await t.r.reconcile('default/web');
    assert.deepEqual(t.client.writes(), [], 'a truncated Endpoints is not rewritten when nothing changed');
  });

  it('maps pod events to the matching services of the pod namespace only', () => {
    const client = new FakeClient();
    const informers = new InformerFactory(client);
    const services = informers.informer(Services);
    const pods = informers.informer(Pods);
    services.upsert(svc());
    services.upsert(svc({ selector: { app: 'db' } }, 'db'));
    services.upsert({ ...svc(), metadata: { ...svc().metadata, namespace: 'other' } });
    const keys: string[] = [];
    watchPodsForServices(pods, services, (k) => keys.push(k));
    pods.upsert(pod('a', '10.244.0.9', true));
    assert.deepEqual(keys, ['default/web']);
    pods.upsert({
      ...pod('a', '10.244.0.9', true),
      metadata: { ...pod('a', '10.244.0.9', true).metadata, annotations: { x: 'y' } },
    });
    assert.deepEqual(keys, ['default/web'], 'an irrelevant change enqueues nothing');
    pods.upsert(pod('a', '10.244.0.9', true, { labels: { app: 'db' } }));
    assert.deepEqual(keys.slice(1).sort(), ['default/db', 'default/web']);
  });
});
