/**
 * Per-key exponential back-off with the kubelet's semantics: a container that exits for the first time is restarted
 * at once; after that each restart waits (10 s, doubling to 5 min) counted from when the container finished; a
 * container that ran for 10 minutes, or a key left alone for twice the maximum, starts over. Image pulls use the same
 * curve.
 */
export const INITIAL_BACKOFF_MS = 10_000;
export const MAX_BACKOFF_MS = 300_000;
export const RESET_AFTER_RUNNING_MS = 600_000;

interface Entry {
  delayMs: number;
  /** when the back-off was last raised */
  updated: number;
}

export class Backoff {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly initialMs = INITIAL_BACKOFF_MS,
    private readonly maxMs = MAX_BACKOFF_MS,
    private readonly now: () => number = Date.now,
  ) {}

  private entry(key: string): Entry | undefined {
    const e = this.entries.get(key);
    if (e && this.now() - e.updated > 2 * this.maxMs) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  /** ms still to wait before `key` may be tried again, counting from `since` (e.g. when the container finished) */
  remaining(key: string, since: number): number {
    const e = this.entry(key);
    if (!e) return 0;
    return Math.max(0, since + e.delayMs - this.now());
  }

  /** Records a try: the first one sets the initial delay, each later one doubles it up to the maximum. */
  next(key: string): number {
    const e = this.entry(key);
    const delayMs = e ? Math.min(this.maxMs, e.delayMs * 2) : this.initialMs;
    this.entries.set(key, { delayMs, updated: this.now() });
    return delayMs;
  }

  current(key: string): number {
    return this.entry(key)?.delayMs ?? 0;
  }

  reset(key: string): void {
    this.entries.delete(key);
  }

  /** drops every key starting with `prefix` */
  forget(prefix: string): void {
    for (const k of [...this.entries.keys()]) if (k.startsWith(prefix)) this.entries.delete(k);
  }
}
