/**
 * The API client every component of skiff uses: credentials and server from a kubeconfig (kubeconfig.ts reads
 * certificates, tokens and basic auth; @kubernetes/client-node's KubeConfig is loaded only for exec plugins and auth
 * providers), requests over one keep-alive HTTPS agent, JSON bodies, and watches read as a stream of
 * newline-separated events. See docs/adr/0004.
 */
import http from 'node:http';
import https from 'node:https';
import { existsSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeconfigPath, readKubeconfig, type Connection } from './kubeconfig.ts';
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
import type { KubeObject, ObjectList } from './object.ts';
import type { Status } from './types/meta.ts';
import { collectionPath, objectPath, type Resource } from './resources.ts';

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
};

export interface ClientOptions {
  /** sockets per host (default 64) */
  maxSockets?: number;
  /** User-Agent, e.g. "skiff-scheduler" */
  userAgent?: string;
  /** per-request timeout in ms for non-watch calls (default 60 s) */
  timeoutMs?: number;
}

export class Client implements ApiClient {
  private readonly agent: https.Agent | http.Agent;
  private readonly base: URL;
  private readonly mod: typeof https | typeof http;

  private constructor(
    server: string,
    private readonly requestOpts: https.RequestOptions,
    private readonly opts: ClientOptions,
  ) {
    this.base = new URL(server);
    const secure = this.base.protocol === 'https:';
    this.mod = secure ? https : http;
    const agentOpts = { keepAlive: true, maxSockets: opts.maxSockets ?? 64, ...pickTls(requestOpts) };
    this.agent = secure ? new https.Agent(agentOpts) : new http.Agent(agentOpts);
  }

  /** from a kubeconfig file; without one, $KUBECONFIG or ~/.kube/config (client-node's rules) */
  static async fromKubeconfig(file?: string, opts: ClientOptions = {}): Promise<Client> {
    const f = kubeconfigPath(file);
    if (!existsSync(f))
      throw new Error(`cannot read the kubeconfig ${f}: no such file (pass --kubeconfig or set KUBECONFIG)`);
    const conn = readKubeconfig(f);
    if (conn) return Client.fromConnection(conn, opts);
    // exec plugins and auth providers: client-node knows them all
    const { KubeConfig } = await import('@kubernetes/client-node');
    const kc = new KubeConfig();
    try {
      kc.loadFromFile(f);
    } catch (e) {
      throw new Error(`cannot read the kubeconfig ${f}: ${(e as Error).message}`, { cause: e });
    }
    return Client.fromKubeConfig(kc, opts);
  }

  /** a server URL with its TLS settings and headers (e.g. a bearer token) */
  static fromConnection(c: Connection, opts: ClientOptions = {}): Client {
    const ro: https.RequestOptions = { headers: c.headers, rejectUnauthorized: c.rejectUnauthorized };
    if (c.ca) ro.ca = c.ca;
    if (c.cert) ro.cert = c.cert;
    if (c.key) ro.key = c.key;
    return new Client(c.server, ro, opts);
  }

  static async fromKubeConfig(kc: KubeConfig, opts: ClientOptions = {}): Promise<Client> {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster: set current-context or pass --kubeconfig');
    const ro: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(ro);
    return new Client(cluster.server, ro, opts);
  }

  /** the API server's URL */
  get server(): string {
    return this.base.toString().replace(/\/$/, '');
  }

  close(): void {
    this.agent.destroy();
  }

  async get<T extends KubeObject>(r: Resource<T>, namespace: string | undefined, name: string): Promise<T> {
    return this.json<T>('GET', objectPath(r, namespace, name));
  }

  async list<T extends KubeObject>(r: Resource<T>, opts: ListOptions = {}): Promise<ObjectList<T>> {
    const q = query({
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
      limit: opts.limit,
      continue: opts.continue,
      resourceVersion: opts.resourceVersion,
    });
    return this.json<ObjectList<T>>('GET', collectionPath(r, opts.namespace) + q);
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
    const ns = obj.metadata?.namespace;
    const path = opts.subresource
      ? objectPath(r, ns, opts.name ?? obj.metadata.name!, opts.subresource)
      : collectionPath(r, ns);
    return this.json<KubeObject>('POST', path + writeQuery(opts), JSON.stringify(obj), 'application/json');
  }

  update<T extends KubeObject>(r: Resource<T>, obj: T, opts?: WriteOptions & { subresource?: string }): Promise<T>;
  update<B extends KubeObject>(r: Resource, obj: B, opts: SubresourceOptions): Promise<B>;
  async update(r: Resource, obj: KubeObject, opts: WriteOptions & { subresource?: string } = {}): Promise<KubeObject> {
    const path = objectPath(r, obj.metadata.namespace, obj.metadata.name!, opts.subresource);
    return this.json<KubeObject>('PUT', path + writeQuery(opts), JSON.stringify(obj), 'application/json');
  }

  async patch<T extends KubeObject>(
    r: Resource<T>,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    type: PatchType,
    opts: PatchOptions = {},
  ): Promise<T> {
    const q = query({
      dryRun: opts.dryRun ? 'All' : undefined,
      fieldManager: opts.fieldManager,
      force: opts.force ? 'true' : undefined,
    });
    const body = typeof patch === 'string' ? patch : JSON.stringify(patch);
    return this.json<T>('PATCH', objectPath(r, namespace, name, opts.subresource) + q, body, PATCH_CONTENT_TYPES[type]);
  }

