/**
 * The API server: wires the store, the watch cache, the REST handler, discovery, OpenAPI, health and metrics
 * behind one HTTPS listener with client-certificate and token authentication.
 */
import https from 'node:https';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import { RESOURCES } from './api/registry.ts';
import type { FieldError } from './api/field-error.ts';
import { openBackend } from './storage/index.ts';
import type { Backend } from './storage/backend.ts';
import { ResourceCache, type CachedObject } from './watchcache/cache.ts';
import { Dispatcher } from './watchcache/dispatcher.ts';
import { RestStore } from './rest/store.ts';
import { WatchServer } from './rest/watch.ts';
import { boolParam, ResourceHandler, sendError, sendJson, type RequestContext } from './rest/handler.ts';
import { resourceTraits, storagePrefix, storageKey, type Resource, type TypeStrategy } from './rest/resource.ts';
import { ApiError, badRequest, invalidObject, tooManyRequests, unauthorized } from './rest/status.ts';
import { requestPath } from './rest/request.ts';
import { Discovery, versionInfo, wantsAggregated } from './discovery.ts';
import { ApiMetrics, instrumentBackend } from './metrics.ts';
import { ServiceAllocator, serviceHooks } from './allocator.ts';
import { BASIC_CHECKS, cacheCheck, runChecks, storeCheck, type Check } from './health.ts';
import { byResource, STORAGE_VIEWS, STRATEGIES } from './api/strategies.ts';
import type { ResourceInfo } from './api/resource-info.ts';
import {
  DEFAULT_ISSUER,
  ensurePki,
  makeAuthenticator,
  makeTokenCheck,
  serviceAccountTokenAuthenticator,
  signServiceAccountToken,
  TokenStore,
  tlsServerOptions,
  writeAdminKubeconfig,
  type TokenCheck,
  type UserInfo,
} from './auth/index.ts';
import { makeReviews } from './auth/reviews.ts';
import { ImpersonationError, impersonated } from './auth/impersonation.ts';
import { admitPodServiceAccount, DEFAULT_SERVICE_ACCOUNT } from './api/core/serviceaccount-admission.ts';
import { boundTokenStillValid, createTokenRequest, type ObjectIdentity } from './api/core/token-request.ts';
import { writePrivateFile } from './auth/private-files.ts';
import { issueClientCert } from './auth/pki.ts';
import { NodeProxy, podSubresource } from './nodeproxy/proxy.ts';
import { makePatcher, makeFieldValidator, makeTypeChecker } from './patching.ts';
import { makeTableRenderer } from './tables.ts';
import { OpenApiEndpoints } from './openapi-http.ts';
import { http2Stream, JSON_TYPE, reply, TEXT, type AnyRequest, type AnyResponse } from './http.ts';

export interface ApiServerOptions {
  dataDir: string;
  /** storage URL: sqlite://... (default, in the data folder) or etcd://host:port[,...] */
  store?: string;
  port?: number;
  bindAddress?: string;
  serviceCidr?: string;
  /** plain HTTP without authentication, for tests of the HTTP layer only */
  insecure?: boolean;
  /** extra names/addresses for the serving certificate */
  extraSans?: string[];
  maxReadOnlyInflight?: number;
  maxMutatingInflight?: number;
  /** events each resource's watch cache keeps for watches to start from (default 4096); older ones replay from the store */
  watchCacheSize?: number;
  log?: (msg: string) => void;
}

export interface ApiServer {
  url: string;
  port: number;
  kubeconfigPath?: string;
  backend: Backend;
  metrics: ApiMetrics;
  close(): Promise<void>;
}

