import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../lib/kube/object.ts';
import { EndpointsR, Pods, Services } from '../../lib/kube/resources.ts';
import { ControllerFixture, exactly } from '../testing.ts';
import { endpointsController, LAST_CHANGE_TRIGGER_TIME, OVER_CAPACITY } from './index.ts';

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

async function setup(objs: { services?: KubeObject[]; pods?: KubeObject[]; endpoints?: KubeObject[] }) {
  const t = await ControllerFixture.of(endpointsController);
  for (const s of objs.services ?? []) t.cache(Services, s);
  for (const p of objs.pods ?? []) t.cache(Pods, p);
  for (const e of objs.endpoints ?? []) t.seed(EndpointsR, e);
  t.drain();
  return t;
}

const http8080 = [{ name: 'http', port: 8080, protocol: 'TCP' }];

describe('endpoints controller', () => {
  it('lists ready pods in addresses and not-ready ones in notReadyAddresses', async () => {
    const t = await setup({
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
    await t.sync('default/web');
    t.expectWrites([
      {
        action: 'create endpoints default/web',
        body: {
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
              ports: http8080,
            },
          ],
        },
      },
    ]);
  });

  it('publishNotReadyAddresses lists every pod as ready', async () => {
    const t = await setup({
      services: [svc({ publishNotReadyAddresses: true })],
      pods: [pod('c', '10.244.0.3', false)],
    });
    await t.sync('default/web');
    t.expectWrites([
      {
        action: 'create endpoints default/web',
        has: {
          subsets: exactly([
            { addresses: [{ ip: '10.244.0.3', nodeName: 'n1', targetRef: ref('c') }], ports: http8080 },
          ]),
        },
      },
    ]);
  });

  it('resolves named target ports per pod and skips pods without the port; sets hostname for the subdomain', async () => {
    const t = await setup({
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
    await t.sync('default/web');
    t.expectWrites([
      {
        action: 'create endpoints default/web',
        has: {
          subsets: exactly([
            {
              addresses: [{ ip: '10.244.0.2', hostname: 'a', nodeName: 'n1', targetRef: ref('a') }],
              ports: http8080,
            },
            {
              addresses: [{ ip: '10.244.0.3', nodeName: 'n1', targetRef: ref('b') }],
              ports: [{ name: 'http', port: 9090, protocol: 'TCP' }],
            },
          ]),
        },
      },
    ]);
  });

  it('writes nothing when the content is unchanged, updates when it differs', async () => {
    const t = await setup({ services: [svc()], pods: [pod('a', '10.244.0.9', true)] });
    await t.sync('default/web');
    t.expectWrites(['create endpoints default/web']);
    t.observeWrites();
    const created = t.client.stored(EndpointsR, 'default', 'web')!;
    await t.sync('default/web');
    t.expectWrites([]);
    const notReady = pod('a', '10.244.0.9', false, {
      status: { conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: '2024-05-01T10:00:05Z' }] },
    });
    t.cache(Pods, notReady);
    await t.sync('default/web');
    t.expectWrites([
      {
        action: 'update endpoints default/web',
        has: {
          metadata: {
            resourceVersion: created.metadata.resourceVersion,
            // the pod change that caused the write
            annotations: { [LAST_CHANGE_TRIGGER_TIME]: '2024-05-01T10:00:05Z' },
          },
          subsets: exactly([
            { notReadyAddresses: [{ ip: '10.244.0.9', nodeName: 'n1', targetRef: ref('a') }], ports: http8080 },
          ]),
        },
      },
    ]);
  });

  it('deletes the Endpoints of a deleted service, and of a service that lost its selector only when it wrote them', async () => {
    const t = await setup({
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
    for (const k of ['web', 'manual', 'was-selected', 'ext', 'leader']) await t.sync(`default/${k}`);
    t.expectWrites(['delete endpoints default/web', 'delete endpoints default/was-selected']);
  });

  it('truncates beyond 1000 addresses, keeping the ready ones, and marks it', async () => {
    const pods = Array.from({ length: 1100 }, (_, i) => pod(`p${i}`, `10.244.${i >> 8}.${i & 255}`, i < 900));
    const t = await setup({ services: [svc()], pods });
    await t.sync('default/web');
    t.expectWrites([
      { action: 'create endpoints default/web', has: { metadata: { annotations: { [OVER_CAPACITY]: 'truncated' } } } },
    ]);
    const written = t.client.stored(EndpointsR, 'default', 'web')!;
    assert.equal(written.subsets[0].addresses.length, 900);
    assert.equal(written.subsets[0].notReadyAddresses.length, 100);
    t.observeWrites();
    await t.sync('default/web');
    t.expectWrites([]); // a truncated Endpoints is not rewritten when nothing changed
  });

  it('maps pod events to the matching services of the pod namespace only', async () => {
    const t = await setup({
      services: [
        svc(),
        svc({ selector: { app: 'db' } }, 'db'),
        { ...svc(), metadata: { ...svc().metadata, namespace: 'other' } },
      ],
    });
    t.cache(Pods, pod('a', '10.244.0.9', true));
    assert.deepEqual(t.drain(), ['default/web']);
    t.cache(Pods, {
      ...pod('a', '10.244.0.9', true),
      metadata: { ...pod('a', '10.244.0.9', true).metadata, annotations: { x: 'y' } },
    });
    assert.deepEqual(t.drain(), [], 'an irrelevant change enqueues nothing');
    t.cache(Pods, pod('a', '10.244.0.9', true, { labels: { app: 'db' } }));
    assert.deepEqual(t.drain().sort(), ['default/db', 'default/web']);
  });

  it('puts back an Endpoints someone else changes or deletes, and removes one that has no Service', async () => {
    const t = await setup({ services: [svc()] });
    const mine = t.seed(EndpointsR, { metadata: { name: 'web', namespace: 'default' }, subsets: [] });
    t.seed(EndpointsR, { metadata: { name: 'stray', namespace: 'default' }, subsets: [] });
    assert.deepEqual(t.drain(), ['default/stray'], 'an Endpoints with a Service is its own business when it comes');
    t.cache(EndpointsR, { ...mine, subsets: [{ addresses: [{ ip: '1.2.3.4' }] }] });
    t.remove(EndpointsR, mine);
    assert.deepEqual(t.drain(), ['default/web', 'default/web']);
  });
});
