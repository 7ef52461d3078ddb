/**
 * Dispatcher: ONE list + watch of the whole /registry/ prefix feeding every resource's cache, so that the caches
 * share one notion of progress (the revision of the last event seen by the store watch) and a consistent read can
 * wait for "the cache has caught up with the store" instead of reading the store.
 */
import type { Backend, Watch, WatchEvent } from '../storage/backend.ts';
import { ResourceCache, type CachedObject } from './cache.ts';

export const REGISTRY_PREFIX = '/registry/';

export class Dispatcher {
  private readonly caches: ResourceCache[] = [];
  private readonly byHead = new Map<string, ResourceCache>();
  private watch?: Watch;
  private waiters: { rev: number; resolve: () => void }[] = [];
  private stopped = false;
  private restarting = false;
  /** revision up to which every cache is complete */
  rev = 0;
  ready = false;
  private readyResolvers: (() => void)[] = [];
  onError?: (err: Error) => void;
  /** writes this process has in flight, by key: their event takes the written object instead of parsing the value */
  private readonly writing = new Map<string, { value: string; obj: any }>();
  /** caches added after the start while they are listed: the events that came meanwhile, applied once listed */
  private readonly filling = new Map<ResourceCache, { type: 'PUT' | 'DELETE'; cur: CachedObject }[]>();
  private started = false;
  /** the (re)lists so far: a cache being filled that a relist filled meanwhile keeps what the relist gave it */
  private lists = 0;

  constructor(private readonly backend: Backend) {}

  /** register a cache for a key prefix such as /registry/pods/ or /registry/services/specs/ (before the start) */
  register(cache: ResourceCache): void {
    this.caches.push(cache);
    this.byHead.set(cache.prefix, cache);
  }

  /**
   * a cache for a prefix from now on: before the start it is listed with the others; after, it is listed at the
   * revision the caches have reached, and the events that come meanwhile are applied after that list
   */
  async add(cache: ResourceCache): Promise<void> {
    this.register(cache);
    if (!this.started) return;
    // a relist under way lists only the caches there when it began
    await this.whenReady();
    const pending: { type: 'PUT' | 'DELETE'; cur: CachedObject }[] = [];
    this.filling.set(cache, pending);
    const rev = this.rev;
    const lists = this.lists;
    try {
      const items = await this.listPrefix(cache.prefix, rev);
      if (lists === this.lists) cache.reset(items, rev);
      for (const e of pending) if (e.cur.rev > cache.rev) cache.apply(e.type, e.cur);
      if (cache.rev < this.rev) cache.rev = this.rev;
    } catch (e) {
      this.remove(cache, 'the watch cache could not be filled');
      throw e;
    } finally {
      this.filling.delete(cache);
    }
  }

  /** stop feeding a cache; its watchers are ended with reason */
  remove(cache: ResourceCache, reason: string): void {
    const i = this.caches.indexOf(cache);
    if (i >= 0) this.caches.splice(i, 1);
    if (this.byHead.get(cache.prefix) === cache) this.byHead.delete(cache.prefix);
    cache.terminateAll(reason);
  }

  /** every object under a prefix at a revision, page by page */
  private async listPrefix(prefix: string, revision: number): Promise<CachedObject[]> {
    const out: CachedObject[] = [];
    let startAfter = '';
    for (;;) {
      const page = await this.backend.list(prefix, { startAfter, revision, limit: 5000 });
      for (const kv of page.kvs) out.push(ResourceCache.decode(kv.key, kv.value, kv.modRevision));
      if (!page.more || page.kvs.length === 0) return out;
      startAfter = page.kvs[page.kvs.length - 1].key;
    }
  }

  /** the cache owning key: heads are /registry/<a>/ or /registry/<a>/<b>/ */
  route(key: string): ResourceCache | undefined {
    const i1 = key.indexOf('/', REGISTRY_PREFIX.length);
    if (i1 < 0) return undefined;
    const c = this.byHead.get(key.slice(0, i1 + 1));
    if (c) return c;
    const i2 = key.indexOf('/', i1 + 1);
    return i2 < 0 ? undefined : this.byHead.get(key.slice(0, i2 + 1));
  }

  async start(): Promise<void> {
    this.started = true;
    await this.resync();
  }

  /**
   * obj is being written under key as value (its JSON, without resourceVersion) and stays unchanged until forget():
   * if the store's event for it comes meanwhile, the cache builds its entry from obj instead of parsing value
   */
  expect(key: string, value: string, obj: any): void {
    this.writing.set(key, { value, obj });
  }

