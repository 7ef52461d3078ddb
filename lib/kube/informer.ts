/**
 * An informer: list + watch of one resource into a local cache, with event handlers and indexes, as client-go's
 * shared informers. The watch restarts on any error from the last resourceVersion seen; a 410 (the version is
 * compacted) relists and turns the difference into add/update/delete events. hasSynced() and health() are the signal
 * a component's readiness is built on.
 */
import type { ApiClient, WatchEvent, WatchHandle } from './api.ts';
import { ApiError } from './api.ts';
import { keyOf, type KubeObject } from './object.ts';
import { apiVersionOf, type Resource } from './resources.ts';
import type { Status } from './types/meta.ts';

export interface EventHandler<T extends KubeObject> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  /** the last state known of the object */
  onDelete?(obj: T): void;
}

export interface InformerOptions<T extends KubeObject = KubeObject> {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** page size of the initial list (0: one request) */
  pageSize?: number;
  /** re-deliver every cached object as an update this often (0: never) */
  resyncMs?: number;
  /**
   * what is kept of each object (client-go's SetTransform); by default metadata.managedFields is dropped, as
   * kube-scheduler and kube-controller-manager do: no component reads it and it is a large part of every object
   */
  transform?(obj: T): T;
}

/** drops metadata.managedFields */
export function stripManagedFields<T extends KubeObject>(obj: T): T {
  // assigned rather than deleted: a delete turns the object into a slow dictionary-mode one
  if (obj.metadata?.managedFields !== undefined) obj.metadata.managedFields = undefined;
  return obj;
}

export interface InformerHealth {
  resource: string;
  synced: boolean;
  /** watching now (false while reconnecting) */
  watching: boolean;
  lastError?: string;
}

type IndexFunc<T> = (obj: T) => string[];
interface Index<T> {
  fn(obj: T): string[];
  map: Map<string, Set<string>>;
}

export class Informer<T extends KubeObject = KubeObject> {
  private readonly items = new Map<string, T>();
  private readonly handlers: EventHandler<T>[] = [];
  private readonly indexes = new Map<string, Index<T>>();
  private started = false;
  private stopped = false;
  private synced = false;
  private watching = false;
  private lastError: string | undefined;
  private resourceVersion = '';
  private handle: WatchHandle | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private readonly syncWaiters: (() => void)[] = [];

  constructor(
    private readonly client: ApiClient,
    readonly resource: Resource<T>,
    private readonly opts: InformerOptions<T> = {},
  ) {}

  // ---- cache reads ----

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  getByName(namespace: string | undefined, name: string): T | undefined {
    return this.items.get(namespace ? `${namespace}/${name}` : name);
  }

  list(): T[] {
    return [...this.items.values()];
  }

  size(): number {
    return this.items.size;
  }

  keys(): IterableIterator<string> {
    return this.items.keys();
  }

  /** adds an index (before or after start): byIndex(name, value) then answers without scanning */
  addIndex(name: string, fn: IndexFunc<T>): void {
    if (this.indexes.has(name)) return;
    const map = new Map<string, Set<string>>();
    this.indexes.set(name, { fn, map });
    for (const [key, obj] of this.items) this.indexInsert(map, fn, key, obj);
  }

  byIndex(name: string, value: string): T[] {
    const idx = this.indexes.get(name);
    if (!idx) throw new Error(`informer ${this.resource.resource}: no index named "${name}"`);
    const keys = idx.map.get(value);
    if (!keys) return [];
    const out: T[] = [];
    for (const k of keys) {
      const o = this.items.get(k);
      if (o) out.push(o);
    }
    return out;
  }

  /** objects of one namespace (indexed) */
  listNamespace(namespace: string): T[] {
    this.addIndex(NAMESPACE_INDEX, (o) => [o.metadata.namespace ?? '']);
    return this.byIndex(NAMESPACE_INDEX, namespace);
  }

  // ---- handlers ----

  /** registers handlers; objects already cached are delivered as adds */
  addEventHandler(h: EventHandler<T>): void {
    this.handlers.push(h);
    if (h.onAdd) for (const o of this.items.values()) this.safely(() => h.onAdd!(o));
  }

