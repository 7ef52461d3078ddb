/**
 * The API server, composed of: the served resources (their storage, watch caches and behaviour), the filter chain
 * (filters/), the non-resource routes and the resource handler, behind one listener.
 */
import path from 'node:path';
import type http from 'node:http';
import type { FieldError } from './api/field-error.ts';
import { openBackend } from './storage/index.ts';
import type { Backend } from './storage/backend.ts';
import { Dispatcher } from './watchcache/dispatcher.ts';
import { RestStore } from './rest/store.ts';
import { WatchServer } from './rest/watch.ts';
import { ResourceHandler } from './rest/handler.ts';
import { RequestContext } from './rest/context.ts';
import type { Resource } from './rest/resource.ts';
import { ApiError, invalidObject } from './rest/status.ts';
import { Discovery } from './discovery.ts';
import { ApiMetrics, instrumentBackend } from './metrics.ts';
import { ServiceAllocator, serviceAllocations } from './allocator.ts';
import { Registry } from './registry/registry.ts';
import { builtInDefinitions } from './registry/built-in.ts';
import { BASIC_CHECKS, cacheCheck, storeCheck } from './health.ts';
import { DEFAULT_ISSUER, signServiceAccountToken, writeAdminKubeconfig } from './auth/index.ts';
import { makeReviews } from './auth/reviews.ts';
import { admissionChain, type AdmissionChain } from './admission/index.ts';
import type { TokenRequester } from './registry/core/serviceaccount/token.ts';
import { createTokenRequest } from './api/core/token-request.ts';
import { writePrivateFile } from './auth/private-files.ts';
import { NodeProxy } from './nodeproxy/proxy.ts';
import { makePatcher, makeFieldValidator, makeTypeChecker } from './patching.ts';
import { OpenApiEndpoints } from './openapi-http.ts';
import type { AnyRequest, AnyResponse } from './http.ts';
import { alwaysAllow, firstOpinion, type Authorizer } from './authorization/authorizer.ts';
import { buildHandlerChain } from './filters/index.ts';
import { NonResourceRoutes } from './non-resource.ts';
import { routes } from './routes.ts';
import { upgradeHandler } from './upgrade.ts';
import { listen, type Listener } from './listener.ts';
import { loadCredentials, type Credentials } from './credentials.ts';
import { ObjectLookup } from './lookup.ts';
import { bootstrap, endpointAddress, firstAddress } from './bootstrap.ts';
import { startCompaction } from './compaction.ts';

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
  /** the served resources: custom resources are added and removed here while the server runs */
  registry: Registry;
  close(): Promise<void>;
}

/** who may do what: the first authorizer with an opinion decides (RBAC goes before alwaysAllow, or replaces it) */
const authorizers: Authorizer[] = [alwaysAllow];

export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const log = opts.log ?? ((m: string) => console.log(m));
  const metrics = new ApiMetrics();
  const { rawBackend, backend, dispatcher } = await openStorage(opts, metrics, log);
  const allocator = new ServiceAllocator(backend, opts.serviceCidr ?? '10.96.0.0/12');
  const allocations = serviceAllocations(allocator, (svc, errs) =>
    invalidObject('Service', svc.metadata?.name ?? '', errs),
  );
  // the served resources, added once the credentials their subresources need are loaded
  let registry: Registry | undefined;
  const resource = (key: string) => registry?.lookup(key);
  const admission = makeAdmission(() => objects);
  const store = new RestStore(backend, dispatcher, invalidOf, admission);
  const objects = new ObjectLookup(resource, store);
  const watches = new WatchServer(dispatcher, backend, {
    onTerminated: (r) => metrics.terminatedWatchers.inc({ resource: r.info.resource }),
  });
  const credentials = await loadCredentials(opts, objects);
  // pods/log, exec, attach, portforward go to the pod's node agent, with a client certificate of the cluster CA
  const nodeProxy = new NodeProxy({
    getPod: (ns, name) => objects.cached('/v1/pods', ns, name),
    getNode: (name) => objects.cached('/v1/nodes', '', name),
    clientCertPem: credentials.kubeletClient?.certPem ?? '',
    clientKeyPem: credentials.kubeletClient?.keyPem ?? '',
  });
  registry = new Registry(dispatcher, {
    watchCacheSize: opts.watchCacheSize,
    deps: { serviceAllocations: allocations, nodeProxy, tokenRequest: tokenRequester(credentials, objects) },
  });
  await registry.addAll(builtInDefinitions());
  const handler = makeResourceHandler(store, watches, registry, credentials, admission);
  await dispatcher.start();
  const port = opts.port ?? 6443;
  let advertised = `127.0.0.1:${port}`;
  const nonResource = nonResourceRoutes(metrics, watches, backend, dispatcher, registry, () => advertised);
  const bind = opts.bindAddress ?? '0.0.0.0';
  const listener = await listenWith(opts, { port, bind, credentials, handler, nonResource, metrics, log }).catch(
    async (e: unknown) => {
      dispatcher.stop();
      await rawBackend.close();
      throw e;
    },
  );
  await bootstrap({
    store,
    resource,
    allocator,
    apiPort: listener.port,
    log,
    caCertPem: credentials.pki?.caCertPem,
    apiAddress: endpointAddress(bind),
  });
  advertised = `${firstAddress()}:${listener.port}`;
  const url = `${opts.insecure ? 'http' : 'https'}://127.0.0.1:${listener.port}`;
  const kubeconfigPath = await writeClientFiles(opts.dataDir, credentials, url);
  const stopCompaction = startCompaction(backend, log);

  return {
    url,
    port: listener.port,
    kubeconfigPath,
    backend,
    metrics,
    registry,
    async close() {
      stopCompaction();
      dispatcher.stop();
      await listener.close();
      await rawBackend.close();
    },
  };
}

