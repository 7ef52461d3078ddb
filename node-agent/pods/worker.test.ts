/** A pod worker's phases and their transitions, and its guarantees: a kill is final, only the newest state is synced. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../lib/kube/object.ts';
import { eventually } from '../../test/harness/eventually.ts';
import { canTransition, PodWorker, WORKER_TRANSITIONS, type WorkerPhase } from './worker.ts';

const PHASES: WorkerPhase[] = ['syncing', 'terminating', 'terminated', 'finished'];
const pod = (name: string, deleting = false): KubeObject => ({
  metadata: { name, namespace: 'ns', uid: 'u1', ...(deleting ? { deletionTimestamp: '2025-01-01T00:00:00Z' } : {}) },
});
const idle = async () => 0;

/** a worker walked along the allowed path to `phase` */
function workerIn(phase: WorkerPhase): PodWorker {
  const w = new PodWorker('u1', idle);
  for (const p of PHASES.slice(1, PHASES.indexOf(phase) + 1)) w.moveTo(p);
  assert.equal(w.phase, phase);
  return w;
}

/** a promise with its resolve at hand */
function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('pod worker phases', () => {
  it('starts syncing and moves forward one phase at a time: terminating, terminated, finished', () => {
    const w = new PodWorker('u1', idle);
    assert.equal(w.phase, 'syncing');
    w.moveTo('terminating');
    w.moveTo('terminated');
    w.moveTo('finished');
    assert.equal(w.phase, 'finished');
    assert.deepEqual(WORKER_TRANSITIONS.finished, []);
  });

  it('refuses every transition that is not in the table, naming both phases, and stays where it was', () => {
    let refused = 0;
    for (const from of PHASES)
      for (const to of PHASES) {
        if (WORKER_TRANSITIONS[from].includes(to)) {
          assert.ok(canTransition(from, to));
          continue;
        }
        assert.equal(canTransition(from, to), false, `${from} -> ${to}`);
        const w = workerIn(from);
        assert.throws(() => w.moveTo(to), new RegExp(`cannot go from ${from} to ${to}`));
        assert.equal(w.phase, from);
        refused++;
      }
    // 16 pairs, 3 allowed
    assert.equal(refused, 13);
  });

  it('a kill moves a syncing worker to terminating and leaves a later phase as it is', () => {
    const w = new PodWorker('u1', idle);
    w.kill();
    assert.equal(w.phase, 'terminating');
    w.kill();
    assert.equal(w.phase, 'terminating');
    const done = workerIn('finished');
    done.kill();
    assert.equal(done.phase, 'finished');
  });
});

describe('pod worker guarantees', () => {
  it('an update never undoes a kill, and the newest desired state replaces the one before it', () => {
    const w = new PodWorker('u1', idle);
    w.update(pod('a'));
    w.kill();
    w.update(pod('b'));
    assert.equal(w.phase, 'terminating');
    assert.equal(w.pod?.metadata.name, 'b');
    const gone = new PodWorker('u2', idle);
    gone.remove();
    gone.update(pod('c'));
    assert.equal(gone.phase, 'terminating');
    assert.ok(gone.removed);
  });

  it('syncs never overlap; updates during a sync collapse into one more sync, which sees only the newest', async () => {
    const seen: string[] = [];
    const release: (() => void)[] = [];
    let running = 0;
    let overlapped = false;
    const w = new PodWorker('u1', async (x) => {
      running++;
      if (running > 1) overlapped = true;
      seen.push(String(x.pod?.metadata.name));
      const gate = deferred();
      release.push(() => gate.resolve());
      await gate.promise;
      running--;
      return 0;
    });
    w.update(pod('a'));
    w.kick();
    await eventually('the first sync runs', () => seen.length === 1);
    for (const name of ['b', 'c', 'd']) {
      w.update(pod(name));
      w.kick();
    }
    release.shift()!();
    await eventually('a second sync runs', () => seen.length === 2);
    release.shift()!();
    await eventually('the worker is idle', () => !w.syncing);
    assert.deepEqual(seen, ['a', 'd']);
    assert.equal(overlapped, false);
  });

  it('a kill that arrives during a sync is seen by the next sync', async () => {
    const phases: WorkerPhase[] = [];
    const first = deferred();
    let calls = 0;
    const w = new PodWorker('u1', async (x) => {
      phases.push(x.phase);
      if (++calls === 1) await first.promise;
      return 0;
    });
    w.update(pod('a'));
    w.kick();
    await eventually('the first sync runs', () => phases.length === 1);
    w.update(pod('a', true));
    w.kill();
    w.kick();
    w.update(pod('a')); // an older version arriving late changes nothing
    first.resolve();
    await eventually('the next sync runs', () => phases.length === 2);
    assert.deepEqual(phases, ['syncing', 'terminating']);
  });

  it('a closed worker does not sync again', () => {
    let calls = 0;
    const w = new PodWorker('u1', async () => {
      calls++;
      return 0;
    });
    w.close();
    w.kick(); // a sync would have begun before kick returned
    assert.equal(calls, 0);
    assert.equal(w.syncing, false);
  });
});
