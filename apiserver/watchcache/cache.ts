/**
 * The watch cache of one resource: the current objects (for lists) and a window of recent events (for watches),
 * fed by the Dispatcher from ONE store watch shared by all resources. Every event is decoded once and encoded once
 * per event type, whatever the number of watchers.
 */
import type { FieldSelector, LabelSelector } from '../../lib/selectors.ts';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/**
 * One object as the cache holds it, never mutated afterwards: its stored JSON, the labels and selectable fields that
 * filtering needs, and its resourceVersion (the store's revision, spliced into the JSON when it is sent). The parsed
 * form is dropped once the owning cache has taken what it needs (seal()), so the cache holds each object once, as
 * text; `obj` parses it anew for the rare callers that want the object.
 */
export class CachedObject {
  private parsed: any;
  /** the stored JSON, or (rvAt < 0) the object's whole JSON with its resourceVersion */
  private text: string;
  /** where "resourceVersion" goes in text: right after the top-level `"metadata":{` */
  private rvAt: number;
  /** the UTF-8 length of text, once a list has asked (-1 before) */
  private utf8Length = -1;
  readonly labels: Record<string, string> | undefined;
  /** selectable fields for field selectors (set by the owning cache, or on first use) */
  fields?: Record<string, string>;

  /** obj: the parse of stored, with metadata.resourceVersion set to rev */
  constructor(
    readonly key: string,
    readonly namespace: string,
    readonly name: string,
    readonly rev: number,
    obj: any,
    stored?: string,
    storedHadRv = false,
  ) {
    this.parsed = obj;
    this.labels = obj?.metadata?.labels;
    this.rvAt = -1;
    this.text = '';
    if (stored !== undefined && !storedHadRv && typeof obj?.apiVersion === 'string' && typeof obj.kind === 'string') {
      // the layout every skiff write has: apiVersion, kind, then metadata
      const head = `{"apiVersion":${JSON.stringify(obj.apiVersion)},"kind":${JSON.stringify(obj.kind)},"metadata":{`;
      if (stored.startsWith(head)) {
        this.text = stored;
        this.rvAt = head.length;
      }
    }
  }

  /** the cache has what it needs from the parsed form: keep only the text from now on */
  seal(): void {
    if (this.parsed === undefined) return;
    if (this.rvAt < 0) this.text = JSON.stringify(this.parsed);
    this.parsed = undefined;
  }

  /** the object (a fresh copy once sealed: callers must not rely on identity) */
  get obj(): any {
    return this.parsed ?? JSON.parse(this.json);
  }

  /** the object's JSON, with its resourceVersion */
  get json(): string {
    return this.jsonAt(this.rev);
  }

  /** the resourceVersion member spliced into text at rvAt (ASCII), with the comma before the next member if any */
  private rvMember(rev: number): string {
    return `"resourceVersion":"${rev}"${this.text.charCodeAt(this.rvAt) === 125 /* } */ ? '' : ','}`;
  }

  private textBytes(): number {
    if (this.utf8Length < 0) this.utf8Length = Buffer.byteLength(this.text);
    return this.utf8Length;
  }

  /** whether the object's JSON starts with `prefix` (within its apiVersion, kind and metadata's opening) */
  jsonStartsWith(prefix: string): boolean {
    return this.rvAt >= 0 && prefix.length <= this.rvAt ? this.text.startsWith(prefix) : this.json.startsWith(prefix);
  }

  /** the UTF-8 length of json (what writeJson writes) */
  jsonBytes(): number {
    if (this.rvAt < 0) return Buffer.byteLength(this.json);
    return this.textBytes() + this.rvMember(this.rev).length;
  }

  /**
   * writes json into buf at offset as UTF-8, without building the string first (a LIST of thousands of objects goes
   * out as one buffer); returns the offset after it
   */
  writeJson(buf: Buffer, offset: number): number {
    if (this.rvAt < 0) return offset + buf.write(this.json, offset);
    const t = this.text;
    const at = this.rvAt;
    // text of ASCII alone (as long in bytes as in characters) is copied as Latin-1, the same bytes, and faster
    const enc = this.textBytes() === t.length ? 'latin1' : 'utf8';
    offset += buf.write(t.slice(0, at), offset, enc);
    offset += buf.write(this.rvMember(this.rev), offset, 'latin1');
    return offset + buf.write(t.slice(at), offset, enc);
  }

  /**
   * the object's JSON with another resourceVersion: an object leaving a watch's selector is sent as it was, with the
   * resourceVersion of the change that made it leave
   */
  jsonAt(rev: number): string {
    if (this.rvAt >= 0) {
      const t = this.text;
      const at = this.rvAt;
      return `${t.slice(0, at)}${this.rvMember(rev)}${t.slice(at)}`;
    }
    if (rev === this.rev) return this.parsed !== undefined ? JSON.stringify(this.parsed) : this.text;
    const o = this.obj;
    (o.metadata ??= {}).resourceVersion = String(rev);
    return JSON.stringify(o);
  }
}

