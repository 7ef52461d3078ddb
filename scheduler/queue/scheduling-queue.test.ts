import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SchedulingQueue, INITIAL_BACKOFF_MS, MAX_BACKOFF_MS, UNSCHEDULABLE_MAX_MS } from './scheduling-queue.ts';
import { KeyedHeap } from './heap.ts';
import type { Pod } from '../../lib/kube/types/core-v1.ts';

const pod = (name: string, priority?: number, created?: string): Pod => ({
  metadata: { name, namespace: 'ns', creationTimestamp: created },
  spec: { containers: [], priority },
});

test('higher priority first, then the order of arrival', () => {
  let t = 0;
  const q = new SchedulingQueue(() => t++);
  q.addOrUpdate(pod('a'));
  q.addOrUpdate(pod('b', 10));
  q.addOrUpdate(pod('c'));
  q.addOrUpdate(pod('d', 10));
  const order = [q.tryPop(), q.tryPop(), q.tryPop(), q.tryPop()].map((x) => x!.pod.metadata.name);
  assert.deepEqual(order, ['b', 'd', 'a', 'c']);
  assert.equal(q.tryPop(), undefined);
  q.close();
});

test('a pod queued twice is handed out once, with its newest version', () => {
  const q = new SchedulingQueue();
  q.addOrUpdate(pod('a'));
  q.addOrUpdate({ ...pod('a'), metadata: { name: 'a', namespace: 'ns', labels: { v: '2' } } });
  const got = q.tryPop()!;
  assert.equal(got.pod.metadata.labels?.v, '2');
  assert.equal(q.tryPop(), undefined);
  q.close();
});

test('an unschedulable pod is parked until the cluster changes, then backs off 1 s doubling to 10 s', () => {
  let now = 1000;
  const q = new SchedulingQueue(() => now);
  q.addOrUpdate(pod('a'));
  let p = q.tryPop()!;
  q.unschedulableAgain(p, ['NodeResourcesFit']);
  assert.deepEqual(q.stats(), { active: 0, backoff: 0, unschedulable: 1, inFlight: 0 });
  // a placed pod helps only pods rejected by affinity or spreading
  q.moveForPlugins(['InterPodAffinity', 'PodTopologySpread']);
  assert.equal(q.stats().unschedulable, 1);
  // its own status update does not wake it
  q.addOrUpdate(pod('a'), false);
  assert.equal(q.stats().unschedulable, 1);
  q.moveAllToActiveOrBackoff();
  assert.equal(q.stats().backoff, 1);
  assert.equal(q.tryPop(), undefined, 'still backing off');
  now += INITIAL_BACKOFF_MS;
  p = q.tryPop()!;
  assert.equal(p.pod.metadata.name, 'a');
  // failures keep doubling the wait, up to the maximum
  for (let i = 0; i < 6; i++) {
    q.retryLater(p);
    now += MAX_BACKOFF_MS;
    p = q.tryPop()!;
  }
  q.retryLater(p);
  now += MAX_BACKOFF_MS - 1;
  assert.equal(q.tryPop(), undefined);
  now += 1;
  assert.ok(q.tryPop());
  q.close();
});

test('a cluster change during a cycle sends a failing pod to backoff instead of parking it', () => {
  const now = 0;
  const q = new SchedulingQueue(() => now);
  q.addOrUpdate(pod('a'));
  const p = q.tryPop()!;
  q.moveAllToActiveOrBackoff(); // a node arrived while "a" was being scheduled
  q.unschedulableAgain(p);
  assert.equal(q.stats().unschedulable, 0);
  assert.equal(q.stats().backoff, 1);
  q.close();
});

test('a deleted pod leaves every queue', () => {
  const q = new SchedulingQueue();
  q.addOrUpdate(pod('a'));
  q.delete('ns/a');
  assert.equal(q.has('ns/a'), false);
  assert.equal(q.tryPop(), undefined);
  q.close();
});

test('the heap keeps its order through pushes, replacements and removals', () => {
  const h = new KeyedHeap<number>((a, b) => a < b);
  const vals = [5, 3, 9, 1, 7, 2, 8];
  vals.forEach((v, i) => h.push(`k${i}`, v));
  h.push('k2', 0); // 9 -> 0
  h.delete('k3'); // remove 1
  const out: number[] = [];
  for (let v = h.pop(); v !== undefined; v = h.pop()) out.push(v);
  assert.deepEqual(out, [0, 2, 3, 5, 7, 8]);
});

test('within a priority, the older pod goes first, whatever the order of arrival', () => {
  const q = new SchedulingQueue();
  q.addOrUpdate(pod('young', 0, '2024-01-01T00:00:05Z'));
  q.addOrUpdate(pod('old', 0, '2024-01-01T00:00:01Z'));
  q.addOrUpdate(pod('urgent', 5, '2024-01-01T00:00:09Z'));
  assert.deepEqual(
    [q.tryPop(), q.tryPop(), q.tryPop()].map((x) => x!.pod.metadata.name),
    ['urgent', 'old', 'young'],
  );
  q.close();
});

test('a pod rejected by affinity goes back when the plugin that rejected it may now agree; leftovers after 5 minutes', () => {
  let now = 0;
  const q = new SchedulingQueue(() => now);
  q.addOrUpdate(pod('aff'));
  q.addOrUpdate(pod('cpu'));
  const a = q.tryPop()!;
  const c = q.tryPop()!;
  q.unschedulableAgain(a, ['InterPodAffinity']);
  q.unschedulableAgain(c, ['NodeResourcesFit']);
  assert.equal(q.parkedFor(['InterPodAffinity']), true);
  q.moveForPlugins(['InterPodAffinity']);
  assert.deepEqual(q.stats(), { active: 0, backoff: 1, unschedulable: 1, inFlight: 0 });
  assert.equal(q.parkedFor(['InterPodAffinity']), false);
  now += UNSCHEDULABLE_MAX_MS;
  q.flushUnschedulableLeftover();
  assert.equal(q.stats().unschedulable, 0);
  now += MAX_BACKOFF_MS;
  assert.deepEqual([q.tryPop()?.key, q.tryPop()?.key].sort(), ['ns/aff', 'ns/cpu']);
  q.close();
});

test('popping is cheap: 5,000 pods in and out of the heap, with O(log n) comparisons each', () => {
  const q = new SchedulingQueue();
  const n = 5_000;
  // every comparison of the active heap reads both pods' priority: count the reads instead of timing the run
  let reads = 0;
  const counted = (name: string, priority: number) => {
    const p = pod(name);
    Object.defineProperty(p.spec, 'priority', {
      get: () => {
        reads++;
        return priority;
      },
    });
    return p;
  };
  for (let i = 0; i < n; i++) q.addOrUpdate(counted(`p${i}`, i % 7));
  let last = Infinity;
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const p = q.tryPop()!;
    const prio = p.pod.spec?.priority ?? 0;
    assert.ok(prio <= last);
    last = prio;
    seen.add(p.key);
    q.done(p.key);
  }
  // a binary heap compares about 2 log2(n) times per pop and a few times per push; a scan per pop would read ~n²/2
  const bound = 8 * 2 * n * Math.ceil(Math.log2(n));
  assert.ok(reads < bound, `${reads} priority reads for ${n} pods (bound ${bound}): no O(n) scans per pop`);
  assert.equal(seen.size, n, 'every pod once');
  assert.equal(q.tryPop(), undefined, 'nothing left');
  q.close();
});
