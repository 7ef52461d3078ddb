import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClient } from './fake.ts';
import { InformerFactory, type Informer } from './informer.ts';
import type { ObjectList } from './object.ts';
import { ALL_RESOURCES, Deployments, Pods, resourceForKind, type Resource } from './resources.ts';
import type { Deployment } from './types/apps-v1.ts';
import type { Binding, Pod } from './types/core-v1.ts';

/** true only when A and B are the same type: the assignments below compile only when the types are right */
type Same<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;

test('a Resource carries the type of its objects to the client and the informers', async () => {
  const client = new FakeClient();
  client.seed(Deployments, {
    metadata: { name: 'web', namespace: 'ns' },
    spec: { replicas: 2, selector: {}, template: { spec: { containers: [{ name: 'app', image: 'busybox' }] } } },
  });
  const d = await client.get(Deployments, 'ns', 'web');
  const list = await client.list(Pods);
  const informer = new InformerFactory(client).informer(Deployments);
  const updated = await client.update(Deployments, { ...d, spec: { ...d.spec!, replicas: 3 } });
  const typed: [
    Same<typeof d, Deployment>,
    Same<typeof list, ObjectList<Pod>>,
    Same<typeof informer, Informer<Deployment>>,
    Same<typeof updated, Deployment>,
  ] = [true, true, true, true];
  assert.deepEqual(typed, [true, true, true, true]);
  assert.equal(updated.spec?.replicas, 3);
  assert.equal(list.items.length, 0);
  assert.equal(informer.resource, Deployments);
});

test('a subresource with a body of another kind answers with that kind; any typed Resource is a Resource', async () => {
  const client = new FakeClient();
  const binding: Binding = {
    metadata: { name: 'p', namespace: 'ns' },
    target: { apiVersion: 'v1', kind: 'Node', name: 'n1' },
  };
  const answer = await client.create(Pods, binding, { subresource: 'binding', name: 'p' });
  const typed: Same<typeof answer, Binding> = true;
  assert.ok(typed);
  assert.equal(answer.target.name, 'n1', 'the fake answers with the body');
  const untyped: Resource[] = [Pods, Deployments];
  assert.equal(resourceForKind('apps/v1', 'Deployment'), Deployments);
  assert.ok(untyped.every((r) => ALL_RESOURCES.includes(r)));
});
