/**
 * The in-process work queue (the default): client-go's queue, delaying queue and default controller rate limiter.
 * - `queue` holds keys in FIFO order, `dirty` the keys that need processing, `processing` the keys handed out;
 *   a key added while processing stays dirty and is queued again by done().
 * - addAfter keeps one entry per key (the earliest ready time) in a binary heap served by a single timer.
 * - addRateLimited waits the larger of the per-key exponential backoff and the overall token bucket's delay.
 */
import { backoffDelay, type WorkQueue } from './queue.ts';

/** client-go's default controller rate limiter: max(per-key exponential backoff, a 10 qps / 100 burst token bucket) */
export class ControllerRateLimiter {
  private readonly failures = new Map<string, number>();
  private tokens: number;
  private last: number;

  constructor(
    private readonly qps = 10,
    private readonly burst = 100,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** the delay before the key's next retry; counts one more failure */
  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    return Math.max(backoffDelay(n), this.reserve());
  }

  /** a delay computed from a failure count kept elsewhere (Redis); still takes a token from the bucket */
  whenFailures(failuresBefore: number): number {
    return Math.max(backoffDelay(failuresBefore), this.reserve());
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  /** takes a token (possibly going into debt) and answers how long until that token exists */
  reserve(): number {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.qps) * 1000);
  }
}

/** FIFO of keys without O(n) shifts */
class KeyFifo {
  private items: string[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(key: string): void {
    this.items.push(key);
  }

  shift(): string | undefined {
    if (this.head >= this.items.length) return undefined;
    const key = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return key;
  }
}

interface Delayed {
  key: string;
  at: number;
  seq: number;
}

/** a binary min-heap of delayed entries by ready time (then insertion order) */
export class DelayHeap {
  private readonly heap: Delayed[] = [];

  get size(): number {
    return this.heap.length;
  }

  peek(): Delayed | undefined {
    return this.heap[0];
  }

  push(d: Delayed): void {
    const h = this.heap;
    h.push(d);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  pop(): Delayed | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l], h[m])) m = l;
        if (r < h.length && less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }

  clear(): void {
    this.heap.length = 0;
  }
}

function less(a: Delayed, b: Delayed): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

export interface MemoryQueueOptions {
  /** the overall retry rate limit (default 10 qps, burst 100 as client-go's default controller rate limiter) */
  qps?: number;
  burst?: number;
}

export class MemoryQueue implements WorkQueue {
  private readonly queue = new KeyFifo();
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;

  /** the pending delayed entry of each key (entries in the heap that are not here are stale) */
  private readonly delayed = new Map<string, Delayed>();
  private readonly heap = new DelayHeap();
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;

  private readonly limiter: ControllerRateLimiter;

  constructor(
    readonly name: string,
    opts: MemoryQueueOptions = {},
  ) {
    this.limiter = new ControllerRateLimiter(opts.qps, opts.burst);
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.enqueue(key);
  }

  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (!(delayMs > 0)) {
      this.add(key);
      return;
    }
    const at = Date.now() + delayMs;
    const cur = this.delayed.get(key);
    if (cur && cur.at <= at) return; // an earlier re-queue is already planned
    const entry = { key, at, seq: this.seq++ };
    this.delayed.set(key, entry);
    this.heap.push(entry);
    this.schedule();
  }

  addRateLimited(key: string): void {
    this.addAfter(key, this.limiter.when(key));
  }

  forget(key: string): void {
    this.limiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.limiter.numRequeues(key);
  }

  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) return Promise.resolve(this.take(key));
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: string): void {
    if (!this.processing.delete(key)) return;
    if (this.dirty.has(key) && !this.shuttingDown) this.enqueue(key);
  }

  len(): number {
    return this.queue.length;
  }

  /** keys waiting for their delay (addAfter / addRateLimited) */
  delayedLen(): number {
    return this.delayed.size;
  }

  isProcessing(key: string): boolean {
    return this.processing.has(key);
  }

  async shutDown(): Promise<void> {
    this.shuttingDown = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.heap.clear();
    this.delayed.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  private enqueue(key: string): void {
    const w = this.waiters.shift();
    if (w) w(this.take(key));
    else this.queue.push(key);
  }

  private take(key: string): string {
    this.processing.add(key);
    this.dirty.delete(key);
    return key;
  }

  private schedule(): void {
    const top = this.heap.peek();
    if (!top || top.at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = top.at;
    this.timer = setTimeout(() => this.fire(), Math.max(0, top.at - Date.now()));
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = Date.now();
    for (let top = this.heap.peek(); top && top.at <= now; top = this.heap.peek()) {
      this.heap.pop();
      if (this.delayed.get(top.key) !== top) continue; // replaced by an earlier entry
      this.delayed.delete(top.key);
      this.add(top.key);
    }
    this.schedule();
  }
}