export interface CacheEvent {
  rev: number;
  type: EventType;
  /** new state (for DELETED: the last state, with the deletion's resourceVersion) */
  cur: CachedObject;
  /** previous state, if any */
  prev?: CachedObject;
  /** encoded lines per delivered type, shared by every watcher during the event's fan-out only */
  lines?: Partial<Record<EventType, WatchLine>>;
  /** the parsed object, shared likewise by the watchers that re-encode it (Table, PartialObjectMetadata) */
  parsed?: any;
}

export interface WatchFilter {
  namespace?: string;
  /** metadata.name from a field selector, when pinned */
  name?: string;
  labels: LabelSelector;
  fields: FieldSelector;
}

export interface CacheWatcher {
  filter: WatchFilter;
  /** deliver one event (type decided per watcher); false return = watcher is gone */
  deliver(type: EventType, ev: CacheEvent): void;
  /** the cache was reset (store watch lost): the watcher must end so its client re-watches */
  terminate(reason: string): void;
  /** index bucket this watcher is registered under */
  bucket?: string;
}

export interface ResourceCacheOptions {
  /** selectable fields of an object for field selectors */
  selectableFields: (obj: any) => Record<string, string>;
  /** a field used to index watchers (e.g. spec.nodeName for pods) */
  indexField?: string;
  /** number of events kept for watches from a past resourceVersion */
  capacity?: number;
}

/**
 * One encoded watch event (a JSON line), kept only as the bytes of an HTTP/1.1 chunk (hex size, CRLF, the line,
 * CRLF) so that the same buffer goes to every watcher of a chunked response without re-encoding or re-framing it.
 */
export class WatchLine {
  readonly chunk: Buffer;
  private readonly start: number;

  constructor(text: string) {
    const n = Buffer.byteLength(text);
    const head = `${n.toString(16)}\r\n`;
    this.start = head.length;
    // not from the shared pool: a line can outlive its neighbours for as long as the cache keeps the event
    this.chunk = Buffer.allocUnsafeSlow(head.length + n + 2);
    this.chunk.write(head, 0, 'latin1');
    this.chunk.write(text, this.start, 'utf8');
    this.chunk.write('\r\n', this.start + n, 'latin1');
  }

  /** the JSON line with its newline, unframed (an HTTP/2 DATA frame's payload) */
  get line(): Buffer {
    return this.chunk.subarray(this.start, this.chunk.length - 2);
  }

  /** the JSON line without its newline */
  get json(): Buffer {
    return this.chunk.subarray(this.start, this.chunk.length - 3);
  }

  /** the JSON line with its newline */
  get text(): string {
    return this.chunk.toString('utf8', this.start, this.chunk.length - 2);
  }
}

/**
 * The encoded line of an event for one delivered type. While the event is being fanned out the line is shared by
 * every watcher; afterwards (a watcher replaying the cache's window) it is built for the one watcher and not kept.
 */
export function encodeEvent(type: EventType, ev: CacheEvent): WatchLine {
  const lines = ev.lines;
  let line = lines?.[type];
  if (line === undefined) {
    line = new WatchLine(
      `{"type":"${type}","object":${leftSelector(type, ev) ? ev.prev!.jsonAt(ev.rev) : ev.cur.json}}\n`,
    );
    if (lines) lines[type] = line;
  }
  return line;
}

/** a watcher sees DELETED for a change (not a deletion) when the object stops matching its selectors */
function leftSelector(type: EventType, ev: CacheEvent): boolean {
  return type === 'DELETED' && ev.type !== 'DELETED' && ev.prev !== undefined;
}

/**
 * The event's object for a watcher that re-encodes it: parsed once per event while it is fanned out (the watchers
 * must not change it), parsed for the one watcher when it replays the window.
 */
export function eventObject(ev: CacheEvent, type: EventType = ev.type): any {
  if (leftSelector(type, ev)) {
    // as Kubernetes sends it: the previous state, with the change's resourceVersion (a copy: the cache's is shared)
    return JSON.parse(ev.prev!.jsonAt(ev.rev));
  }
  if (ev.lines === undefined) return ev.cur.obj;
  return (ev.parsed ??= ev.cur.obj);
}

export class ResourceCache {
  readonly items = new Map<string, CachedObject>();
  private readonly byNamespace = new Map<string, Set<string>>();
  private sortedKeys: string[] | null = [];
  private readonly ring: CacheEvent[];
  private ringStart = 0;
  private ringLen = 0;
  /** revision up to which this cache is complete (shared progress of the store watch) */
  rev = 0;
  /** events older than this revision are not in the window */
  windowStart = 0;
  private readonly capacity: number;