const HEALTH_PATHS = new Set(['/healthz', '/livez', '/readyz']);
/** streams one HTTP/2 connection may carry at once, as Kubernetes (a client with more watches opens more connections) */
const HTTP2_MAX_STREAMS = 100;
const DEFAULT_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const log = opts.log ?? ((m: string) => console.log(m));
  const metrics = new ApiMetrics();
  const rawBackend = openBackend(opts.store ?? '', { dataDir: opts.dataDir });
  await rawBackend.start();
  const backend = instrumentBackend(rawBackend, metrics);

  const dispatcher = new Dispatcher(backend);
  dispatcher.onError = (e) => log(`watch cache: store watch failed, re-listing: ${e.message}`);
  const resources = new Map<string, Resource>();
  const byPrefix = new Map<string, ResourceCache>();
  // a resource stored as another (STORAGE_VIEWS) shares that one's cache, which holds the stored form: the stored
  // resource is set up first
  const viewOf = (info: ResourceInfo) => byResource(STORAGE_VIEWS, info.group, info.version, info.resource);
  for (const info of [...RESOURCES].sort((a, b) => Number(!!viewOf(a)) - Number(!!viewOf(b)))) {
    const strategy = byResource(STRATEGIES as Record<string, TypeStrategy>, info.group, info.version, info.resource);
    if (!strategy) throw new Error(`no type strategy for ${info.group}/${info.resource}`);
    const prefix = storagePrefix(info);
    const view = viewOf(info);
    let cache = byPrefix.get(prefix);
    if (view && !cache)
      throw new Error(`${info.group}/${info.resource} is stored as another resource, which is not served`);
    if (!cache) {
      cache = new ResourceCache(prefix, {
        selectableFields: (o) => strategy.selectableFields(o),
        indexField: info.resource === 'pods' && info.group === '' ? 'spec.nodeName' : undefined,
        capacity: opts.watchCacheSize,
      });
      byPrefix.set(prefix, cache);
      dispatcher.register(cache);
    }
    const selectable = new Set(Object.keys(strategy.selectableFields({ metadata: {}, spec: {}, status: {} })));
    selectable.add('metadata.name');
    if (info.namespaced) selectable.add('metadata.namespace');
    resources.set(`${info.group}/${info.version}/${info.resource}`, {
      info,
      strategy,
      prefix,
      cache,
      selectable,
      view,
      ...resourceTraits(info),
    });
  }
  const nsResource = resources.get('/v1/namespaces')!;
  const invalid = (r: Resource, name: string, errs: FieldError[]) =>
    invalidObject(r.info.kind, name, errs, r.info.group);
  const allocator = new ServiceAllocator(backend, opts.serviceCidr ?? '10.96.0.0/12');
  const svcResource = resources.get('/v1/services')!;
  const hooks = serviceHooks(allocator, (obj, errs) => invalid(svcResource, obj.metadata?.name ?? '', errs));
  /** an object of the watch cache, without a copy: read it, never change it */
  const cachedEntry = (path: string, ns: string, name: string): CachedObject | undefined => {
    const r = resources.get(path);
    return r ? r.cache.get(storageKey(r, ns, name)) : undefined;
  };
  const cached = (path: string, ns: string, name: string) => cachedEntry(path, ns, name)?.obj;
  // a cached object is kept as JSON: what token checks need of one version is parsed once, not per request
  const identities = new WeakMap<CachedObject, ObjectIdentity>();
  const identity = (path: string, ns: string, name: string): ObjectIdentity | undefined => {
    const entry = cachedEntry(path, ns, name);
    if (!entry) return undefined;
    let id = identities.get(entry);
    if (!id) {
      const md = entry.obj?.metadata;
      id = { uid: md?.uid, deletionTimestamp: md?.deletionTimestamp ?? undefined };
      identities.set(entry, id);
    }
    return id;
  };
  /** the cache first, then the store itself (an object written a moment ago may not have reached the cache) */
  const live = async (path: string, ns: string, name: string) => {
    const hit = cached(path, ns, name);
    if (hit) return hit;
    try {
      return await store.get(resources.get(path)!, ns, name);
    } catch (e) {
      if (e instanceof ApiError && e.code === 404) return undefined;
      throw e;
    }
  };
  const admit = async (r: Resource, obj: any) => {
    if (r.info.group !== '' || r.info.resource !== 'pods') return;
    // the store has already refused a missing or terminating namespace
    const ns = obj.metadata?.namespace ?? '';
    await admitPodServiceAccount(obj, ns, (n, name) => live('/v1/serviceaccounts', n, name));
  };
  const store = new RestStore(backend, dispatcher, invalid, () => nsResource, { ...hooks, admit });
  const watches = new WatchServer(dispatcher, backend, {
    onTerminated: (r) => metrics.terminatedWatchers.inc({ resource: r.info.resource }),
  });
  let pki: Awaited<ReturnType<typeof ensurePki>> | undefined;
  const tokenRequest = (ns: string, name: string, body: any) => {
    if (!pki)
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {
        kind: 'serviceaccounts',
      });
    const keys = pki;
    return createTokenRequest(
      {
        serviceAccount: (n, sa) => live('/v1/serviceaccounts', n, sa),
        pod: (n, p) => live('/v1/pods', n, p),
        secret: (n, sec) => live('/v1/secrets', n, sec),
        node: (nd) => live('/v1/nodes', '', nd),
        sign: (req) => signServiceAccountToken(keys, req),
        audiences: [DEFAULT_ISSUER],
      },
      ns,
      name,
      body,
    );
  };
  // a bearer token checked for audiences, for TokenReview (set below once the credentials are loaded)
  let checkToken: TokenCheck = () => ({ error: 'the server authenticates no tokens' });
  const handler = new ResourceHandler({
    store,
    watches,
    resources,
    patcher: makePatcher(),
    table: makeTableRenderer(),
    validateFields: makeFieldValidator(),
    checkTypes: makeTypeChecker(),
    tokenRequest,
    reviews: makeReviews((token, audiences) => checkToken(token, audiences)),
  });

  await dispatcher.start();

  // TLS and authentication
  let authenticate: (req: http.IncomingMessage) => UserInfo | undefined = () => ({ name: 'anonymous', groups: [] });
  let serverOptions: https.ServerOptions | undefined;
  let tokens: TokenStore | undefined;
  if (!opts.insecure) {
    pki = await ensurePki(path.join(opts.dataDir, 'pki'), { extraSans: opts.extraSans, serviceCidr: opts.serviceCidr });
    tokens = await TokenStore.open(path.join(opts.dataDir, 'pki', 'tokens.csv'));
    // tokens stop working once their ServiceAccount, or the pod or secret they are bound to, is gone (the caches say)
    const validate = (claims: Parameters<typeof boundTokenStillValid>[0]) =>
      boundTokenStillValid(claims, {
        serviceAccount: (n, name) => identity('/v1/serviceaccounts', n, name),
        pod: (n, name) => identity('/v1/pods', n, name),
        secret: (n, name) => identity('/v1/secrets', n, name),
      });
    authenticate = makeAuthenticator(tokens, {
      tokenAuthenticators: [serviceAccountTokenAuthenticator(pki, { validate })],
    });
    checkToken = makeTokenCheck(tokens, pki, { apiAudiences: [DEFAULT_ISSUER], validate });
    serverOptions = tlsServerOptions(pki);
  }

  // pods/log, exec, attach, portforward go to the pod's node agent, with a client certificate of the cluster CA
  const kubeletClient = pki
    ? await issueClientCert(pki, 'kube-apiserver-kubelet-client', ['system:masters'])
    : undefined;
  const nodeProxy = new NodeProxy({
    getPod: (ns, name) => cached('/v1/pods', ns, name),
    getNode: (name) => cached('/v1/nodes', '', name),
    clientCertPem: kubeletClient?.certPem ?? '',
    clientKeyPem: kubeletClient?.keyPem ?? '',
  });

  const port = opts.port ?? 6443;
  let advertised = `127.0.0.1:${port}`;
  const discovery = new Discovery(RESOURCES, () => advertised);
  const openapi = new OpenApiEndpoints(RESOURCES);
  // liveness does not follow the store: a server that cannot reach it is not ready, but restarting it would not help
  const serving = [storeCheck(backend), cacheCheck(dispatcher)];
  const checksOf: Record<string, Check[]> = {
    healthz: [...BASIC_CHECKS, ...serving],
    livez: BASIC_CHECKS,
    readyz: [...BASIC_CHECKS, ...serving],
  };

  /** the paths that are not resources: health, metrics, version, discovery, OpenAPI; false when none matches */
  const serveNonResource = async (req: AnyRequest, res: AnyResponse, url: URL): Promise<boolean> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const p = url.pathname;
    const segs = p.split('/');
    if (HEALTH_PATHS.has(p)) {
      const endpoint = p.slice(1);
      const { ok, body } = await runChecks(endpoint, checksOf[endpoint], url.searchParams.has('verbose'));
      reply(res, ok ? 200 : 500, TEXT, body);
      return true;
    }
    if (segs.length === 3 && HEALTH_PATHS.has(`/${segs[1]}`)) {
      const c = checksOf[segs[1]].find((x) => x.name === segs[2]);
      if (!c) reply(res, 404, TEXT, '404 page not found\n');
      else {
        const { ok, body } = await runChecks(segs[1], [c], false);
        reply(res, ok ? 200 : 500, TEXT, body);
      }
      return true;
    }
    if (p === '/metrics') {
      metrics.watchers.set({ verb: 'WATCH' }, watches.active);
      reply(res, 200, metrics.registry.contentType, await metrics.registry.metrics());
      return true;
    }
    if (p === '/version') {
      reply(res, 200, JSON_TYPE, JSON.stringify(versionInfo()));
      return true;
    }
    if (p === '/api' || p === '/apis') {
      discoveryReply(req, res, p === '/api');
      return true;
    }
    if (segs[1] === 'api' && segs.length === 3 && segs[2]) return jsonOr404(res, discovery.resourceList('', segs[2]));
    if (segs[1] === 'apis' && segs.length === 3 && segs[2]) return jsonOr404(res, discovery.group(segs[2]));
    if (segs[1] === 'apis' && segs.length === 4 && segs[2] && segs[3])
      return jsonOr404(res, discovery.resourceList(segs[2], segs[3]));
    if (p.startsWith('/openapi/')) {
      openapi.serve(req, res, url);
      return true;
    }
    return false;
  };

  function discoveryReply(req: AnyRequest, res: AnyResponse, core: boolean): void {
    const agg = wantsAggregated(req.headers.accept);
    if (agg) {
      reply(
        res,
        200,
        `application/json;g=apidiscovery.k8s.io;v=${agg};as=APIGroupDiscoveryList`,
        discovery.aggregated(core, agg),
        { Vary: 'Accept' },
      );
      return;
    }
    reply(res, 200, JSON_TYPE, core ? discovery.coreVersions() : discovery.groupList(), { Vary: 'Accept' });
  }
  function notFound(res: AnyResponse): void {
    sendJson(
      res as http.ServerResponse,
      404,
      new ApiError(404, 'NotFound', 'the server could not find the requested resource').toStatus(),
    );
  }
  function jsonOr404(res: AnyResponse, body: string | undefined): true {
    if (body === undefined) notFound(res);
    else reply(res, 200, JSON_TYPE, body);
    return true;
  }
  const nonResource = (req: AnyRequest, res: AnyResponse, url: URL) =>
    serveNonResource(req, res, url).then(
      (served) => !served && notFound(res),
      (err) => sendError(res as http.ServerResponse, err),
    );

  const maxRead = opts.maxReadOnlyInflight ?? 400;
  const maxMutating = opts.maxMutatingInflight ?? 200;
  let inflightRead = 0;
  let inflightMutating = 0;

  const onRequest = (request: AnyRequest, response: AnyResponse) => {
    const start = process.hrtime.bigint();
    // an HTTP/2 request and response have the shape of HTTP/1.1's for all the handlers use (see http.ts)
    const req = request as http.IncomingMessage;
    const res = response as http.ServerResponse;
    const url = new URL(req.url ?? '/', 'https://localhost');
    const ctx: RequestContext = { req, res, url };
    if (
      !HEALTH_PATHS.has(url.pathname) &&
      !url.pathname.startsWith('/healthz/') &&
      !url.pathname.startsWith('/readyz/') &&
      !url.pathname.startsWith('/livez/')
    ) {
      const user = authenticate(req);
      if (!user) {
        sendError(res, unauthorized());
        // as Kubernetes: a client that is not authenticated does not keep an HTTP/2 connection open
        http2Stream(res)?.session?.close();
        return;
      }
      try {
        ctx.user = impersonated(req, user);
      } catch (e) {
        if (!(e instanceof ImpersonationError)) throw e;
        sendError(res, badRequest(e.message));
        return;
      }
    }
    const isResource = url.pathname.startsWith('/api/') || url.pathname.startsWith('/apis/');
    if (!isResource) {
      void nonResource(req, res, url);
      return;
    }
    const podSub = podSubresource(requestPath(req.url));
    if (podSub?.sub === 'log') {
      ctx.verb = 'GET';
      ctx.version = 'v1';
      ctx.resource = 'pods';
      ctx.subresource = 'log';
      nodeProxy.log(req, res, url, podSub.namespace, podSub.name).catch((err) => {
        if (!res.headersSent) sendError(res, err);
        else res.destroy();
      });
      return;
    }
    const mutating = req.method !== 'GET' && req.method !== 'HEAD';
    const isWatch = boolParam(url.searchParams.get('watch'));
    if (!isWatch) {
      if (mutating ? inflightMutating >= maxMutating : inflightRead >= maxRead) {
        sendError(res, tooManyRequests());
        return;
      }
      if (mutating) inflightMutating++;
      else inflightRead++;
      metrics.inflight.set(
        { request_kind: mutating ? 'mutating' : 'readOnly' },
        mutating ? inflightMutating : inflightRead,
      );
    }
    let finished = false;
    const done = (code: number) => {
      if (finished) return;
      finished = true;
      if (!isWatch) {
        if (mutating) inflightMutating--;
        else inflightRead--;
        metrics.inflight.set(
          { request_kind: mutating ? 'mutating' : 'readOnly' },
          mutating ? inflightMutating : inflightRead,
        );
      }
      const labels = {
        verb: ctx.verb ?? req.method ?? 'GET',
        group: ctx.group ?? '',
        version: ctx.version ?? '',
        resource: ctx.resource ?? '',
        subresource: ctx.subresource ?? '',
      };
      metrics.requests.inc({ ...labels, code: String(code) });
      if (!isWatch) metrics.duration.observe(labels, Number(process.hrtime.bigint() - start) / 1e9);
    };
    handler.handle(ctx).then(
      (handled) => {
        // a request stops counting once its whole answer is written (as Kubernetes counts until the handler returns),
        // not when the connection has flushed it: a busy loop may only get to 'finish' after the client has
        // already sent its next request. 'close' also comes when the client goes away before the answer is complete.
        const ended = () => done(res.statusCode);
        if (!handled) {
          void nonResource(req, res, url).then(() => done(res.statusCode));
          return;
        }
        if (res.writableEnded || isWatch) ended();
        else {
          res.once('finish', ended);
          res.once('close', ended);
        }
      },
      (err) => {
        if (!(err instanceof ApiError))
          log(`internal error on ${req.method} ${url.pathname}: ${(err as Error)?.stack ?? err}`);
        done(sendError(res, err));
      },
    );
  };

  // HTTPS serves HTTP/2 (negotiated by ALPN, as kubectl and client-go prefer: many watches share one connection)
  // and HTTP/1.1 (other clients, and the upgrades of exec, attach, port-forward and WebSocket watches)
  const server = opts.insecure
    ? http.createServer(onRequest)
    : http2.createSecureServer(
        { ...serverOptions!, allowHTTP1: true, settings: { maxConcurrentStreams: HTTP2_MAX_STREAMS } },
        onRequest,
      );
  const timeouts = server as { keepAliveTimeout: number; headersTimeout: number; requestTimeout: number };
  timeouts.keepAliveTimeout = 65_000; // HTTP/1.1 connections
  timeouts.headersTimeout = 66_000;
  timeouts.requestTimeout = 0; // watches are long
  // every connection, to end them all on close (HTTP/2 sessions, HTTP/1.1 keep-alive and upgraded connections)
  const connections = new Set<Socket>();
  server.on(opts.insecure ? 'connection' : 'secureConnection', (socket: Socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'https://localhost');
    if (!authenticate(req)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const podSub = podSubresource(requestPath(req.url));
    if (podSub && podSub.sub !== 'log') {
      nodeProxy.upgrade(req, socket, head, url, podSub.namespace, podSub.name, podSub.sub);
      return;
    }
    handler.handleUpgrade(req, socket, head, url).then(
      (ok) => !ok && socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'),
      (err) => {
        const st = err instanceof ApiError ? err : undefined;
        socket.end(`HTTP/1.1 ${st?.code ?? 500} ${st?.reason ?? 'InternalError'}\r\nContent-Length: 0\r\n\r\n`);
      },
    );
  });
  const bind = opts.bindAddress ?? '0.0.0.0';
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, bind, () => resolve());
    });
  } catch (e) {
    dispatcher.stop();
    await rawBackend.close();
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(
        `port ${port} on ${bind} is already in use: stop the program using it, or choose another port with --port or SKIFF_API_PORT`,
        { cause: e },
      );
    }
    throw e;
  }
  const actualPort = (server.address() as AddressInfo).port;
  await bootstrap(store, resources, allocator, actualPort, log, pki?.caCertPem, endpointAddress(bind));
  advertised = `${firstAddress()}:${actualPort}`;
  const scheme = opts.insecure ? 'http' : 'https';
  const url = `${scheme}://127.0.0.1:${actualPort}`;
  let kubeconfigPath: string | undefined;
  if (pki) kubeconfigPath = await writeAdminKubeconfig(opts.dataDir, pki, url);
  // the token node agents join with (skiff agent --server URL --token $(cat <data>/node-token))
  if (tokens)
    await writePrivateFile(
      path.join(opts.dataDir, 'node-token'),
      (await tokens.ensure('system:node-agent', ['system:nodes'])) + '\n',
    );

  const compactTimer = setInterval(() => void compactOld(backend, log), 5 * 60_000);
  compactTimer.unref();

  return {
    url,
    port: actualPort,
    kubeconfigPath,
    backend,
    metrics,
    async close() {
      clearInterval(compactTimer);
      dispatcher.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of connections) socket.destroy();
      });
      await rawBackend.close();
    },
  };
}

