import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FakeClient } from './fake.ts';
import { LeaderElector, type Lease, type LeaderElectorOptions } from './leader-election.ts';
import { microTime } from '../time.ts';
import { Leases } from './resources.ts';

const MICRO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

function elector(client: FakeClient, identity: string, extra: Partial<LeaderElectorOptions> = {}) {
  const events: string[] = [];
  const e = new LeaderElector({
    client,
    namespace: 'kube-system',
    name: 'skiff-controller-manager',
    identity,
    onStartedLeading: () => events.push('started'),
    onStoppedLeading: () => events.push('stopped'),
    onNewLeader: (id) => events.push(`leader:${id}`),
    ...extra,
  });
  return { e, events };
}

function lease(client: FakeClient): Lease {
  return client.stored(Leases, 'kube-system', 'skiff-controller-manager') as Lease;
}

/** waits for the condition; the bound is for one that never comes, generous for a loaded machine */
async function until(cond: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await sleep(10);
  }
}

describe('LeaderElector', () => {
  it('formats MicroTime with microseconds', () => {
    assert.equal(microTime(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678))), '2024-01-02T03:04:05.678000Z');
  });

  it('creates the Lease when absent, then renews it keeping acquireTime and transitions', async () => {
    const client = new FakeClient();
    let now = Date.UTC(2024, 0, 1);
    const { e, events } = elector(client, 'a', { clock: () => now });
    assert.equal(await e.tryAcquireOrRenew(), true);
    const w = client.writes();
    assert.equal(w.length, 1);
    assert.equal(w[0].verb, 'create');
    const spec = lease(client).spec!;
    assert.equal(spec.holderIdentity, 'a');
    assert.equal(spec.leaseDurationSeconds, 15);
    assert.equal(spec.leaseTransitions, 0);
    assert.match(spec.acquireTime!, MICRO);
    assert.equal(spec.renewTime, spec.acquireTime);
    assert.deepEqual(events, ['leader:a']);

    now += 2000;
    const rvBefore = lease(client).metadata.resourceVersion;
    assert.equal(await e.tryAcquireOrRenew(), true);
    const after = lease(client).spec!;
    assert.equal(client.writes()[1].verb, 'update');
    assert.equal(
      client.writes()[1].body.metadata.resourceVersion,
      rvBefore,
      'the update is guarded by the resourceVersion read',
    );
    assert.equal(after.acquireTime, spec.acquireTime);
    assert.equal(after.renewTime, microTime(new Date(now)));
    assert.equal(after.leaseTransitions, 0);
  });

  it("respects another holder's fresh lease and takes an expired one over with leaseTransitions + 1", async () => {
    const client = new FakeClient();
    let now = Date.UTC(2024, 0, 1);
    client.seed(Leases, {
      metadata: { name: 'skiff-controller-manager', namespace: 'kube-system' },
      spec: {
        holderIdentity: 'old',
        leaseDurationSeconds: 15,
        acquireTime: microTime(new Date(now - 60_000)),
        renewTime: microTime(new Date(now - 60_000)),
        leaseTransitions: 4,
      },
    });
    const { e, events } = elector(client, 'b', { clock: () => now });
    // the renewTime is old, but expiry is judged on this candidate's clock from when it first saw the record
    assert.equal(await e.tryAcquireOrRenew(), false);
    now += 14_000;
    assert.equal(await e.tryAcquireOrRenew(), false);
    assert.equal(client.writes().length, 0);
    assert.deepEqual(events, ['leader:old']);

    // the holder renews: the record changed, so the wait starts again
    const cur = lease(client);
    client.seed(Leases, { ...cur, spec: { ...cur.spec, renewTime: microTime(new Date(now)) } });
    now += 2000;
    assert.equal(await e.tryAcquireOrRenew(), false, 'a renewal seen 2 s ago is fresh');
    now += 14_000;
    assert.equal(await e.tryAcquireOrRenew(), false, 'still within 15 s of the renewal being seen');
    now += 1500;
    assert.equal(await e.tryAcquireOrRenew(), true, 'expired: taken over');
    const spec = lease(client).spec!;
    assert.equal(spec.holderIdentity, 'b');
    assert.equal(spec.leaseTransitions, 5);
    assert.equal(spec.acquireTime, microTime(new Date(now)));
    assert.deepEqual(events, ['leader:old', 'leader:b']);
  });

  it('a released lease (empty holder) is taken at once', async () => {
    const client = new FakeClient();
    const now = Date.UTC(2024, 0, 1);
    client.seed(Leases, {
      metadata: { name: 'skiff-controller-manager', namespace: 'kube-system' },
      spec: {
        holderIdentity: '',
        leaseDurationSeconds: 1,
        acquireTime: microTime(new Date(now)),
        renewTime: microTime(new Date(now)),
        leaseTransitions: 2,
      },
    });
    const { e } = elector(client, 'c', { clock: () => now });
    assert.equal(await e.tryAcquireOrRenew(), true);
    assert.equal(lease(client).spec!.leaseTransitions, 3);
    assert.equal(lease(client).spec!.leaseDurationSeconds, 15);
  });

  it('two candidates racing for the same lease: the resourceVersion lets only one win', async () => {
    const client = new FakeClient();
    client.seed(Leases, {
      metadata: { name: 'skiff-controller-manager', namespace: 'kube-system' },
      spec: { holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 0 },
    });
    const a = elector(client, 'a').e;
    const b = elector(client, 'b').e;
    const results = await Promise.all([a.tryAcquireOrRenew(), b.tryAcquireOrRenew()]);
    assert.deepEqual(results.sort(), [false, true]);
    assert.equal(lease(client).spec!.leaseTransitions, 1);
  });

  it('run leads, stop() calls onStoppedLeading and releases the lease so that a standby takes it at once', async () => {
    const client = new FakeClient();
    // a lease nobody waits out here: the standby taking it shows it was released
    const timing = { leaseDurationMs: 600_000, renewDeadlineMs: 600, retryPeriodMs: 50 };
    const a = elector(client, 'a', timing);
    const done = a.e.run();
    await until(() => a.e.isLeader());
    // renewed while leading
    await until(() => client.writes().some((w) => w.verb === 'update'));
    await a.e.stop();
    await done;
    assert.equal(a.e.isLeader(), false);
    assert.deepEqual(a.events, ['leader:a', 'started', 'stopped']);
    const spec = lease(client).spec!;
    assert.equal(spec.holderIdentity, '');
    assert.equal(spec.leaseDurationSeconds, 1);

    // taken without waiting the ten minutes of the lease
    const b = elector(client, 'b', timing);
    void b.e.run();
    await until(() => b.e.isLeader());
    await b.e.stop({ release: false });
    assert.equal(lease(client).spec!.holderIdentity, 'b', 'not released');
  });

  it('stops leading when renewals keep failing for the renew deadline', async () => {
    const client = new FakeClient();
    const logs: string[] = [];
    const a = elector(client, 'a', {
      leaseDurationMs: 1000,
      renewDeadlineMs: 300,
      retryPeriodMs: 50,
      log: (m) => logs.push(m),
    });
    void a.e.run();
    await until(() => a.e.isLeader());
    for (let i = 0; i < 1000; i++) client.failNext('get');
    const t0 = Date.now();
    await until(() => !a.e.isLeader());
    const took = Date.now() - t0;
    assert.ok(took >= 250, `kept leading through the renew deadline (${took} ms)`);
    assert.deepEqual(a.events, ['leader:a', 'started', 'stopped']);
    assert.ok(
      logs.some((l) => l.includes('could not renew')),
      logs.join('\n'),
    );
    await a.e.stop();
  });

  it('rejects inconsistent timings with a message', () => {
    const client = new FakeClient();
    assert.throws(
      () => elector(client, 'a', { leaseDurationMs: 5000, renewDeadlineMs: 6000 }),
      /must be greater than the renew deadline/,
    );
    assert.throws(() => elector(client, 'a', { renewDeadlineMs: 2000, retryPeriodMs: 2000 }), /retry period/);
  });
});