  // watchers indexed for cheap fan-out
  private readonly watchersAll = new Set<CacheWatcher>();
  private readonly watchersByNs = new Map<string, Set<CacheWatcher>>();
  private readonly watchersByIndex = new Map<string, Set<CacheWatcher>>();

  constructor(
    readonly prefix: string,
    readonly opts: ResourceCacheOptions,
  ) {
    this.capacity = opts.capacity ?? 4096;
    this.ring = new Array(this.capacity);
  }

  get watcherCount(): number {
    let n = this.watchersAll.size;
    for (const s of this.watchersByNs.values()) n += s.size;
    for (const s of this.watchersByIndex.values()) n += s.size;
    return n;
  }

  fieldsOf(o: CachedObject): Record<string, string> {
    if (o.fields === undefined) o.fields = this.opts.selectableFields(o.obj);
    return o.fields;
  }

  /** make a CachedObject from a stored value */
  static decode(key: string, value: string, rev: number): CachedObject {
    const obj = JSON.parse(value);
    const md = (obj.metadata ??= {});
    const hadRv = md.resourceVersion !== undefined;
    md.resourceVersion = String(rev);
    return new CachedObject(key, md.namespace ?? '', md.name ?? '', rev, obj, value, hadRv);
  }

  /**
   * the same for a value this process just encoded from `written` (JSON.stringify without resourceVersion, the object
   * unchanged since): no parse, and `written` is neither changed nor kept (its labels are copied; its other parts are
   * only read while the event is applied, before seal())
   */
  static fromWritten(key: string, value: string, rev: number, written: any): CachedObject {
    const md = written.metadata;
    const metadata = { ...md, resourceVersion: String(rev) };
    if (md.labels !== undefined) metadata.labels = { ...md.labels };
    return new CachedObject(key, md.namespace ?? '', md.name ?? '', rev, { ...written, metadata }, value, false);
  }

  /** replace the whole content (initial list or relist); watchers are terminated by the caller */
  reset(objects: CachedObject[], rev: number): void {
    this.items.clear();
    this.byNamespace.clear();
    for (const o of objects) {
      this.fieldsOf(o);
      o.seal();
      this.putItem(o);
    }
    this.sortedKeys = null;
    this.ringStart = 0;
    this.ringLen = 0;
    this.rev = rev;
    this.windowStart = rev;
  }

  private putItem(o: CachedObject): void {
    const existed = this.items.has(o.key);
    this.items.set(o.key, o);
    if (!existed) {
      let set = this.byNamespace.get(o.namespace);
      if (!set) this.byNamespace.set(o.namespace, (set = new Set()));
      set.add(o.key);
      this.sortedKeys = null;
    }
  }

  private deleteItem(key: string): void {
    const o = this.items.get(key);
    if (!o) return;
    this.items.delete(key);
    const set = this.byNamespace.get(o.namespace);
    if (set) {
      set.delete(key);
      if (set.size === 0) this.byNamespace.delete(o.namespace);
    }
    this.sortedKeys = null;
  }

  /** apply one store event (already decoded) and fan it out */
  apply(type: 'PUT' | 'DELETE', cur: CachedObject): void {
    this.fieldsOf(cur);
    cur.seal();
    const prev = this.items.get(cur.key);
    let ev: CacheEvent;
    if (type === 'PUT') {
      this.putItem(cur);
      ev = { rev: cur.rev, type: prev ? 'MODIFIED' : 'ADDED', cur, prev };
    } else {
      this.deleteItem(cur.key);
      ev = { rev: cur.rev, type: 'DELETED', cur, prev };
    }
    this.pushRing(ev);
    this.rev = cur.rev;
    ev.lines = {};
    this.fanOut(ev);
    // the window keeps the objects, not their encoded lines: a watcher replaying it is rare and encodes its own
    ev.lines = undefined;
    ev.parsed = undefined;
  }

  private pushRing(ev: CacheEvent): void {
    if (this.ringLen === this.capacity) {
      const dropped = this.ring[this.ringStart];
      this.windowStart = dropped.rev;
      this.ring[this.ringStart] = ev;
      this.ringStart = (this.ringStart + 1) % this.capacity;
    } else {
      this.ring[(this.ringStart + this.ringLen) % this.capacity] = ev;
      this.ringLen++;
    }
  }

