import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../lib/kube/api.ts';
import { FakeClient } from '../../lib/kube/fake.ts';
import { InformerFactory } from '../../lib/kube/informer.ts';
import type { KubeObject } from '../../lib/kube/object.ts';
import { Namespaces, ServiceAccounts } from '../../lib/kube/resources.ts';
import { ServiceAccountReconciler } from './index.ts';

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

function setup(namespaces: KubeObject[], accounts: KubeObject[] = []) {
  const client = new FakeClient();
  const informers = new InformerFactory(client);
  for (const n of namespaces) informers.informer(Namespaces).upsert(client.seed(Namespaces, n));
  for (const a of accounts) informers.informer(ServiceAccounts).upsert(client.seed(ServiceAccounts, a));
  informers.markAllSynced();
  const r = new ServiceAccountReconciler(client, informers.informer(Namespaces), informers.informer(ServiceAccounts));
  const created = () => client.writes().map((w) => `${w.verb} ${w.namespace}/${w.name}`);
  return { client, informers, r, created };
}

describe('service account controller', () => {
  it('creates the default ServiceAccount of a namespace that has none', async () => {
    const t = setup([ns('shop')]);
    await t.r.reconcile('shop');
    assert.deepEqual(t.created(), ['create shop/default']);
    assert.deepEqual(t.client.writes()[0].body, {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'default', namespace: 'shop' },
    });
  });

  it('leaves a namespace that has one, and one being deleted or gone', async () => {
    const t = setup([ns('a'), ns('b', true)], [sa('a'), sa('b', 'other')]);
    await t.r.reconcile('a');
    await t.r.reconcile('b');
    await t.r.reconcile('gone');
    assert.deepEqual(t.created(), []);
  });

  it('creates it again after a deletion', async () => {
    const t = setup([ns('a')], [sa('a')]);
    t.informers.informer(ServiceAccounts).remove(sa('a'));
    await t.r.reconcile('a');
    assert.deepEqual(t.created(), ['create a/default']);
  });

  it('takes AlreadyExists and a namespace that started terminating as done, other errors as errors', async () => {
    const t = setup([ns('a')]);
    t.client.failNext('create', new ApiError(409, 'AlreadyExists', 'serviceaccounts "default" already exists'));
    await t.r.reconcile('a');
    const terminating = 'unable to create new content in namespace a because it is being terminated';
    t.client.failNext(
      'create',
      new ApiError(403, 'Forbidden', terminating, {
        details: { causes: [{ reason: 'NamespaceTerminating', message: terminating }] },
      }),
    );
    await t.r.reconcile('a');
    // a 403 for another reason (no right to create) is an error, not a terminating namespace
    t.client.failNext('create', new ApiError(403, 'Forbidden', 'serviceaccounts is forbidden'));
    await assert.rejects(t.r.reconcile('a'), /forbidden/);
    t.client.failNext('create');
    await assert.rejects(t.r.reconcile('a'), /injected/);
  });
});