/** the address the kubernetes Service's endpoints name: the bind address when it is a specific one, else the host's */
function endpointAddress(bind: string): string {
  if (bind && bind !== '0.0.0.0' && bind !== '::' && !bind.startsWith('127.') && bind !== '::1' && bind.includes('.'))
    return bind;
  return firstAddress();
}

function firstAddress(): string {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/** keep a window of history for watches; older revisions are compacted away as Kubernetes does every 5 minutes */
async function compactOld(backend: Backend, log: (m: string) => void): Promise<void> {
  try {
    const rev = await backend.currentRevision();
    const target = rev - 10_000;
    if (target > (await backend.compactedRevision())) await backend.compact(target);
  } catch (e) {
    log(`compaction failed: ${(e as Error).message}`);
  }
}

/** the default namespaces and the kubernetes Service, as a fresh Kubernetes cluster has them */
async function bootstrap(
  store: RestStore,
  resources: Map<string, Resource>,
  allocator: ServiceAllocator,
  apiPort: number,
  log: (m: string) => void,
  caCertPem?: string,
  apiAddress?: string,
): Promise<void> {
  const ns = resources.get('/v1/namespaces')!;
  for (const name of DEFAULT_NAMESPACES) {
    if (ns.cache.get(storageKey(ns, '', name))) continue;
    try {
      await store.create(ns, '', { metadata: { name } });
    } catch (e) {
      if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e;
    }
  }
  await store.dispatcher.waitFor(await store.backend.currentRevision(), 2000);
  const svc = resources.get('/v1/services')!;
  const freed = await allocator.repair([...svc.cache.items.values()].map((o) => o.obj));
  if (freed > 0) log(`service allocator: freed ${freed} reservations left by an interrupted write`);
  if (!svc.cache.get(storageKey(svc, 'default', 'kubernetes'))) {
    try {
      await store.create(svc, 'default', {
        metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
        spec: {
          clusterIP: allocator.firstIp,
          ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: apiPort }],
          sessionAffinity: 'None',
          type: 'ClusterIP',
        },
      });
    } catch (e) {
      if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e;
    }
  }
  // the kubernetes Service has no selector: its endpoints are the API server itself, written here as Kubernetes' apiserver
  // writes them, so that the node's service proxy forwards the ClusterIP to it
  if (apiAddress && !apiAddress.startsWith('127.')) {
    try {
      await upsert(store, resources.get('/v1/endpoints')!, 'default', 'kubernetes', {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: {
          name: 'kubernetes',
          namespace: 'default',
          labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' },
        },
        subsets: [{ addresses: [{ ip: apiAddress }], ports: [{ name: 'https', port: apiPort, protocol: 'TCP' }] }],
      });
      const slices = resources.get('discovery.k8s.io/v1/endpointslices');
      if (slices) {
        await upsert(store, slices, 'default', 'kubernetes', {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: {
            name: 'kubernetes',
            namespace: 'default',
            labels: { 'kubernetes.io/service-name': 'kubernetes' },
          },
          addressType: 'IPv4',
          endpoints: [{ addresses: [apiAddress], conditions: { ready: true } }],
          ports: [{ name: 'https', port: apiPort, protocol: 'TCP' }],
        });
      }
    } catch (e) {
      log(`could not write the endpoints of the kubernetes Service: ${(e as Error).message}`);
    }
  }
  // the default ServiceAccounts of the built-in namespaces (the serviceaccount controller keeps them in every namespace;
  // creating them here lets pods be admitted into these namespaces also when no controller runs)
  const sas = resources.get('/v1/serviceaccounts');
  if (sas) {
    for (const ns of DEFAULT_NAMESPACES) {
      if (sas.cache.get(storageKey(sas, ns, DEFAULT_SERVICE_ACCOUNT))) continue;
      try {
        await store.create(sas, ns, { metadata: { name: DEFAULT_SERVICE_ACCOUNT } });
      } catch (e) {
        if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e;
      }
    }
  }
  // the cluster CA for clients in the cluster (node agents check the API server's client certificate against it)
  const cms = resources.get('/v1/configmaps');
  if (caCertPem && cms) {
    await upsert(store, cms, 'kube-system', 'kube-root-ca.crt', {
      metadata: { name: 'kube-root-ca.crt' },
      data: { 'ca.crt': caCertPem },
    });
  }
}

/** create or replace an object the API server owns, writing nothing when it is already as wanted */
async function upsert(store: RestStore, r: Resource, ns: string, name: string, desired: any): Promise<void> {
  await store.guaranteedUpdate(
    r,
    ns,
    name,
    (cur) => {
      if (!cur) return structuredClone(desired);
      const next = {
        ...structuredClone(desired),
        metadata: { ...cur.metadata, labels: { ...(cur.metadata?.labels ?? {}), ...desired.metadata.labels } },
      };
      delete next.metadata.resourceVersion;
      return next;
    },
    { allowCreate: true },
  );
}
