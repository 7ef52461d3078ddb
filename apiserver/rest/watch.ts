/**
 * Serving one watch: initial events (synthetic ADDED) or the events after a resourceVersion, then live events from
 * the resource's watch cache; falls back to a store watch for a resourceVersion older than the cache's window.
 * The sink is an HTTP chunked response or a WebSocket; both receive ready-encoded JSON lines.
 */
import { CompactedError, type Backend, type Watch } from '../storage/backend.ts';
import {
  ResourceCache,
  WatchLine,
  encodeEvent,
  eventObject,
  type CacheEvent,
  type CacheWatcher,
  type EventType,
  type WatchFilter,
} from '../watchcache/cache.ts';
import type { Dispatcher } from '../watchcache/dispatcher.ts';
import { apiVersionOf, type Resource } from './resource.ts';
import { type ApiError, badRequest, gone, invalidObject, tooLargeResourceVersion } from './status.ts';
import type { FieldError } from '../api/field-error.ts';

export interface WatchSink {
  /** write one encoded event line; returns false when the connection is gone */
  write(line: WatchLine): boolean;
  /** bytes written but still queued in this process (not yet taken by the connection or its flow control) */
  backlog(): number;
  end(): void;
  /** close at once, dropping what is still queued (the client sees its watch cut and watches again) */
  abort(): void;
  onClose(cb: () => void): void;
  /** hold writes until uncork() (many lines at once, e.g. initial events, leave in few network writes) */
  cork?(): void;
  uncork?(): void;
}

export interface WatchQuery {
  filter: WatchFilter;
  resourceVersion?: string;
  resourceVersionMatch?: string;
  allowBookmarks: boolean;
  sendInitialEvents?: boolean;
  timeoutSeconds?: number;
  /** re-encode objects (e.g. as Table rows); default: the shared JSON lines */
  transform?: (type: EventType, obj: any) => string;
}

const BOOKMARK_INTERVAL_MS = 60_000;
/**
 * How far a live watcher may fall behind, in bytes queued in this process beyond what it had queued when it went
 * live (its initial events, which it may drain at its own pace): about a thousand pod events. A watcher further
 * behind is closed, as Kubernetes closes a watcher that does not keep up with its events, and its client watches
 * again from the last resourceVersion it got; the server's memory for a stalled client stays bounded.
 */
export const LIVE_BACKLOG_LIMIT = 2 * 1024 * 1024;
/** default watch length is randomized between 30 and 60 minutes, as Kubernetes' min-request-timeout does */
const DEFAULT_TIMEOUT_S = 1800;

export interface WatchServerOptions {
  /** a live watcher fell more than LIVE_BACKLOG_LIMIT behind and was closed */
  onTerminated?: (r: Resource) => void;
  /** overrides LIVE_BACKLOG_LIMIT (tests) */
  liveBacklogLimit?: number;
}