  // ---- life cycle ----

  hasSynced(): boolean {
    return this.synced;
  }

  health(): InformerHealth {
    return {
      resource: this.resource.resource,
      synced: this.synced,
      watching: this.watching,
      lastError: this.lastError,
    };
  }

  /** resolves once the first list is in the cache */
  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    void this.relist();
    if (this.opts.resyncMs) {
      this.resyncTimer = setInterval(() => {
        for (const o of this.items.values()) this.emit('update', o, o);
      }, this.opts.resyncMs);
      this.resyncTimer.unref();
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.resyncTimer);
    this.handle?.stop();
    this.handle = undefined;
    this.watching = false;
  }

  // ---- test seam: a cache filled by hand (tests beside the code) ----

  /**
   * puts an object in the cache as a watch event would, running the handlers; fixtures need not be whole objects of
   * the kind (a watch event's object is not checked either)
   */
  upsert(obj: T | KubeObject): void {
    this.apply({ type: this.items.has(keyOf(obj)) ? 'MODIFIED' : 'ADDED', object: obj as T });
  }

  remove(obj: T | KubeObject): void {
    this.apply({ type: 'DELETED', object: obj as T });
  }

  /** marks a hand-filled cache synced */
  markSynced(): void {
    this.setSynced();
  }

  // ---- internals ----

  private async relist(): Promise<void> {
    if (this.stopped) return;
    try {
      const fresh = new Map<string, T>();
      let cont: string | undefined;
      let rv = '';
      do {
        const page = await this.client.list<T>(this.resource, {
          namespace: this.opts.namespace,
          labelSelector: this.opts.labelSelector,
          fieldSelector: this.opts.fieldSelector,
          limit: this.opts.pageSize ?? 500,
          continue: cont,
        });
        for (const o of page.items) {
          // list items may come without their type; handlers and recorders rely on it
          o.kind ??= this.resource.kind;
          o.apiVersion ??= apiVersionOf(this.resource);
          fresh.set(keyOf(o), o);
        }
        cont = page.metadata.continue || undefined;
        rv = page.metadata.resourceVersion ?? rv;
      } while (cont);
      if (this.stopped) return;
      this.replace(fresh);
      this.resourceVersion = rv;
      this.failures = 0;
      this.lastError = undefined;
      this.setSynced();
      this.startWatch();
    } catch (e) {
      this.fail(e as Error, () => this.relist());
    }
  }

  private replace(fresh: Map<string, T>): void {
    for (const [key, old] of this.items) {
      if (!fresh.has(key)) this.apply({ type: 'DELETED', object: old });
    }
    for (const obj of fresh.values()) {
      const old = this.items.get(keyOf(obj));
      if (!old) this.apply({ type: 'ADDED', object: obj });
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion)
        this.apply({ type: 'MODIFIED', object: obj });
    }
  }

  private startWatch(): void {
    if (this.stopped) return;
    let gone = false;
    this.watching = true;
    this.handle = this.client.watch<T>(
      this.resource,
      {
        namespace: this.opts.namespace,
        labelSelector: this.opts.labelSelector,
        fieldSelector: this.opts.fieldSelector,
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: 300 + Math.floor(Math.random() * 300),
      },
      (ev) => {
        if (ev.type === 'ERROR') {
          const st = statusOf(ev.object);
          if (st.code === 410) gone = true;
          else this.lastError = st.message ?? 'watch error';
          return;
        }
        if (ev.type === 'BOOKMARK') {
          this.resourceVersion = ev.object.metadata.resourceVersion ?? this.resourceVersion;
          return;
        }
        this.resourceVersion = ev.object.metadata.resourceVersion ?? this.resourceVersion;
        this.failures = 0;
        this.apply(ev);
      },
      (err) => {
        this.watching = false;
        this.handle = undefined;
        if (this.stopped) return;
        if (gone || (err instanceof ApiError && err.code === 410)) {
          void this.relist();
        } else if (err) {
          this.fail(err, () => this.startWatch());
        } else {
          // a normal end (timeoutSeconds): continue from where it stopped
          this.startWatch();
        }
      },
    );
  }

  private fail(e: Error, retry: () => void): void {
    this.lastError = e.message;
    this.watching = false;
    if (this.stopped) return;
    const delay = Math.min(30_000, 200 * 2 ** Math.min(this.failures++, 8));
    this.retryTimer = setTimeout(retry, delay);
    this.retryTimer.unref();
  }

  private setSynced(): void {
    if (this.synced) return;
    this.synced = true;
    for (const w of this.syncWaiters.splice(0)) w();
  }

  private apply(ev: WatchEvent<T>): void {
    const obj = this.opts.transform ? this.opts.transform(ev.object) : stripManagedFields(ev.object);
    const key = keyOf(obj);
    const old = this.items.get(key);
    if (ev.type === 'DELETED') {
      if (!old) return;
      this.items.delete(key);
      for (const { fn, map } of this.indexes.values()) this.indexDelete(map, fn, key, old);
      this.emit('delete', old, old);
      return;
    }
    this.items.set(key, obj);
    for (const { fn, map } of this.indexes.values()) {
      if (old) this.indexDelete(map, fn, key, old);
      this.indexInsert(map, fn, key, obj);
    }
    if (old) this.emit('update', old, obj);
    else this.emit('add', obj, obj);
  }

  private emit(kind: 'add' | 'update' | 'delete', old: T, obj: T): void {
    for (const h of this.handlers) {
      if (kind === 'add' && h.onAdd) this.safely(() => h.onAdd!(obj));
      else if (kind === 'update' && h.onUpdate) this.safely(() => h.onUpdate!(old, obj));
      else if (kind === 'delete' && h.onDelete) this.safely(() => h.onDelete!(obj));
    }
  }

  private safely(f: () => void): void {
    try {
      f();
    } catch (e) {
      console.error(`informer ${this.resource.resource}: event handler failed: ${(e as Error).stack ?? e}`);
    }
  }

  private indexInsert(map: Map<string, Set<string>>, fn: IndexFunc<T>, key: string, obj: T): void {
    for (const v of fn(obj)) {
      let s = map.get(v);
      if (!s) map.set(v, (s = new Set()));
      s.add(key);
    }
  }

  private indexDelete(map: Map<string, Set<string>>, fn: IndexFunc<T>, key: string, obj: T): void {
    for (const v of fn(obj)) {
      const s = map.get(v);
      if (!s) continue;
      s.delete(key);
      if (s.size === 0) map.delete(v);
    }
  }
}

