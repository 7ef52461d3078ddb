import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../lib/kube/api.ts';
import type { KubeObject } from '../../lib/kube/object.ts';
import { Namespaces, ServiceAccounts } from '../../lib/kube/resources.ts';
import { ControllerFixture } from '../testing.ts';
import { serviceAccountController } from './index.ts';

const ns = (name: string, terminating = false): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, ...(terminating ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
  status: { phase: terminating ? 'Terminating' : 'Active' },
});
const sa = (namespace: string, name = 'default'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ServiceAccount',
  metadata: { name, namespace },
});

async function setup(namespaces: KubeObject[], accounts: KubeObject[] = []) {
  const t = await ControllerFixture.of(serviceAccountController);
  for (const n of namespaces) t.seed(Namespaces, n);
  for (const a of accounts) t.seed(ServiceAccounts, a);
  return t;
}

describe('service account controller', () => {
  it('creates the default ServiceAccount of a namespace that has none', async () => {
    const t = await setup([ns('shop')]);
    await t.sync('shop');
    t.expectWrites([
      {
        action: 'create serviceaccounts shop/default',
        body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: 'shop' } },
      },
    ]);
  });

  it('leaves a namespace that has one, and one being deleted or gone', async () => {
    const t = await setup([ns('a'), ns('b', true)], [sa('a'), sa('b', 'other')]);
    await t.sync('a');
    await t.sync('b');
    await t.sync('gone');
    t.expectWrites([]);
  });

  it('creates it again after a deletion', async () => {
    const t = await setup([ns('a')], [sa('a')]);
    t.remove(ServiceAccounts, sa('a'));
    await t.sync('a');
    t.expectWrites(['create serviceaccounts a/default']);
  });

  it('queues a namespace when it comes or changes, and when its default ServiceAccount goes', async () => {
    const t = await setup([ns('a'), ns('b')], [sa('a'), sa('a', 'other')]);
    assert.deepEqual(t.drain(), ['a', 'b']);
    t.cache(Namespaces, { ...ns('b'), metadata: { name: 'b', labels: { x: 'y' } } });
    t.remove(ServiceAccounts, sa('a', 'other'));
    t.remove(ServiceAccounts, sa('a'));
    t.remove(Namespaces, ns('b'));
    assert.deepEqual(t.drain(), ['b', 'a']);
  });

  it('takes AlreadyExists and a namespace that started terminating as done, other errors as errors', async () => {
    const t = await setup([ns('a')]);
    t.client.failNext('create', new ApiError(409, 'AlreadyExists', 'serviceaccounts "default" already exists'));
    await t.sync('a');
    const terminating = 'unable to create new content in namespace a because it is being terminated';
    t.client.failNext(
      'create',
      new ApiError(403, 'Forbidden', terminating, {
        details: { causes: [{ reason: 'NamespaceTerminating', message: terminating }] },
      }),
    );
    await t.sync('a');
    // a 403 for another reason (no right to create) is an error, not a terminating namespace
    t.client.failNext('create', new ApiError(403, 'Forbidden', 'serviceaccounts is forbidden'));
    await assert.rejects(t.sync('a'), /forbidden/);
    t.client.failNext('create');
    await assert.rejects(t.sync('a'), /injected/);
    t.expectWrites(new Array(4).fill('create serviceaccounts a/default'));
  });
});
