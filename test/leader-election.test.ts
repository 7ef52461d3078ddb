/**
 * Leader election against a real skiff API server: one of two candidates leads; a dead leader is replaced once its
 * lease has expired, not before; a clean stop hands over without waiting for the lease to expire.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '../lib/kube/client.ts';
import { LeaderElector, type Lease } from '../lib/kube/leader-election.ts';
import { Leases } from '../lib/kube/resources.ts';
import { startSkiff, type SkiffProcess } from './harness/skiff.ts';
import { eventually } from './harness/eventually.ts';

/** short enough that a takeover after expiry is quick, the renew deadline long enough for a loaded machine */
const TIMING = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 200 };
/** a lease that nobody waits out in this test: a takeover under it shows the lease was released */
const LONG = { leaseDurationMs: 600_000, renewDeadlineMs: 400_000, retryPeriodMs: 200 };

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

  function candidate(name: string, identity: string, timing = TIMING) {
    const log: string[] = [];
    /** the holders this candidate has seen on the lease */
    const seen: string[] = [];
    const e = new LeaderElector({
      client,
      namespace: 'default',
      name,
      identity,
      ...timing,
      onStartedLeading: () => log.push('started'),
      onStoppedLeading: () => log.push('stopped'),
      onNewLeader: (holder) => seen.push(holder),
    });
    electors.push(e);
    void e.run();
    return { e, log, seen };
  }

  /** the one leader among the candidates, once there is one; two at once fail the wait */
  const waitLeader = (cands: { e: LeaderElector }[]) =>
    eventually(
      'a leader',
      () => {
        const leaders = cands.filter((c) => c.e.isLeader());
        if (leaders.length > 1) throw new Error('two leaders at once');
        return leaders[0]?.e;
      },
      { timeoutMs: 60_000, everyMs: 20, failFast: true },
    );

  const leaseOf = async (name: string) => (await client.get<Lease>(Leases, 'default', name)).spec!;

  it('one leads; a dead leader is replaced once its lease has expired, not before', async () => {
    const NAME = 'skiff-test-election';
    const a = candidate(NAME, 'candidate-a');
    const b = candidate(NAME, 'candidate-b');
    const first = await waitLeader([a, b]);
    // both keep running through a few renewals: still exactly one leader
    const renewals = new Set<string>();
    await eventually(
      'three renewals',
      async () => {
        assert.equal([a, b].filter((c) => c.e.isLeader()).length, 1, 'exactly one leader');
        renewals.add((await leaseOf(NAME)).renewTime!);
        return renewals.size > 3;
      },
      { timeoutMs: 60_000, everyMs: 20, failFast: true },
    );
    let lease = await leaseOf(NAME);
    assert.equal(lease.holderIdentity, first.identity);
    assert.equal(lease.leaseDurationSeconds, 3);
    assert.match(lease.renewTime!, /\.\d{6}Z$/);
    const transitions = lease.leaseTransitions ?? 0;

    // the leader dies: it stops renewing without releasing; the standby sees its last renewal unchanged for the
    // lease duration before it takes over (both clocks are this process's)
    const standby = first === a.e ? b : a;
    await first.stop({ release: false });
    const last = await leaseOf(NAME);
    assert.equal((await waitLeader([standby])).identity, standby.e.identity);
    lease = await leaseOf(NAME);
    assert.equal(lease.holderIdentity, standby.e.identity);
    assert.equal(lease.leaseTransitions, transitions + 1);
    const waited = Date.parse(lease.acquireTime!) - Date.parse(last.renewTime!);
    assert.ok(waited >= TIMING.leaseDurationMs, `taken ${waited} ms after the last renewal, before the lease expired`);
  });

  it('a clean stop hands over without waiting for the lease to expire', async () => {
    const NAME = 'skiff-test-handover';
    const leader = candidate(NAME, 'candidate-d', LONG);
    await waitLeader([leader]);
    const transitions = (await leaseOf(NAME)).leaseTransitions ?? 0;
    // a new candidate has seen the lease held (and so waits: the lease lasts ten minutes)
    const next = candidate(NAME, 'candidate-e', LONG);
    await eventually('the new candidate saw the leader', () => next.seen.includes('candidate-d'));
    assert.equal(next.e.isLeader(), false);
    await leader.e.stop();
    assert.deepEqual(leader.log, ['started', 'stopped']);
    // taken well within the ten minutes the lease would otherwise last
    await waitLeader([next]);
    const lease = await leaseOf(NAME);
    assert.equal(lease.holderIdentity, 'candidate-e');
    assert.equal(lease.leaseTransitions, transitions + 1);
  });
});