/** the Status the object of an ERROR event is */
function statusOf(o: unknown): Partial<Status> {
  return typeof o === 'object' && o !== null ? (o as Partial<Status>) : {};
}

export const NAMESPACE_INDEX = 'namespace';

/**
 * One informer per resource (and namespace/selector), shared by every controller of a process, like client-go's
 * SharedInformerFactory. Informers asked for before start() start with it; later ones start at once.
 */
export class InformerFactory {
  private readonly informers = new Map<string, Informer<KubeObject>>();
  private started = false;

  constructor(readonly client: ApiClient) {}

  informer<T extends KubeObject = KubeObject>(r: Resource<T>, opts: InformerOptions<NoInfer<T>> = {}): Informer<T> {
    const id = `${r.group}/${r.resource}|${opts.namespace ?? ''}|${opts.labelSelector ?? ''}|${opts.fieldSelector ?? ''}`;
    let inf = this.informers.get(id);
    if (!inf) {
      inf = new Informer<T>(this.client, r, opts);
      this.informers.set(id, inf);
      if (this.started) inf.start();
    }
    return inf as Informer<T>;
  }

  start(): void {
    this.started = true;
    for (const i of this.informers.values()) i.start();
  }

  async waitForSync(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.waitForSync()));
  }

  stop(): void {
    for (const i of this.informers.values()) i.stop();
  }

  health(): InformerHealth[] {
    return [...this.informers.values()].map((i) => i.health());
  }

  /** for tests with hand-filled caches: every informer counts as synced */
  markAllSynced(): void {
    for (const i of this.informers.values()) i.markSynced();
  }
}
