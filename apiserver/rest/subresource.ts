/**
 * Subresources (<resource>/<name>/<subresource>): each resource registers a handler per subresource it serves (status,
 * scale, binding, eviction, token, log, exec, ...; apiserver/registry/ builds them), and the resource handler hands
 * it the request with what it may use of the object's own operations.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RequestContext } from './context.ts';
import type { ApiObject } from './meta.ts';
import type { Representation } from './request.ts';
import type { Resource } from './resource.ts';
import type { RestStore } from './store.ts';

/** an API type by kind, version and OpenAPI definition name (a resource's ResourceInfo is one) */
export interface TypeOf {
  kind: string;
  version: string;
  definition: string;
}

/** patching and field management, supplied by apiserver/patch */
export interface Patcher {
  readonly patchTypes: string[];
  /** apply a JSON/merge/strategic patch to cur; returns the desired object */
  patch(r: Resource, type: string, cur: ApiObject, patch: Buffer): ApiObject;
  /** server-side apply: live may be undefined (create); throws ApiError 409 on conflicts */
  apply(
    r: Resource,
    live: ApiObject | undefined,
    config: Buffer,
    manager: string,
    force: boolean,
    subresource?: string,
  ): ApiObject;
  /** record a non-apply write of manager in managedFields */
  trackUpdate(r: Resource, old: ApiObject | undefined, obj: ApiObject, manager: string, subresource?: string): void;
}

/** one request for a subresource of one object */
export interface SubresourceRequest {
  ctx: RequestContext;
  resource: Resource;
  /** '' for a cluster-scoped resource */
  namespace: string;
  name: string;
  subresource: string;
  method: string;
  /** the representation the client accepts (an object for a stream) */
  rep: Representation;
  dryRun: boolean;
}

/** what the resource handler offers a subresource */
export interface ObjectOperations {
  readonly store: RestStore;
  readonly patcher: Patcher;
  /** GET, PUT and PATCH of the object through the subresource, as the resource itself serves them (status, finalize) */
  get(s: SubresourceRequest): Promise<void>;
  update(s: SubresourceRequest): Promise<void>;
  patch(s: SubresourceRequest): Promise<void>;
  /** the field manager a write is tracked under */
  fieldManager(ctx: RequestContext): string;
  /** 400 for an object its type cannot hold, in Go's words */
  checkType(obj: unknown, type: TypeOf): void;
  /** admission of the subresource's own object (a Binding, an Eviction, a TokenRequest): a CREATE of it */
  admit(s: SubresourceRequest, object: ApiObject): Promise<void>;
}

export interface Subresource {
  /** answers with a node's stream as it comes (a log): no representation is negotiated, no dry run read */
  readonly streams?: boolean;
  serve(s: SubresourceRequest, ops: ObjectOperations): Promise<void>;
  /** an HTTP/1.1 Upgrade to the subresource (exec, attach, port-forward); absent: it takes none */
  upgrade?(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL, namespace: string, name: string): void;
}
