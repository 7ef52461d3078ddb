/**
 * The resource handler: one HTTP request on /api or /apis becomes one store operation, or goes to the handler of the
 * subresource it names. Routing is by the parsed path and one registry lookup (no per-route table), so the cost of a
 * request does not grow with the API.
 */
import { constants as http2constants } from 'node:http2';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { parseFieldSelector, parseLabelSelector, SelectorError } from '../../lib/selectors.ts';
import type { CachedObject, WatchFilter } from '../watchcache/cache.ts';
import { apiVersionOf, type Resource } from './resource.ts';
import type { RestStore, DeleteOptions } from './store.ts';
import type { WatchServer, WatchSink } from './watch.ts';
import { decodeObject, mediaType, parseJson, readBody } from './body.ts';
import { dryRunOf } from './options.ts';
import {
  boolParam,
  negotiate,
  parseResourcePath,
  pathSegmentNameErrors,
  requestPath,
  type Representation,
  type RequestInfo,
  type ResourcePath,
} from './request.ts';
import type { RequestContext } from './context.ts';
import { sendJson } from './responses.ts';
import {
  ApiError,
  badRequest,
  conflict,
  invalidObject,
  methodNotSupported,
  notAcceptable,
  internalError,
  pathNotFound,
  unauthorized,
  unsupportedPatchType,
} from './status.ts';
import type { ObjectOperations, Patcher, Subresource, SubresourceRequest, TypeOf } from './subresource.ts';
import type { AdmissionChain, Attributes } from '../admission/index.ts';
import type { ApiObject } from './meta.ts';

export type { Patcher, TypeOf } from './subresource.ts';
import type { Review } from '../auth/reviews.ts';
import type { FieldError } from '../api/field-error.ts';
import { forbidden as forbiddenField, invalid, notSupported, required, tooLong } from '../api/validation/errors.ts';
import { http2Stream, startStream } from '../http.ts';

/** reports the fields of obj its type does not declare ('unknown field "spec.x"') and removes them from obj */
export type FieldValidator = (r: Resource, obj: any) => string[];

/** what a stream is sent as: the node's bytes, whatever the client accepts */
const STREAMED: Representation = { as: 'Object', yaml: false };

const DELETE_OPTIONS_TYPE: TypeOf = {
  kind: 'DeleteOptions',
  version: 'v1',
  definition: 'io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions',
};

export interface HandlerDeps {
  store: RestStore;
  watches: WatchServer;
  /** the served resources, by group, version and plural name */
  resources: { get(group: string, version: string, resource: string): Resource | undefined };
  patcher: Patcher;
  validateFields?: FieldValidator;
  /** the message of Kubernetes' 400 for an object its Go type cannot hold (see rest/typed-decode.ts), if any */
  checkTypes?: (obj: any, type: TypeOf) => string | undefined;
  /** admission of subresources' own objects (a Binding, an Eviction) */
  admission: AdmissionChain;
  /** the review kinds by '<group>/<resource>': created, answered, never stored (auth/reviews.ts) */
  reviews?: Map<string, Review>;
}

/** a query parameter that must be a non-negative integer when given (400 otherwise) */
function nonNegativeInteger(q: URLSearchParams, name: string): number | undefined {
  const text = q.get(name);
  if (text === null || text === '') return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n))
    throw badRequest(`${name}: Invalid value: "${text}": must be a non-negative integer`);
  return n;
}

/** the options kind a request's verb takes: its option problems are a 422 on it, as Kubernetes validates them */
function optionsKind(method: string | undefined): string {
  return method === 'POST'
    ? 'CreateOptions'
    : method === 'PUT'
      ? 'UpdateOptions'
      : method === 'PATCH'
        ? 'PatchOptions'
        : method === 'DELETE'
          ? 'DeleteOptions'
          : 'ListOptions';
}

function invalidOptions(method: string | undefined, errs: FieldError[]): ApiError {
  return invalidObject(optionsKind(method), '', errs, 'meta.k8s.io');
}

