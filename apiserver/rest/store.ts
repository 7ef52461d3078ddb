/**
 * The generic REST store: Kubernetes' object semantics on top of storage.Backend, for every resource.
 * create / get / list / guaranteedUpdate / delete / deleteCollection, with uid, resourceVersion (= the store's
 * modRevision), generation, generateName, finalizers, graceful deletion, preconditions and dry-run.
 * Reads of lists come from the watch cache; single-object reads and all writes go to the store.
 */
import { randomUUID } from 'node:crypto';
import type { Backend, KeyValue, WriteResult } from '../storage/backend.ts';
import { CompactedError, FutureRevisionError } from '../storage/backend.ts';
import type { FieldError } from '../api/field-error.ts';
import type { Dispatcher } from '../watchcache/dispatcher.ts';
import { ResourceCache, type CachedObject, type WatchFilter } from '../watchcache/cache.ts';
import { apiVersionOf, storageKey, type Resource } from './resource.ts';
import {
  ApiError,
  MODIFIED_CONFLICT,
  alreadyExists,
  badRequest,
  conflict,
  gone,
  invalidObject,
  tooLargeResourceVersion,
  notFound,
} from './status.ts';
import { clone, deepEqual, generateName, specPart, type ApiObject } from './meta.ts';
import { FIELD_IMMUTABLE, invalid } from '../api/validation/errors.ts';
import { rfc3339 } from '../../lib/time.ts';
import type { UserInfo } from '../auth/user.ts';
import type { AdmissionChain, Attributes, Operation } from '../admission/index.ts';
import type { Propagation } from './strategy.ts';

export interface WriteOptions {
  dryRun?: boolean;
  /** who writes, for admission; none for the API server's own writes */
  user?: UserInfo;
}

export interface DeleteOptions extends WriteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface ListQuery {
  filter: WatchFilter;
  limit?: number;
  continueToken?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
  /** only for watches: a list that names it is refused */
  sendInitialEvents?: boolean;
}

export interface ListResult {
  /** the objects, parsed on first use (tables, YAML, deletecollection) */
  items: any[];
  /** the entries behind items, from the cache or the store: JSON lists send their JSON */
  entries: CachedObject[];
  resourceVersion: string;
  continueToken?: string;
  remainingItemCount?: number;
}

/** turns FieldErrors into the 422 the caller renders; provided by the API layer */
export type InvalidError = (r: Resource, name: string, errors: FieldError[]) => ApiError;

interface ContinueToken {
  v: string;
  rv: number;
  start: string;
}

export function encodeContinue(rv: number, lastKey: string): string {
  const t: ContinueToken = { v: 'meta.k8s.io/v1', rv, start: lastKey };
  return Buffer.from(JSON.stringify(t)).toString('base64url');
}

export function decodeContinue(token: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as ContinueToken;
    if (t.v !== 'meta.k8s.io/v1' || typeof t.rv !== 'number' || typeof t.start !== 'string')
      throw new Error('bad token');
    return t;
  } catch {
    throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  }
}

const MAX_UPDATE_RETRIES = 16;

export class RestStore {
  /** the stored JSON (without resourceVersion) of objects this store just wrote */
  private readonly encoded = new WeakMap<object, string>();

  constructor(
    readonly backend: Backend,
    readonly dispatcher: Dispatcher,
    private readonly invalid: InvalidError,
    private readonly admission: AdmissionChain,
  ) {}

  /** what admission is told of a write, when any plugin takes part in its operation */
  private admissionOf(
    operation: Operation,
    r: Resource,
    ns: string,
    name: string,
    object: ApiObject | undefined,
    oldObject: ApiObject | undefined,
    opts: WriteOptions & { subresource?: string },
  ): Attributes | undefined {
    if (!this.admission.handles(operation)) return undefined;
    return {
      operation,
      resource: r.info,
      subresource: opts.subresource ?? '',
      namespace: r.info.namespaced ? ns : '',
      name,
      object,
      oldObject,
      userInfo: opts.user,
      dryRun: !!opts.dryRun,
    };
  }

