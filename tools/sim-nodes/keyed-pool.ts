/**
 * A bounded pool of writes keyed by what they are about ("pod/ns/name", "lease/node-1"): at most `concurrency` run
 * at once, a key is queued at most once and never runs twice at the same time, and a key added while it runs runs
 * again afterwards (the state it acts on may have changed meanwhile). Work is taken in the order it was added.
 */
export class KeyedPool {
  private readonly queued = new Set<string>();
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private idleWaiters: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly work: (key: string) => Promise<void>,
    private readonly concurrency = 32,
    private readonly onError: (key: string, e: Error) => void = () => {},
  ) {}

  add(key: string): void {
    if (this.closed) return;
    if (this.active.has(key)) this.dirty.add(key);
    else this.queued.add(key);
    this.pump();
  }

  /** queued or running */
  has(key: string): boolean {
    return this.queued.has(key) || this.active.has(key);
  }

  get size(): number {
    return this.queued.size + this.active.size;
  }

  /** resolves when nothing is queued or running */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** drops what is queued; what runs finishes */
  close(): void {
    this.closed = true;
    this.queued.clear();
    this.dirty.clear();
    if (this.active.size === 0) this.wakeIdle();
  }

  private pump(): void {
    while (this.active.size < this.concurrency && this.queued.size > 0) {
      const key = this.queued.values().next().value as string;
      this.queued.delete(key);
      this.active.add(key);
      void this.run(key);
    }
  }

  private async run(key: string): Promise<void> {
    try {
      await this.work(key);
    } catch (e) {
      this.onError(key, e as Error);
    } finally {
      this.active.delete(key);
      if (this.dirty.delete(key) && !this.closed) this.queued.add(key);
      this.pump();
      if (this.size === 0) this.wakeIdle();
    }
  }

  private wakeIdle(): void {
    for (const w of this.idleWaiters.splice(0)) w();
  }
}
