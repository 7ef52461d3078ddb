/**
 * Owners the API server has confirmed absent (a GET answered 404, or an object of another uid), so that the
 * dependents of one deleted owner cost one lookup, not one each. Uids are never reused, so an entry never goes
 * stale; the cache is bounded, the oldest entry leaving first.
 */
export class AbsentOwnerCache {
  private readonly entries = new Set<string>();

  constructor(private readonly capacity = 500) {}

  /** `namespace` is '' for cluster-scoped owners */
  add(uid: string, namespace: string): void {
    const k = key(uid, namespace);
    this.entries.delete(k);
    this.entries.add(k);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.values().next().value!);
  }

  has(uid: string, namespace: string): boolean {
    const k = key(uid, namespace);
    if (!this.entries.has(k)) return false;
    // most recently used stays longest
    this.entries.delete(k);
    this.entries.add(k);
    return true;
  }

  get size(): number {
    return this.entries.size;
  }
}

function key(uid: string, namespace: string): string {
  return `${namespace}/${uid}`;
}