  private decode(r: Resource, kv: KeyValue): any {
    const stored = JSON.parse(kv.value);
    const obj = r.view ? r.view.fromStorage(stored) : stored;
    (obj.metadata ??= {}).resourceVersion = String(kv.modRevision);
    return obj;
  }

  private encode(r: Resource, obj: any): string {
    const md = obj.metadata;
    const rv = md.resourceVersion;
    delete md.resourceVersion;
    const s = JSON.stringify(r.view ? r.view.toStorage(obj) : obj);
    if (rv !== undefined) md.resourceVersion = rv;
    // what was stored is this object's JSON only when the resource is stored as itself
    if (!r.view) this.encoded.set(obj, s);
    return s;
  }

  /**
   * store obj under key through write (a create or a guarded update of its encoded value); the watch cache may take
   * obj itself for the write's event instead of parsing the value again, so obj stays unchanged until this returns
   */
  private async put(
    r: Resource,
    key: string,
    obj: any,
    write: (value: string) => Promise<WriteResult>,
  ): Promise<WriteResult> {
    const value = this.encode(r, obj);
    if (r.view) return write(value);
    this.dispatcher.expect(key, value, obj);
    try {
      return await write(value);
    } finally {
      this.dispatcher.forget(key, value);
    }
  }

  /** a stored object (e.g. from the watch cache, shared: not changed here) as the resource's clients see it */
  private viewed(r: Resource, stored: any): any {
    return r.view ? r.view.fromStorage(stored) : stored;
  }

  /** the JSON of an object this store wrote, with its resourceVersion, without serializing it again */
  jsonOf(obj: any): string | undefined {
    const s = this.encoded.get(obj);
    const rv = obj?.metadata?.resourceVersion;
    if (s === undefined || rv === undefined) return undefined;
    const at = s.indexOf('"metadata":{');
    if (at < 0) return undefined;
    const i = at + '"metadata":{'.length;
    return `${s.slice(0, i)}"resourceVersion":${JSON.stringify(rv)}${s[i] === '}' ? '' : ','}${s.slice(i)}`;
  }

  private withTypeMeta(r: Resource, obj: any): any {
    // apiVersion and kind first, as Kubernetes serializes them
    const { apiVersion: _a, kind: _k, ...rest } = obj;
    return { apiVersion: apiVersionOf(r.info), kind: r.info.kind, ...rest };
  }

