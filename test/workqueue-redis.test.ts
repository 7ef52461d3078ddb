/** RedisQueue against a real Redis: the work queue's guarantees, alone and shared by two instances (as two processes). */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createQueueFactory } from '../lib/workqueue/index.ts';
import { MemoryQueue } from '../lib/workqueue/memory.ts';
import { Redis } from 'ioredis';
import { RedisQueue, jobIdOf, keyOfJobId, parseRedisUrl, redisOptions } from '../lib/workqueue/redis.ts';
import { startRedis, type RedisServer } from './harness/redis.ts';
import { eventually } from './harness/eventually.ts';

let redis: RedisServer;
let seq = 0;
const open: RedisQueue[] = [];
const logs: string[] = [];

before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.stop();
});
afterEach(async () => {
  // keys a test left held would hold shutDown for its grace period
  await Promise.all(
    open.splice(0).map((q) => {
      for (const k of q.heldKeys()) q.done(k);
      return q.shutDown();
    }),
  );
});

/** a fresh queue name per test; pass it again to get a second instance of the same queue */
function queueName(): string {
  return `t${++seq}`;
}
function instance(name: string, opts: { lockDurationMs?: number; shutdownGraceMs?: number } = {}): RedisQueue {
  const q = new RedisQueue(name, {
    url: redis.url,
    // long enough that a holder on a loaded machine renews in time; the test of a crashed holder sets its own
    lockDurationMs: 5000,
    stalledIntervalMs: 250,
    pollIntervalMs: 200,
    shutdownGraceMs: 2000,
    log: (m) => logs.push(m),
    ...opts,
  });
  open.push(q);
  return q;
}
/** names of the clients connected to the test Redis, other than the observer itself */
async function clientNames(observer: Redis): Promise<string[]> {
  const self = `id=${await observer.client('ID')} `;
  const list = (await observer.client('LIST')) as string;
  return list
    .split('\n')
    .filter((l) => l && !l.startsWith(self))
    .map((l) => /(?:^| )name=(\S*)/.exec(l)?.[1] ?? '');
}
/** how many clients wait in a blocking command (the workers' takes) */
async function blockedClients(observer: Redis): Promise<number> {
  const list = (await observer.client('LIST')) as string;
  return list.split('\n').filter((l) => /(?:^| )flags=\S*b/.test(l)).length;
}
/** the promise's value, or 'pending' if it has none after `ms` (for what must not happen yet, or a bound on a hang) */
function pending<T>(p: Promise<T>, ms: number): Promise<T | 'pending'> {
  const timer = new AbortController();
  return Promise.race([p, sleep(ms, 'pending' as const, { signal: timer.signal })]).finally(() => timer.abort());
}

