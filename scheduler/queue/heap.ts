/** A binary heap with removal by key, for the scheduling queue's active and backoff queues. */
export class KeyedHeap<T> {
  private readonly items: { key: string; v: T }[] = [];
  private readonly index = new Map<string, number>();

  constructor(private readonly less: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  has(key: string): boolean {
    return this.index.has(key);
  }

  get(key: string): T | undefined {
    const i = this.index.get(key);
    return i === undefined ? undefined : this.items[i].v;
  }

  peek(): T | undefined {
    return this.items[0]?.v;
  }

  /** adds or replaces */
  push(key: string, v: T): void {
    const i = this.index.get(key);
    if (i !== undefined) {
      this.items[i].v = v;
      this.fix(i);
      return;
    }
    this.items.push({ key, v });
    this.index.set(key, this.items.length - 1);
    this.up(this.items.length - 1);
  }

  pop(): T | undefined {
    if (!this.items.length) return undefined;
    const top = this.items[0];
    this.removeAt(0);
    return top.v;
  }

  delete(key: string): T | undefined {
    const i = this.index.get(key);
    if (i === undefined) return undefined;
    const v = this.items[i].v;
    this.removeAt(i);
    return v;
  }

  private removeAt(i: number): void {
    const last = this.items.length - 1;
    this.index.delete(this.items[i].key);
    if (i !== last) {
      this.items[i] = this.items[last];
      this.index.set(this.items[i].key, i);
      this.items.pop();
      this.fix(i);
    } else {
      this.items.pop();
    }
  }

  private fix(i: number): void {
    this.up(i);
    this.down(i);
  }

  private up(i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(this.items[i].v, this.items[p].v)) break;
      this.swap(i, p);
      i = p;
    }
  }

  private down(i: number): void {
    const n = this.items.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(this.items[l].v, this.items[m].v)) m = l;
      if (r < n && this.less(this.items[r].v, this.items[m].v)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  private swap(a: number, b: number): void {
    const t = this.items[a];
    this.items[a] = this.items[b];
    this.items[b] = t;
    this.index.set(this.items[a].key, a);
    this.index.set(this.items[b].key, b);
  }
}
