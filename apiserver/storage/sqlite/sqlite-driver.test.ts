/** behaviour specific to the embedded driver: batching, persistence, compaction upkeep, locking, query plans */
import assert from 'node:assert/strict';
import { fstatSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { CompactedError, UnavailableError, type WatchEvent } from '../backend.ts';
import { SqliteBackend, type SqliteOptions } from './sqlite-backend.ts';
import { eventually } from '../../../test/harness/eventually.ts';

let dir = '';
let path = '';
const open: SqliteBackend[] = [];

async function start(opts: Omit<SqliteOptions, 'path'> = {}): Promise<SqliteBackend> {
  const b = new SqliteBackend({ ...opts, path });
  await b.start();
  open.push(b);
  return b;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-sqlite-'));
  path = join(dir, 'db', 'state.db');
});

afterEach(async () => {
  for (const b of open.splice(0)) await b.close();
  rmSync(dir, { recursive: true, force: true });
});

function rawRows(sql: string): unknown[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(sql).all();
  } finally {
    db.close();
  }
}

describe('sqlite driver', () => {
  it('ops queued in the same tick commit together and see each other in order', async () => {
    const b = await start();
    const base = await b.currentRevision();
    const k = '/registry/pods/ns/a';
    const [c, dup, u, d, again] = await Promise.all([
      b.create(k, 'v1'),
      b.create(k, 'other'),
      b.update(k, 'v2', base + 1),
      b.delete(k, base + 2),
      b.update(k, 'v3', base + 3),
    ]);
    assert.deepEqual([c.ok, dup.ok, u.ok, d.ok, again.ok], [true, false, true, true, false]);
    assert.deepEqual([c.revision, u.revision, d.revision], [base + 1, base + 2, base + 3]);
    assert.equal(dup.kv?.value, 'v1');
    assert.equal(d.kv?.value, 'v2');
    assert.equal((await b.get(k)).kv, undefined);
    assert.equal(await b.currentRevision(), base + 3);
  });

  it('keeps data, revisions and the compacted revision across a restart', async () => {
    let b = await start();
    await b.create('/registry/a', '1');
    const c = await b.create('/registry/b', '2');
    await b.compact(c.revision);
    const d = await b.delete('/registry/b');
    await b.compact(d.revision); // removes the newest row (a tombstone): the revision must not go back
    await b.close();
    open.length = 0;
    b = await start();
    assert.equal(await b.currentRevision(), d.revision);
    assert.equal(await b.compactedRevision(), d.revision);
    assert.equal((await b.get('/registry/a')).kv?.value, '1');
    assert.equal((await b.get('/registry/b')).kv, undefined);
    const next = await b.create('/registry/c', '3');
    assert.equal(next.revision, d.revision + 1);
  });

  it('lists every key for the empty prefix', async () => {
    const b = await start();
    await b.create('/registry/x', '1');
    await b.create('compact_rev_key', '2');
    await b.create('\u00e9t\u00e9', '3');
    assert.deepEqual(
      (await b.list('')).kvs.map((kv) => kv.value),
      ['1', '2', '3'],
    );
    assert.equal((await b.count('')).count, 3);
  });

  it('refuses a second open of the same file', async () => {
    await start();
    const second = new SqliteBackend({ path });
    await assert.rejects(
      second.start(),
      (err: Error) => err instanceof UnavailableError && /another skiff server/.test(err.message),
    );
  });

  it('close ends watches with UnavailableError and rejects later calls', async () => {
    const b = await start();
    let err: Error | undefined;
    b.watch('/registry/', 0, { onEvents: () => undefined, onError: (e) => (err = e) });
    await b.close();
    assert.ok(err instanceof UnavailableError);
    await assert.rejects(b.create('/registry/a', 'x'), UnavailableError);
    await assert.rejects(b.get('/registry/a'), UnavailableError);
  });

  it('routes events to many watchers by prefix', async () => {
    const b = await start();
    const got = new Map<string, WatchEvent[]>();
    for (let i = 0; i < 300; i++) {
      const prefix = `/registry/r${i}/`;
      got.set(prefix, []);
      b.watch(prefix, 0, { onEvents: (evs) => got.get(prefix)!.push(...evs), onError: (e) => assert.fail(e) });
    }
    const all: WatchEvent[] = [];
    b.watch('/registry/', 0, { onEvents: (evs) => all.push(...evs), onError: (e) => assert.fail(e) });
    await Promise.all(Array.from({ length: 600 }, (_, i) => b.create(`/registry/r${i % 300}/k${i}`, 'x')));
    for (const [prefix, evs] of got) {
      assert.equal(evs.length, 2, prefix);
      for (const ev of evs) assert.ok(ev.kv.key.startsWith(prefix));
    }
    assert.equal(all.length, 600);
    assert.equal(b.watchCount, 301);
  });

  it('replays many pages of history while writes continue, without gap or duplicate', async () => {
    const b = await start();
    const from = (await b.create('/registry/p/first', 'x')).revision; // 0 would mean "from now"
    for (let i = 0; i < 12; i++)
      await Promise.all(Array.from({ length: 100 }, (_, j) => b.create(`/registry/p/k${i}-${j}`, 'x')));
    const seen: number[] = [];
    b.watch('/registry/p/', from, {
      onEvents: (evs) => seen.push(...evs.map((e) => e.kv.modRevision)),
      onError: (e) => assert.fail(e),
    });
    const more = await Promise.all(Array.from({ length: 100 }, (_, j) => b.create(`/registry/p/late${j}`, 'x')));
    const last = Math.max(...more.map((r) => r.revision));
    await eventually('the last write seen', () => seen[seen.length - 1] === last, { everyMs: 10 });
    assert.equal(seen.length, last - from);
    seen.forEach((rev, i) => assert.equal(rev, from + 1 + i));
  });

  it('a compaction racing a replay ends the watch with CompactedError', async () => {
    const b = await start();
    const from = (await b.create('/registry/p/first', 'x')).revision; // 0 would mean "from now"
    for (let i = 0; i < 20; i++) await b.create(`/registry/p/k${i}`, 'x');
    let err: Error | undefined;
    b.watch('/registry/p/', from, { onEvents: () => undefined, onError: (e) => (err = e) });
    await b.compact(await b.currentRevision());
    await new Promise((r) => setImmediate(r));
    assert.ok(err instanceof CompactedError, `got ${err?.message}`);
  });

  it('the periodic compactor drops superseded history and tombstones and the WAL gets truncated', async () => {
    const b = await start({ compactIntervalMs: 50, compactRetain: 10, checkpointIntervalMs: 50 });
    let rev = (await b.create('/registry/hot', '0')).revision;
    for (let i = 1; i <= 300; i++) rev = (await b.update('/registry/hot', String(i), rev)).revision;
    for (let i = 0; i < 50; i++) await b.create(`/registry/tmp${i}`, 'x');
    for (let i = 0; i < 50; i++) await b.delete(`/registry/tmp${i}`);
    for (let i = 0; i < 20; i++) rev = (await b.update('/registry/hot', `z${i}`, rev)).revision;
    const current = await b.currentRevision();
    await eventually('compacted', async () => (await b.compactedRevision()) >= current - 10);
    assert.equal(await b.compactedRevision(), current - 10);
    // a checkpoint after the compaction truncates the WAL
    await eventually('the WAL truncated', () => statSync(`${path}-wal`).size === 0);
    assert.equal((await b.get('/registry/hot')).kv?.value, 'z19');
    await b.close();
    const rows = rawRows('SELECT revision, key, deleted FROM log ORDER BY revision') as {
      revision: number;
      key: string;
      deleted: number;
    }[];
    // the newest row at or below the compacted revision plus the 10 newer ones; no tombstone survives
    assert.equal(rows.length, 11);
    assert.ok(rows.every((r) => r.key === '/registry/hot' && r.deleted === 0));
    assert.deepEqual(rawRows('SELECT name, value FROM meta ORDER BY name'), [
      { name: 'compact_done', value: current - 10 },
      { name: 'compact_rev', value: current - 10 },
    ]);
  });

  it('get, list and count at the latest revision are index lookups', async () => {
    const b = await start();
    await b.create('/registry/pods/a', 'x');
    const st = (b as unknown as { st: Record<string, { source: string }> }).st;
    const db = (b as unknown as { db: Database.Database }).db;
    const plans: Record<string, unknown[]> = {
      getLatest: ['/registry/pods/a'],
      listLatestFrom: ['/registry/pods/', '/registry/pods0', 10],
      listLatestAfter: ['/registry/pods/a', '/registry/pods0', 10],
      count: ['/registry/pods/', '/registry/pods0'],
      getAt: ['/registry/pods/a', 1],
    };
    for (const [name, params] of Object.entries(plans)) {
      const plan = db.prepare(`EXPLAIN QUERY PLAN ${st[name].source}`).all(...params) as { detail: string }[];
      const scans = plan.filter(
        (p) => /^SCAN /.test(p.detail) && !/USING (COVERING )?INDEX|PRIMARY KEY/.test(p.detail),
      );
      assert.deepEqual(scans, [], `${name}: ${plan.map((p) => p.detail).join('; ')}`);
      assert.ok(
        plan.some((p) => /^SEARCH/.test(p.detail)),
        `${name} searches an index: ${plan.map((p) => p.detail).join('; ')}`,
      );
    }
  });

  /** a WAL sync the test completes (or fails) by hand */
  function heldSyncs() {
    const held: ((err: Error | null) => void)[] = [];
    return {
      syncFile: (_fd: number, done: (err: Error | null) => void) => void held.push(done),
      async next(): Promise<(err: Error | null) => void> {
        while (held.length === 0) await new Promise((r) => setImmediate(r));
        return held.shift()!;
      },
    };
  }

  const pending = async <T>(p: Promise<T>): Promise<boolean> => {
    let settled = false;
    p.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    return !settled;
  };

  it('acknowledges a write, publishes it and lets it be read only once its WAL sync is done', async () => {
    const syncs = heldSyncs();
    const b = await start({ syncFile: syncs.syncFile });
    const base = await b.currentRevision();
    const seen: WatchEvent[] = [];
    b.watch('/registry/pods/', 0, { onEvents: (evs) => seen.push(...evs), onError: () => undefined });
    const write = b.create('/registry/pods/a', 'v1');
    const release = await syncs.next();
    const read = b.get('/registry/pods/a');
    const listed = b.list('/registry/pods/');
    const history = b.watch('/registry/pods/', base, {
      onEvents: (evs) => seen.push(...evs),
      onError: () => undefined,
    });
    assert.ok(await pending(write), 'acknowledged before its sync');
    assert.ok(await pending(read), 'read before its sync');
    assert.ok(await pending(listed), 'listed before its sync');
    assert.equal(seen.length, 0, 'published before its sync');
    // committed meanwhile: covered by the next sync, not this one
    const second = b.create('/registry/pods/b', 'v2');
    release(null);
    assert.equal((await write).revision, base + 1);
    assert.equal((await read).kv?.value, 'v1');
    const l = await listed;
    assert.deepEqual([l.revision, l.kvs.map((kv) => kv.value)], [base + 1, ['v1']], 'read as of the synced revision');
    assert.deepEqual(
      seen.map((e) => e.kv.value),
      ['v1', 'v1'],
      'each watch once, after the sync',
    );
    assert.ok(await pending(second), 'the later write waits for its own sync');
    (await syncs.next())(null);
    assert.equal((await second).revision, base + 2);
    assert.equal((await b.get('/registry/pods/b')).kv?.value, 'v2');
    history.cancel();
  });

  it('a failed WAL sync fails its writes with the reason and stops the store', async () => {
    const syncs = heldSyncs();
    const b = await start({ syncFile: syncs.syncFile });
    let watchErr: Error | undefined;
    b.watch('/registry/', 0, { onEvents: () => undefined, onError: (e) => (watchErr = e) });
    const write = b.create('/registry/pods/a', 'v1');
    const fail = await syncs.next();
    const read = b.get('/registry/pods/a');
    fail(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await assert.rejects(
      write,
      (e: Error) => e instanceof UnavailableError && /syncing its write-ahead log failed \(EIO/.test(e.message),
    );
    await assert.rejects(read, UnavailableError);
    assert.ok(watchErr instanceof UnavailableError);
    await assert.rejects(b.create('/registry/pods/b', 'v'), /stopped: syncing its write-ahead log failed/);
    await assert.rejects(b.get('/registry/pods/b'), /stopped/);
    await assert.rejects(b.ping(), UnavailableError);
  });

  it('syncs the WAL file SQLite writes to, through checkpoints and restarts', async () => {
    for (let round = 0; round < 2; round++) {
      const synced: number[] = [];
      const b = await start({ syncFile: (fd, done) => (synced.push(fstatSync(fd).ino), done(null)) });
      for (let i = 0; i < 3; i++) {
        await b.create(`/registry/pods/r${round}-${i}`, 'x'.repeat(5000));
        b.checkpoint();
        await b.create(`/registry/pods/r${round}-${i}-after`, 'y');
      }
      const wal = statSync(`${path}-wal`).ino;
      assert.equal(synced.length, 6);
      assert.ok(
        synced.every((ino) => ino === wal),
        `every sync went to the WAL file in use (${wal}): ${synced.join(', ')}`,
      );
      await b.close();
      open.splice(open.indexOf(b), 1);
    }
  });
});
