/**
 * A fake API for tests beside the code: objects live in a map, every call is recorded in `actions`, and a test can
 * make the next calls of a verb fail. It answers like the API server in the ways controllers depend on (uid,
 * resourceVersion, generateName, 404, 409), nothing more; behaviour against the real API server is tested in test/.
 */
import { randomUUID } from 'node:crypto';
import type {
  ApiClient,
  DeleteOptions,
  ListOptions,
  PatchOptions,
  SubresourceOptions,
  PatchType,
  WatchEvent,
  WatchHandle,
  WatchOptions,
  WriteOptions,
} from './api.ts';
import { ApiError } from './api.ts';
import type { KubeObject, ObjectList, Untyped } from './object.ts';
import { apiVersionOf, type Resource } from './resources.ts';
import { rfc3339 } from '../time.ts';

export interface Action {
  verb: 'get' | 'list' | 'create' | 'update' | 'patch' | 'delete' | 'watch';
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  /** the body sent (create/update), the patch (patch), the options (delete): untyped, as tests read any of them */
  body?: Untyped;
  patchType?: PatchType;
}

export class FakeClient implements ApiClient {
  readonly actions: Action[] = [];
  private readonly objects = new Map<string, KubeObject>();
  private rv = 1;
  private failures: { verb: Action['verb']; error: Error }[] = [];
  private nameSeq = 0;

  /** writes only (create, update, patch, delete), as tests usually assert them */
  writes(): Action[] {
    return this.actions.filter((a) => a.verb !== 'get' && a.verb !== 'list' && a.verb !== 'watch');
  }

  clearActions(): void {
    this.actions.length = 0;
  }

  /** puts an object in the fake store without recording an action */
  seed(r: Resource, obj: KubeObject): KubeObject {
    const o = structuredClone(obj);
    o.apiVersion ??= apiVersionOf(r);
    o.kind ??= r.kind;
    o.metadata.uid ??= randomUUID();
    o.metadata.resourceVersion = String(++this.rv);
    this.objects.set(this.key(r, o.metadata.namespace, o.metadata.name!), o);
    return o;
  }

  /** the next call of this verb fails with the error */
  failNext(verb: Action['verb'], error: Error = new ApiError(500, 'InternalError', 'injected failure')): void {
    this.failures.push({ verb, error });
  }

  stored(r: Resource, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.objects.get(this.key(r, namespace, name));
  }

  async get<T extends KubeObject>(r: Resource<T>, namespace: string | undefined, name: string): Promise<T> {
    this.record({ verb: 'get', resource: r.resource, namespace, name });
    const o = this.objects.get(this.key(r, namespace, name));
    if (!o) throw notFound(r, name);
    return structuredClone(o) as T;
  }

  async list<T extends KubeObject>(r: Resource<T>, opts: ListOptions = {}): Promise<ObjectList<T>> {
    this.record({ verb: 'list', resource: r.resource, namespace: opts.namespace });
    const prefix = `${r.group}/${r.resource}/`;
    const items: T[] = [];
    for (const [k, o] of this.objects) {
      if (!k.startsWith(prefix)) continue;
      if (opts.namespace && o.metadata.namespace !== opts.namespace) continue;
      items.push(structuredClone(o) as T);
    }
    return { metadata: { resourceVersion: String(this.rv) }, items };
  }

  create<T extends KubeObject>(
    r: Resource<T>,
    obj: T,
    opts?: WriteOptions & { subresource?: string; name?: string },
  ): Promise<T>;
  create<B extends KubeObject>(r: Resource, obj: B, opts: SubresourceOptions): Promise<B>;
  async create(
    r: Resource,
    obj: KubeObject,
    opts: WriteOptions & { subresource?: string; name?: string } = {},
  ): Promise<KubeObject> {
    const namespace = obj.metadata?.namespace;
    const name =
      obj.metadata?.name ??
      (obj.metadata?.generateName
        ? `${obj.metadata.generateName}${(++this.nameSeq).toString(36).padStart(5, 'x')}`
        : undefined);
    this.record({
      verb: 'create',
      resource: r.resource,
      subresource: opts.subresource,
      namespace,
      name: opts.name ?? name,
      body: structuredClone(obj),
    });
    if (opts.subresource) return obj;
    if (!name) throw new ApiError(422, 'Invalid', 'name or generateName is required');
    const k = this.key(r, namespace, name);
    if (this.objects.has(k)) throw new ApiError(409, 'AlreadyExists', `${r.resource} "${name}" already exists`);
    const o = structuredClone(obj);
    o.apiVersion ??= apiVersionOf(r);
    o.kind ??= r.kind;
    o.metadata = {
      ...o.metadata,
      name,
      uid: randomUUID(),
      resourceVersion: String(++this.rv),
      creationTimestamp: rfc3339(),
    };
    if (opts.dryRun) return o;
    this.objects.set(k, o);
    return structuredClone(o);
  }

