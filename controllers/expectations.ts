/**
 * Expectations (Kubernetes' ControllerExpectations): a controller that has just asked for N creations or deletions
 * does not act on the same owner again until its informer has seen them (or five minutes pass), so a slow watch can
 * never make it create or delete twice.
 */
const EXPECTATION_TTL_MS = 5 * 60_000;

interface Expectation {
  add: number;
  del: number;
  /** uids of pods expected to go */
  deleting: Set<string>;
  at: number;
}

export class Expectations {
  private readonly byKey = new Map<string, Expectation>();

  /** true when the owner may be synced: nothing pending, or what was pending is too old to trust */
  satisfied(key: string, now: number = Date.now()): boolean {
    const e = this.byKey.get(key);
    if (!e) return true;
    if (e.add <= 0 && e.del <= 0) return true;
    return now - e.at > EXPECTATION_TTL_MS;
  }

  expectCreations(key: string, n: number): void {
    this.byKey.set(key, { add: n, del: 0, deleting: new Set(), at: Date.now() });
  }

  expectDeletions(key: string, uids: string[]): void {
    this.byKey.set(key, { add: 0, del: uids.length, deleting: new Set(uids), at: Date.now() });
  }

  /** the informer saw a pod of this owner appear (or a creation failed and will never be seen) */
  creationObserved(key: string): void {
    const e = this.byKey.get(key);
    if (e) e.add--;
  }

  /** the informer saw a pod of this owner go (or a deletion failed) */
  deletionObserved(key: string, uid?: string): void {
    const e = this.byKey.get(key);
    if (!e) return;
    if (uid !== undefined) {
      if (!e.deleting.delete(uid)) return;
    }
    e.del--;
  }

  /** forgets the owner (it was deleted) */
  delete(key: string): void {
    this.byKey.delete(key);
  }

  pending(key: string): { add: number; del: number } | undefined {
    const e = this.byKey.get(key);
    return e ? { add: e.add, del: e.del } : undefined;
  }
}
