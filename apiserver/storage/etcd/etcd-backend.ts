/**
 * The etcd storage driver: skiff's keys map 1:1 onto etcd keys (/registry/...), a key's mod_revision is its
 * resourceVersion, guarded writes are etcd transactions comparing create/mod revisions, and watches are etcd watches
 * with prev_kv. The compacted revision is recorded in the key "compact_rev_key" (outside /registry/), where the
 * Kubernetes API server's compactor keeps it too.
 */
import { Etcd3, type IKeyValue, type IRequestOp, type ITxnResponse } from 'etcd3';
import {
  CompactedError,
  FutureRevisionError,
  UnavailableError,
  type Backend,
  type KeyValue,
  type ListOptions,
  type ListResult,
  type Watch,
  type WatchHandlers,
  type WriteResult,
} from '../backend.ts';
import { isPinned, prefixEnd } from '../keyrange.ts';
import { kvFromEtcd, startWatch } from './watch-stream.ts';

export const COMPACT_REV_KEY = 'compact_rev_key';
/** range_end "\0" means every key at or above the start key */
const ALL_ABOVE = Buffer.from([0]);
const CALL_TIMEOUT_MS = 10_000;

export interface EtcdOptions {
  /** host:port pairs */
  endpoints: string[];
}

/** parse etcd://host:port[,host:port...] */
export function parseEtcdUrl(url: string): EtcdOptions {
  const m = /^etcd:\/\/([^/?#]+)\/?$/.exec(url);
  if (!m) throw new Error(`invalid etcd store URL "${url}": expected etcd://host:port[,host:port...]`);
  const endpoints = m[1].split(',').map((e) => e.trim());
  for (const e of endpoints) {
    if (!/^[^:\s]+:\d{1,5}$/.test(e) && !/^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(e)) {
      throw new Error(`invalid etcd endpoint "${e}" in store URL "${url}": expected host:port`);
    }
  }
  return { endpoints };
}

function rangeOf(prefix: string): { key: Buffer; end: Buffer } {
  const end = prefixEnd(prefix);
  return { key: Buffer.from(prefix), end: end === undefined ? ALL_ABOVE : Buffer.from(end) };
}

export class EtcdBackend implements Backend {
  readonly name = 'etcd';
  private client?: Etcd3;
  private readonly where: string;
  /** highest compacted revision this process has seen (from the record, compaction or errors) */
  private knownCompacted = 0;

  constructor(private readonly opts: EtcdOptions) {
    this.where = opts.endpoints.join(',');
  }

  async start(): Promise<void> {
    if (this.client) return;
    this.client = new Etcd3({
      hosts: this.opts.endpoints.map((e) => `http://${e}`),
      dialTimeout: 5000,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + CALL_TIMEOUT_MS }),
    });
    try {
      await this.ping();
    } catch (err) {
      this.client.close();
      this.client = undefined;
      throw err;
    }
  }

  async close(): Promise<void> {
    this.client?.close();
    this.client = undefined;
  }

  async ping(): Promise<void> {
    const c = this.etcd();
    await this.call('status', () => c.maintenance.status());
  }

  async currentRevision(): Promise<number> {
    const c = this.etcd();
    const res = await this.call('range', () => c.kv.range({ key: Buffer.from(COMPACT_REV_KEY), count_only: true }));
    return Number(res.header.revision);
  }

  async compactedRevision(): Promise<number> {
    const c = this.etcd();
    const res = await this.call('range', () => c.kv.range({ key: Buffer.from(COMPACT_REV_KEY) }));
    const stored = res.kvs.length > 0 ? Number(res.kvs[0].value.toString('utf8')) || 0 : 0;
    if (stored > this.knownCompacted) this.knownCompacted = stored;
    return this.knownCompacted;
  }

  async get(key: string, revision?: number): Promise<{ revision: number; kv?: KeyValue }> {
    const c = this.etcd();
    const pinned = isPinned(revision) ? revision : 0;
    const res = await this.call(
      'range',
      () => c.kv.range({ key: Buffer.from(key), revision: pinned || undefined }),
      pinned,
    );
    return {
      revision: pinned || Number(res.header.revision),
      kv: res.kvs.length > 0 ? kvFromEtcd(res.kvs[0]) : undefined,
    };
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    const c = this.etcd();
    const { key, end } = rangeOf(prefix);
    const from = opts.startAfter !== undefined && opts.startAfter >= prefix ? Buffer.from(opts.startAfter + '\0') : key;
    const pinned = isPinned(opts.revision) ? opts.revision : 0;
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    const res = await this.call(
      'range',
      () => c.kv.range({ key: from, range_end: end, revision: pinned || undefined, limit: limit || undefined }),
      pinned,
    );
    return { revision: pinned || Number(res.header.revision), kvs: res.kvs.map(kvFromEtcd), more: !!res.more };
  }

  async count(prefix: string): Promise<{ revision: number; count: number }> {
    const c = this.etcd();
    const { key, end } = rangeOf(prefix);
    const res = await this.call('range', () => c.kv.range({ key, range_end: end, count_only: true }));
    return { revision: Number(res.header.revision), count: Number(res.count) };
  }

  async create(key: string, value: string): Promise<WriteResult> {
    const k = Buffer.from(key);
    const res = await this.txn(k, { result: 'Equal', target: 'Create', key: k, create_revision: 0 }, [
      { request_put: { key: k, value: Buffer.from(value) } },
    ]);
    const revision = Number(res.header.revision);
    if (!res.succeeded) return this.failed(res);
    return { ok: true, revision, kv: { key, value, createRevision: revision, modRevision: revision } };
  }

  async update(key: string, value: string, expectedModRevision: number): Promise<WriteResult> {
    if (!(expectedModRevision > 0)) {
      const cur = await this.get(key);
      return cur.kv ? { ok: false, revision: cur.revision, kv: cur.kv } : { ok: false, revision: cur.revision };
    }
    const k = Buffer.from(key);
    const res = await this.txn(k, { result: 'Equal', target: 'Mod', key: k, mod_revision: expectedModRevision }, [
      { request_put: { key: k, value: Buffer.from(value), prev_kv: true } },
    ]);
    if (!res.succeeded) return this.failed(res);
    const revision = Number(res.header.revision);
    const prev = res.responses[0]?.response_put?.prev_kv;
    const createRevision = prev ? Number(prev.create_revision) : revision;
    return { ok: true, revision, kv: { key, value, createRevision, modRevision: revision } };
  }

  async delete(key: string, expectedModRevision?: number): Promise<WriteResult> {
    const c = this.etcd();
    const k = Buffer.from(key);
    if (!expectedModRevision) {
      const res = await this.call('deleteRange', () => c.kv.deleteRange({ key: k, prev_kv: true }));
      const revision = Number(res.header.revision);
      const prev = res.prev_kvs[0];
      return prev ? { ok: true, revision, kv: kvFromEtcd(prev) } : { ok: false, revision };
    }
    const res = await this.txn(k, { result: 'Equal', target: 'Mod', key: k, mod_revision: expectedModRevision }, [
      { request_delete_range: { key: k, prev_kv: true } },
    ]);
    if (!res.succeeded) return this.failed(res);
    const prev = res.responses[0]?.response_delete_range?.prev_kvs?.[0];
    const revision = Number(res.header.revision);
    return prev ? { ok: true, revision, kv: kvFromEtcd(prev) } : { ok: false, revision };
  }

  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Watch {
    if (!this.client) {
      let cancelled = false;
      setImmediate(() => cancelled || handlers.onError(this.notStarted()));
      return { cancel: () => void (cancelled = true) };
    }
    const { key, end } = rangeOf(prefix);
    return startWatch(
      this.client,
      this.where,
      { key, rangeEnd: end, fromRevision },
      {
        onEvents: handlers.onEvents,
        onError: (err) => {
          if (err instanceof CompactedError && err.compacted > this.knownCompacted) this.knownCompacted = err.compacted;
          handlers.onError(err);
        },
      },
    );
  }

  async compact(revision: number): Promise<void> {
    const c = this.etcd();
    try {
      await this.call('compact', () => c.kv.compact({ revision, physical: true }), revision);
    } catch (err) {
      if (!(err instanceof CompactedError)) throw err;
      // already compacted at or past revision: nothing to do
    }
    await this.recordCompacted(revision);
  }

  // ---- internals ----

  private etcd(): Etcd3 {
    if (!this.client) throw this.notStarted();
    return this.client;
  }

  private notStarted(): UnavailableError {
    return new UnavailableError(`the etcd store at ${this.where} is not connected (not started, or closed)`);
  }

  /** run one etcd call, mapping its failures to the storage errors */
  private async call<T>(what: string, fn: () => Promise<T>, requested = 0): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const msg = (err as Error).message ?? String(err);
      if (/required revision has been compacted/.test(msg)) {
        const recorded = await this.compactedRevision().catch(() => this.knownCompacted);
        throw new CompactedError(requested, Math.max(recorded, requested + 1));
      }
      if (/required revision is a future revision/.test(msg)) {
        const cur = await this.currentRevision().catch(() => 0);
        throw new FutureRevisionError(requested, cur);
      }
      throw new UnavailableError(
        `etcd ${what} at ${this.where} failed: ${msg} (check that etcd is running and reachable)`,
        { cause: err },
      );
    }
  }

  private txn(
    key: Buffer,
    compare: {
      result: 'Equal';
      target: 'Create' | 'Mod';
      key: Buffer;
      create_revision?: number;
      mod_revision?: number;
    },
    success: IRequestOp[],
  ): Promise<ITxnResponse> {
    const c = this.etcd();
    return this.call('txn', () => c.kv.txn({ compare: [compare], success, failure: [{ request_range: { key } }] }));
  }

  /** a guard mismatch: report the current kv read by the failure branch */
  private failed(res: ITxnResponse): WriteResult {
    const revision = Number(res.header.revision);
    const kvs: IKeyValue[] = res.responses[0]?.response_range?.kvs ?? [];
    return kvs.length > 0 ? { ok: false, revision, kv: kvFromEtcd(kvs[0]) } : { ok: false, revision };
  }

  /** store the compacted revision in compact_rev_key unless a newer one is already there */
  private async recordCompacted(revision: number): Promise<void> {
    const c = this.etcd();
    const k = Buffer.from(COMPACT_REV_KEY);
    if (revision > this.knownCompacted) this.knownCompacted = revision;
    for (let attempt = 0; attempt < 5; attempt++) {
      const cur = await this.call('range', () => c.kv.range({ key: k }));
      const kv = cur.kvs[0];
      if (kv && Number(kv.value.toString('utf8')) >= revision) return;
      const res = await this.call('txn', () =>
        c.kv.txn({
          compare: [{ result: 'Equal', target: 'Mod', key: k, mod_revision: kv ? kv.mod_revision : 0 }],
          success: [{ request_put: { key: k, value: Buffer.from(String(revision)) } }],
        }),
      );
      if (res.succeeded) return;
    }
  }
}
