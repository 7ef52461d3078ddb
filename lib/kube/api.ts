/**
 * The API a component uses to talk to the API server. `Client` (client.ts) implements it over HTTPS with the
 * credentials of a kubeconfig; `FakeClient` (fake.ts) records the writes for tests beside the code. Every call takes
 * a Resource, whose object type types the answer: get(Pods, ...) resolves with a Pod.
 */
import type { KubeObject, ObjectList } from './object.ts';
import type { Resource } from './resources.ts';
import type { Status } from './types/meta.ts';

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
}

export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';

export interface PatchOptions extends WriteOptions {
  subresource?: string;
  /** server-side apply: take ownership of conflicting fields */
  force?: boolean;
}

export interface DeleteOptions {
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
}

export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export interface WatchHandle {
  /** ends the watch; `done` is then called with no error */
  stop(): void;
}

/** a write to a subresource ("binding", "eviction", "token", "status", "scale") of the object named */
export interface SubresourceOptions extends WriteOptions {
  subresource: string;
  /** the object's name (create): by default the body's */
  name?: string;
}

export interface ApiClient {
  get<T extends KubeObject>(r: Resource<T>, namespace: string | undefined, name: string): Promise<T>;
  list<T extends KubeObject>(r: Resource<T>, opts?: ListOptions): Promise<ObjectList<T>>;
  create<T extends KubeObject>(
    r: Resource<T>,
    obj: T,
    opts?: WriteOptions & { subresource?: string; name?: string },
  ): Promise<T>;
  /**
   * a POST to a subresource whose body is of another kind (a Binding to pods/binding, an Eviction, a TokenRequest):
   * the answer is typed as the body (a TokenRequest answers with one; binding and eviction answer a Status)
   */
  create<B extends KubeObject>(r: Resource, obj: B, opts: SubresourceOptions): Promise<B>;
  /** PUT of the whole object (or of a subresource: "status", "finalize") guarded by its resourceVersion */
  update<T extends KubeObject>(r: Resource<T>, obj: T, opts?: WriteOptions & { subresource?: string }): Promise<T>;
  /** PUT of a subresource whose body is of another kind (an autoscaling/v1 Scale) */
  update<B extends KubeObject>(r: Resource, obj: B, opts: SubresourceOptions): Promise<B>;
  patch<T extends KubeObject>(
    r: Resource<T>,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    type: PatchType,
    opts?: PatchOptions,
  ): Promise<T>;
  /** resolves with the object (still there with a deletionTimestamp) or the Status the server answered */
  delete(r: Resource, namespace: string | undefined, name: string, opts?: DeleteOptions): Promise<KubeObject>;
  /**
   * A watch stream. `onEvent` gets each event (ERROR events included, with their Status); `done` is called once when
   * the stream ends, with the error that ended it, if any. A 410 Gone arrives as an ERROR event with code 410.
   */
  watch<T extends KubeObject>(
    r: Resource<T>,
    opts: WatchOptions,
    onEvent: (e: WatchEvent<T>) => void,
    done: (err?: Error) => void,
  ): WatchHandle;
}

/** A non-2xx answer of the API server, with its Status */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly status?: Status,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function isNotFound(e: unknown): boolean {
  return e instanceof ApiError && e.code === 404;
}
export function isConflict(e: unknown): boolean {
  return e instanceof ApiError && e.code === 409 && e.reason === 'Conflict';
}
export function isAlreadyExists(e: unknown): boolean {
  return e instanceof ApiError && e.code === 409 && e.reason === 'AlreadyExists';
}
/** a write refused because its namespace is being deleted (nothing to retry: the object goes with it) */
export function isNamespaceTerminating(e: unknown): boolean {
  return (
    e instanceof ApiError &&
    e.code === 403 &&
    (e.status?.details?.causes ?? []).some((c) => c.reason === 'NamespaceTerminating')
  );
}
export function isGone(e: unknown): boolean {
  return e instanceof ApiError && (e.code === 410 || e.reason === 'Expired' || e.reason === 'Gone');
}
