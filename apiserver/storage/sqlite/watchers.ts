/**
 * The watcher registry of the embedded store: subscribers indexed by prefix so that publishing a committed batch
 * costs one map lookup per (event, distinct prefix length), however many watchers there are.
 *
 * A subscriber that starts from an old revision is "replaying": the store feeds it history from the database while
 * live events published meanwhile are buffered, then the buffer is flushed and it goes live. Live events are always
 * newer than the end of its replay, so there is neither a gap nor a duplicate.
 */
import type { WatchEvent, WatchHandlers } from '../backend.ts';

export class Subscriber {
  closed = false;
  replaying = false;
  private buffer: WatchEvent[] = [];

  constructor(
    readonly prefix: string,
    /** deliver only events with a revision above this */
    public after: number,
    private readonly handlers: WatchHandlers,
    private readonly onDetach: (s: Subscriber) => void,
  ) {}

  /** live events from a commit (already in revision order) */
  offer(events: WatchEvent[]): void {
    if (this.closed) return;
    if (this.replaying) {
      for (const ev of events) this.buffer.push(ev);
      return;
    }
    this.deliver(events);
  }

  /** history read from the database during replay */
  deliver(events: WatchEvent[]): void {
    if (this.closed || events.length === 0) return;
    const fresh = events[0].kv.modRevision > this.after ? events : events.filter((e) => e.kv.modRevision > this.after);
    if (fresh.length === 0) return;
    this.after = fresh[fresh.length - 1].kv.modRevision;
    try {
      this.handlers.onEvents(fresh);
    } catch (err) {
      this.fail(new Error(`watch consumer failed while handling events: ${(err as Error).message}`, { cause: err }));
    }
  }

  /** replay finished: hand over to the live stream */
  goLive(): void {
    this.replaying = false;
    const pending = this.buffer;
    this.buffer = [];
    this.deliver(pending);
  }

  fail(err: Error): void {
    if (this.closed) return;
    this.detach();
    try {
      this.handlers.onError(err);
    } catch {
      // the consumer is gone either way
    }
  }

  detach(): void {
    if (this.closed) return;
    this.closed = true;
    this.buffer = [];
    this.onDetach(this);
  }
}

export class WatcherHub {
  private readonly byPrefix = new Map<string, Set<Subscriber>>();
  /** prefix length -> number of distinct registered prefixes of that length */
  private readonly lengths = new Map<number, number>();

  get size(): number {
    let n = 0;
    for (const set of this.byPrefix.values()) n += set.size;
    return n;
  }

  subscribe(prefix: string, after: number, handlers: WatchHandlers): Subscriber {
    const s = new Subscriber(prefix, after, handlers, (x) => this.remove(x));
    let set = this.byPrefix.get(prefix);
    if (!set) {
      set = new Set();
      this.byPrefix.set(prefix, set);
      this.lengths.set(prefix.length, (this.lengths.get(prefix.length) ?? 0) + 1);
    }
    set.add(s);
    return s;
  }

  private remove(s: Subscriber): void {
    const set = this.byPrefix.get(s.prefix);
    if (!set || !set.delete(s) || set.size > 0) return;
    this.byPrefix.delete(s.prefix);
    const n = (this.lengths.get(s.prefix.length) ?? 1) - 1;
    if (n > 0) this.lengths.set(s.prefix.length, n);
    else this.lengths.delete(s.prefix.length);
  }

  /** fan a committed batch (revision order) out to the subscribers whose prefix matches each key */
  publish(events: WatchEvent[]): void {
    if (this.byPrefix.size === 0 || events.length === 0) return;
    const per = new Map<Subscriber, WatchEvent[]>();
    for (const ev of events) {
      const key = ev.kv.key;
      for (const len of this.lengths.keys()) {
        if (len > key.length) continue;
        const set = this.byPrefix.get(len === key.length ? key : key.slice(0, len));
        if (!set) continue;
        for (const s of set) {
          const list = per.get(s);
          if (list) list.push(ev);
          else per.set(s, [ev]);
        }
      }
    }
    for (const [s, evs] of per) s.offer(evs);
  }

  /** end every watch with err (store closing) */
  failAll(err: Error): void {
    const all: Subscriber[] = [];
    for (const set of this.byPrefix.values()) for (const s of set) all.push(s);
    for (const s of all) s.fail(err);
  }
}