  /** check apiVersion/kind of a body against the resource */
  checkTypeMeta(r: Resource, obj: any): void {
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      throw badRequest(`the body of the request must be a JSON object of kind ${r.info.kind}`);
    }
    const want = apiVersionOf(r.info);
    if (obj.kind !== undefined && obj.kind !== '' && obj.kind !== r.info.kind) {
      throw badRequest(`the kind in the data (${obj.kind}) does not match the expected kind (${r.info.kind})`);
    }
    if (obj.apiVersion !== undefined && obj.apiVersion !== '' && obj.apiVersion !== want) {
      throw badRequest(
        `the API version in the data (${obj.apiVersion}) does not match the expected API version (${want})`,
      );
    }
  }

  private checkNamespace(r: Resource, ns: string, obj: any): void {
    if (!r.info.namespaced) {
      if (obj.metadata?.namespace) delete obj.metadata.namespace;
      return;
    }
    const md = (obj.metadata ??= {});
    if (md.namespace && md.namespace !== ns) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    md.namespace = ns;
  }

  private validateOrThrow(r: Resource, name: string, errs: FieldError[]): void {
    if (errs.length > 0) throw this.invalid(r, name, errs);
  }

  /**
   * one object, with Kubernetes' resourceVersion semantics for a get: unset, the most recent (from the store); "0", any
   * (the watch cache); another, not older than it (the watch cache once it has caught up, 504 after 3 s)
   */
  async get(r: Resource, ns: string, name: string, resourceVersion?: string): Promise<any> {
    const key = storageKey(r, ns, name);
    if (resourceVersion) {
      if (!/^\d+$/.test(resourceVersion))
        throw badRequest(`resourceVersion: Invalid value: "${resourceVersion}": must be a non-negative integer`);
      const want = Number(resourceVersion);
      if (want > 0 && !(await this.dispatcher.waitFor(want, 3000)))
        throw tooLargeResourceVersion(want, this.dispatcher.rev);
      if (this.dispatcher.ready) {
        const o = r.cache.get(key);
        if (!o) throw notFound(r.info.group, r.info.resource, name);
        return this.withTypeMeta(r, clone(this.viewed(r, o.obj)));
      }
    }
    const { kv } = await this.backend.get(key);
    if (!kv) throw notFound(r.info.group, r.info.resource, name);
    return this.withTypeMeta(r, this.decode(r, kv));
  }

  /** prepare a new object for storage: defaults, metadata, status reset, validation */
  prepareCreate(r: Resource, ns: string, body: any, owned = false): any {
    this.checkTypeMeta(r, body);
    const obj = this.withTypeMeta(r, owned ? body : clone(body));
    this.checkNamespace(r, ns, obj);
    const md = (obj.metadata ??= {});
    if (!md.name && md.generateName) md.name = generateName(md.generateName);
    md.uid = randomUUID();
    md.creationTimestamp = rfc3339();
    delete md.resourceVersion;
    delete md.deletionTimestamp;
    delete md.deletionGracePeriodSeconds;
    delete md.selfLink;
    if (r.strategy.generation) md.generation = 1;
    else delete md.generation;
    r.strategy.prepareForCreate(obj);
    r.strategy.defaults(obj);
    return obj;
  }

  async create(r: Resource, ns: string, body: any, opts: WriteOptions = {}, prepared?: any): Promise<any> {
    const obj = prepared ?? this.prepareCreate(r, ns, body);
    const name = obj.metadata.name ?? '';
    // as Kubernetes: mutating admission (the namespace's lifecycle first), validation, validating admission
    const admission = this.admissionOf('CREATE', r, ns, name, obj, undefined, opts);
    if (admission) await this.admission.admit(admission);
    this.validateOrThrow(r, name, r.strategy.validate(obj));
    if (admission) await this.admission.validate(admission);
    const release = r.strategy.beginCreate ? await r.strategy.beginCreate(obj, !!opts.dryRun) : undefined;
    if (opts.dryRun) {
      await release?.();
      return obj;
    }
    let res;
    try {
      const key = storageKey(r, ns, name);
      res = await this.put(r, key, obj, (value) => this.backend.create(key, value));
    } catch (e) {
      await release?.();
      throw e;
    }
    if (!res.ok) {
      await release?.();
      throw alreadyExists(r.info.group, r.info.resource, name);
    }
    obj.metadata.resourceVersion = String(res.revision);
    return this.asStored(r, obj);
  }

  /**
   * what a write answers: the object as stored. A resource stored as another is read back through its conversion,
   * which may fill in what the stored form defaults (an autoscaling/v1 HPA's CPU target)
   */
  private asStored(r: Resource, obj: any): any {
    if (!r.view) return obj;
    const back = this.withTypeMeta(r, r.view.fromStorage(r.view.toStorage(obj)));
    back.metadata = { ...back.metadata, resourceVersion: obj.metadata?.resourceVersion };
    return back;
  }

  /**
   * read-modify-write with optimistic concurrency: mutate gets the current object (a private copy) and returns the
   * desired one. When the desired object carries a resourceVersion it must match (409 otherwise); when it does
   * not, the write is retried on conflicts. A no-op change writes nothing.
   */
  async guaranteedUpdate(
    r: Resource,
    ns: string,
    name: string,
    mutate: (cur: any | undefined) => any | Promise<any>,
    opts: WriteOptions & {
      subresource?: string;
      allowCreate?: boolean;
      /** server-internal writes (binding) skip admission and update validation */ internal?: boolean;
    } = {},
  ): Promise<{ obj: any; created: boolean }> {
    const key = storageKey(r, ns, name);
    for (let attempt = 0; ; attempt++) {
      const { kv } = await this.backend.get(key);
      if (!kv) {
        if (!opts.allowCreate) throw notFound(r.info.group, r.info.resource, name);
        const desired = await mutate(undefined);
        const obj = this.prepareCreate(r, ns, desired);
        if (!obj.metadata.name) obj.metadata.name = name;
        if (obj.metadata.name !== name) throw badRequest('the name of the object does not match the name on the URL');
        try {
          return { obj: await this.create(r, ns, desired, opts, obj), created: true };
        } catch (e) {
          if (e instanceof ApiError && e.reason === 'AlreadyExists' && attempt < MAX_UPDATE_RETRIES) continue;
          throw e;
        }
      }
      const cur = this.withTypeMeta(r, this.decode(r, kv));
      const desired = await mutate(clone(cur));
      this.checkTypeMeta(r, desired);
      const wantRv = desired.metadata?.resourceVersion;
      if (wantRv !== undefined && wantRv !== '' && wantRv !== cur.metadata.resourceVersion) {
        throw conflict(r.info.group, r.info.resource, name, MODIFIED_CONFLICT);
      }
      const next = this.prepareUpdate(r, ns, name, desired, cur, opts.subresource);
      if (!opts.internal) {
        const admission = this.admissionOf('UPDATE', r, ns, name, next, cur, opts);
        if (admission) await this.admission.admit(admission);
        this.validateUpdate(r, name, next, cur, opts.subresource);
        if (admission) await this.admission.validate(admission);
      }
      if (deepEqual(next, cur)) return { obj: cur, created: false };
      const release = r.strategy.beginUpdate ? await r.strategy.beginUpdate(next, cur, !!opts.dryRun) : undefined;
      if (opts.dryRun) {
        await release?.();
        return { obj: next, created: false };
      }
      // an object marked for deletion whose finalizers are all gone is deleted now, unless it is a pod still
      // within its grace period (its node deletes it when its containers have stopped)
      const finalize = shouldDeleteDuringUpdate(r, next, cur);
      const res = finalize
        ? await this.backend.delete(key, kv.modRevision)
        : await this.put(r, key, next, (value) => this.backend.update(key, value, kv.modRevision));
      if (!res.ok) {
        // someone wrote first: try again on the newer object. A resourceVersion the client asked for is checked
        // against it above (a PUT's stale version is a conflict), while a patch that named none applies again
        await release?.();
        if (attempt >= MAX_UPDATE_RETRIES) throw conflict(r.info.group, r.info.resource, name, MODIFIED_CONFLICT);
        continue;
      }
      next.metadata.resourceVersion = String(res.revision);
      if (finalize) await r.strategy.afterDelete?.(next);
      return { obj: this.asStored(r, next), created: false };
    }
  }

  /** the stored form of an update: immutable metadata kept, status/spec split by subresource, defaults, generation */
  private prepareUpdate(r: Resource, ns: string, name: string, desired: any, cur: any, subresource?: string): any {
    const next = this.withTypeMeta(r, clone(desired));
    if (subresource !== 'status') this.checkNamespace(r, ns, next);
    r.strategy.prepareForUpdate(next, cur, subresource);
    const md = (next.metadata ??= {});
    const old = cur.metadata;
    if (md.name !== undefined && md.name !== name) {
      throw badRequest(`the name of the object (${md.name}) does not match the name on the URL (${name})`);
    }
    md.name = name;
    // a uid given must be the object's (a PUT's was checked as a precondition; a patch may not change it)
    if (md.uid !== undefined && md.uid !== null && md.uid !== '' && md.uid !== old.uid) {
      throw this.invalid(r, name, [invalid('metadata.uid', md.uid, FIELD_IMMUTABLE)]);
    }
    md.uid = old.uid;
    md.creationTimestamp = old.creationTimestamp;
    md.resourceVersion = old.resourceVersion;
    if (old.deletionTimestamp) {
      md.deletionTimestamp = old.deletionTimestamp;
      if (old.deletionGracePeriodSeconds !== undefined) md.deletionGracePeriodSeconds = old.deletionGracePeriodSeconds;
    } else {
      delete md.deletionTimestamp;
      delete md.deletionGracePeriodSeconds;
    }
    if (old.generateName !== undefined && md.generateName === undefined) md.generateName = old.generateName;
    delete md.selfLink;
    r.strategy.defaults(next);
    if (r.strategy.generation) {
      md.generation = old.generation ?? 1;
      if (subresource !== 'status' && !deepEqual(specPart(next), specPart(cur)))
        md.generation = (old.generation ?? 0) + 1;
    } else {
      delete md.generation;
    }
    if (old.deletionTimestamp && md.finalizers) {
      // finalizers may only be removed once deletion started, never added (Kubernetes forbids new ones)
      const before = new Set<string>(old.finalizers ?? []);
      const added = (md.finalizers as string[]).filter((f) => !before.has(f));
      if (added.length > 0) {
        throw this.invalid(r, name, [
          {
            type: 'FieldValueForbidden',
            field: 'metadata.finalizers',
            detail: `no new finalizers can be added if the object is being deleted, found new finalizers []string{"${added.join('", "')}"}`,
          },
        ]);
      }
    }
    return next;
  }

  /** the resource's validation of an update (of its status, through the status subresource) */
  private validateUpdate(
    r: Resource,
    name: string,
    next: ApiObject,
    cur: ApiObject,
    subresource: string | undefined,
  ): void {
    this.validateOrThrow(r, name, r.strategy.validateUpdate(next, cur, subresource));
  }

  async delete(
    r: Resource,
    ns: string,
    name: string,
    opts: DeleteOptions = {},
  ): Promise<{ obj: any; deleted: boolean }> {
    const key = storageKey(r, ns, name);
    for (let attempt = 0; ; attempt++) {
      const { kv } = await this.backend.get(key);
      if (!kv) throw notFound(r.info.group, r.info.resource, name);
      const cur = this.withTypeMeta(r, this.decode(r, kv));
      const md = cur.metadata;
      const pre = opts.preconditions;
      if (pre?.uid && pre.uid !== md.uid) {
        throw conflict(
          r.info.group,
          r.info.resource,
          name,
          `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${md.uid}`,
        );
      }
      if (pre?.resourceVersion && pre.resourceVersion !== md.resourceVersion) {
        throw conflict(
          r.info.group,
          r.info.resource,
          name,
          `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${md.resourceVersion}`,
        );
      }
      const admission = this.admissionOf('DELETE', r, ns, name, undefined, cur, opts);
      if (admission) {
        await this.admission.admit(admission);
        await this.admission.validate(admission);
      }
      const next = clone(cur);
      const nmd = next.metadata;
      // graceful deletion (of a pod that a node may be running)
      const grace = r.strategy.gracePeriod(cur, opts.gracePeriodSeconds);
      const graceful = grace > 0;
      if (graceful) {
        const prevGrace = md.deletionGracePeriodSeconds;
        // already terminating with an equal or shorter grace period: that one stands
        if (!(md.deletionTimestamp && prevGrace !== undefined && prevGrace !== null && prevGrace <= grace)) {
          nmd.deletionTimestamp = rfc3339(new Date(Date.now() + grace * 1000));
          nmd.deletionGracePeriodSeconds = grace;
        }
      }
      // the garbage collector's finalizers, as the propagation policy (or the resource's default) asks
      const before: string[] = nmd.finalizers ?? [];
      const finalizers = deletionFinalizers(r, before, opts.propagationPolicy);
      if (finalizers !== before) {
        if (finalizers.length > 0) nmd.finalizers = finalizers;
        else delete nmd.finalizers;
      }
      if (r.strategy.hasFinalizers(next) || graceful) {
        if (!nmd.deletionTimestamp) {
          nmd.deletionTimestamp = rfc3339();
          nmd.deletionGracePeriodSeconds = 0;
        }
        r.strategy.prepareForDeletion(next);
        // marking an object for deletion is a change of its desired state: generation moves once, as in Kubernetes
        if (!md.deletionTimestamp && typeof nmd.generation === 'number' && nmd.generation > 0) nmd.generation++;
        if (deepEqual(next, cur)) return { obj: cur, deleted: false };
        if (opts.dryRun) return { obj: next, deleted: false };
        const res = await this.put(r, key, next, (value) => this.backend.update(key, value, kv.modRevision));
        if (!res.ok) {
          if (attempt < MAX_UPDATE_RETRIES) continue;
          throw conflict(r.info.group, r.info.resource, name, MODIFIED_CONFLICT);
        }
        nmd.resourceVersion = String(res.revision);
        return { obj: next, deleted: false };
      }
      if (opts.dryRun) return { obj: cur, deleted: true };
      const res = await this.backend.delete(key, kv.modRevision);
      if (!res.ok) {
        if (attempt < MAX_UPDATE_RETRIES) continue;
        throw conflict(r.info.group, r.info.resource, name, MODIFIED_CONFLICT);
      }
      cur.metadata.resourceVersion = String(res.revision);
      await r.strategy.afterDelete?.(cur);
      return { obj: cur, deleted: true };
    }
  }

  /** list matching objects with Kubernetes' resourceVersion semantics */
  async list(r: Resource, q: ListQuery): Promise<ListResult> {
    const limit = q.limit && q.limit > 0 ? q.limit : 0;
    const rv = q.resourceVersion;
    const match = q.resourceVersionMatch;
    // Kubernetes' ValidateListOptions: every problem, as a 422 on ListOptions
    if (match) {
      const errs: FieldError[] = [];
      const forbid = (detail: string) =>
        errs.push({ type: 'FieldValueForbidden', field: 'resourceVersionMatch', detail });
      if (!rv) forbid('resourceVersionMatch is forbidden unless resourceVersion is provided');
      if (q.continueToken) forbid('resourceVersionMatch is forbidden when continue is provided');
      if (match !== 'Exact' && match !== 'NotOlderThan') {
        errs.push({
          type: 'FieldValueNotSupported',
          field: 'resourceVersionMatch',
          value: match,
          detail: 'supported values: "Exact", "NotOlderThan", ""',
        });
      }
      if (match === 'Exact' && rv === '0') forbid('resourceVersionMatch "exact" is forbidden for resourceVersion "0"');
      if (errs.length > 0) throw invalidObject('ListOptions', '', errs, 'meta.k8s.io');
    }
    if (q.sendInitialEvents !== undefined) {
      throw invalidObject(
        'ListOptions',
        '',
        [
          {
            type: 'FieldValueForbidden',
            field: 'sendInitialEvents',
            detail: 'sendInitialEvents is forbidden for list',
          },
        ],
        'meta.k8s.io',
      );
    }
    if (q.continueToken) {
      if (rv && rv !== '0') throw badRequest('specifying resource version is not allowed when using continue');
      const t = decodeContinue(q.continueToken);
      if (t.rv === this.dispatcher.rev && this.dispatcher.ready) return this.listFromCache(r, q.filter, t.start, limit);
      return this.listFromStore(r, q.filter, t.start, limit, t.rv);
    }
    if (rv !== undefined && rv !== '' && !/^\d+$/.test(rv)) {
      throw badRequest(`resourceVersion: Invalid value: "${rv}": must be a non-negative integer`);
    }
    // Exact: asked for, or (as Kubernetes still reads it) a first page at a resourceVersion other than 0
    if (match === 'Exact' || (!match && limit > 0 && rv && rv !== '0')) {
      return this.listFromStore(r, q.filter, '', limit, Number(rv));
    }
    if (rv === '0') {
      await this.dispatcher.whenReady();
      return this.listFromCache(r, q.filter, '', limit);
    }
    if (rv) {
      const want = Number(rv);
      if (!(await this.dispatcher.waitFor(want, 3000))) {
        throw tooLargeResourceVersion(want, this.dispatcher.rev);
      }
      return this.listFromCache(r, q.filter, '', limit);
    }
    // consistent read: the cache serves it once it has caught up with the store's current revision
    const current = await this.backend.currentRevision();
    if (this.dispatcher.ready && (await this.dispatcher.waitFor(current, 1000))) {
      return this.listFromCache(r, q.filter, '', limit);
    }
    return this.listFromStore(r, q.filter, '', limit, 0);
  }

  private listOf(r: Resource, entries: CachedObject[], rev: number): ListResult {
    let parsed: any[] | undefined;
    const typed = (stored: any) => {
      const o = this.viewed(r, stored);
      return o.apiVersion && o.kind ? o : this.withTypeMeta(r, o);
    };
    return {
      get items() {
        return (parsed ??= entries.map((o) => typed(o.obj)));
      },
      entries,
      resourceVersion: String(rev),
    };
  }

  private listFromCache(r: Resource, filter: WatchFilter, startAfter: string, limit: number): ListResult {
    const rev = this.dispatcher.rev;
    const { items, more, remaining } = r.cache.list(filter, startAfter, limit);
    const out = this.listOf(r, items, rev);
    if (more && items.length > 0) {
      out.continueToken = encodeContinue(rev, items[items.length - 1].key);
      if (filter.labels.empty && filter.fields.empty) out.remainingItemCount = remaining;
    }
    return out;
  }

  private async listFromStore(
    r: Resource,
    filter: WatchFilter,
    startAfter: string,
    limit: number,
    revision: number,
  ): Promise<ListResult> {
    const prefix = filter.namespace !== undefined && r.info.namespaced ? `${r.prefix}${filter.namespace}/` : r.prefix;
    const items: CachedObject[] = [];
    let rev = revision;
    let after = startAfter;
    let more = false;
    try {
      for (;;) {
        const page = await this.backend.list(prefix, { startAfter: after, revision: rev, limit: Math.max(limit, 500) });
        rev = page.revision;
        for (const kv of page.kvs) {
          const o = ResourceCache.decode(kv.key, kv.value, kv.modRevision);
          if (!r.cache.matches(filter, o)) continue;
          if (limit > 0 && items.length >= limit) {
            more = true;
            break;
          }
          items.push(o);
        }
        if (more || !page.more || page.kvs.length === 0) break;
        after = page.kvs[page.kvs.length - 1].key;
      }
    } catch (e) {
      if (e instanceof CompactedError) {
        throw gone(
          startAfter
            ? 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.'
            : `The resourceVersion for the provided list is too old.`,
        );
      }
      if (e instanceof FutureRevisionError) throw tooLargeResourceVersion(revision, e.current);
      throw e;
    }
    const out = this.listOf(r, items, rev);
    if (more) out.continueToken = encodeContinue(rev, items[items.length - 1].key);
    return out;
  }
}