  async delete(
    r: Resource,
    namespace: string | undefined,
    name: string,
    opts: DeleteOptions = {},
  ): Promise<KubeObject> {
    const body = Object.keys(opts).length
      ? JSON.stringify({ apiVersion: 'v1', kind: 'DeleteOptions', ...opts })
      : undefined;
    return this.json<KubeObject>('DELETE', objectPath(r, namespace, name), body, body ? 'application/json' : undefined);
  }

  /** any request; resolves with the status and the parsed body (or the text when it is not JSON) */
  async raw(
    method: string,
    path: string,
    body?: string,
    contentType?: string,
  ): Promise<{ status: number; body: unknown }> {
    const { status, text } = await this.send(method, path, body, contentType);
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status, body: parsed };
  }

  watch<T extends KubeObject>(
    r: Resource<T>,
    opts: WatchOptions,
    onEvent: (e: WatchEvent<T>) => void,
    done: (err?: Error) => void,
  ): WatchHandle {
    const q = query({
      watch: '1',
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
      resourceVersion: opts.resourceVersion,
      allowWatchBookmarks: opts.allowWatchBookmarks ? 'true' : undefined,
      timeoutSeconds: opts.timeoutSeconds,
    });
    let finished = false;
    let stopped = false;
    const finish = (err?: Error) => {
      if (finished) return;
      finished = true;
      done(stopped ? undefined : err);
    };
    const req = this.mod.request(
      {
        ...this.target(collectionPath(r, opts.namespace) + q),
        method: 'GET',
        headers: this.headers({ Accept: 'application/json' }),
      },
      (res) => {
        if ((res.statusCode ?? 0) >= 300) {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (text += d));
          res.on('end', () => finish(apiError(res.statusCode ?? 0, text)));
          res.on('error', (e) => finish(e));
          return;
        }
        res.setEncoding('utf8');
        let buf = '';
        res.on('data', (chunk: string) => {
          buf += chunk;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (!line.trim()) continue;
            let ev: WatchEvent<T>;
            try {
              ev = JSON.parse(line) as WatchEvent<T>;
            } catch (e) {
              req.destroy();
              finish(new Error(`undecodable watch event from ${r.resource}: ${(e as Error).message}`));
              return;
            }
            if (!stopped) onEvent(ev);
          }
        });
        res.on('end', () => finish());
        res.on('error', (e) => finish(e));
        res.on('close', () =>
          finish(res.complete ? undefined : new Error(`watch of ${r.resource} closed by the server`)),
        );
      },
    );
    req.on('error', (e) => finish(e));
    req.end();
    return {
      stop() {
        if (stopped) return;
        stopped = true;
        req.destroy();
        finish();
      },
    };
  }

  // ---- transport ----

  private async json<T>(method: string, path: string, body?: string, contentType?: string): Promise<T> {
    const { status, text } = await this.send(method, path, body, contentType);
    if (status >= 300) throw apiError(status, text);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new Error(`${method} ${path}: the API server answered ${status} with a body that is not JSON`);
    }
  }

  private send(
    method: string,
    path: string,
    body?: string,
    contentType?: string,
  ): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { Accept: 'application/json' };
      if (body !== undefined) {
        headers['Content-Type'] = contentType ?? 'application/json';
        headers['Content-Length'] = Buffer.byteLength(body);
      }
      const req = this.mod.request({ ...this.target(path), method, headers: this.headers(headers) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.setTimeout(this.opts.timeoutMs ?? 60_000, () =>
        req.destroy(
          new Error(`${method} ${path}: no answer from ${this.server} in ${(this.opts.timeoutMs ?? 60_000) / 1000}s`),
        ),
      );
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ECONNREFUSED')
          reject(new Error(`cannot reach the API server at ${this.server}: connection refused`));
        else reject(e);
      });
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  private target(path: string): https.RequestOptions {
    const prefix = this.base.pathname.replace(/\/$/, '');
    return {
      agent: this.agent,
      host: this.base.hostname,
      port: this.base.port || (this.base.protocol === 'https:' ? 443 : 80),
      path: prefix + path,
    };
  }

  private headers(h: Record<string, string | number>): Record<string, string | number> {
    const out: Record<string, string | number> = {
      ...(this.requestOpts.headers as Record<string, string> | undefined),
      ...h,
    };
    if (this.opts.userAgent) out['User-Agent'] = this.opts.userAgent;
    return out;
  }
}

function pickTls(o: https.RequestOptions): https.AgentOptions {
  const out: https.AgentOptions = {};
  if (o.ca) out.ca = o.ca;
  if (o.cert) out.cert = o.cert;
  if (o.key) out.key = o.key;
  if (o.pfx) out.pfx = o.pfx;
  if (o.passphrase) out.passphrase = o.passphrase;
  if (o.rejectUnauthorized !== undefined) out.rejectUnauthorized = o.rejectUnauthorized;
  if (o.servername) out.servername = o.servername;
  return out;
}

function query(params: Record<string, string | number | undefined>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === '') continue;
    parts.push(`${k}=${encodeURIComponent(String(v))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

function writeQuery(opts: WriteOptions): string {
  return query({ dryRun: opts.dryRun ? 'All' : undefined, fieldManager: opts.fieldManager });
}

function apiError(status: number, text: string): ApiError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  if (isStatus(body))
    return new ApiError(body.code ?? status, body.reason ?? '', body.message ?? `HTTP ${status}`, body);
  return new ApiError(status, status === 404 ? 'NotFound' : '', `HTTP ${status}: ${text.slice(0, 200)}`);
}

function isStatus(v: unknown): v is Status {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'Status';
}