async function openStorage(
  opts: ApiServerOptions,
  metrics: ApiMetrics,
  log: (m: string) => void,
): Promise<{ rawBackend: Backend; backend: Backend; dispatcher: Dispatcher }> {
  const rawBackend = openBackend(opts.store ?? '', { dataDir: opts.dataDir });
  await rawBackend.start();
  const backend = instrumentBackend(rawBackend, metrics);
  const dispatcher = new Dispatcher(backend);
  dispatcher.onError = (e) => log(`watch cache: store watch failed, re-listing: ${e.message}`);
  return { rawBackend, backend, dispatcher };
}

interface Serving {
  port: number;
  bind: string;
  credentials: Credentials;
  handler: ResourceHandler;
  nonResource: NonResourceRoutes;
  metrics: ApiMetrics;
  log: (m: string) => void;
}

/** the filter chain before the routes, on a listener */
function listenWith(opts: ApiServerOptions, s: Serving): Promise<Listener> {
  const authorizer = firstOpinion(authorizers);
  const chain = buildHandlerChain(routes({ resources: s.handler, nonResource: s.nonResource, log: s.log }), {
    authenticate: s.credentials.authenticate,
    authorizer,
    inFlight: { maxReadOnly: opts.maxReadOnlyInflight ?? 400, maxMutating: opts.maxMutatingInflight ?? 200 },
    metrics: s.metrics,
    log: s.log,
  });
  // an HTTP/2 request and response have the shape of HTTP/1.1's for all the handlers use (see http.ts)
  const onRequest = (req: AnyRequest, res: AnyResponse) => {
    const r = req as http.IncomingMessage;
    void chain(new RequestContext(r, res as http.ServerResponse, new URL(r.url ?? '/', 'https://localhost')));
  };
  return listen({
    port: s.port,
    bindAddress: s.bind,
    tls: s.credentials.tls,
    onRequest,
    onUpgrade: upgradeHandler({ authenticate: s.credentials.authenticate, authorizer, handler: s.handler }),
  });
}

function nonResourceRoutes(
  metrics: ApiMetrics,
  watches: WatchServer,
  backend: Backend,
  dispatcher: Dispatcher,
  registry: Registry,
  advertised: () => string,
): NonResourceRoutes {
  // liveness does not follow the store: a server that cannot reach it is not ready, but restarting it would not help
  const serving = [storeCheck(backend), cacheCheck(dispatcher)];
  const discovery = new Discovery(registry.infos(), advertised);
  const openapi = new OpenApiEndpoints(registry.infos());
  // what is served changes with custom resources: discovery and OpenAPI follow
  registry.onChange((infos) => {
    discovery.update(infos);
    openapi.update(infos);
  });
  return new NonResourceRoutes({
    metrics,
    activeWatches: () => watches.active,
    discovery,
    openapi,
    checks: { healthz: [...BASIC_CHECKS, ...serving], livez: BASIC_CHECKS, readyz: [...BASIC_CHECKS, ...serving] },
  });
}

/** the admin kubeconfig, and the token node agents join with (skiff agent --server URL --token $(cat <data>/node-token)) */
async function writeClientFiles(dataDir: string, c: Credentials, url: string): Promise<string | undefined> {
  const kubeconfigPath = c.pki ? await writeAdminKubeconfig(dataDir, c.pki, url) : undefined;
  if (c.tokens)
    await writePrivateFile(
      path.join(dataDir, 'node-token'),
      (await c.tokens.ensure('system:node-agent', ['system:nodes'])) + '\n',
    );
  return kubeconfigPath;
}

function invalidOf(r: Resource, name: string, errs: FieldError[]): ApiError {
  return invalidObject(r.info.kind, name, errs, r.info.group);
}

function makeAdmission(objects: () => ObjectLookup): AdmissionChain {
  return admissionChain({
    namespace: (name) => objects().entry('/v1/namespaces', '', name),
    serviceAccount: (ns, name) => objects().live('/v1/serviceaccounts', ns, name),
  });
}

/** TokenRequests signed with the cluster's service account key; none without one */
function tokenRequester(credentials: Credentials, objects: ObjectLookup): TokenRequester | undefined {
  const pki = credentials.pki;
  if (!pki) return undefined;
  return (ns, name, body) =>
    createTokenRequest(
      {
        serviceAccount: (n, sa) => objects.live('/v1/serviceaccounts', n, sa),
        pod: (n, p) => objects.live('/v1/pods', n, p),
        secret: (n, sec) => objects.live('/v1/secrets', n, sec),
        node: (nd) => objects.live('/v1/nodes', '', nd),
        sign: (req) => signServiceAccountToken(pki, req),
        audiences: [DEFAULT_ISSUER],
      },
      ns,
      name,
      body,
    );
}

function makeResourceHandler(
  store: RestStore,
  watches: WatchServer,
  resources: Registry,
  credentials: Credentials,
  admission: AdmissionChain,
): ResourceHandler {
  return new ResourceHandler({
    store,
    watches,
    resources,
    patcher: makePatcher(),
    validateFields: makeFieldValidator(),
    checkTypes: makeTypeChecker(),
    admission,
    reviews: makeReviews((token, audiences) => credentials.checkToken(token, audiences)),
  });
}
