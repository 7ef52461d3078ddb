import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolve } from '../openapi/index.ts';
import { PatchError } from './errors.ts';
import type { TypeResolver } from './schema.ts';
import { strategicMergePatch } from './strategic-merge-patch.ts';

const model: TypeResolver = { resolve };
const DEPLOYMENT = 'io.k8s.api.apps.v1.Deployment';
const POD = 'io.k8s.api.core.v1.Pod';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Obj = any;

const deployment = (): Obj => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', labels: { app: 'web', team: 'a' }, finalizers: ['a.example.com/x', 'b.example.com/y'] },
  spec: {
    replicas: 2,
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [
          {
            name: 'app',
            image: 'web:1',
            env: [
              { name: 'A', value: '1' },
              { name: 'B', value: '2' },
            ],
            ports: [
              { containerPort: 80, protocol: 'TCP' },
              { containerPort: 443, protocol: 'TCP' },
            ],
          },
          { name: 'sidecar', image: 'proxy:1' },
        ],
        tolerations: [
          { key: 'k1', operator: 'Exists' },
          { key: 'k2', operator: 'Exists' },
        ],
      },
    },
  },
});

function smpError(fn: () => unknown): PatchError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof PatchError, String(e));
    return e;
  }
  assert.fail('expected the patch to fail');
}

