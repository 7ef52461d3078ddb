/**
 * The behaviour every storage driver must have, as one node:test suite. Each driver's test file calls
 * runBackendContract with a factory; every test gets a fresh backend from it and works under its own key root, so
 * drivers backed by a shared server (etcd) can reuse one server for the whole suite.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { CompactedError, FutureRevisionError, type Backend, type Watch, type WatchEvent } from './backend.ts';

export interface BackendFixture {
  backend: Backend;
  cleanup(): Promise<void>;
}

interface Collector {
  events: WatchEvent[];
  /** resolves once at least n events arrived */
  until(n: number, timeoutMs?: number): Promise<WatchEvent[]>;
  /** resolves with the error that ended the watch */
  failure(timeoutMs?: number): Promise<Error>;
  cancel(): void;
}

function collect(backend: Backend, prefix: string, fromRevision: number): Collector {
  const events: WatchEvent[] = [];
  let error: Error | undefined;
  let wake: (() => void) | undefined;
  const w: Watch = backend.watch(prefix, fromRevision, {
    onEvents(evs) {
      assert.ok(evs.length > 0, 'onEvents called with an empty batch');
      events.push(...evs);
      wake?.();
    },
    onError(err) {
      error = err;
      wake?.();
    },
  });
  const waitFor = async (done: () => boolean, what: string, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `timed out waiting for ${what} (have ${events.length} events, error: ${error?.message ?? 'none'})`,
        );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 50));
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  };
  return {
    events,
    async until(n, timeoutMs = 30_000) {
      await waitFor(() => events.length >= n || error !== undefined, `${n} watch events`, timeoutMs);
      if (events.length < n) throw new Error(`watch ended before ${n} events: ${error?.message}`);
      return events;
    },
    async failure(timeoutMs = 30_000) {
      await waitFor(() => error !== undefined, 'the watch to fail', timeoutMs);
      return error!;
    },
    cancel: () => w.cancel(),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until a watch from now is registered (etcd registers a watch asynchronously, and "now" is when it is): writes
 * markers under its prefix until one is reported, then waits for the last one. Returns how many events came before.
 */
async function afterRegistration(b: Backend, w: Collector, prefix: string): Promise<number> {
  const deadline = Date.now() + 30_000;
  const reported = (key?: string) =>
    w.events.some((e) => (key ? e.kv.key === key : e.kv.key.startsWith(`${prefix}marker-`)));
  let last = '';
  while (!reported()) {
    if (Date.now() > deadline) throw new Error('the watch reported no write made after it started');
    last = `${prefix}marker-${randomUUID()}`;
    await b.create(last, 'marker');
    await sleep(50);
  }
  while (!reported(last)) {
    if (Date.now() > deadline) throw new Error(`the watch did not report ${last}`);
    await sleep(10);
  }
  return w.events.length;
}

function revisionsOf(events: WatchEvent[]): number[] {
  return events.map((e) => e.kv.modRevision);
}

function assertIncreasing(revs: number[], what: string): void {
  for (let i = 1; i < revs.length; i++)
    assert.ok(revs[i] > revs[i - 1], `${what}: revision ${revs[i]} after ${revs[i - 1]}`);
}

export function runBackendContract(name: string, makeBackend: () => Promise<BackendFixture>): void {
  /** a fresh backend and a key root nobody else uses */
  const test = (title: string, fn: (b: Backend, root: string) => Promise<void>) =>
    it(title, { timeout: 30_000 }, async () => {
      const { backend, cleanup } = await makeBackend();
      try {
        await fn(backend, `/registry/t${randomUUID().slice(0, 8)}/`);
      } finally {
        await cleanup();
      }
    });

  describe(`storage contract: ${name}`, () => {
    test('create, get, and create conflict', async (b, root) => {
      const key = `${root}pods/default/a`;
      assert.equal((await b.get(key)).kv, undefined);
      const before = await b.currentRevision();
      const res = await b.create(key, '{"v":1}');
      assert.equal(res.ok, true);
      assert.ok(res.revision > before, 'create got a new revision');
      assert.deepEqual(res.kv, { key, value: '{"v":1}', createRevision: res.revision, modRevision: res.revision });
      const got = await b.get(key);
      assert.deepEqual(got.kv, res.kv);
      assert.ok(got.revision >= res.revision);
      const again = await b.create(key, '{"v":2}');
      assert.equal(again.ok, false);
      assert.deepEqual(again.kv, res.kv, 'conflict reports the existing kv');
      assert.equal((await b.get(key)).kv?.value, '{"v":1}', 'a failed create changes nothing');
    });

    test('update guarded by modRevision: match, mismatch, missing', async (b, root) => {
      const key = `${root}pods/default/u`;
      const c = await b.create(key, 'v1');
      const u = await b.update(key, 'v2', c.revision);
      assert.equal(u.ok, true);
      assert.ok(u.revision > c.revision);
      assert.deepEqual(u.kv, { key, value: 'v2', createRevision: c.revision, modRevision: u.revision });
      const stale = await b.update(key, 'v3', c.revision);
      assert.equal(stale.ok, false);
      assert.deepEqual(stale.kv, u.kv, 'mismatch reports the current kv');
      assert.equal((await b.get(key)).kv?.value, 'v2');
      const missing = await b.update(`${root}pods/default/nope`, 'x', u.revision);
      assert.equal(missing.ok, false);
      assert.equal(missing.kv, undefined);
      assert.equal((await b.get(`${root}pods/default/nope`)).kv, undefined, 'an update never creates');
    });

    test('delete: guarded mismatch, guarded, unguarded, missing', async (b, root) => {
      const k1 = `${root}pods/default/d1`;
      const k2 = `${root}pods/default/d2`;
      const c1 = await b.create(k1, 'one');
      const c2 = await b.create(k2, 'two');
      const wrong = await b.delete(k1, c1.revision + 1000);
      assert.equal(wrong.ok, false);
      assert.deepEqual(wrong.kv, c1.kv);
      const d1 = await b.delete(k1, c1.revision);
      assert.equal(d1.ok, true);
      assert.ok(d1.revision > c2.revision);
      assert.equal(d1.kv?.value, 'one', 'delete reports the deleted value');
      assert.equal((await b.get(k1)).kv, undefined);
      const d2 = await b.delete(k2);
      assert.equal(d2.ok, true);
      assert.equal(d2.kv?.value, 'two');
      assert.equal((await b.get(k2)).kv, undefined);
      assert.equal((await b.delete(k2)).ok, false, 'deleting a missing key fails');
      assert.equal((await b.delete(k2, c2.revision)).ok, false, 'guarded delete of a missing key fails');
      const again = await b.create(k1, 'reborn');
      assert.equal(again.ok, true, 'a deleted key can be created again');
      assert.equal(again.kv?.createRevision, again.revision);
    });

    test('list: prefix isolation and key order', async (b, root) => {
      for (const k of ['pods/ns/b', 'podsx/ns/a', 'pods/ns/a', 'pod/ns/z', 'pods/other/c']) await b.create(root + k, k);
      const res = await b.list(`${root}pods/`);
      assert.deepEqual(
        res.kvs.map((kv) => kv.key),
        [`${root}pods/ns/a`, `${root}pods/ns/b`, `${root}pods/other/c`],
      );
      assert.equal(res.more, false);
      assert.equal((await b.list(`${root}pods/ns/`)).kvs.length, 2);
      assert.deepEqual(
        (await b.list(`${root}podsx/`)).kvs.map((kv) => kv.value),
        ['podsx/ns/a'],
      );
      assert.equal((await b.list(`${root}nothing/`)).kvs.length, 0);
    });

    test('list: limit and startAfter paging at one revision', async (b, root) => {
      const prefix = `${root}configmaps/ns/`;
      for (let i = 0; i < 7; i++) await b.create(`${prefix}k${i}`, String(i));
      const p1 = await b.list(prefix, { limit: 3 });
      assert.deepEqual(
        p1.kvs.map((kv) => kv.value),
        ['0', '1', '2'],
      );
      assert.equal(p1.more, true);
      // a write between pages is invisible to a list pinned at the first page's revision
      await b.create(`${prefix}k3a`, 'late');
      const p2 = await b.list(prefix, { limit: 3, startAfter: p1.kvs[2].key, revision: p1.revision });
      assert.deepEqual(
        p2.kvs.map((kv) => kv.value),
        ['3', '4', '5'],
      );
      assert.equal(p2.more, true);
      assert.equal(p2.revision, p1.revision);
      const p3 = await b.list(prefix, { limit: 3, startAfter: p2.kvs[2].key, revision: p1.revision });
      assert.deepEqual(
        p3.kvs.map((kv) => kv.value),
        ['6'],
      );
      assert.equal(p3.more, false);
      const exact = await b.list(prefix, { limit: 8 });
      assert.equal(exact.kvs.length, 8);
      assert.equal(exact.more, false, 'more is false when the page ends exactly at the last key');
      const latest = await b.list(prefix, { startAfter: `${prefix}k3` });
      assert.deepEqual(
        latest.kvs.map((kv) => kv.value),
        ['late', '4', '5', '6'],
      );
    });

    test('get and list at an old revision', async (b, root) => {
      const p = `${root}secrets/ns/`;
      await b.create(`${p}a`, 'a1');
      const cb = await b.create(`${p}b`, 'b1');
      const old = cb.revision;
      const a = await b.get(`${p}a`);
      await b.update(`${p}a`, 'a2', a.kv!.modRevision);
      await b.delete(`${p}b`);
      await b.create(`${p}c`, 'c1');
      const then = await b.list(p, { revision: old });
      assert.equal(then.revision, old);
      assert.deepEqual(
        then.kvs.map((kv) => `${kv.key.slice(p.length)}=${kv.value}`),
        ['a=a1', 'b=b1'],
      );
      const now = await b.list(p);
      assert.deepEqual(
        now.kvs.map((kv) => `${kv.key.slice(p.length)}=${kv.value}`),
        ['a=a2', 'c=c1'],
      );
      assert.equal((await b.get(`${p}b`, old)).kv?.value, 'b1');
      assert.equal((await b.get(`${p}a`, old)).kv?.modRevision, a.kv!.modRevision);
      assert.equal((await b.get(`${p}c`, old)).kv, undefined);
      const paged = await b.list(p, { revision: old, limit: 1 });
      assert.deepEqual(
        paged.kvs.map((kv) => kv.value),
        ['a1'],
      );
      assert.equal(paged.more, true);
    });

    test('count', async (b, root) => {
      for (let i = 0; i < 5; i++) await b.create(`${root}nodes/n${i}`, 'x');
      await b.create(`${root}nodesx/n`, 'x');
      await b.delete(`${root}nodes/n0`);
      const c = await b.count(`${root}nodes/`);
      assert.equal(c.count, 4);
      assert.ok(c.revision >= 1);
      assert.equal((await b.count(`${root}none/`)).count, 0);
    });

    test('revisions strictly increase and currentRevision follows writes', async (b, root) => {
      const revs: number[] = [];
      for (let i = 0; i < 10; i++) revs.push((await b.create(`${root}r/${i}`, 'x')).revision);
      const u = await b.update(`${root}r/0`, 'y', revs[0]);
      revs.push(u.revision);
      revs.push((await b.delete(`${root}r/1`)).revision);
      assertIncreasing(revs, 'sequential writes');
      assert.ok((await b.currentRevision()) >= revs[revs.length - 1]);
      const concurrent = await Promise.all(Array.from({ length: 50 }, (_, i) => b.create(`${root}c/${i}`, 'x')));
      const set = new Set(concurrent.map((r) => r.revision));
      assert.equal(set.size, 50, 'concurrent writes get distinct revisions');
      assert.ok(Math.min(...set) > revs[revs.length - 1]);
    });

    test('watch from now: puts, updates with prevKv, deletes', async (b, root) => {
      const p = `${root}pods/`;
      const w = collect(b, p, 0);
      try {
        const before = await afterRegistration(b, w, p);
        const c = await b.create(`${p}a`, 'a1');
        await b.create(`${root}podsx/a`, 'not mine');
        const u = await b.update(`${p}a`, 'a2', c.revision);
        const d = await b.delete(`${p}a`, u.revision);
        await w.until(before + 3);
        await sleep(100);
        const evs = w.events.slice(before);
        assert.equal(evs.length, 3, 'no event from another prefix');
        assert.deepEqual(
          evs.map((e) => e.type),
          ['PUT', 'PUT', 'DELETE'],
        );
        assert.deepEqual(revisionsOf(evs), [c.revision, u.revision, d.revision]);
        assert.equal(evs[0].kv.value, 'a1');
        assert.equal(evs[0].kv.createRevision, c.revision);
        assert.equal(evs[1].kv.value, 'a2');
        assert.equal(evs[1].prevKv?.value, 'a1');
        assert.equal(evs[1].prevKv?.modRevision, c.revision);
      } finally {
        w.cancel();
      }
    });

    test('DELETE events carry the deleted value and prevKv', async (b, root) => {
      const p = `${root}services/`;
      const c = await b.create(`${p}s`, 'svc');
      const w = collect(b, p, c.revision);
      try {
        const d = await b.delete(`${p}s`);
        const [ev] = await w.until(1);
        assert.equal(ev.type, 'DELETE');
        assert.equal(ev.kv.key, `${p}s`);
        assert.equal(ev.kv.modRevision, d.revision);
        assert.equal(ev.kv.value, 'svc');
        assert.equal(ev.kv.createRevision, c.revision);
        assert.deepEqual(ev.prevKv, {
          key: `${p}s`,
          value: 'svc',
          createRevision: c.revision,
          modRevision: c.revision,
        });
      } finally {
        w.cancel();
      }
    });

    test('watch from an old revision replays exactly the later events, then continues live', async (b, root) => {
      const p = `${root}pods/`;
      const revs: number[] = [];
      for (let i = 0; i < 5; i++) revs.push((await b.create(`${p}k${i}`, `v${i}`)).revision);
      const u = await b.update(`${p}k0`, 'v0b', revs[0]);
      const d = await b.delete(`${p}k1`);
      await b.create(`${root}other/x`, 'x');
      const w = collect(b, p, revs[1]);
      try {
        const replayed = await w.until(5);
        assert.deepEqual(revisionsOf(replayed), [revs[2], revs[3], revs[4], u.revision, d.revision]);
        assert.deepEqual(
          replayed.map((e) => e.type),
          ['PUT', 'PUT', 'PUT', 'PUT', 'DELETE'],
        );
        assert.equal(replayed[3].prevKv?.value, 'v0', 'replayed update carries prevKv');
        assert.equal(replayed[4].kv.value, 'v1', 'replayed delete carries the deleted value');
        assert.equal(replayed[4].prevKv?.value, 'v1');
        const live = await b.create(`${p}k9`, 'v9');
        const all = await w.until(6);
        await sleep(100);
        assert.deepEqual(
          revisionsOf(all),
          [revs[2], revs[3], revs[4], u.revision, d.revision, live.revision],
          'no gap, no duplicate',
        );
      } finally {
        w.cancel();
      }
    });

    test('watch ordering under 200 concurrent creates', async (b, root) => {
      const p = `${root}events/`;
      const start = await b.currentRevision();
      const w = collect(b, p, start);
      try {
        const results = await Promise.all(Array.from({ length: 200 }, (_, i) => b.create(`${p}e${i}`, String(i))));
        const acked = results.map((r) => r.revision).sort((x, y) => x - y);
        const evs = await w.until(200);
        await sleep(100);
        const seen = revisionsOf(evs);
        assertIncreasing(seen, 'watch events');
        assert.deepEqual(seen, acked, 'the watch saw exactly the acknowledged writes');
      } finally {
        w.cancel();
      }
    });

    test('a watch started during a burst of writes misses nothing', async (b, root) => {
      const p = `${root}leases/`;
      const first = await b.create(`${p}l0`, '0');
      const writes = Array.from({ length: 100 }, (_, i) => b.create(`${p}l${i + 1}`, String(i + 1)));
      const w = collect(b, p, first.revision);
      try {
        const results = await Promise.all(writes);
        const evs = await w.until(100);
        await sleep(100);
        assert.deepEqual(
          revisionsOf(evs),
          results.map((r) => r.revision).sort((x, y) => x - y),
        );
      } finally {
        w.cancel();
      }
    });

    test('compaction: reads and watches below the compacted revision fail with CompactedError', async (b, root) => {
      const p = `${root}pods/`;
      const c = await b.create(`${p}a`, 'a0');
      let last = c;
      for (let i = 1; i <= 5; i++) last = await b.update(`${p}a`, `a${i}`, last.revision);
      const gone = await b.create(`${p}gone`, 'x');
      await b.delete(`${p}gone`);
      const keep = await b.create(`${p}keep`, 'k');
      const mid = keep.revision;
      const after = await b.update(`${p}a`, 'a6', last.revision);
      await b.compact(mid);
      assert.ok((await b.compactedRevision()) >= mid);
      await assert.rejects(b.list(p, { revision: c.revision }), CompactedError);
      await assert.rejects(b.get(`${p}a`, c.revision), CompactedError);
      const err = await collect(b, p, gone.revision).failure();
      assert.ok(err instanceof CompactedError, `watch failed with ${err.name}: ${err.message}`);
      // the compacted revision itself and everything newer stay readable and watchable
      const atMid = await b.list(p, { revision: mid });
      assert.deepEqual(
        atMid.kvs.map((kv) => `${kv.key.slice(p.length)}=${kv.value}`),
        ['a=a5', 'keep=k'],
      );
      const now = await b.list(p);
      assert.deepEqual(
        now.kvs.map((kv) => `${kv.key.slice(p.length)}=${kv.value}`),
        ['a=a6', 'keep=k'],
      );
      const w = collect(b, p, mid);
      try {
        const evs = await w.until(1);
        assert.equal(evs[0].kv.modRevision, after.revision);
        assert.equal(evs[0].prevKv?.value, 'a5');
      } finally {
        w.cancel();
      }
      await b.compact(mid); // compacting again at the same revision is a no-op
    });

    test('get and list at a future revision fail with FutureRevisionError', async (b, root) => {
      await b.create(`${root}x/a`, 'a');
      const cur = await b.currentRevision();
      await assert.rejects(b.get(`${root}x/a`, cur + 1000), FutureRevisionError);
      await assert.rejects(b.list(`${root}x/`, { revision: cur + 1000 }), FutureRevisionError);
    });

    test('ping answers while the store is up', async (b) => {
      await b.ping();
    });
  });
}
