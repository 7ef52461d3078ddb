/**
 * The embedded storage driver: a revision log in one SQLite file (WAL mode), owned by this process alone. This
 * process is the single writer, so revisions are assigned inside the write transaction from an in-memory counter and
 * watch events are published in revision order, with no gap.
 *
 * Writes are group-committed: every write queued during one turn of the event loop runs in a single transaction,
 * in arrival order, so a guarded update sees the effect of an earlier op in the same batch exactly as it would in
 * its own transaction. A write is acknowledged, and its events published, only once the WAL holding it is on disk:
 * SQLite commits without syncing (synchronous=NORMAL, which still syncs around every checkpoint) and the WAL file is
 * then fdatasync'd on a libuv thread, one sync at a time covering every transaction committed before it began. The
 * event loop goes on parsing and committing the next requests while the disk syncs, which a sync inside the commit
 * (synchronous=FULL) would block. Nothing reads what is not yet on disk: reads wait for the sync covering the
 * revision they start at and read as of it, and watches replay history only up to the synced revision.
 */
import { closeSync, fdatasync, fsyncSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import {
  CompactedError,
  FutureRevisionError,
  UnavailableError,
  type Backend,
  type KeyValue,
  type ListOptions,
  type ListResult,
  type Watch,
  type WatchEvent,
  type WatchHandlers,
  type WriteResult,
} from '../backend.ts';
import { isPinned, prefixEnd } from '../keyrange.ts';
import { ensureSchema, readLastRevision, readMeta } from './schema.ts';
import { WatcherHub, type Subscriber } from './watchers.ts';

export interface SqliteOptions {
  /** absolute path of the database file; its folder is created when missing */
  path: string;
  /** how often the periodic compactor runs (ms); 0 disables it. Default 5 minutes */
  compactIntervalMs?: number;
  /** revisions of history the periodic compactor keeps. Default 1000 */
  compactRetain?: number;
  /** how often the WAL is checkpointed and truncated (ms); 0 disables it. Default 60 s */
  checkpointIntervalMs?: number;
  /** most writes committed in one transaction. Default 1000 */
  maxBatch?: number;
  /** how the WAL file is made durable before writes are acknowledged. Default fs.fdatasync (tests hold or fail it) */
  syncFile?: (fd: number, done: (err: Error | null) => void) => void;
}

/** a key greater than every TEXT key: SQLite orders every TEXT value before any BLOB */
const ABOVE_ALL_KEYS = Buffer.from([0xff]);
/** log rows read per step when a watch replays history */
const REPLAY_PAGE = 500;
/** revisions whose superseded rows are removed per compaction transaction */
const COMPACT_STEP = 1000;

interface Row {
  revision: number;
  key: string;
  value: string;
  create_revision: number;
  deleted?: number;
}

interface ReplayRow extends Row {
  deleted: number;
  p_revision: number | null;
  p_value: string | null;
  p_create_revision: number | null;
}

type WriteOp =
  | { kind: 'create'; key: string; value: string }
  | { kind: 'update'; key: string; value: string; expected: number }
  | { kind: 'delete'; key: string; expected: number };

interface Pending {
  op: WriteOp;
  resolve: (r: WriteResult) => void;
  reject: (e: Error) => void;
}

/** a committed transaction waiting for the WAL sync that makes it durable */
interface Committed {
  /** the last revision it assigned */
  rev: number;
  batch: Pending[];
  results: WriteResult[];
  events: WatchEvent[];
}

function toKv(r: Row): KeyValue {
  return { key: r.key, value: r.value, createRevision: r.create_revision, modRevision: r.revision };
}

function replayEvent(r: ReplayRow): WatchEvent {
  const prevKv: KeyValue | undefined =
    r.p_revision === null
      ? undefined
      : { key: r.key, value: r.p_value ?? '', createRevision: r.p_create_revision ?? 0, modRevision: r.p_revision };
  if (r.deleted) {
    return {
      type: 'DELETE',
      kv: { key: r.key, value: prevKv?.value ?? '', createRevision: r.create_revision, modRevision: r.revision },
      prevKv,
    };
  }
  return prevKv ? { type: 'PUT', kv: toKv(r), prevKv } : { type: 'PUT', kv: toKv(r) };
}

function keyRange(prefix: string): { lo: string; hi: string | Buffer } {
  return { lo: prefix, hi: prefixEnd(prefix) ?? ABOVE_ALL_KEYS };
}

const SELECT_KV = 'SELECT l.revision, l.key, l.value, l.create_revision FROM';

function prepareAll(db: Database.Database) {
  const latestList = (lower: string) =>
    db.prepare(
      `${SELECT_KV} live c JOIN log l ON l.revision = c.revision WHERE c.key ${lower} ? AND c.key < ? ORDER BY c.key LIMIT ?`,
    );
  const pinnedList = (lower: string) =>
    db.prepare(
      `${SELECT_KV} (SELECT key AS k, MAX(revision) AS r FROM log WHERE key ${lower} ? AND key < ? AND revision <= ? GROUP BY key) m
       JOIN log l ON l.revision = m.r WHERE l.deleted = 0 ORDER BY m.k LIMIT ?`,
    );
  return {
    getLatest: db.prepare(`${SELECT_KV} live c JOIN log l ON l.revision = c.revision WHERE c.key = ?`),
    getAt: db.prepare(
      'SELECT revision, key, value, create_revision, deleted FROM log WHERE key = ? AND revision <= ? ORDER BY revision DESC LIMIT 1',
    ),
    listLatestFrom: latestList('>='),
    listLatestAfter: latestList('>'),
    listAtFrom: pinnedList('>='),
    listAtAfter: pinnedList('>'),
    count: db.prepare('SELECT count(*) AS n FROM live WHERE key >= ? AND key < ?'),
    insertLog: db.prepare(
      'INSERT INTO log (revision, key, value, create_revision, prev_revision, deleted) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    upsertLive: db.prepare(
      'INSERT INTO live (key, revision) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET revision = excluded.revision',
    ),
    deleteLive: db.prepare('DELETE FROM live WHERE key = ?'),
    replay: db.prepare(
      `SELECT l.revision, l.key, l.value, l.create_revision, l.deleted,
              p.revision AS p_revision, p.value AS p_value, p.create_revision AS p_create_revision
       FROM log l LEFT JOIN log p ON p.revision = l.prev_revision
       WHERE l.revision > ? AND l.revision <= ? AND +l.key >= ? AND +l.key < ?
       ORDER BY l.revision LIMIT ?`,
    ),
    setMeta: db.prepare(
      'INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value',
    ),
    superseded: db
      .prepare('SELECT prev_revision AS p FROM log WHERE revision > ? AND revision <= ? AND prev_revision > 0')
      .pluck(),
    deleteRow: db.prepare('DELETE FROM log WHERE revision = ?'),
    deleteTombstones: db.prepare('DELETE FROM log WHERE revision > ? AND revision <= ? AND deleted = 1'),
    ping: db.prepare('SELECT 1').pluck(),
  };
}

type Statements = ReturnType<typeof prepareAll>;

export class SqliteBackend implements Backend {
  readonly name = 'sqlite';
  readonly path: string;
  private db?: Database.Database;
  private st!: Statements;
  private commitBatch!: (batch: Pending[], results: WriteResult[], events: WatchEvent[]) => void;
  private compactTx!: (from: number, to: number) => void;
  /** last revision assigned (committed, or inside the running transaction) */
  private rev = 0;
  private compactRev = 0;
  private compactDone = 0;
  private queue: Pending[] = [];
  private flushScheduled = false;
  /** the WAL file, opened after the first commit, synced before writes are acknowledged */
  private walFd?: number;
  /** committed, not yet synced: covered by the next sync */
  private unsynced: Committed[] = [];
  /** the sync in flight, if any; resolves once its writes are acknowledged */
  private syncing?: Promise<void>;
  /** every revision up to this one is on disk */
  private syncedRev = 0;
  /** reads waiting for a revision to be on disk */
  private syncWaiters: { rev: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  /** set when a WAL sync failed: the store refuses everything from then on */
  private broken?: UnavailableError;
  private closing = false;
  private readonly hub = new WatcherHub();
  private compaction: Promise<void> = Promise.resolve();
  private timers: NodeJS.Timeout[] = [];
  private readonly opts: Required<Omit<SqliteOptions, 'path'>>;

  constructor(options: SqliteOptions) {
    this.path = options.path;
    this.opts = {
      compactIntervalMs: options.compactIntervalMs ?? 5 * 60_000,
      compactRetain: options.compactRetain ?? 1000,
      checkpointIntervalMs: options.checkpointIntervalMs ?? 60_000,
      maxBatch: options.maxBatch ?? 1000,
      syncFile: options.syncFile ?? fdatasync,
    };
  }

  async start(): Promise<void> {
    if (this.db) return;
    let db: Database.Database | undefined;
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      db = new Database(this.path);
      db.pragma('busy_timeout = 2000');
      // one process owns the file: a second skiff on the same file fails here instead of forking the revision history
      db.pragma('locking_mode = EXCLUSIVE');
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new Error(`could not switch to WAL mode (got ${String(mode)})`);
      // commits do not sync; every write is synced (fdatasync of the WAL) before it is acknowledged, see flush()
      db.pragma('synchronous = NORMAL');
      db.pragma('journal_size_limit = 67108864');
      ensureSchema(db, this.path);
      this.rev = readLastRevision(db);
      this.syncedRev = this.rev;
      this.compactRev = readMeta(db, 'compact_rev');
      this.compactDone = Math.min(readMeta(db, 'compact_done'), this.compactRev);
      this.st = prepareAll(db);
    } catch (err) {
      db?.close();
      const msg = (err as Error).message;
      const hint = /locked|busy/i.test(msg) ? ' (is another skiff server using this data directory?)' : '';
      throw new UnavailableError(`cannot open the sqlite store at ${this.path}: ${msg}${hint}`, { cause: err });
    }
    this.db = db;
    this.closing = false;
    this.broken = undefined;
    this.commitBatch = db.transaction((batch: Pending[], results: WriteResult[], events: WatchEvent[]) => {
      for (const p of batch) results.push(this.apply(p.op, events));
    });
    this.compactTx = db.transaction((from: number, to: number) => {
      for (const rev of this.st.superseded.all(from, to) as number[]) this.st.deleteRow.run(rev);
      this.st.deleteTombstones.run(from, to);
      this.st.setMeta.run('compact_done', to);
    });
    if (this.compactDone < this.compactRev) this.compaction = this.compaction.then(() => this.removeCompacted());
    if (this.opts.compactIntervalMs > 0)
      this.timers.push(setInterval(() => this.periodicCompact(), this.opts.compactIntervalMs).unref());
    if (this.opts.checkpointIntervalMs > 0)
      this.timers.push(setInterval(() => this.checkpoint(), this.opts.checkpointIntervalMs).unref());
  }

  async close(): Promise<void> {
    const db = this.db;
    if (!db) return;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    // writes already queued are committed, and acknowledged once their sync is done; later ones are refused
    this.closing = true;
    while (this.queue.length > 0 || this.syncing) {
      if (this.queue.length > 0) this.flush();
      if (this.syncing) await this.syncing;
    }
    if (this.db !== db) return;
    this.stopServing(new UnavailableError(`the sqlite store at ${this.path} was closed`));
    await this.compaction.catch(() => undefined);
    this.closeWal();
    db.close();
  }

  async ping(): Promise<void> {
    this.read(() => this.st.ping.get());
  }

  async currentRevision(): Promise<number> {
    this.open();
    return this.rev;
  }

  async compactedRevision(): Promise<number> {
    this.open();
    return this.compactRev;
  }

  async get(key: string, revision?: number): Promise<{ revision: number; kv?: KeyValue }> {
    const at = await this.readRevision(revision);
    return this.read(() => {
      if (at === undefined) {
        const row = this.st.getLatest.get(key) as Row | undefined;
        return { revision: this.rev, kv: row && toKv(row) };
      }
      this.checkReadable(at);
      const row = this.st.getAt.get(key, at) as Row | undefined;
      return { revision: at, kv: row && !row.deleted ? toKv(row) : undefined };
    });
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    const at = await this.readRevision(opts.revision);
    return this.read(() => {
      const { lo, hi } = keyRange(prefix);
      const after = opts.startAfter !== undefined && opts.startAfter >= lo;
      const lower = after ? opts.startAfter! : lo;
      const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
      const sqlLimit = limit > 0 ? limit + 1 : -1;
      let rows: Row[];
      let revision: number;
      if (at === undefined) {
        revision = this.rev;
        rows = (after ? this.st.listLatestAfter : this.st.listLatestFrom).all(lower, hi, sqlLimit) as Row[];
      } else {
        revision = at;
        this.checkReadable(revision);
        rows = (after ? this.st.listAtAfter : this.st.listAtFrom).all(lower, hi, revision, sqlLimit) as Row[];
      }
      const more = limit > 0 && rows.length > limit;
      if (more) rows.length = limit;
      return { revision, kvs: rows.map(toKv), more };
    });
  }

  async count(prefix: string): Promise<{ revision: number; count: number }> {
    // a count has no revision to read at: it waits for what is committed to be on disk (writes may follow meanwhile)
    await this.whenSynced(this.rev);
    return this.read(() => {
      const { lo, hi } = keyRange(prefix);
      const row = this.st.count.get(lo, hi) as { n: number };
      return { revision: this.rev, count: row.n };
    });
  }

  create(key: string, value: string): Promise<WriteResult> {
    return this.enqueue({ kind: 'create', key, value });
  }

  update(key: string, value: string, expectedModRevision: number): Promise<WriteResult> {
    return this.enqueue({ kind: 'update', key, value, expected: expectedModRevision });
  }

  delete(key: string, expectedModRevision?: number): Promise<WriteResult> {
    return this.enqueue({ kind: 'delete', key, expected: expectedModRevision ?? 0 });
  }

  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Watch {
    const early = (err: Error): Watch => {
      let cancelled = false;
      setImmediate(() => cancelled || handlers.onError(err));
      return { cancel: () => void (cancelled = true) };
    };
    if (!this.db) return early(this.closedError());
    if (fromRevision > 0 && fromRevision < this.compactRev)
      return early(new CompactedError(fromRevision, this.compactRev));
    // history comes from the database up to what is on disk; later commits are published when their sync is done
    const after = fromRevision > 0 ? fromRevision : this.syncedRev;
    const s = this.hub.subscribe(prefix, after, handlers);
    if (after < this.syncedRev) {
      // history (after, synced] comes from the database; events published from now on are buffered until it is delivered
      s.replaying = true;
      const until = this.syncedRev;
      setImmediate(() => this.replayStep(s, fromRevision, after, until));
    }
    return { cancel: () => s.detach() };
  }

  compact(revision: number): Promise<void> {
    const run = this.compaction
      .catch(() => undefined)
      .then(async () => {
        this.open();
        if (revision > this.rev) throw new FutureRevisionError(revision, this.rev);
        // no read starts below what is on disk (see readRevision)
        await this.whenSynced(revision);
        if (revision > this.compactRev) {
          // reads below the new floor fail from now on, before any row is removed
          this.st.setMeta.run('compact_rev', revision);
          this.compactRev = revision;
        }
        await this.removeCompacted();
      });
    this.compaction = run;
    return run;
  }

  /** number of open watches (for metrics and tests) */
  get watchCount(): number {
    return this.hub.size;
  }

  // ---- internals ----

  private open(): Database.Database {
    if (!this.db) throw this.broken ?? this.closedError();
    return this.db;
  }

  private closedError(): UnavailableError {
    return new UnavailableError(`the sqlite store at ${this.path} is not open (not started, or closed)`);
  }

  private read<T>(fn: () => T): T {
    this.open();
    try {
      return fn();
    } catch (err) {
      if (err instanceof CompactedError || err instanceof FutureRevisionError) throw err;
      throw new UnavailableError(`reading the sqlite store at ${this.path} failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /**
   * the revision a read is served at, once everything up to it is on disk: the one asked for, or (none asked for)
   * the latest committed; undefined when that is still the latest, so that the cheaper queries of live rows serve it
   */
  private async readRevision(revision: number | undefined): Promise<number | undefined> {
    const at = isPinned(revision) ? revision : this.rev;
    if (at > this.syncedRev && at <= this.rev) await this.whenSynced(at);
    if (isPinned(revision)) return revision;
    // commits made while waiting are not on disk yet: read as of `at` or, if compaction has passed it since (never
    // beyond what is on disk), as of the synced revision
    const read = at < this.compactRev ? this.syncedRev : at;
    return read === this.rev ? undefined : read;
  }

  /** resolves once every revision up to rev is on disk (at once when it is) */
  private whenSynced(rev: number): Promise<void> {
    if (rev <= this.syncedRev) return Promise.resolve();
    if (!this.db) return Promise.reject(this.broken ?? this.closedError());
    return new Promise((resolve, reject) => this.syncWaiters.push({ rev, resolve, reject }));
  }

  private checkReadable(revision: number): void {
    if (revision > this.rev) throw new FutureRevisionError(revision, this.rev);
    if (revision < this.compactRev) throw new CompactedError(revision, this.compactRev);
  }

  private enqueue(op: WriteOp): Promise<WriteResult> {
    if (!this.db || this.closing) return Promise.reject(this.broken ?? this.closedError());
    if (typeof op.key !== 'string' || op.key === '')
      return Promise.reject(new TypeError('storage key must be a non-empty string'));
    if (op.kind !== 'delete' && typeof op.value !== 'string')
      return Promise.reject(new TypeError(`value for ${op.key} must be a string`));
    return new Promise((resolve, reject) => {
      this.queue.push({ op, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** commit queued writes as one transaction; they are acknowledged, and their events published, by the next sync */
  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue.length <= this.opts.maxBatch ? this.queue : this.queue.slice(0, this.opts.maxBatch);
    this.queue = batch === this.queue ? [] : this.queue.slice(batch.length);
    if (this.queue.length > 0) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    if (batch.length === 0) return;
    if (!this.db) {
      for (const p of batch) p.reject(this.broken ?? this.closedError());
      return;
    }
    const startRev = this.rev;
    const results: WriteResult[] = [];
    const events: WatchEvent[] = [];
    try {
      this.commitBatch(batch, results, events);
    } catch (err) {
      this.rev = startRev;
      const e = new UnavailableError(`writing to the sqlite store at ${this.path} failed: ${(err as Error).message}`, {
        cause: err,
      });
      for (const p of batch) p.reject(e);
      return;
    }
    if (this.walFd === undefined && !this.openWal()) {
      for (const p of batch) p.reject(this.broken!);
      return;
    }
    this.unsynced.push({ rev: this.rev, batch, results, events });
    if (!this.syncing) this.syncing = this.sync();
  }

  /** sync the WAL until nothing committed is left unsynced, acknowledging each group once it is on disk */
  private async sync(): Promise<void> {
    try {
      while (this.unsynced.length > 0) {
        const group = this.unsynced;
        this.unsynced = [];
        const err = await new Promise<Error | null>((resolve) => this.opts.syncFile(this.walFd!, resolve));
        if (err) {
          this.failStop(`syncing its write-ahead log failed (${err.message})`, err, group);
          return;
        }
        const synced = group[group.length - 1].rev;
        if (synced > this.syncedRev) this.syncedRev = synced;
        const events = group.length === 1 ? group[0].events : group.flatMap((c) => c.events);
        this.hub.publish(events);
        for (const c of group) for (let i = 0; i < c.batch.length; i++) c.batch[i].resolve(c.results[i]);
        if (this.syncWaiters.length > 0) {
          const still: typeof this.syncWaiters = [];
          for (const w of this.syncWaiters) {
            if (w.rev <= this.syncedRev) w.resolve();
            else still.push(w);
          }
          this.syncWaiters = still;
        }
      }
    } finally {
      this.syncing = undefined;
    }
  }

  /** open the WAL file (SQLite creates it with the first commit) and make its directory entry durable */
  private openWal(): boolean {
    try {
      this.walFd = openSync(`${this.path}-wal`, 'r');
      const dir = openSync(dirname(this.path), 'r');
      try {
        fsyncSync(dir);
      } finally {
        closeSync(dir);
      }
      return true;
    } catch (err) {
      this.failStop(`opening its write-ahead log failed (${(err as Error).message})`, err as Error, []);
      return false;
    }
  }

  private closeWal(): void {
    if (this.walFd === undefined) return;
    closeSync(this.walFd);
    this.walFd = undefined;
  }

  /**
   * The disk did not take what was committed: nothing written from here on could be made durable, so the store
   * stops (as databases do when fsync fails). Waiting writes fail with the reason, watches end, and the API server
   * reports the store unavailable until it is restarted.
   */
  private failStop(what: string, cause: Error, groups: Committed[]): void {
    const err = new UnavailableError(
      `the sqlite store at ${this.path} stopped: ${what}; restart skiff once the disk is healthy`,
      { cause },
    );
    this.broken = err;
    const waiting = [...groups, ...this.unsynced];
    this.unsynced = [];
    for (const c of waiting) for (const p of c.batch) p.reject(err);
    const db = this.db;
    this.stopServing(err);
    try {
      this.closeWal();
    } catch {
      // already failing
    }
    try {
      db?.close();
    } catch {
      // already failing
    }
  }

  /** no more reads, writes or upkeep: watches and reads waiting for a sync end with err (the caller closes the file) */
  private stopServing(err: Error): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.db = undefined;
    this.hub.failAll(err);
    for (const w of this.syncWaiters.splice(0)) w.reject(err);
  }

  /** one write inside the batch transaction */
  private apply(op: WriteOp, events: WatchEvent[]): WriteResult {
    const cur = this.st.getLatest.get(op.key) as Row | undefined;
    const curKv = cur && toKv(cur);
    if (op.kind === 'create') {
      if (curKv) return { ok: false, revision: this.rev, kv: curKv };
      const rev = ++this.rev;
      this.st.insertLog.run(rev, op.key, op.value, rev, 0, 0);
      this.st.upsertLive.run(op.key, rev);
      const kv: KeyValue = { key: op.key, value: op.value, createRevision: rev, modRevision: rev };
      events.push({ type: 'PUT', kv });
      return { ok: true, revision: rev, kv };
    }
    if (
      !curKv ||
      (op.expected > 0 && curKv.modRevision !== op.expected) ||
      (op.kind === 'update' && op.expected <= 0)
    ) {
      return curKv ? { ok: false, revision: this.rev, kv: curKv } : { ok: false, revision: this.rev };
    }
    const rev = ++this.rev;
    if (op.kind === 'update') {
      this.st.insertLog.run(rev, op.key, op.value, curKv.createRevision, curKv.modRevision, 0);
      this.st.upsertLive.run(op.key, rev);
      const kv: KeyValue = { key: op.key, value: op.value, createRevision: curKv.createRevision, modRevision: rev };
      events.push({ type: 'PUT', kv, prevKv: curKv });
      return { ok: true, revision: rev, kv };
    }
    this.st.insertLog.run(rev, op.key, '', curKv.createRevision, curKv.modRevision, 1);
    this.st.deleteLive.run(op.key);
    events.push({ type: 'DELETE', kv: { ...curKv, modRevision: rev }, prevKv: curKv });
    return { ok: true, revision: rev, kv: curKv };
  }

  private replayStep(s: Subscriber, requested: number, cursor: number, until: number): void {
    if (s.closed || !this.db) return;
    if (cursor < this.compactRev) {
      s.fail(new CompactedError(requested, this.compactRev));
      return;
    }
    const { lo, hi } = keyRange(s.prefix);
    let rows: ReplayRow[];
    try {
      rows = this.st.replay.all(cursor, until, lo, hi, REPLAY_PAGE) as ReplayRow[];
    } catch (err) {
      s.fail(
        new UnavailableError(
          `replaying history from the sqlite store at ${this.path} failed: ${(err as Error).message}`,
          { cause: err },
        ),
      );
      return;
    }
    s.deliver(rows.map(replayEvent));
    if (rows.length < REPLAY_PAGE) {
      s.goLive();
      return;
    }
    const next = rows[rows.length - 1].revision;
    setImmediate(() => this.replayStep(s, requested, next, until));
  }

  /** remove rows below the compacted revision in small transactions, yielding to the event loop in between */
  private async removeCompacted(): Promise<void> {
    while (this.db && this.compactDone < this.compactRev) {
      const from = this.compactDone;
      const to = Math.min(from + COMPACT_STEP, this.compactRev);
      this.compactTx(from, to);
      this.compactDone = to;
      await new Promise((r) => setImmediate(r));
    }
  }

  private periodicCompact(): void {
    const target = this.syncedRev - this.opts.compactRetain;
    if (!this.db || target <= this.compactRev) return;
    this.compact(target).catch((err) => {
      process.emitWarning(`periodic compaction of ${this.path} failed: ${(err as Error).message}`);
    });
  }

  /** fold the WAL back into the database file and truncate it */
  checkpoint(): void {
    if (!this.db) return;
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (err) {
      process.emitWarning(`checkpointing ${this.path} failed: ${(err as Error).message}`);
    }
  }
}
