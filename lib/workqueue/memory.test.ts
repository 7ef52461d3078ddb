import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ControllerRateLimiter, DelayHeap, MemoryQueue } from './memory.ts';
import { backoffDelay } from './queue.ts';

const queues: MemoryQueue[] = [];
function queue(opts = {}): MemoryQueue {
  const q = new MemoryQueue('test', opts);
  queues.push(q);
  return q;
}
afterEach(async () => {
  for (const q of queues.splice(0)) await q.shutDown();
});

describe('MemoryQueue', () => {
  it('queues a key at most once and hands keys out in FIFO order', async () => {
    const q = queue();
    q.add('a');
    q.add('b');
    q.add('a');
    q.add('c');
    q.add('b');
    assert.equal(q.len(), 3);
    assert.deepEqual([await q.get(), await q.get(), await q.get()], ['a', 'b', 'c']);
    assert.equal(q.len(), 0);
  });

  it('never hands a key to two workers at once; added while processing, it is queued again after done', async () => {
    const q = queue();
    q.add('a');
    const first = await q.get();
    assert.equal(first, 'a');
    q.add('a');
    q.add('a');
    assert.equal(q.len(), 0, 'a key being processed is not queued again before done');
    const second = q.get();
    assert.equal(
      await Promise.race([second, sleep(30).then(() => 'timeout')]),
      'timeout',
      'a second worker must not receive the key being processed',
    );
    q.done('a');
    assert.equal(await second, 'a', 'the waiting worker receives it after done');
    q.done('a');
    assert.equal(q.len(), 0, 'done without a new add does not queue the key again');
  });

  it('wakes a waiting worker when a key arrives, and each key goes to one waiter', async () => {
    const q = queue();
    const w1 = q.get();
    const w2 = q.get();
    q.add('x');
    q.add('x');
    q.add('y');
    assert.deepEqual([await w1, await w2], ['x', 'y']);
  });

  it('many concurrent workers never process one key at the same time and every add is served', async () => {
    const q = queue();
    const active = new Set<string>();
    const processed = new Map<string, number>();
    let overlaps = 0;
    const worker = async () => {
      for (;;) {
        const k = await q.get();
        if (k === undefined) return;
        if (active.has(k)) overlaps++;
        active.add(k);
        await sleep(Math.random() * 3);
        active.delete(k);
        processed.set(k, (processed.get(k) ?? 0) + 1);
        q.done(k);
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    for (let i = 0; i < 300; i++) {
      q.add(`k${i % 20}`);
      if (i % 10 === 0) await sleep(1);
    }
    while (q.len() > 0 || [...Array(20).keys()].some((i) => q.isProcessing(`k${i}`))) await sleep(5);
    await q.shutDown();
    await Promise.all(workers);
    assert.equal(overlaps, 0);
    assert.equal(processed.size, 20, 'every key processed');
  });

  it('backs off exponentially per key and forget resets the count', async () => {
    const q = queue();
    assert.equal(q.numRequeues('a'), 0);
    const t0 = Date.now();
    q.addRateLimited('a'); // 5 ms
    assert.equal(q.numRequeues('a'), 1);
    assert.equal(q.len(), 0, 'rate limited keys wait');
    assert.equal(await q.get(), 'a');
    assert.ok(Date.now() - t0 >= 4, 'waited about 5 ms');
    q.done('a');
    for (let i = 0; i < 4; i++) q.addRateLimited('a');
    assert.equal(q.numRequeues('a'), 5);
    q.forget('a');
    assert.equal(q.numRequeues('a'), 0);
    assert.equal(await q.get(), 'a', 'the earliest planned retry (10 ms) fires');
  });

  it('the limiter takes the larger of the per-key backoff and the overall bucket', () => {
    let now = 0;
    const l = new ControllerRateLimiter(10, 100, () => now);
    assert.equal(l.when('a'), 5);
    assert.equal(l.when('a'), 10);
    assert.equal(l.when('a'), 20);
    for (let i = 0; i < 97; i++) l.when(`k${i}`); // the bucket is now empty
    assert.equal(l.when('fresh'), 100, 'the 101st retry within a second waits for a token (10 qps)');
    assert.equal(l.when('fresh2'), 200);
    now += 1000; // ten tokens back, two of them owed
    assert.equal(l.when('fresh3'), 5, 'tokens again: the per-key backoff decides');
    assert.equal(l.numRequeues('a'), 3);
    l.forget('a');
    assert.equal(l.numRequeues('a'), 0);
    assert.equal(backoffDelay(100), 1000_000, 'capped at 1000 s');
  });

  // the order shows which time each key kept, however late a busy machine fires the timers; the time is a lower bound
  it('addAfter hands keys out in ready-time order and keeps the earliest time per key', async () => {
    const q = queue();
    const t0 = Date.now();
    q.addAfter('late', 60);
    q.addAfter('early', 10);
    q.addAfter('mid', 100);
    q.addAfter('last', 150);
    q.addAfter('late', 200); // later than planned: ignored (else it would come after last)
    q.addAfter('mid', 20); // earlier than planned: moved up (else it would come after late)
    assert.equal(q.len(), 0);
    assert.equal(q.delayedLen(), 4);
    assert.equal(await q.get(), 'early');
    assert.equal(await q.get(), 'mid');
    assert.equal(await q.get(), 'late');
    const took = Date.now() - t0;
    assert.ok(took >= 50, `late not before its time (${took} ms)`);
    assert.equal(await q.get(), 'last');
    assert.equal(q.delayedLen(), 0);
  });

  it('addAfter with no delay adds at once; a delayed add of a queued key does not duplicate it', async () => {
    const q = queue();
    q.addAfter('a', 0);
    assert.equal(q.len(), 1);
    q.addAfter('a', 5);
    await sleep(20);
    assert.equal(q.len(), 1);
  });

  it('shutDown resolves waiters with undefined and stops handing out keys', async () => {
    const q = queue();
    const w = q.get();
    q.addAfter('later', 10);
    await q.shutDown();
    assert.equal(await w, undefined);
    q.add('b');
    assert.equal(await q.get(), undefined);
    await sleep(20);
    assert.equal(q.len(), 0, 'delayed keys are dropped at shutdown');
  });

  it('the delay heap pops in order', () => {
    const h = new DelayHeap();
    const ats = Array.from({ length: 200 }, () => Math.floor(Math.random() * 50));
    ats.forEach((at, seq) => h.push({ key: `k${seq}`, at, seq }));
    const out: number[] = [];
    for (let d = h.pop(); d; d = h.pop()) out.push(d.at);
    assert.deepEqual(
      out,
      [...ats].sort((a, b) => a - b),
    );
  });
});
