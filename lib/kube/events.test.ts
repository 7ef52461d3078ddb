import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClient } from './fake.ts';
import { ApiEventRecorder } from './events.ts';

test('an event is written once and its repeats counted on it', async () => {
  const c = new FakeClient();
  const rec = new ApiEventRecorder(c, 'deployment-controller', 'host-1');
  const d = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop', uid: 'u1' } };
  rec.event(d, 'Normal', 'ScalingReplicaSet', 'Scaled up replica set web-1 from 0 to 3');
  await rec.flush();
  rec.event(d, 'Normal', 'ScalingReplicaSet', 'Scaled up replica set web-1 from 0 to 3');
  rec.event(d, 'Warning', 'Other', 'something else');
  await rec.flush();
  const w = c.writes();
  assert.deepEqual(
    w.map((a) => `${a.verb} ${a.resource} ${a.namespace}`),
    ['create events shop', 'patch events shop', 'create events shop'],
  );
  const ev = w[0].body;
  assert.equal(ev.involvedObject.kind, 'Deployment');
  assert.equal(ev.involvedObject.uid, 'u1');
  assert.equal(ev.source.component, 'deployment-controller');
  assert.equal(ev.count, 1);
  assert.match(ev.metadata.name, /^web\.[0-9a-f]+$/);
  assert.equal(w[1].name, ev.metadata.name);
  assert.equal(w[1].body.count, 2);
});

test('a failed write is reported and does not stop later events', async () => {
  const c = new FakeClient();
  const rec = new ApiEventRecorder(c, 'x');
  const errs: string[] = [];
  const orig = console.error;
  console.error = (m: string) => errs.push(m);
  try {
    c.failNext('create');
    rec.event({ kind: 'Pod', metadata: { name: 'p', namespace: 'n' } }, 'Normal', 'A', 'a');
    rec.event({ kind: 'Pod', metadata: { name: 'p', namespace: 'n' } }, 'Normal', 'B', 'b');
    await rec.flush();
  } finally {
    console.error = orig;
  }
  assert.equal(errs.length, 1);
  assert.match(errs[0], /could not record event A for Pod\/p/);
  assert.equal(c.writes().length, 2);
});