export class WatchServer {
  active = 0;
  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly backend: Backend,
    private readonly opts: WatchServerOptions = {},
  ) {}

  /** validates the query; throws ApiError before anything is written */
  check(q: WatchQuery): void {
    const rv = q.resourceVersion;
    if (rv !== undefined && rv !== '' && !/^\d+$/.test(rv))
      throw badRequest(`resourceVersion: Invalid value: "${rv}": must be a non-negative integer`);
    // Kubernetes' validateWatchOptions: every problem, as a 422 on ListOptions
    const errs: FieldError[] = [];
    const match = q.resourceVersionMatch;
    const forbid = (detail: string) =>
      errs.push({ type: 'FieldValueForbidden', field: 'resourceVersionMatch', detail });
    if (q.sendInitialEvents !== undefined && match !== 'NotOlderThan')
      forbid('sendInitialEvents requires setting resourceVersionMatch to NotOlderThan');
    if (match) {
      if (q.sendInitialEvents === undefined)
        forbid('resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided');
      if (match !== 'NotOlderThan')
        errs.push({
          type: 'FieldValueNotSupported',
          field: 'resourceVersionMatch',
          value: match,
          detail: 'supported values: "NotOlderThan"',
        });
    }
    if (errs.length > 0) throw invalidObject('ListOptions', '', errs, 'meta.k8s.io');
  }

  async serve(r: Resource, q: WatchQuery, sink: WatchSink): Promise<void> {
    this.check(q);
    await this.dispatcher.whenReady();
    const cache = r.cache;
    const rvStr = q.resourceVersion ?? '';
    const initial = q.sendInitialEvents ?? (rvStr === '' || rvStr === '0');
    // without initial events and without a resourceVersion to start after (unset or 0): from now on
    const rv = rvStr === '' || rvStr === '0' ? (initial ? 0 : cache.rev) : Number(rvStr);
    if (rv > 0 && !initial) {
      if (!(await this.dispatcher.waitFor(rv, 3000))) {
        throw tooLargeResourceVersion(rv, this.dispatcher.rev);
      }
    }
    if (!initial && cache.eventsSince(rv) === undefined) {
      const compacted = await this.backend.compactedRevision();
      if (rv < compacted) {
        // as Kubernetes' watch cache answers once a watch's options are accepted: the error as the stream's one event
        sink.write(errorLine(gone(`too old resource version: ${rv} (${compacted})`)));
        sink.end();
        return;
      }
    }
    let closed = false;
    let storeWatch: Watch | undefined;
    // the cache's lines are the stored form, encoded once for every watcher; a resource stored as another is
    // converted for each of its watchers
    const view = r.view;
    const line = (type: EventType, ev: CacheEvent): WatchLine => {
      if (!view) return q.transform ? new WatchLine(q.transform(type, eventObject(ev, type))) : encodeEvent(type, ev);
      const obj = view.fromStorage(eventObject(ev, type));
      return new WatchLine(
        q.transform ? q.transform(type, obj) : `{"type":"${type}","object":${JSON.stringify(obj)}}\n`,
      );
    };
    /** ends the watch; `behind`: the client fell too far behind, and what is queued for it is dropped */
    const finish = (behind = false) => {
      if (closed) return;
      closed = true;
      this.active--;
      cache.removeWatcher(watcher);
      storeWatch?.cancel();
      clearInterval(bookmarkTimer);
      clearTimeout(timeoutTimer);
      if (behind) sink.abort();
      else sink.end();
    };
    // the events of one store batch (one commit of several writes) leave for this watcher in one network write
    let held = false;
    const release = () => {
      held = false;
      sink.uncork?.();
    };
    // once live: the backlog allowed beyond LIVE_BACKLOG_LIMIT, what the initial events left queued (it only shrinks)
    let liveFloor = Infinity;
    const limit = this.opts.liveBacklogLimit ?? LIVE_BACKLOG_LIMIT;
    const goLive = () => {
      liveFloor = sink.backlog();
      cache.addWatcher(watcher);
    };
    const send = (l: WatchLine) => {
      if (closed) return;
      if (!held && sink.cork && this.dispatcher.dispatching) {
        held = true;
        sink.cork();
        this.dispatcher.afterBatch(release);
      }
      if (!sink.write(l)) {
        finish();
        return;
      }
      if (liveFloor === Infinity) return;
      const backlog = sink.backlog();
      if (backlog < liveFloor) liveFloor = backlog;
      else if (backlog > liveFloor + limit) {
        this.opts.onTerminated?.(r);
        finish(true);
      }
    };
    const bookmark = (annotations?: Record<string, string>) => {
      const md: any = { resourceVersion: String(this.dispatcher.rev) };
      if (annotations) md.annotations = annotations;
      const obj = { kind: r.info.kind, apiVersion: apiVersionOf(r.info), metadata: md };
      send(new WatchLine(`{"type":"BOOKMARK","object":${JSON.stringify(obj)}}\n`));
    };
    const watcher: CacheWatcher = {
      filter: q.filter,
      deliver: (type, ev) => send(line(type, ev)),
      terminate: () => finish(),
    };

    this.active++;
    sink.onClose(() => finish());
    const timeoutS =
      q.timeoutSeconds && q.timeoutSeconds > 0 ? q.timeoutSeconds : DEFAULT_TIMEOUT_S * (1 + Math.random());
    const timeoutTimer = setTimeout(() => finish(), timeoutS * 1000);
    timeoutTimer.unref?.();
    const bookmarkTimer = setInterval(() => q.allowBookmarks && bookmark(), BOOKMARK_INTERVAL_MS);
    bookmarkTimer.unref?.();

    if (initial) {
      // synchronous from here to addWatcher: no event can slip in between the snapshot and the live stream
      const { items } = cache.list(q.filter);
      sink.cork?.();
      for (const o of items) {
        const obj = view ? view.fromStorage(o.obj) : o.obj;
        send(
          new WatchLine(
            q.transform
              ? q.transform('ADDED', obj)
              : `{"type":"ADDED","object":${view ? JSON.stringify(obj) : o.json}}\n`,
          ),
        );
      }
      if (q.sendInitialEvents && q.allowBookmarks) bookmark({ 'k8s.io/initial-events-end': 'true' });
      sink.uncork?.();
      if (!closed) goLive();
      return;
    }
    const events = cache.eventsSince(rv);
    if (events) {
      sink.cork?.();
      for (const ev of events) {
        const t = cache.typeFor(q.filter, ev);
        if (t) send(line(t, ev));
      }
      sink.uncork?.();
      if (!closed) goLive();
      return;
    }
    // older than the cache's window: replay from the store, then continue on the cache
    const expire = (e: ApiError) => {
      send(errorLine(e));
      finish();
    };
    await this.replayFromStore(
      r,
      rv,
      q,
      (t, ev) => send(line(t, ev)),
      (w) => (storeWatch = w),
      () => closed,
      goLive,
      finish,
      expire,
    );
  }

  private replayFromStore(
    r: Resource,
    rv: number,
    q: WatchQuery,
    send: (type: EventType, ev: CacheEvent) => void,
    setWatch: (w: Watch) => void,
    isClosed: () => boolean,
    attach: () => void,
    finish: () => void,
    expire: (e: ApiError) => void,
  ): Promise<void> {
    const cache = r.cache;
    const cacheStart = cache.windowStart;
    // store events up to the cache's window are replayed; the first one inside the window hands over to the cache
    return new Promise((resolve) => {
      let started = false;
      const prevByKey = new Map<string, any>();
      const w = this.backend.watch(r.prefix, rv, {
        onEvents: (evs) => {
          started = true;
          for (const ev of evs) {
            const rev = ev.kv.modRevision;
            if (rev > cacheStart) {
              // caught up with the cache's window: hand over
              w.cancel();
              const rest = cache.eventsSince(rev - 1);
              if (rest === undefined) {
                finish();
                return;
              }
              for (const cev of rest) {
                const t = cache.typeFor(q.filter, cev);
                if (t) send(t, cev);
              }
              if (!isClosed()) attach();
              return;
            }
            const value = ev.type === 'DELETE' ? (ev.prevKv?.value ?? ev.kv.value) : ev.kv.value;
            const cur = ResourceCache.decode(ev.kv.key, value, rev);
            const prevObj =
              prevByKey.get(ev.kv.key) ??
              (ev.prevKv ? ResourceCache.decode(ev.kv.key, ev.prevKv.value, ev.prevKv.modRevision) : undefined);
            const cev: CacheEvent = {
              rev,
              type: ev.type === 'DELETE' ? 'DELETED' : prevObj ? 'MODIFIED' : 'ADDED',
              cur,
              prev: prevObj,
            };
            prevByKey.set(ev.kv.key, cur);
            const t = cache.typeFor(q.filter, cev);
            if (t) send(t, cev);
          }
        },
        onError: (err) => {
          if (!started && err instanceof CompactedError)
            expire(gone(`too old resource version: ${rv} (${err.compacted})`));
          else finish();
        },
      });
      setWatch(w);
      resolve();
    });
  }
}

/** a watch event of type ERROR carrying the error's Status */
function errorLine(e: ApiError): WatchLine {
  return new WatchLine(`{"type":"ERROR","object":${JSON.stringify(e.toStatus())}}\n`);
}
