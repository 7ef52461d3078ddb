/** Leader election against a real skiff API server: one of two candidates leads; a dead leader is replaced within the lease duration; a clean stop hands over at once. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '../lib/kube/client.ts';
import { LeaderElector, type Lease } from '../lib/kube/leader-election.ts';
import { Leases } from '../lib/kube/resources.ts';
import { startSkiff, type SkiffProcess } from './harness/skiff.ts';

const TIMING = { leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 200 };
const NAME = 'skiff-test-election';

describe('leader election on a real API server', () => {
  let skiff: SkiffProcess;
  let client: Client;
  const electors: LeaderElector[] = [];

  before(async () => {
    skiff = await startSkiff({ command: 'apiserver' });
    client = await Client.fromKubeconfig(skiff.kubeconfig);
  });
  after(async () => {
    await Promise.all(electors.map((e) => e.stop({ release: false })));
    client?.close();
    await skiff?.stop();
    skiff?.cleanup();
  });

  function candidate(identity: string) {
    const log: string[] = [];
    const e = new LeaderElector({
      client,
      namespace: 'default',
      name: NAME,
      identity,
      ...TIMING,
      onStartedLeading: () => log.push('started'),
      onStoppedLeading: () => log.push('stopped'),
    });
    electors.push(e);
    void e.run();
    return { e, log };
  }

  async function waitLeader(cands: { e: LeaderElector }[], ms: number): Promise<LeaderElector> {
    const end = Date.now() + ms;
    for (;;) {
      const leaders = cands.filter((c) => c.e.isLeader());
      assert.ok(leaders.length <= 1, 'never two leaders at once');
      if (leaders.length === 1) return leaders[0].e;
      if (Date.now() > end) throw new Error(`no leader within ${ms} ms`);
      await sleep(20);
    }
  }

  it('one leads; a dead leader is replaced within the lease duration; a clean stop hands over at once', async () => {
    const a = candidate('candidate-a');
    const b = candidate('candidate-b');
    const first = await waitLeader([a, b], 5000);
    // both keep running for a few renewals: still exactly one leader
    for (let i = 0; i < 10; i++) {
      await sleep(50);
      assert.equal([a, b].filter((c) => c.e.isLeader()).length, 1);
    }
    let lease = await client.get<Lease>(Leases, 'default', NAME);
    assert.equal(lease.spec!.holderIdentity, first.identity);
    assert.equal(lease.spec!.leaseDurationSeconds, 2);
    assert.match(lease.spec!.renewTime!, /\.\d{6}Z$/);
    const transitions = lease.spec!.leaseTransitions ?? 0;

    // the leader dies: it stops renewing without releasing
    const standby = first === a.e ? b : a;
    const t0 = Date.now();
    await first.stop({ release: false });
    await waitLeader([standby], 5000);
    const took = Date.now() - t0;
    assert.ok(took <= TIMING.leaseDurationMs + 2.2 * TIMING.retryPeriodMs + 500, `taken over in ${took} ms`);
    assert.ok(
      took >= TIMING.leaseDurationMs - 2.2 * TIMING.retryPeriodMs - 200,
      `not before the lease expired (${took} ms)`,
    );
    lease = await client.get<Lease>(Leases, 'default', NAME);
    assert.equal(lease.spec!.holderIdentity, standby.e.identity);
    assert.equal(lease.spec!.leaseTransitions, transitions + 1);

    // a new candidate waits; the leader stops cleanly and it takes over at once
    const c = candidate('candidate-c');
    await sleep(500);
    assert.equal(c.e.isLeader(), false);
    const t1 = Date.now();
    await standby.e.stop();
    assert.deepEqual(standby.log, ['started', 'stopped']);
    await waitLeader([c], 3000);
    const handover = Date.now() - t1;
    assert.ok(handover < 2.2 * TIMING.retryPeriodMs + 500, `handed over in ${handover} ms`);
    lease = await client.get<Lease>(Leases, 'default', NAME);
    assert.equal(lease.spec!.holderIdentity, 'candidate-c');
    assert.equal(lease.spec!.leaseTransitions, transitions + 2);
  });
});