  update<T extends KubeObject>(r: Resource<T>, obj: T, opts?: WriteOptions & { subresource?: string }): Promise<T>;
  update<B extends KubeObject>(r: Resource, obj: B, opts: SubresourceOptions): Promise<B>;
  async update(r: Resource, obj: KubeObject, opts: WriteOptions & { subresource?: string } = {}): Promise<KubeObject> {
    const { namespace, name } = obj.metadata;
    this.record({
      verb: 'update',
      resource: r.resource,
      subresource: opts.subresource,
      namespace,
      name,
      body: structuredClone(obj),
    });
    const k = this.key(r, namespace, name!);
    const cur = this.objects.get(k);
    if (!cur) throw notFound(r, name!);
    if (obj.metadata.resourceVersion && obj.metadata.resourceVersion !== cur.metadata.resourceVersion) {
      throw new ApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${r.resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    const o = structuredClone(obj);
    o.metadata = { ...o.metadata, uid: cur.metadata.uid, resourceVersion: String(++this.rv) };
    if (opts.dryRun) return o;
    this.objects.set(k, o);
    return structuredClone(o);
  }

  async patch<T extends KubeObject>(
    r: Resource<T>,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    type: PatchType,
    opts: PatchOptions = {},
  ): Promise<T> {
    this.record({
      verb: 'patch',
      resource: r.resource,
      subresource: opts.subresource,
      namespace,
      name,
      body: structuredClone(patch),
      patchType: type,
    });
    const k = this.key(r, namespace, name);
    const cur = this.objects.get(k);
    if (!cur) throw notFound(r, name);
    if (type === 'json') return structuredClone(cur) as T; // JSON patches are recorded, not applied
    const o = mergePatch(structuredClone(cur), patch) as KubeObject;
    o.metadata.resourceVersion = String(++this.rv);
    if (opts.dryRun) return o as T;
    this.objects.set(k, o);
    return structuredClone(o) as T;
  }

  async delete(
    r: Resource,
    namespace: string | undefined,
    name: string,
    opts: DeleteOptions = {},
  ): Promise<KubeObject> {
    this.record({ verb: 'delete', resource: r.resource, namespace, name, body: opts });
    const k = this.key(r, namespace, name);
    const cur = this.objects.get(k);
    if (!cur) throw notFound(r, name);
    if (opts.preconditions?.uid && opts.preconditions.uid !== cur.metadata.uid) {
      throw new ApiError(
        409,
        'Conflict',
        `Precondition failed: UID in precondition: ${opts.preconditions.uid}, UID in object meta: ${cur.metadata.uid}`,
      );
    }
    this.objects.delete(k);
    return { apiVersion: 'v1', kind: 'Status', metadata: {}, status: 'Success' } as KubeObject;
  }

  watch<T extends KubeObject>(
    r: Resource<T>,
    opts: WatchOptions,
    _onEvent: (e: WatchEvent<T>) => void,
    _done: (err?: Error) => void,
  ): WatchHandle {
    this.record({ verb: 'watch', resource: r.resource, namespace: opts.namespace });
    return { stop() {} };
  }

  private record(a: Action): void {
    this.actions.push(a);
    const i = this.failures.findIndex((f) => f.verb === a.verb);
    if (i >= 0) {
      const [f] = this.failures.splice(i, 1);
      throw f.error;
    }
  }

  private key(r: Resource, namespace: string | undefined, name: string): string {
    return `${r.group}/${r.resource}/${r.namespaced ? (namespace ?? '') : ''}/${name}`;
  }
}

function notFound(r: Resource, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${r.resource}${r.group ? '.' + r.group : ''} "${name}" not found`);
}

/** RFC 7386 merge patch */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isMap(patch)) return patch;
  const out = isMap(target) ? target : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
