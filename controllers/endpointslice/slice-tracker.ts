/**
 * What the EndpointSlice controller has written and not necessarily seen back through its informer yet: per
 * service, the resourceVersion each of its slices had after this controller's last write (or that it was deleted).
 * A sync against a cache that has not caught up would create duplicate slices or undo its own work, so it waits;
 * and the watch events of its own writes need no new sync.
 */
import type { KubeObject } from '../../lib/kube/object.ts';

const DELETED = -1n;
/** a write not seen back within this time is forgotten: the cache is then trusted again */
export const UNSEEN_WRITE_TTL_MS = 10_000;

function rv(o: KubeObject): bigint | undefined {
  const v = o.metadata.resourceVersion;
  if (!v || !/^\d+$/.test(v)) return undefined;
  return BigInt(v);
}

export class SliceTracker {
  /** service key → slice uid → resourceVersion after the last write (DELETED once deleted) */
  private readonly byService = new Map<string, Map<string, bigint>>();
  /** slice uid → service key */
  private readonly serviceOf = new Map<string, string>();
  /** slice uid → when it was last written */
  private readonly writtenAt = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** records a slice as this controller just wrote it */
  written(serviceKey: string, slice: KubeObject): void {
    const uid = slice.metadata.uid;
    const v = rv(slice);
    if (!uid || v === undefined) return;
    this.slices(serviceKey).set(uid, v);
    this.serviceOf.set(uid, serviceKey);
    this.writtenAt.set(uid, this.now());
  }

  /** records a slice this controller is deleting */
  deleting(serviceKey: string, slice: KubeObject): void {
    const uid = slice.metadata.uid;
    if (!uid) return;
    this.slices(serviceKey).set(uid, DELETED);
    this.serviceOf.set(uid, serviceKey);
    this.writtenAt.set(uid, this.now());
  }

  /** whether a watched version of a slice is something else than this controller's last write of it */
  changedByOthers(slice: KubeObject): boolean {
    const uid = slice.metadata.uid;
    const key = uid && this.serviceOf.get(uid);
    if (!key) return true;
    const expected = this.byService.get(key)?.get(uid!);
    return expected === undefined || expected === DELETED || rv(slice) !== expected;
  }

  /** a slice is gone: true when this controller deleted it */
  gone(slice: KubeObject): boolean {
    const uid = slice.metadata.uid;
    const key = uid && this.serviceOf.get(uid);
    if (!key) return false;
    const m = this.byService.get(key)!;
    const expected = m.get(uid!);
    this.drop(m, uid!);
    return expected === DELETED;
  }

  /** whether the cached slices of a service are older than what this controller wrote */
  stale(serviceKey: string, cached: KubeObject[]): boolean {
    const m = this.byService.get(serviceKey);
    if (!m || m.size === 0) return false;
    const seen = new Set<string>();
    for (const s of cached) {
      const uid = s.metadata.uid;
      if (!uid) continue;
      seen.add(uid);
      const expected = m.get(uid);
      if (expected === undefined) continue;
      if (expected === DELETED) {
        if (this.now() - (this.writtenAt.get(uid) ?? 0) <= UNSEEN_WRITE_TTL_MS) return true;
        this.drop(m, uid);
        continue;
      }
      const v = rv(s);
      if (v !== undefined && v < expected) return true;
    }
    let stale = false;
    for (const [uid, expected] of m) {
      if (seen.has(uid)) continue;
      // a deleted one no longer cached is settled; a written one not cached yet is awaited, for a while
      if (expected === DELETED || this.now() - (this.writtenAt.get(uid) ?? 0) > UNSEEN_WRITE_TTL_MS) this.drop(m, uid);
      else stale = true;
    }
    return stale;
  }

  forgetService(serviceKey: string): void {
    const m = this.byService.get(serviceKey);
    if (!m) return;
    for (const uid of [...m.keys()]) this.drop(m, uid);
    this.byService.delete(serviceKey);
  }

  private drop(m: Map<string, bigint>, uid: string): void {
    m.delete(uid);
    this.serviceOf.delete(uid);
    this.writtenAt.delete(uid);
  }

  private slices(serviceKey: string): Map<string, bigint> {
    let m = this.byService.get(serviceKey);
    if (!m) this.byService.set(serviceKey, (m = new Map()));
    return m;
  }
}