  /** the write of value under key is over (the caller may change its object again) */
  forget(key: string, value: string): void {
    if (this.writing.get(key)?.value === value) this.writing.delete(key);
  }

  whenReady(): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise((r) => this.readyResolvers.push(r));
  }

  private async resync(): Promise<void> {
    // list everything at one revision, page by page, for the caches there now (one added meanwhile lists itself)
    const perCache = new Map<ResourceCache, CachedObject[]>();
    for (const c of this.caches) perCache.set(c, []);
    let startAfter = '';
    let rev = 0;
    for (;;) {
      const page = await this.backend.list(REGISTRY_PREFIX, { startAfter, revision: rev, limit: 5000 });
      rev = page.revision;
      for (const kv of page.kvs) {
        const c = this.route(kv.key);
        if (c) perCache.get(c)?.push(ResourceCache.decode(kv.key, kv.value, kv.modRevision));
      }
      if (!page.more || page.kvs.length === 0) break;
      startAfter = page.kvs[page.kvs.length - 1].key;
    }
    for (const [c, objects] of perCache) {
      c.terminateAll('the watch cache was re-listed');
      c.reset(objects, rev);
    }
    this.lists++;
    this.advance(rev);
    this.watch = this.backend.watch(REGISTRY_PREFIX, rev, {
      onEvents: (events) => this.onEvents(events),
      onError: (err) => this.onWatchError(err),
    });
    this.ready = true;
    for (const r of this.readyResolvers.splice(0)) r();
  }

  /** true while a batch of store events is being fanned out */
  dispatching = false;
  private readonly batchEnd = new Set<() => void>();

  /** run fn once the batch being fanned out is done (watchers send what they held back during it) */
  afterBatch(fn: () => void): void {
    this.batchEnd.add(fn);
  }

  private onEvents(events: WatchEvent[]): void {
    this.dispatching = true;
    try {
      this.dispatch(events);
    } finally {
      this.dispatching = false;
      for (const fn of this.batchEnd) fn();
      this.batchEnd.clear();
    }
  }

  private dispatch(events: WatchEvent[]): void {
    let last = this.rev;
    for (const ev of events) {
      const rev = ev.kv.modRevision;
      const c = this.route(ev.kv.key);
      if (c) {
        const value = ev.type === 'DELETE' ? (ev.prevKv?.value ?? ev.kv.value) : ev.kv.value;
        let cur: CachedObject;
        try {
          const w = ev.type === 'PUT' && this.writing.size > 0 ? this.writing.get(ev.kv.key) : undefined;
          cur =
            w !== undefined && w.value === value
              ? ResourceCache.fromWritten(ev.kv.key, value, rev, w.obj)
              : ResourceCache.decode(ev.kv.key, value, rev);
        } catch {
          continue; // a value that is not JSON is not ours; never let it break the stream
        }
        const filling = this.filling.size > 0 ? this.filling.get(c) : undefined;
        if (filling) filling.push({ type: ev.type, cur });
        else c.apply(ev.type, cur);
      }
      if (rev > last) last = rev;
    }
    // a cache being filled has come as far as its list and what it applied
    const filling = this.filling.size > 0;
    for (const c of this.caches) if (c.rev < last && !(filling && this.filling.has(c))) c.rev = last;
    this.advance(last);
  }

  private advance(rev: number): void {
    if (rev > this.rev) this.rev = rev;
    if (this.waiters.length === 0) return;
    const still: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (w.rev <= this.rev) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  private onWatchError(err: Error): void {
    if (this.stopped || this.restarting) return;
    this.restarting = true;
    this.ready = false;
    this.onError?.(err);
    this.watch?.cancel();
    const retry = async (delay: number): Promise<void> => {
      if (this.stopped) return;
      try {
        await this.resync();
        this.restarting = false;
      } catch (e) {
        this.onError?.(e as Error);
        setTimeout(() => void retry(Math.min(delay * 2, 5000)), delay).unref();
      }
    };
    void retry(100);
  }

  /** resolve once every cache has seen all events up to rev; false on timeout */
  waitFor(rev: number, timeoutMs: number): Promise<boolean> {
    if (this.rev >= rev) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      const waiter = {
        rev,
        resolve: () => {
          clearTimeout(t);
          resolve(true);
        },
      };
      this.waiters.push(waiter);
    });
  }

  stop(): void {
    this.stopped = true;
    this.watch?.cancel();
    for (const c of this.caches) c.terminateAll('the API server is shutting down');
  }
}
