/**
 * Reading objects for the server's own needs (token checks, admission, the node proxy): from the watch cache without a
 * copy, or live (the cache, else the store). Resources are named by their registry key, '<group>/<version>/<resource>'
 * ('/v1/pods').
 */
import type { CachedObject } from './watchcache/cache.ts';
import type { ObjectIdentity } from './api/core/token-request.ts';
import { storageKey, type Resource } from './rest/resource.ts';
import type { RestStore } from './rest/store.ts';
import { ApiError } from './rest/status.ts';

/** a stored object as read here: never changed by its reader */
export type StoredObject = Record<string, unknown> & { metadata?: Record<string, unknown> };

export class ObjectLookup {
  // a cached object is kept as JSON: what token checks need of one version is parsed once, not per request
  private readonly identities = new WeakMap<CachedObject, ObjectIdentity>();

  constructor(
    private readonly resource: (key: string) => Resource | undefined,
    private readonly store: RestStore,
  ) {}

  /** an object of the watch cache, without a copy: read it, never change it */
  entry(key: string, ns: string, name: string): CachedObject | undefined {
    const r = this.resource(key);
    return r ? r.cache.get(storageKey(r, ns, name)) : undefined;
  }

  cached(key: string, ns: string, name: string): StoredObject | undefined {
    return this.entry(key, ns, name)?.obj as StoredObject | undefined;
  }

  /** the uid and deletionTimestamp of a cached object, parsed once per version of it */
  identity(key: string, ns: string, name: string): ObjectIdentity | undefined {
    const entry = this.entry(key, ns, name);
    if (!entry) return undefined;
    let id = this.identities.get(entry);
    if (!id) {
      const md = (entry.obj as StoredObject | undefined)?.metadata;
      const deletion = md?.deletionTimestamp;
      id = { uid: md?.uid as string | undefined, deletionTimestamp: (deletion as string | null) ?? undefined };
      this.identities.set(entry, id);
    }
    return id;
  }

  /** the cache first, then the store itself (an object written a moment ago may not have reached the cache) */
  async live(key: string, ns: string, name: string): Promise<StoredObject | undefined> {
    const hit = this.cached(key, ns, name);
    if (hit) return hit;
    const r = this.resource(key);
    if (!r) return undefined;
    try {
      return (await this.store.get(r, ns, name)) as StoredObject;
    } catch (e) {
      if (e instanceof ApiError && e.code === 404) return undefined;
      throw e;
    }
  }
}
