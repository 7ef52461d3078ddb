/**
 * A work queue with client-go's semantics: it holds keys ("namespace/name"), not events.
 * - a key is queued at most once, however often it is added before a worker takes it;
 * - a key is never handed to two workers at once; added while being processed, it is queued again after done();
 * - addRateLimited backs off per key exponentially (5 ms doubling to 1000 s) until forget(key);
 * - addAfter queues a key after a delay.
 * Implementations: MemoryQueue (memory.ts, in process, the default) and RedisQueue (redis.ts, BullMQ on Redis, shared
 * by several controller-manager processes with the same guarantees).
 */
export interface WorkQueue {
  readonly name: string;
  add(key: string): void;
  addAfter(key: string, delayMs: number): void;
  addRateLimited(key: string): void;
  /** clears the key's backoff (after a successful sync) */
  forget(key: string): void;
  numRequeues(key: string): number;
  /** the next key to process; undefined once the queue is shut down */
  get(): Promise<string | undefined>;
  /** marks the key processed: it may be handed out again (at once if it was added meanwhile) */
  done(key: string): void;
  /** keys waiting (not counting delayed ones or those being processed) */
  len(): number;
  /** stops handing out keys; waiters of get() receive undefined */
  shutDown(): Promise<void>;
}

/** How a component gets its queues: one per controller, by name. */
export type QueueFactory = (name: string) => WorkQueue;

export const BACKOFF_BASE_MS = 5;
export const BACKOFF_MAX_MS = 1000_000;

/** client-go's per-item exponential backoff: 5 ms * 2^failures, at most 1000 s */
export function backoffDelay(failures: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(failures, 40));
}
