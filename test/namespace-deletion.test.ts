/**
 * Namespace deletion against a real API server: the namespace controller (with the garbage collector beside it, as
 * in a cluster) deletes the content, says in the namespace's conditions what remains (a pod in its grace period, an
 * object held by a finalizer), and finalizes the namespace once it is empty, after which the API server removes it.
 * The test plays the node agent's part: it ends the pod's grace period.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSkiff, type SkiffProcess } from './harness/skiff.ts';
import { Client } from '../lib/kube/client.ts';
import { ApiError, isNotFound } from '../lib/kube/api.ts';
import type { KubeObject } from '../lib/kube/object.ts';
import {
  ConfigMaps,
  Deployments,
  Namespaces,
  Pods,
  ReplicaSets,
  Secrets,
  ServiceAccounts,
} from '../lib/kube/resources.ts';
import { ControllerManager } from '../controllers/manager.ts';
import { MemoryQueue } from '../lib/workqueue/memory.ts';
import { garbageCollector } from '../controllers/garbage-collector/index.ts';
import { namespaceController } from '../controllers/namespace/index.ts';
import { eventually } from './harness/eventually.ts';

const cond = (ns: KubeObject, type: string) => ns.status?.conditions?.find((c: any) => c.type === type);

describe('namespace deletion against the API server', () => {
  let s: SkiffProcess;
  let client: Client;
  let manager: ControllerManager;

  const nsGone = async (name: string) => {
    try {
      await client.get(Namespaces, undefined, name);
      return false;
    } catch (e) {
      if (isNotFound(e)) return true;
      throw e;
    }
  };

  before(async () => {
    s = await startSkiff({ args: ['--disable-controller-manager', '--disable-scheduler'] });
    client = await Client.fromKubeconfig(s.kubeconfig);
    manager = new ControllerManager({
      client,
      queues: (name) => new MemoryQueue(name),
      definitions: [garbageCollector, namespaceController],
      log: () => {},
    });
    await manager.start();
  });
  after(async () => {
    await manager?.stop();
    client?.close();
    await s?.stop();
    s?.cleanup();
  });

  it('deletes everything in the namespace, reports what remains while it waits, then the namespace', async () => {
    const ns = 'shop';
    await client.create(Namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    // no serviceaccount controller runs here: the ServiceAccount admission wants the pods' account to exist
    await client.create(ServiceAccounts, {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'default', namespace: ns },
    });
    await client.create(ConfigMaps, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings', namespace: ns },
      data: { a: '1' },
    });
    await client.create(ConfigMaps, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'held', namespace: ns, finalizers: ['example.com/hold'] },
    });
    await client.create(Secrets, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'token', namespace: ns },
      data: { t: 'eA==' },
    });
    const labels = { app: 'web' };
    const template = { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'registry.local/web:1' }] } };
    await client.create(Deployments, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: ns },
      spec: { replicas: 1, selector: { matchLabels: labels }, template },
    });
    await client.create(ReplicaSets, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'web-1', namespace: ns, labels },
      spec: { replicas: 1, selector: { matchLabels: labels }, template },
    });
    // a pod on a node: deleting it starts its grace period, which the node ends; an hour long, so that the controller
    // would look again only after half an hour (and the namespace going before that shows it did not wait for it)
    await client.create(Pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'running', namespace: ns },
      spec: {
        nodeName: 'node-1',
        terminationGracePeriodSeconds: 3600,
        containers: [{ name: 'app', image: 'registry.local/web:1' }],
      },
    });
    await client.create(Pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'pending', namespace: ns },
      spec: { containers: [{ name: 'app', image: 'registry.local/web:1' }] },
    });

    const marked = await client.delete(Namespaces, undefined, ns);
    assert.equal(marked.status?.phase, 'Terminating');

    // the content is deleted; what remains is named in the conditions
    const waiting = await eventually('conditions name what remains', async () => {
      const o = await client.get(Namespaces, undefined, ns);
      return (
        cond(o, 'NamespaceContentRemaining')?.status === 'True' &&
        cond(o, 'NamespaceFinalizersRemaining')?.status === 'True' &&
        o
      );
    });
    assert.deepEqual(
      {
        type: cond(waiting, 'NamespaceContentRemaining').type,
        status: cond(waiting, 'NamespaceContentRemaining').status,
        reason: cond(waiting, 'NamespaceContentRemaining').reason,
        message: cond(waiting, 'NamespaceContentRemaining').message,
      },
      {
        type: 'NamespaceContentRemaining',
        status: 'True',
        reason: 'SomeResourcesRemain',
        message: 'Some resources are remaining: configmaps. has 1 resource instances, pods. has 1 resource instances',
      },
    );
    assert.equal(
      cond(waiting, 'NamespaceFinalizersRemaining').message,
      'Some finalizers are remaining: example.com/hold in 1 resource instances',
    );
    assert.equal(cond(waiting, 'NamespaceDeletionContentFailure').status, 'False');
    assert.equal(cond(waiting, 'NamespaceDeletionDiscoveryFailure').reason, 'ResourcesDiscovered');
    assert.deepEqual(waiting.spec?.finalizers, ['kubernetes']);
    for (const r of [Deployments, ReplicaSets, Secrets])
      assert.equal((await client.list(r, { namespace: ns })).items.length, 0, `${r.resource} deleted`);
    const pods = (await client.list(Pods, { namespace: ns })).items;
    assert.deepEqual(
      pods.map((p) => p.metadata.name),
      ['running'],
    );
    assert.ok(pods[0].metadata.deletionTimestamp, 'the running pod is in its grace period');

    // nothing new may be created meanwhile
    await assert.rejects(
      client.create(ConfigMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'late', namespace: ns } }),
      (e: unknown) => e instanceof ApiError && e.code === 403 && /being terminated/.test(e.message),
    );

    // the finalizer is released, then the node ends the grace period: the namespace goes without waiting for the
    // requeue (30 min away while the pod was there), woken by its content going
    await client.patch(ConfigMaps, ns, 'held', { metadata: { finalizers: null } }, 'merge');
    await client.delete(Pods, ns, 'running', { gracePeriodSeconds: 0 });
    await eventually('namespace deleted', () => nsGone(ns), 120_000);
  });

  it('removes an empty namespace at once', async () => {
    await client.create(Namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'empty' } });
    await client.delete(Namespaces, undefined, 'empty');
    await eventually('empty namespace deleted', () => nsGone('empty'));
  });
});