  /** events with rev > fromRev, or undefined when fromRev is older than the window */
  eventsSince(fromRev: number): CacheEvent[] | undefined {
    if (fromRev < this.windowStart) return undefined;
    const out: CacheEvent[] = [];
    // binary search the first event with rev > fromRev
    let lo = 0;
    let hi = this.ringLen;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ring[(this.ringStart + mid) % this.capacity].rev <= fromRev) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.ringLen; i++) out.push(this.ring[(this.ringStart + i) % this.capacity]);
    return out;
  }

  /** does o pass the watcher's filter */
  matches(f: WatchFilter, o: CachedObject | undefined): boolean {
    if (!o) return false;
    if (f.namespace !== undefined && o.namespace !== f.namespace) return false;
    if (f.name !== undefined && o.name !== f.name) return false;
    if (!f.labels.empty && !f.labels.matches(o.labels)) return false;
    if (!f.fields.empty && !f.fields.matches(this.fieldsOf(o))) return false;
    return true;
  }

  /** the event type a watcher with filter f sees for ev, or undefined when it sees nothing */
  typeFor(f: WatchFilter, ev: CacheEvent): EventType | undefined {
    const curOk = this.matches(f, ev.cur);
    if (ev.type === 'DELETED') return curOk ? 'DELETED' : undefined;
    const prevOk = ev.prev ? this.matches(f, ev.prev) : false;
    if (curOk) return prevOk ? 'MODIFIED' : 'ADDED';
    if (prevOk) return 'DELETED';
    return undefined;
  }

  private fanOut(ev: CacheEvent): void {
    const send = (w: CacheWatcher) => {
      const t = this.typeFor(w.filter, ev);
      if (t) w.deliver(t, ev);
    };
    for (const w of this.watchersAll) send(w);
    if (this.watchersByNs.size > 0) {
      const ns = ev.cur.namespace;
      this.watchersByNs.get(ns)?.forEach(send);
    }
    if (this.watchersByIndex.size > 0 && this.opts.indexField) {
      const field = this.opts.indexField;
      const a = this.fieldsOf(ev.cur)[field] ?? '';
      this.watchersByIndex.get(a)?.forEach(send);
      if (ev.prev) {
        const b = this.fieldsOf(ev.prev)[field] ?? '';
        if (b !== a) this.watchersByIndex.get(b)?.forEach(send);
      }
    }
  }

  addWatcher(w: CacheWatcher): void {
    const idx = this.opts.indexField ? w.filter.fields.equalityValue(this.opts.indexField) : undefined;
    if (idx !== undefined) {
      w.bucket = `i:${idx}`;
      let s = this.watchersByIndex.get(idx);
      if (!s) this.watchersByIndex.set(idx, (s = new Set()));
      s.add(w);
    } else if (w.filter.namespace !== undefined) {
      w.bucket = `n:${w.filter.namespace}`;
      let s = this.watchersByNs.get(w.filter.namespace);
      if (!s) this.watchersByNs.set(w.filter.namespace, (s = new Set()));
      s.add(w);
    } else {
      w.bucket = 'a';
      this.watchersAll.add(w);
    }
  }

  removeWatcher(w: CacheWatcher): void {
    const b = w.bucket;
    if (!b) return;
    if (b === 'a') this.watchersAll.delete(w);
    else {
      const map = b.startsWith('i:') ? this.watchersByIndex : this.watchersByNs;
      const k = b.slice(2);
      const s = map.get(k);
      if (s) {
        s.delete(w);
        if (s.size === 0) map.delete(k);
      }
    }
    w.bucket = undefined;
  }

  terminateAll(reason: string): void {
    const all: CacheWatcher[] = [...this.watchersAll];
    for (const s of this.watchersByNs.values()) all.push(...s);
    for (const s of this.watchersByIndex.values()) all.push(...s);
    for (const w of all) {
      this.removeWatcher(w);
      w.terminate(reason);
    }
  }

  /** current objects matching f, in key order, starting after startAfter, at most limit (0 = all) */
  list(f: WatchFilter, startAfter = '', limit = 0): { items: CachedObject[]; more: boolean; remaining: number } {
    let keys: Iterable<string>;
    if (f.namespace !== undefined) {
      const set = this.byNamespace.get(f.namespace);
      keys = set ? [...set].sort() : [];
    } else {
      if (this.sortedKeys === null) this.sortedKeys = [...this.items.keys()].sort();
      keys = this.sortedKeys;
    }
    const arr = keys as string[];
    let start = 0;
    if (startAfter) {
      let lo = 0;
      let hi = arr.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (arr[mid] <= startAfter) lo = mid + 1;
        else hi = mid;
      }
      start = lo;
    }
    const items: CachedObject[] = [];
    let more = false;
    let remaining = 0;
    for (let i = start; i < arr.length; i++) {
      const o = this.items.get(arr[i]);
      if (!o || !this.matches(f, o)) continue;
      if (limit > 0 && items.length >= limit) {
        more = true;
        remaining++;
        continue;
      }
      items.push(o);
    }
    return { items, more, remaining };
  }

  get(key: string): CachedObject | undefined {
    return this.items.get(key);
  }
}