describe('RedisQueue', () => {
  it('queues a key at most once and hands keys out in FIFO order; odd keys survive the job-id escaping', async () => {
    const q = instance(queueName());
    for (const k of ['ns/a', 'ns/b', 'ns/a', '123', 'x:y%3A', 'ns/b']) q.add(k);
    await q.flush();
    assert.equal(await q.waitingCount(), 4);
    assert.deepEqual([await q.get(), await q.get(), await q.get(), await q.get()], ['ns/a', 'ns/b', '123', 'x:y%3A']);
    assert.equal(keyOfJobId(jobIdOf('x:y%3A')), 'x:y%3A');
  });

  it('a key added while processing is not handed out again until done, then it is', async () => {
    const name = queueName();
    const q = instance(name);
    q.add('k');
    assert.equal(await q.get(), 'k');
    q.add('k');
    q.add('k');
    await q.flush();
    assert.equal(await q.waitingCount(), 0, 'not queued while held');
    const second = q.get();
    assert.equal(await pending(second, 300), 'pending', 'a second worker does not receive the held key');
    q.done('k');
    assert.equal(await second, 'k', 'queued again by done');
    q.done('k');
    await q.flush();
    assert.equal(await q.waitingCount(), 0, 'done without a new add does not queue it again');
  });

  // (the delays themselves are the shared backoff's, tested in lib/workqueue/memory.test.ts)
  it('backs off per key with the count kept in Redis; forget resets it', async () => {
    const name = queueName();
    const q = instance(name);
    q.add('k');
    assert.equal(await q.get(), 'k');
    assert.equal(q.numRequeues('k'), 0);
    const t0 = Date.now();
    q.addRateLimited('k'); // 5 ms
    q.done('k');
    assert.equal(await q.get(), 'k');
    assert.equal(q.numRequeues('k'), 1, 'read from Redis when handed out');
    q.addRateLimited('k'); // 10 ms
    q.done('k');
    assert.equal(await q.get(), 'k');
    q.addRateLimited('k'); // 20 ms
    q.done('k');
    assert.equal(await q.get(), 'k');
    assert.equal(q.numRequeues('k'), 3);
    assert.ok(Date.now() - t0 >= 30, 'waited 5 + 10 + 20 ms');
    // another instance sees the same count
    const other = instance(name);
    q.forget('k');
    q.done('k');
    other.add('k');
    await Promise.all([q.flush(), other.flush()]);
    assert.equal(await other.get(), 'k');
    assert.equal(other.numRequeues('k'), 0, 'forgotten');
    other.addRateLimited('k');
    other.addRateLimited('k');
    other.addRateLimited('k');
    other.addRateLimited('k'); // 5 * 2^3 = 40 ms after the last
    other.done('k');
    assert.equal(await pending(q.get(), 60_000), 'k', 'handed out after the back-off');
    assert.equal(q.numRequeues('k'), 4);
  });

  // the order shows which time each key kept (however late the machine hands them out); the times are lower bounds
  it('addAfter hands keys out in ready-time order and keeps the earliest time per key', async () => {
    const q = instance(queueName());
    const t0 = Date.now();
    q.addAfter('late', 400);
    q.addAfter('early', 50);
    q.addAfter('mid', 600);
    q.addAfter('last', 1000);
    q.addAfter('late', 2000); // later than planned: ignored (else it would come after last)
    q.addAfter('mid', 200); // earlier than planned: moved up (else it would come after late)
    await q.flush();
    assert.equal(await q.waitingCount(), 0);
    assert.equal(await q.get(), 'early');
    assert.equal(await q.get(), 'mid');
    const midAt = Date.now() - t0;
    assert.ok(midAt >= 190, `mid not before its time (${midAt} ms)`);
    assert.equal(await q.get(), 'late');
    const lateAt = Date.now() - t0;
    assert.ok(lateAt >= 390, `late not before its time (${lateAt} ms)`);
    assert.equal(await q.get(), 'last');
  });

  it('a delayed add planned by an instance that went away is still delivered', async () => {
    const name = queueName();
    const gone = instance(name);
    gone.addAfter('k', 300);
    await gone.flush();
    await gone.abandon();
    const q = instance(name);
    assert.equal(await q.get(), 'k');
  });

  it('shutDown resolves waiters with undefined and stops handing out keys', async () => {
    const q = instance(queueName());
    const observer = new Redis(redisOptions(redis.url));
    const w = q.get();
    try {
      // shut down while the take blocks in Redis
      await eventually('the take blocks in Redis', async () => (await blockedClients(observer)) === 1);
    } finally {
      observer.disconnect();
    }
    await q.shutDown();
    assert.equal(await w, undefined);
    assert.equal(await q.get(), undefined);
  });

  it('shutDown waits for the keys being processed to be done, and done still re-queues a dirty key', async () => {
    const name = queueName();
    const q = instance(name);
    q.add('k');
    assert.equal(await q.get(), 'k');
    q.add('k');
    const closing = q.shutDown();
    assert.equal(await pending(closing, 200), 'pending', 'waits for the held key');
    q.done('k');
    await closing;
    const other = instance(name);
    assert.equal(await other.get(), 'k', 'the add made while it was held is not lost');
  });

  it("uses its own connection plus the worker's blocking duplicate, and closes both on shutDown and on abandon", async () => {
    const observer = new Redis(redisOptions(redis.url));
    try {
      await eventually('no queue connections', async () => (await clientNames(observer)).length === 0);
      const name = queueName();
      const q = instance(name);
      q.add('k');
      assert.equal(await q.get(), 'k');
      q.done('k');
      await q.flush();
      await eventually('two connections', async () => (await clientNames(observer)).length === 2);
      assert.ok(
        (await clientNames(observer)).includes(`skiff:${name}`),
        'the main connection is named after the queue',
      );
      await q.shutDown();
      await eventually('both closed by shutDown', async () => (await clientNames(observer)).length === 0);
      const c = instance(name);
      c.add('j');
      assert.equal(await c.get(), 'j');
      await eventually('two connections', async () => (await clientNames(observer)).length === 2);
      await c.abandon();
      await eventually('both dropped by abandon', async () => (await clientNames(observer)).length === 0);
      assert.ok(
        (await observer.exists(`skiff:${name}:${jobIdOf('j')}:lock`)) === 1,
        'abandon leaves the lock of the held key to expire',
      );
    } finally {
      observer.disconnect();
    }
  });

  describe('two instances of one queue, as two processes', () => {
    it('dedupe across instances', async () => {
      const name = queueName();
      const a = instance(name);
      const b = instance(name);
      a.add('k');
      b.add('k');
      a.add('j');
      b.add('j');
      await Promise.all([a.flush(), b.flush()]);
      assert.equal(await a.waitingCount(), 2);
      assert.equal(await b.waitingCount(), 2);
    });

    it('a key held by one is not handed to the other; added there meanwhile, it is queued again when the holder is done', async () => {
      const name = queueName();
      const a = instance(name);
      const b = instance(name);
      a.add('k');
      assert.equal(await a.get(), 'k');
      const bGet = b.get();
      b.add('k'); // marks it dirty for a
      await b.flush();
      assert.equal(await pending(bGet, 300), 'pending');
      a.done('k');
      assert.equal(await bGet, 'k');
      b.done('k');
    });

    it('share the work: every key processed, none by two workers at once, every add served', async () => {
      const name = queueName();
      const a = instance(name);
      const b = instance(name);
      const active = new Set<string>();
      const lastAdd = new Map<string, number>();
      const lastStart = new Map<string, number>();
      const byInstance = new Map<RedisQueue, number>([
        [a, 0],
        [b, 0],
      ]);
      let overlaps = 0;
      const worker = async (q: RedisQueue) => {
        for (;;) {
          const k = await q.get();
          if (k === undefined) return;
          if (active.has(k)) overlaps++;
          active.add(k);
          lastStart.set(k, Date.now());
          byInstance.set(q, byInstance.get(q)! + 1);
          await sleep(Math.random() * 5);
          active.delete(k);
          q.done(k);
        }
      };
      const workers = [a, a, a, b, b, b].map(worker);
      for (let i = 0; i < 200; i++) {
        const k = `ns/k${i % 15}`;
        lastAdd.set(k, Date.now());
        (i % 2 ? a : b).add(k);
        if (i % 10 === 0) await sleep(3);
      }
      // every add served: each key processed after its last add, and nothing waiting or held any more
      await eventually('every add served, nothing left', async () => {
        await Promise.all([a.flush(), b.flush()]);
        const busy = (await a.waitingCount()) > 0 || a.heldKeys().length > 0 || b.heldKeys().length > 0;
        return !busy && lastStart.size === 15 && [...lastAdd].every(([k, t]) => lastStart.get(k)! >= t);
      });
      assert.equal(overlaps, 0, 'no key processed by two workers at once');
      assert.ok(
        byInstance.get(a)! > 0 && byInstance.get(b)! > 0,
        `both instances took work (${byInstance.get(a)}, ${byInstance.get(b)})`,
      );
      await Promise.all([a.shutDown(), b.shutDown()]);
      await Promise.all(workers);
    });

    it("a crashed holder's key is released after the lock timeout", async () => {
      const name = queueName();
      const a = instance(name, { lockDurationMs: 2000 });
      const b = instance(name, { lockDurationMs: 2000 });
      a.add('k');
      assert.equal(await a.get(), 'k');
      const bGet = b.get();
      // the lock's time to live goes up at each renewal (every 1 s): three of them take the key past the 2 s lock
      const observer = new Redis(redisOptions(redis.url));
      try {
        const lock = `skiff:${name}:${jobIdOf('k')}:lock`;
        let renewals = 0;
        let ttl = await observer.pttl(lock);
        await eventually(
          'three renewals of the lock',
          async () => {
            const now = await observer.pttl(lock);
            if (now > ttl) renewals++;
            ttl = now;
            return renewals >= 3;
          },
          { timeoutMs: 60_000, everyMs: 50 },
        );
      } finally {
        observer.disconnect();
      }
      assert.equal(
        await pending(bGet, 0),
        'pending',
        'a live holder keeps the key past the lock duration by renewing it',
      );
      await a.abandon(); // dies without done()
      assert.equal(await pending(bGet, 60_000), 'k', 'released once the lock expired');
    });
  });
});