describe('strategic merge patch', () => {
  it('merges containers by name, env by name and ports by containerPort', () => {
    const before = deployment();
    const out = strategicMergePatch(
      before,
      {
        spec: {
          template: {
            spec: {
              containers: [
                {
                  name: 'app',
                  image: 'web:2',
                  env: [
                    { name: 'B', value: 'two' },
                    { name: 'C', value: '3' },
                  ],
                  ports: [{ containerPort: 8080 }, { containerPort: 443, name: 'https' }],
                },
              ],
            },
          },
        },
      },
      DEPLOYMENT,
      model,
    );
    const [app, sidecar] = out.spec.template.spec.containers;
    assert.equal(app.image, 'web:2');
    assert.deepEqual(sidecar, { name: 'sidecar', image: 'proxy:1' });
    // patch items keep the patch order; server-only items stay where they were relative to them
    assert.deepEqual(app.env, [
      { name: 'A', value: '1' },
      { name: 'B', value: 'two' },
      { name: 'C', value: '3' },
    ]);
    // 8080 is new and leads; 80 (server only) precedes 443 as it did on the server
    assert.deepEqual(app.ports, [
      { containerPort: 8080 },
      { containerPort: 80, protocol: 'TCP' },
      { containerPort: 443, protocol: 'TCP', name: 'https' },
    ]);
    assert.deepEqual(before, deployment(), 'inputs are not modified');
  });

  it('a new container comes first, before the server-only ones (Kubernetes order)', () => {
    const out = strategicMergePatch(
      deployment(),
      { spec: { template: { spec: { containers: [{ name: 'debug', image: 'busybox' }] } } } },
      DEPLOYMENT,
      model,
    );
    assert.deepEqual(
      out.spec.template.spec.containers.map((c: Obj) => c.name),
      ['debug', 'app', 'sidecar'],
    );
  });

  it('replaces tolerations (a list without a patch strategy)', () => {
    const out = strategicMergePatch(
      deployment(),
      { spec: { template: { spec: { tolerations: [{ key: 'k3', operator: 'Exists' }] } } } },
      DEPLOYMENT,
      model,
    );
    assert.deepEqual(out.spec.template.spec.tolerations, [{ key: 'k3', operator: 'Exists' }]);
  });

  it('$patch: delete removes a list item by merge key', () => {
    const out = strategicMergePatch(
      deployment(),
      {
        spec: {
          template: {
            spec: {
              containers: [
                { name: 'sidecar', $patch: 'delete' },
                { name: 'app', env: [{ name: 'A', $patch: 'delete' }] },
              ],
            },
          },
        },
      },
      DEPLOYMENT,
      model,
    );
    assert.deepEqual(
      out.spec.template.spec.containers.map((c: Obj) => c.name),
      ['app'],
    );
    assert.deepEqual(out.spec.template.spec.containers[0].env, [{ name: 'B', value: '2' }]);
  });

  it('$patch: replace replaces a list or an object', () => {
    const out = strategicMergePatch(
      deployment(),
      {
        metadata: { labels: { $patch: 'replace', only: 'this' } },
        spec: { template: { spec: { containers: [{ $patch: 'replace' }, { name: 'new', image: 'n:1' }] } } },
      },
      DEPLOYMENT,
      model,
    );
    assert.deepEqual(out.metadata.labels, { only: 'this' });
    assert.deepEqual(out.spec.template.spec.containers, [{ name: 'new', image: 'n:1' }]);
  });

  it('$patch: delete on an object empties it', () => {
    const out = strategicMergePatch(deployment(), { spec: { strategy: { $patch: 'delete' } } }, DEPLOYMENT, model);
    assert.deepEqual(out.spec.strategy, {});
  });

  it('$retainKeys clears the deployment strategy fields it does not list', () => {
    const out = strategicMergePatch(
      deployment(),
      { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } },
      DEPLOYMENT,
      model,
    );
    assert.deepEqual(out.spec.strategy, { type: 'Recreate' });
    // without the directive, the object merges
    const merged = strategicMergePatch(deployment(), { spec: { strategy: { type: 'Recreate' } } }, DEPLOYMENT, model);
    assert.deepEqual(merged.spec.strategy, {
      type: 'Recreate',
      rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' },
    });
  });

  it('$retainKeys must list every field of the patch (400)', () => {
    const e = smpError(() =>
      strategicMergePatch(
        deployment(),
        { spec: { strategy: { $retainKeys: ['type'], rollingUpdate: { maxSurge: 1 } } } },
        DEPLOYMENT,
        model,
      ),
    );
    assert.equal(e.status, 400);
    assert.equal(e.message, 'invalid patch format of retainKeys');
  });

  it('null deletes a field; maps merge', () => {
    const out = strategicMergePatch(
      deployment(),
      { metadata: { labels: { team: null, tier: 'front' } }, spec: { replicas: null } },
      DEPLOYMENT,
      model,
    );
    assert.deepEqual(out.metadata.labels, { app: 'web', tier: 'front' });
    assert.ok(!('replicas' in out.spec));
  });

  it('primitive lists with the merge strategy are united; $deleteFromPrimitiveList removes', () => {
    const out = strategicMergePatch(
      deployment(),
      { metadata: { finalizers: ['c.example.com/z', 'a.example.com/x'] } },
      DEPLOYMENT,
      model,
    );
    assert.deepEqual(out.metadata.finalizers, ['c.example.com/z', 'a.example.com/x', 'b.example.com/y']);
    const del = strategicMergePatch(
      deployment(),
      { metadata: { '$deleteFromPrimitiveList/finalizers': ['a.example.com/x', 'nope'] } },
      DEPLOYMENT,
      model,
    );
    assert.deepEqual(del.metadata.finalizers, ['b.example.com/y']);
  });

  it('$setElementOrder orders the merged list (Kubernetes test case)', () => {
    // a type with one merging list keyed by name
    const resolver: TypeResolver = {
      resolve: (n) =>
        n === 'test.Item'
          ? {
              type: 'object',
              properties: {
                mergingList: {
                  type: 'array',
                  items: { type: 'object' },
                  'x-kubernetes-patch-strategy': 'merge',
                  'x-kubernetes-patch-merge-key': 'name',
                },
              },
            }
          : undefined,
    };
    const current = {
      mergingList: [
        { name: 1, other: 'a' },
        { name: 3, value: 3 },
        { name: 4, value: 4 },
        { name: 2, value: 2 },
        { name: 9 },
      ],
    };
    const out = strategicMergePatch(
      current,
      { '$setElementOrder/mergingList': [{ name: 4 }, { name: 2 }, { name: 3 }, { name: 1 }] },
      'test.Item',
      resolver,
    );
    assert.deepEqual(out, {
      mergingList: [
        { name: 4, value: 4 },
        { name: 2, value: 2 },
        { name: 3, value: 3 },
        { name: 1, other: 'a' },
        { name: 9 },
      ],
    });

    const current2 = {
      mergingList: [
        { name: 1, other: 'a' },
        { name: 2, value: 2, other: 'b' },
      ],
    };
    const out2 = strategicMergePatch(
      current2,
      {
        '$setElementOrder/mergingList': [{ name: 4 }, { name: 1 }, { name: 2 }, { name: 3 }],
        mergingList: [
          { name: 4, value: 4 },
          { name: 3, value: 3 },
        ],
      },
      'test.Item',
      resolver,
    );
    assert.deepEqual(out2, {
      mergingList: [
        { name: 4, value: 4 },
        { name: 1, other: 'a' },
        { name: 2, value: 2, other: 'b' },
        { name: 3, value: 3 },
      ],
    });
  });

  it('merges long lists by merge key: each patch item once, duplicates into the first match, deletes by key', () => {
    const n = 20_000;
    const env = Array.from({ length: n }, (_, i) => ({ name: `E${i}`, value: 'a' }));
    const pod = { kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i', env }] } };
    const patchEnv = [
      ...Array.from({ length: n - 10 }, (_, i) => ({ name: `E${n - 1 - i}`, value: 'b' })),
      { name: 'NEW', value: '1' },
      { name: 'NEW', value: '2' },
      { name: 'E5', $patch: 'delete' },
      { name: 'E7', $patch: 'delete' },
    ];
    const out = strategicMergePatch(pod, { spec: { containers: [{ name: 'c', env: patchEnv }] } }, POD, model);
    const got: Array<{ name: string; value: string }> = out.spec.containers[0].env;
    assert.equal(got.length, n - 2 + 1);
    const first10 = (name: string) => /^E\d$/.test(name);
    assert.ok(got.every((e) => (e.name === 'NEW' ? e.value === '2' : e.value === (first10(e.name) ? 'a' : 'b'))));
    assert.equal(got.filter((e) => e.name === 'NEW').length, 1);
    assert.ok(!got.some((e) => e.name === 'E5' || e.name === 'E7'));
  });

  it('a merging list item without its merge key is an unclassified 500', () => {
    const e = smpError(() =>
      strategicMergePatch(
        deployment(),
        {
          spec: {
            template: {
              spec: { containers: [{ image: 'x', ports: [{ containerPort: 1000000 }], tty: true, stdin: null }] },
            },
          },
        },
        DEPLOYMENT,
        model,
      ),
    );
    assert.equal(e.status, 500);
    // the item as Go's %v prints a map: keys sorted, floats in %g, null as <nil>
    assert.match(
      e.message,
      /map: map\[image:x ports:\[map\[containerPort:1e\+06\]\] stdin:<nil> tty:true\] does not contain declared merge key: name/,
    );
  });

  it('$patch: merge in a list is refused', () => {
    const e = smpError(() =>
      strategicMergePatch(
        deployment(),
        { spec: { template: { spec: { containers: [{ name: 'app', $patch: 'merge' }] } } } },
        DEPLOYMENT,
        model,
      ),
    );
    assert.match(e.message, /merging lists cannot yet be specified in the patch/);
  });

  it('fields without type information merge objects and replace lists', () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { containers: [] },
      extra: { a: 1, list: [1, 2] },
    };
    const out = strategicMergePatch(pod, { extra: { b: 2, list: [3] } }, POD, model);
    assert.deepEqual(out.extra, { a: 1, b: 2, list: [3] });
  });

  it('does not leave directives in the result', () => {
    const out = strategicMergePatch(
      deployment(),
      { spec: { newField: { $retainKeys: ['a'], a: 1, '$setElementOrder/x': [] } } },
      DEPLOYMENT,
      model,
    );
    assert.deepEqual(out.spec.newField, { a: 1 });
  });

  it('a patch that is not an object is 400', () => {
    assert.equal(smpError(() => strategicMergePatch(deployment(), [1], DEPLOYMENT, model)).status, 400);
  });
});
