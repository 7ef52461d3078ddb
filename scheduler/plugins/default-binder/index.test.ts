import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClient } from '../../../lib/kube/fake.ts';
import { Pods } from '../../../lib/kube/resources.ts';
import { CycleState } from '../../framework/types.ts';
import { makePod } from '../../testing/objects.ts';
import { defaultBinder } from './index.ts';

test('DefaultBinder creates pods/<name>/binding with the pod uid and the node; a failure is an Error status', async () => {
  const client = new FakeClient();
  const pod = client.seed(Pods, makePod('p'));
  const ok = await defaultBinder.bind(new CycleState(), pod, 'node-1', { client });
  assert.equal(ok.code, 'Success');
  const w = client.writes()[0];
  assert.equal(w.verb, 'create');
  assert.equal(w.subresource, 'binding');
  assert.equal(w.name, 'p');
  assert.deepEqual(w.body.target, { apiVersion: 'v1', kind: 'Node', name: 'node-1' });
  assert.equal(w.body.metadata.uid, pod.metadata.uid);
  client.failNext('create');
  const bad = await defaultBinder.bind(new CycleState(), pod, 'node-1', { client });
  assert.equal(bad.code, 'Error');
  assert.match(bad.reasons[0], /^binding to node node-1 failed: /);
  assert.ok(bad.error);
});