export class ResourceHandler {
  // a watch client has nothing to send but control frames: a message over 64 KiB closes the connection (1009) instead
  // of being buffered (the library's default allows 100 MiB)
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 64 * 1024 });

  /** what subresources may use of the object's operations */
  private readonly ops: ObjectOperations;

  constructor(private readonly deps: HandlerDeps) {
    this.ops = {
      store: deps.store,
      patcher: deps.patcher,
      get: (s) => this.get(s.ctx, s.resource, s.namespace, s.name, s.rep),
      update: (s) => this.update(s.ctx, s.resource, s.namespace, s.name, s.rep, s.dryRun, s.subresource),
      patch: (s) => this.patch(s.ctx, s.resource, s.namespace, s.name, s.rep, s.dryRun, s.subresource),
      fieldManager: (ctx) => this.fieldManager(ctx),
      checkType: (obj, type) => {
        const typeError = this.deps.checkTypes?.(obj, type);
        if (typeError) throw badRequest(typeError);
      },
      admit: (s, object) => this.admitSubresource(s, object),
    };
  }

  resourceFor(p: ResourcePath): Resource {
    const r = this.deps.resources.get(p.group, p.version, p.resource);
    if (!r || (p.subresource && !r.subresources.has(p.subresource)))
      throw pathNotFound({ group: p.group || undefined, kind: p.resource });
    if (p.namespace !== undefined && !r.info.namespaced) throw pathNotFound({ kind: p.resource });
    return r;
  }

  /** a subresource's own object goes through admission as a create of it, as Kubernetes admits a Binding */
  private async admitSubresource(s: SubresourceRequest, object: ApiObject): Promise<void> {
    if (!this.deps.admission.handles('CREATE')) return;
    const a: Attributes = {
      operation: 'CREATE',
      resource: s.resource.info,
      subresource: s.subresource,
      namespace: s.namespace,
      name: s.name,
      object,
      oldObject: undefined,
      userInfo: s.ctx.user,
      dryRun: s.dryRun,
    };
    await this.deps.admission.admit(a);
    await this.deps.admission.validate(a);
  }

  private filterFrom(r: Resource, ns: string | undefined, url: URL): WatchFilter {
    try {
      const labels = parseLabelSelector(url.searchParams.get('labelSelector'));
      const fields = parseFieldSelector(url.searchParams.get('fieldSelector'));
      for (const req of fields.requirements) {
        if (!r.selectable.has(req.field)) {
          throw badRequest(`field label not supported: ${req.field}`);
        }
      }
      const filter: WatchFilter = { labels, fields, namespace: r.info.namespaced ? ns : undefined };
      const pinnedNs = fields.equalityValue('metadata.namespace');
      if (pinnedNs !== undefined && filter.namespace === undefined && r.info.namespaced) filter.namespace = pinnedNs;
      const pinnedName = fields.equalityValue('metadata.name');
      if (pinnedName !== undefined) filter.name = pinnedName;
      return filter;
    } catch (e) {
      if (e instanceof SelectorError) throw badRequest(e.message);
      throw e;
    }
  }

  /** serve one resource request (ctx.info.isResourceRequest) or answer why its path cannot be (ctx.info.error) */
  async handle(ctx: RequestContext): Promise<void> {
    if (ctx.info.error !== undefined) throw ctx.info.error;
    const p = ctx.info.target;
    if (!p) throw new Error('not a resource request');
    if (p.name !== undefined) {
      // the name becomes part of the storage key
      const errs = pathSegmentNameErrors(p.name);
      if (errs.length > 0) throw badRequest(`Name parameter invalid: ${JSON.stringify(p.name)}: ${errs.join(';')}`);
    }
    const r = this.resourceFor(p);
    ctx.resource = r;
    const method = ctx.req.method ?? 'GET';
    const ns = r.info.namespaced ? p.namespace : undefined;
    const sub = p.subresource === undefined ? undefined : r.subresources.get(p.subresource);
    // a node's stream goes out as it comes: nothing to negotiate
    if (sub?.streams && p.name !== undefined && ns !== undefined)
      return sub.serve(this.subresourceRequest(ctx, r, ns, p, method, STREAMED, false), this.ops);
    const q = ctx.url.searchParams;
    const rep = negotiate(ctx.req.headers.accept, q.get('includeObject') ?? undefined);
    if (!rep)
      throw notAcceptable(['application/json', 'application/yaml', 'application/json;as=Table;v=v1;g=meta.k8s.io']);
    if (r.info.namespaced && p.name !== undefined && ns === undefined) throw pathNotFound({ kind: p.resource });
    const dryRun = q.getAll('dryRun');
    for (const v of dryRun) if (v !== 'All') throw invalidOptions(ctx.req.method, [notSupported('dryRun', v, ['All'])]);
    const isDry = dryRun.length > 0;

    const review = this.deps.reviews?.get(`${r.info.group}/${r.info.resource}`);
    if (review) {
      if (p.name !== undefined || method !== 'POST')
        throw methodNotSupported(r.info.group, r.info.resource, method.toLowerCase());
      return this.review(ctx, r, review, ns);
    }
    if (p.name === undefined) return this.collection(ctx, r, ns, method, rep, isDry);
    if (sub) return sub.serve(this.subresourceRequest(ctx, r, ns ?? '', p, method, rep, isDry), this.ops);
    return this.object(ctx, r, ns ?? '', p.name, method, rep, isDry);
  }

  private subresourceRequest(
    ctx: RequestContext,
    r: Resource,
    ns: string,
    p: ResourcePath,
    method: string,
    rep: Representation,
    dryRun: boolean,
  ): SubresourceRequest {
    return {
      ctx,
      resource: r,
      namespace: ns,
      name: p.name ?? '',
      subresource: p.subresource ?? '',
      method,
      rep,
      dryRun,
    };
  }

  /** list, watch, create and deletecollection */
  private collection(
    ctx: RequestContext,
    r: Resource,
    ns: string | undefined,
    method: string,
    rep: Representation,
    dryRun: boolean,
  ): Promise<void> {
    switch (method) {
      case 'GET':
        if (boolParam(ctx.url.searchParams.get('watch'))) return this.watch(ctx, r, ns, rep);
        return this.list(ctx, r, ns, rep);
      case 'POST':
        return this.create(ctx, r, ns ?? '', rep, dryRun);
      case 'DELETE':
        return this.deleteCollection(ctx, r, ns, dryRun);
      default:
        throw methodNotSupported(r.info.group, r.info.resource, method.toLowerCase());
    }
  }

  /** get, update, patch and delete of one object */
  private object(
    ctx: RequestContext,
    r: Resource,
    ns: string,
    name: string,
    method: string,
    rep: Representation,
    dryRun: boolean,
  ): Promise<void> {
    switch (method) {
      case 'GET':
        return this.get(ctx, r, ns, name, rep);
      case 'PUT':
        return this.update(ctx, r, ns, name, rep, dryRun);
      case 'PATCH':
        return this.patch(ctx, r, ns, name, rep, dryRun);
      case 'DELETE':
        return this.delete(ctx, r, ns, name, dryRun);
      default:
        throw methodNotSupported(r.info.group, r.info.resource, method.toLowerCase());
    }
  }

  private render(r: Resource, obj: any, rep: Representation): any {
    if (rep.as === 'Table')
      return r.strategy.convertToTable(
        [obj],
        { resourceVersion: obj.metadata?.resourceVersion },
        rep.includeObject ?? 'Metadata',
      );
    if (rep.as === 'PartialObjectMetadata') return partial(obj);
    return obj;
  }

  /** an object in the negotiated representation; a plain JSON answer reuses the stored encoding */
  private sendObject(ctx: RequestContext, code: number, r: Resource, obj: any, rep: Representation): void {
    const json = rep.as === 'Object' && !rep.yaml ? this.deps.store.jsonOf(obj) : undefined;
    if (json === undefined) {
      sendJson(ctx.res, code, this.render(r, obj, rep), rep);
      return;
    }
    ctx.res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(json) });
    ctx.res.end(json);
  }

  private async get(ctx: RequestContext, r: Resource, ns: string, name: string, rep: Representation): Promise<void> {
    const obj = await this.deps.store.get(r, ns, name, ctx.url.searchParams.get('resourceVersion') ?? undefined);
    sendJson(ctx.res, 200, this.render(r, obj, rep), rep);
  }

  private async list(ctx: RequestContext, r: Resource, ns: string | undefined, rep: Representation): Promise<void> {
    const q = ctx.url.searchParams;
    const limit = nonNegativeInteger(q, 'limit') ?? 0;
    nonNegativeInteger(q, 'timeoutSeconds');
    const result = await this.deps.store.list(r, {
      filter: this.filterFrom(r, ns, ctx.url),
      limit,
      continueToken: q.get('continue') ?? undefined,
      resourceVersion: q.get('resourceVersion') ?? undefined,
      resourceVersionMatch: q.get('resourceVersionMatch') ?? undefined,
      sendInitialEvents: q.get('sendInitialEvents') === null ? undefined : boolParam(q.get('sendInitialEvents')),
    });
    const meta: Record<string, unknown> = { resourceVersion: result.resourceVersion };
    if (result.continueToken) meta.continue = result.continueToken;
    if (result.remainingItemCount !== undefined) meta.remainingItemCount = result.remainingItemCount;
    if (rep.as === 'Table') {
      sendJson(ctx.res, 200, r.strategy.convertToTable(result.items, meta, rep.includeObject ?? 'Metadata'), rep);
      return;
    }
    if (rep.as === 'PartialObjectMetadataList' || rep.as === 'PartialObjectMetadata') {
      sendJson(
        ctx.res,
        200,
        {
          kind: 'PartialObjectMetadataList',
          apiVersion: 'meta.k8s.io/v1',
          metadata: meta,
          items: result.items.map(partial),
        },
        rep,
      );
      return;
    }
    if (rep.yaml) {
      sendJson(
        ctx.res,
        200,
        {
          apiVersion: apiVersionOf(r.info),
          kind: r.info.listKind,
          metadata: meta,
          items: result.items.map((o) => withType(r, o)),
        },
        rep,
      );
      return;
    }
    // items from the cache go out as the JSON it keeps (objects stored with their type meta need no re-encoding),
    // written straight into one buffer: no list-sized string is built and then encoded again
    const head = `{"kind":"${r.info.listKind}","apiVersion":"${apiVersionOf(r.info)}","metadata":${JSON.stringify(meta)},"items":[`;
    const entries = result.entries;
    const typed = `{"apiVersion":"${apiVersionOf(r.info)}","kind":"${r.info.kind}",`;
    // per item: the cached object itself, or (a resource stored as another, whose items are converted, or an object
    // stored without its type) the JSON it goes out as
    const items: (CachedObject | string)[] = new Array(entries.length);
    let size = Buffer.byteLength(head) + Math.max(0, entries.length - 1) + 2;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      const item = r.view
        ? JSON.stringify(result.items[i])
        : e.jsonStartsWith(typed)
          ? e
          : JSON.stringify(withType(r, e.obj));
      items[i] = item;
      size += typeof item === 'string' ? Buffer.byteLength(item) : item.jsonBytes();
    }
    const body = Buffer.allocUnsafe(size);
    let at = body.write(head);
    for (let i = 0; i < items.length; i++) {
      if (i > 0) body[at++] = 0x2c; // ,
      const item = items[i];
      at = typeof item === 'string' ? at + body.write(item, at) : item.writeJson(body, at);
    }
    body[at++] = 0x5d; // ]
    body[at++] = 0x7d; // }
    if (at !== size) throw new Error(`internal error: a list of ${size} bytes was written as ${at}`);
    ctx.res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': size });
    ctx.res.end(body);
  }

  private watchQuery(url: URL, r: Resource, ns: string | undefined, rep: Representation) {
    const q = url.searchParams;
    const t = q.get('timeoutSeconds');
    const sie = q.get('sendInitialEvents');
    let first = true;
    const transform =
      rep.as === 'Table'
        ? (type: string, obj: any) => {
            // column definitions travel with the first event only, as Kubernetes sends them
            const table = r.strategy.convertToTable(
              [obj],
              { resourceVersion: obj.metadata?.resourceVersion },
              rep.includeObject ?? 'Metadata',
            );
            if (!first) table.columnDefinitions = null;
            first = false;
            return `{"type":"${type}","object":${JSON.stringify(table)}}\n`;
          }
        : rep.as === 'PartialObjectMetadata' || rep.as === 'PartialObjectMetadataList'
          ? (type: string, obj: any) => `{"type":"${type}","object":${JSON.stringify(partial(obj))}}\n`
          : undefined;
    return {
      filter: this.filterFrom(r, ns, url),
      resourceVersion: q.get('resourceVersion') ?? undefined,
      resourceVersionMatch: q.get('resourceVersionMatch') ?? undefined,
      allowBookmarks: boolParam(q.get('allowWatchBookmarks')),
      sendInitialEvents: sie === null ? undefined : boolParam(sie),
      timeoutSeconds: t ? nonNegativeInteger(q, 'timeoutSeconds') : undefined,
      transform,
    };
  }

  private async watch(ctx: RequestContext, r: Resource, ns: string | undefined, rep: Representation): Promise<void> {
    const res = ctx.res;
    const query = this.watchQuery(ctx.url, r, ns, rep);
    const h2 = http2Stream(res);
    let started = false;
    const start = () => {
      if (started) return;
      started = true;
      startStream(res, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
    };
    const common = {
      end() {
        start();
        res.end();
      },
      onClose(cb: () => void) {
        res.on('close', cb);
      },
    };
    const sink: WatchSink = h2
      ? {
          ...common,
          // HTTP/2: the event's line goes to the response's own stream, framed by the session
          write(line) {
            start();
            if (h2.destroyed) return false;
            h2.write(line.line);
            return true;
          },
          backlog: () => h2.writableLength,
          // the stream alone is reset: the connection's other streams go on
          abort: () => h2.close(http2constants.NGHTTP2_CANCEL),
        }
      : {
          ...common,
          write(line) {
            start();
            const socket = res.socket;
            // a response on a kept-alive connection gets the socket once the previous one is done with it: until
            // then its events are queued by the response, which frames them itself and sends them first
            if (socket === null && !res.writableEnded) {
              res.write(line.text);
              return true;
            }
            // the event's chunk is framed once for all watchers: it goes to the connection as is (the response is
            // chunked and nothing else writes to it until res.end() adds the last chunk)
            if (!socket || socket.destroyed) return false;
            socket.write(line.chunk);
            return true;
          },
          backlog: () => res.socket?.writableLength ?? 0,
          // the connection carries this response alone until it ends
          abort: () => res.socket?.destroy(),
          cork() {
            res.socket?.cork();
          },
          uncork() {
            res.socket?.uncork();
          },
        };
    await this.deps.watches.serve(r, query, sink);
    start();
  }

  /** the subresource an upgrade is for, when it takes upgrades (exec, attach, port-forward of a pod) */
  private upgradable(t: ResourcePath | undefined): Subresource | undefined {
    if (t?.subresource === undefined || t.namespace === undefined || t.name === undefined) return undefined;
    if (pathSegmentNameErrors(t.name).length > 0) return undefined;
    const sub = this.deps.resources.get(t.group, t.version, t.resource)?.subresources.get(t.subresource);
    return sub?.upgrade ? sub : undefined;
  }

  /** an upgrade: to the subresource that takes it, or a watch over WebSocket (one text message per event) */
  async handleUpgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    url: URL,
    info: RequestInfo,
  ): Promise<boolean> {
    const t = info.target;
    const sub = this.upgradable(t);
    if (sub?.upgrade && t?.namespace !== undefined && t.name !== undefined) {
      sub.upgrade(req, socket, head, url, t.namespace, t.name);
      return true;
    }
    const p = parseResourcePath(requestPath(req.url));
    if (!p || !p.resource || p.name !== undefined || !boolParam(url.searchParams.get('watch'))) return false;
    const r = this.resourceFor(p);
    const rep = negotiate(req.headers.accept) ?? { as: 'Object', yaml: false };
    const query = this.watchQuery(url, r, r.info.namespaced ? p.namespace : undefined, rep);
    this.deps.watches.check(query);
    const ws: WebSocket = await new Promise((resolve) => this.wss.handleUpgrade(req, socket, head, resolve));
    // what a client sends that breaks the protocol (an unmasked or oversized frame, a bad close code) ends its watch;
    // unheard, the error would end the server
    ws.on('error', () => ws.terminate());
    const sink: WatchSink = {
      write(line) {
        if (ws.readyState !== ws.OPEN) return false;
        ws.send(line.json, { binary: false });
        return true;
      },
      backlog: () => ws.bufferedAmount,
      abort: () => ws.terminate(),
      end() {
        ws.close(1000);
      },
      onClose(cb) {
        ws.on('close', cb);
      },
    };
    try {
      await this.deps.watches.serve(r, query, sink);
    } catch (e) {
      const err = e instanceof ApiError ? e : internalError(e);
      ws.send(JSON.stringify({ type: 'ERROR', object: err.toStatus() }));
      ws.close(1000);
    }
    return true;
  }

  private fieldManager(ctx: RequestContext, fallback?: string): string {
    const fm = ctx.url.searchParams.get('fieldManager');
    if (fm !== null) {
      if (fm.length > 128) throw invalidOptions(ctx.req.method, [tooLong('fieldManager', 128)]);
      return fm;
    }
    if (fallback) return fallback;
    const ua = ctx.req.headers['user-agent'] ?? 'unknown';
    return ua.split('/')[0] || 'unknown';
  }

  /**
   * what decoding into the type checks: values of the right kinds for their fields (always, 400 BadRequest), then
   * fieldValidation: Ignore | Warn | Strict for unknown fields (Kubernetes' default is Warn for clients that send nothing)
   */
  private checkFields(ctx: RequestContext, r: Resource, obj: any): void {
    const mode = ctx.url.searchParams.get('fieldValidation') ?? 'Warn';
    if (mode !== 'Ignore' && mode !== 'Warn' && mode !== 'Strict') {
      throw invalidOptions(ctx.req.method, [notSupported('fieldValidation', mode, ['Ignore', 'Strict', 'Warn'])]);
    }
    const typeError = this.deps.checkTypes?.(obj, r.info);
    if (typeError) throw badRequest(typeError);
    if (!this.deps.validateFields) return;
    // unknown fields are dropped whatever the mode; the mode decides whether the client hears of them
    const problems = this.deps.validateFields(r, obj);
    if (mode === 'Ignore' || problems.length === 0) return;
    if (mode === 'Strict') throw badRequest(`strict decoding error: ${problems.join(', ')}`);
    ctx.res.setHeader(
      'Warning',
      problems.map((p) => `299 - ${JSON.stringify(p)}`),
    );
  }

  /** a review kind: the body is checked as any object is, answered, and sent back (201) without being stored */
  private async review(ctx: RequestContext, r: Resource, review: Review, ns: string | undefined): Promise<void> {
    const body = decodeObject(await readBody(ctx.req), mediaType(ctx.req), r.info.kind);
    this.deps.store.checkTypeMeta(r, body);
    this.checkFields(ctx, r, body);
    if (!ctx.user) throw unauthorized();
    const res = review({ user: ctx.user, body, namespace: ns });
    if ('invalid' in res) throw invalidObject(r.info.kind, '', res.invalid, r.info.group);
    sendJson(ctx.res, 201, res.object);
  }

  private async create(
    ctx: RequestContext,
    r: Resource,
    ns: string,
    rep: Representation,
    dryRun: boolean,
  ): Promise<void> {
    const body = decodeObject(await readBody(ctx.req), mediaType(ctx.req), r.info.kind);
    this.deps.store.checkTypeMeta(r, body);
    this.checkFields(ctx, r, body);
    const manager = this.fieldManager(ctx);
    const prepared = this.deps.store.prepareCreate(r, ns, body, true);
    this.deps.patcher.trackUpdate(r, undefined, prepared, manager);
    const obj = await this.deps.store.create(r, ns, prepared, { dryRun, user: ctx.user }, prepared);
    this.sendObject(ctx, 201, r, obj, rep);
  }

  private async update(
    ctx: RequestContext,
    r: Resource,
    ns: string,
    name: string,
    rep: Representation,
    dryRun: boolean,
    sub?: string,
  ): Promise<void> {
    const body = decodeObject(await readBody(ctx.req), mediaType(ctx.req), r.info.kind);
    this.deps.store.checkTypeMeta(r, body);
    this.checkFields(ctx, r, body);
    if (body.metadata?.name && body.metadata.name !== name) {
      throw badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
    }
    const manager = this.fieldManager(ctx);
    const subresource = sub === 'finalize' ? undefined : sub;
    const { obj, created } = await this.deps.store.guaranteedUpdate(
      r,
      ns,
      name,
      (cur) => {
        // a uid in the object is a precondition, as Kubernetes takes it from an update's body
        const uid = body.metadata?.uid;
        if (cur && uid && uid !== cur.metadata?.uid) {
          throw conflict(
            r.info.group,
            r.info.resource,
            name,
            `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${cur.metadata?.uid}`,
          );
        }
        const desired = structuredClone(body);
        if (sub === 'finalize') {
          // only spec.finalizers may change through /finalize
          const next = structuredClone(cur);
          next.spec = { ...(next.spec ?? {}), finalizers: desired.spec?.finalizers ?? [] };
          if (desired.metadata?.resourceVersion) next.metadata.resourceVersion = desired.metadata.resourceVersion;
          return next;
        }
        if (cur && desired.metadata && desired.metadata.managedFields === undefined)
          desired.metadata.managedFields = cur.metadata?.managedFields;
        this.deps.patcher.trackUpdate(r, cur, desired, manager, subresource);
        return desired;
      },
      { dryRun, user: ctx.user, subresource: sub, allowCreate: r.strategy.createOnUpdate && !sub },
    );
    this.sendObject(ctx, created ? 201 : 200, r, obj, rep);
  }

  private async patch(
    ctx: RequestContext,
    r: Resource,
    ns: string,
    name: string,
    rep: Representation,
    dryRun: boolean,
    sub?: string,
  ): Promise<void> {
    const type = mediaType(ctx.req);
    if (!this.deps.patcher.patchTypes.includes(type)) throw unsupportedPatchType(this.deps.patcher.patchTypes);
    const body = await readBody(ctx.req);
    const q = ctx.url.searchParams;
    const isApply = type === 'application/apply-patch+yaml';
    const force = boolParam(q.get('force'));
    if (q.get('force') !== null && !isApply)
      throw invalidOptions(ctx.req.method, [forbiddenField('force', 'may not be specified for non-apply patch')]);
    let manager: string;
    if (isApply) {
      const fm = q.get('fieldManager');
      if (!fm) throw invalidOptions(ctx.req.method, [required('fieldManager', 'is required for apply patch')]);
      manager = fm;
    } else manager = this.fieldManager(ctx);
    const subresource = sub === 'finalize' ? undefined : sub;
    const { obj, created } = await this.deps.store.guaranteedUpdate(
      r,
      ns,
      name,
      (cur) => {
        if (isApply) {
          const next = this.deps.patcher.apply(r, cur, body, manager, force, subresource);
          this.checkFields(ctx, r, next);
          return next;
        }
        const next = this.deps.patcher.patch(r, type, cur, body);
        this.deps.store.checkTypeMeta(r, next);
        this.checkFields(ctx, r, next);
        this.deps.patcher.trackUpdate(r, cur, next, manager, subresource);
        return next;
      },
      { dryRun, user: ctx.user, subresource, allowCreate: isApply && !sub },
    );
    this.sendObject(ctx, created ? 201 : 200, r, obj, rep);
  }

  private async deleteOptions(ctx: RequestContext): Promise<DeleteOptions> {
    const q = ctx.url.searchParams;
    const buf = await readBody(ctx.req);
    const body = buf.length > 0 && buf.toString().trim() ? parseJson(buf) : {};
    if (body.kind !== undefined && body.kind !== 'DeleteOptions') {
      throw badRequest(`the kind in the data (${body.kind}) does not match the expected kind (DeleteOptions)`);
    }
    const typeError = this.deps.checkTypes?.(body, DELETE_OPTIONS_TYPE);
    if (typeError) throw badRequest(typeError);
    const opts: DeleteOptions = {};
    const g = q.get('gracePeriodSeconds') ?? body.gracePeriodSeconds;
    if (g !== undefined && g !== null) {
      const n = Number(g);
      if (!Number.isInteger(n)) throw badRequest(`gracePeriodSeconds: Invalid value: "${g}": must be an integer`);
      opts.gracePeriodSeconds = n < 0 ? 0 : n;
    }
    const pp = q.get('propagationPolicy') ?? body.propagationPolicy;
    const orphanParam = q.get('orphanDependents');
    const orphan = orphanParam !== null ? boolParam(orphanParam) : body.orphanDependents;
    if (pp !== undefined && pp !== null) {
      // Kubernetes' ValidateDeleteOptions
      const errs: FieldError[] = [];
      if (orphan !== undefined && orphan !== null)
        errs.push(invalid('propagationPolicy', pp, 'orphanDependents and deletionPropagation cannot be both set'));
      if (!['Orphan', 'Background', 'Foreground'].includes(pp))
        errs.push(notSupported('propagationPolicy', pp, ['Foreground', 'Background', 'Orphan', 'nil']));
      if (errs.length > 0) throw invalidOptions(ctx.req.method, errs);
      opts.propagationPolicy = pp;
    } else if (orphan !== undefined && orphan !== null) {
      opts.propagationPolicy = orphan === true ? 'Orphan' : 'Background';
    }
    if (body.preconditions) opts.preconditions = body.preconditions;
    // kubectl sends dryRun in the body (delete --dry-run=server); the query's was read with the request
    opts.dryRun = dryRunOf(body.dryRun);
    opts.user = ctx.user;
    return opts;
  }

  private async delete(ctx: RequestContext, r: Resource, ns: string, name: string, dryRun: boolean): Promise<void> {
    const opts = await this.deleteOptions(ctx);
    opts.dryRun ||= dryRun;
    const { obj, deleted } = await this.deps.store.delete(r, ns, name, opts);
    if (!deleted) {
      sendJson(ctx.res, 200, obj);
      return;
    }
    if (r.strategy.returnDeletedObject) {
      sendJson(ctx.res, 200, obj);
      return;
    }
    sendJson(ctx.res, 200, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name, group: r.info.group || undefined, kind: r.info.resource, uid: obj.metadata?.uid },
    });
  }

  private async deleteCollection(
    ctx: RequestContext,
    r: Resource,
    ns: string | undefined,
    dryRun: boolean,
  ): Promise<void> {
    if (!r.info.verbs.includes('deletecollection'))
      throw methodNotSupported(r.info.group, r.info.resource, 'deletecollection');
    const opts = await this.deleteOptions(ctx);
    opts.dryRun ||= dryRun;
    const list = await this.deps.store.list(r, { filter: this.filterFrom(r, ns, ctx.url) });
    const items: any[] = [];
    for (const o of list.items) {
      try {
        const { obj } = await this.deps.store.delete(r, o.metadata.namespace ?? '', o.metadata.name, opts);
        items.push(withType(r, obj));
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 404)) throw e;
      }
    }
    sendJson(ctx.res, 200, {
      kind: r.info.listKind,
      apiVersion: apiVersionOf(r.info),
      metadata: { resourceVersion: list.resourceVersion },
      items,
    });
  }
}

function withType(r: Resource, o: any): any {
  if (o.apiVersion && o.kind) return o;
  return { apiVersion: apiVersionOf(r.info), kind: r.info.kind, ...o };
}

function partial(o: any): any {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
}
