/**
 * Per-key exponential back-off with Kubernetes' numbers: crash loops start at 10 s and double to 5 min, and a
 * container that ran for 10 minutes without failing starts over from 10 s. Image pulls use the same curve.
 */
export const INITIAL_BACKOFF_MS = 10_000;
export const MAX_BACKOFF_MS = 300_000;
export const RESET_AFTER_MS = 600_000;

interface Entry {
  delayMs: number;
  /** when the last failure was recorded */
  at: number;
}

export class Backoff {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly initialMs = INITIAL_BACKOFF_MS,
    private readonly maxMs = MAX_BACKOFF_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Records a failure at `at` (e.g. the container's finish time) unless it was already recorded, and returns the
   * back-off now in force. A failure after RESET_AFTER_MS of quiet starts from the initial delay.
   */
  fail(key: string, at: number = this.now(), ranForMs = 0): Entry {
    const e = this.entries.get(key);
    if (e && e.at === at) return e;
    let delayMs = this.initialMs;
    if (e && ranForMs < RESET_AFTER_MS && at - e.at < e.delayMs + RESET_AFTER_MS) delayMs = Math.min(this.maxMs, e.delayMs * 2);
    const next = { delayMs, at };
    this.entries.set(key, next);
    return next;
  }

  /** ms left before `key` may be tried again (0: now) */
  remaining(key: string): number {
    const e = this.entries.get(key);
    if (!e) return 0;
    return Math.max(0, e.at + e.delayMs - this.now());
  }

  current(key: string): number {
    return this.entries.get(key)?.delayMs ?? 0;
  }

  reset(key: string): void {
    this.entries.delete(key);
  }

  /** drops every key starting with `prefix` */
  forget(prefix: string): void {
    for (const k of [...this.entries.keys()]) if (k.startsWith(prefix)) this.entries.delete(k);
  }
}