describe('createQueueFactory and the Redis client', () => {
  it('makes memory queues without a URL, Redis queues for redis://, and rejects anything else', async () => {
    const mem = createQueueFactory();
    assert.ok(mem.factory('x') instanceof MemoryQueue);
    await mem.close();
    const r = createQueueFactory(redis.url, { lockDurationMs: 1000 });
    const q = r.factory('factory-test');
    assert.ok(q instanceof RedisQueue);
    assert.equal((q as RedisQueue).prefix, 'skiff');
    q.add('k');
    assert.equal(await q.get(), 'k');
    q.done('k');
    await r.close();
    assert.throws(
      () => createQueueFactory('amqp://localhost'),
      /unsupported work queue "amqp:\/\/localhost": use redis:\/\/host:port\[\/db\]/,
    );
    assert.throws(() => createQueueFactory('redis://localhost:6379/x'), /database number/);
    assert.deepEqual(parseRedisUrl('redis://10.0.0.1:6380/2'), { host: '10.0.0.1', port: 6380, db: 2 });
    assert.deepEqual(parseRedisUrl('redis://[::1]'), { host: '::1', port: 6379, db: 0 });
    assert.throws(() => parseRedisUrl('redis://u:p@localhost'), /authentication is not supported/);
    const o = redisOptions('redis://10.0.0.1:6380/2', 'skiff:q');
    assert.deepEqual(
      [o.host, o.port, o.db, o.connectionName, o.maxRetriesPerRequest],
      ['10.0.0.1', 6380, 2, 'skiff:q', null],
      'BullMQ needs maxRetriesPerRequest null',
    );
  });
});