export const ORPHAN_FINALIZER = 'orphan';
export const FOREGROUND_FINALIZER = 'foregroundDeletion';

/** what deleting dependents means for a resource when the request names no propagation policy (its strategy says) */
export function defaultPropagation(r: Resource): Propagation {
  return r.strategy.defaultPropagation;
}

/**
 * The finalizers of an object being deleted: the "orphan" and "foregroundDeletion" finalizers are set from the
 * request's propagation policy, else kept as the object has them, else from the resource's default; other
 * finalizers are kept as they are. Returns the current list itself when nothing changes.
 */
export function deletionFinalizers(
  r: Resource,
  current: string[],
  policy: DeleteOptions['propagationPolicy'],
): string[] {
  const def = defaultPropagation(r);
  if (def === 'Unsupported') return current;
  let orphan: boolean;
  let foreground: boolean;
  if (policy) {
    orphan = policy === 'Orphan';
    foreground = policy === 'Foreground';
  } else if (current.includes(ORPHAN_FINALIZER) || current.includes(FOREGROUND_FINALIZER)) {
    // validation keeps both from being set together; the first one found wins, as in Kubernetes
    const first = current.find((f) => f === ORPHAN_FINALIZER || f === FOREGROUND_FINALIZER);
    orphan = first === ORPHAN_FINALIZER;
    foreground = first === FOREGROUND_FINALIZER;
  } else {
    orphan = def === 'Orphan';
    foreground = false;
  }
  const next = current.filter((f) => f !== ORPHAN_FINALIZER && f !== FOREGROUND_FINALIZER);
  if (orphan) next.push(ORPHAN_FINALIZER);
  if (foreground) next.push(FOREGROUND_FINALIZER);
  const same = next.length === current.length && next.every((f) => current.includes(f));
  return same ? current : next;
}

/**
 * An update deletes the object when it was marked for deletion without a grace period still running and its
 * last finalizer goes (for namespaces, spec.finalizers count too: the strategy says what holds an object).
 */
function shouldDeleteDuringUpdate(r: Resource, next: any, cur: any): boolean {
  if (!cur.metadata?.deletionTimestamp || r.strategy.hasFinalizers(next)) return false;
  const grace = cur.metadata.deletionGracePeriodSeconds;
  return grace === undefined || grace === null || grace === 0;
}
