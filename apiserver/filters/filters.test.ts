import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RequestContext } from '../rest/context.ts';
import { resolveRequestInfo } from '../rest/request.ts';
import { ApiMetrics } from '../metrics.ts';
import type { Attributes, Authorizer } from '../authorization/authorizer.ts';
import { alwaysAllow, firstOpinion } from '../authorization/authorizer.ts';
import { answered, chain, type Filter, type Handler } from './chain.ts';
import { withAuthorization } from './authorization.ts';
import { withAuthentication } from './authentication.ts';
import { withImpersonation } from './impersonation.ts';
import { withMaxInFlight } from './max-in-flight.ts';
import { withPanicRecovery } from './panic-recovery.ts';
import { buildHandlerChain } from './index.ts';

class FakeResponse extends EventEmitter {
  statusCode = 200;
  headersSent = false;
  writableEnded = false;
  headers: Record<string, unknown> = {};
  body = '';
  setHeader(k: string, v: unknown) {
    this.headers[k.toLowerCase()] = v;
  }
  writeHead(code: number, h: Record<string, unknown>) {
    this.statusCode = code;
    for (const [k, v] of Object.entries(h)) this.setHeader(k, v);
    this.headersSent = true;
    return this;
  }
  end(b?: string) {
    if (b) this.body += b;
    this.writableEnded = true;
    this.emit('finish');
  }
}

function request(method: string, url: string, headers: Record<string, string> = {}): RequestContext {
  const rawHeaders = Object.entries(headers).flat();
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const req = { method, url, headers: lower, rawHeaders } as unknown as IncomingMessage;
  const res = new FakeResponse() as unknown as ServerResponse;
  const ctx = new RequestContext(req, res, new URL(url, 'https://localhost'));
  ctx.info = resolveRequestInfo(method, url, ctx.url);
  return ctx;
}

const body = (ctx: RequestContext) => JSON.parse((ctx.res as unknown as FakeResponse).body);

/** the terminal handler: answers 200 and remembers that it ran */
function terminal(): Handler & { calls: number } {
  const h = (async (ctx: RequestContext) => {
    h.calls++;
    ctx.res.writeHead(200, {});
    ctx.res.end();
    return ctx;
  }) as Handler & { calls: number };
  h.calls = 0;
  return h;
}

const alice = { name: 'alice', groups: ['system:authenticated'] };

/** refuses everything, remembering what it was asked */
function denying(reason = ''): Authorizer & { asked: Attributes[] } {
  const asked: Attributes[] = [];
  return { asked, authorize: (a) => (asked.push(a), { decision: 'deny', reason }) };
}

describe('request info', () => {
  const info = (method: string, url: string) => resolveRequestInfo(method, url, new URL(url, 'https://localhost'));
  it("names verbs, resources and namespaces as Kubernetes' RequestInfo does", () => {
    const create = info('POST', '/api/v1/namespaces/y/pods');
    assert.deepEqual(
      [create.isResourceRequest, create.verb, create.apiGroup, create.apiVersion, create.namespace, create.resource],
      [true, 'create', '', 'v1', 'y', 'pods'],
    );
    assert.equal(info('GET', '/apis/apps/v1/deployments').verb, 'list');
    assert.equal(info('GET', '/apis/apps/v1/deployments?watch=1').verb, 'watch');
    assert.equal(info('GET', '/api/v1/namespaces/y/pods/p').verb, 'get');
    assert.equal(info('DELETE', '/api/v1/namespaces/y/pods').verb, 'deletecollection');
    assert.equal(info('PATCH', '/apis/apps/v1/namespaces/y/deployments/d/scale').subresource, 'scale');
    // a Namespace's namespace is itself
    assert.equal(info('GET', '/api/v1/namespaces/kube-system').namespace, 'kube-system');
    assert.equal(info('GET', '/api/v1/namespaces').namespace, '');
  });
  it('reads a deprecated watch path as the watch it stands for, and a name pinned by a field selector', () => {
    const url = new URL('/api/v1/watch/namespaces/y/pods/p', 'https://localhost');
    const w = resolveRequestInfo('GET', url.pathname, url);
    assert.deepEqual([w.verb, w.resource, w.name], ['watch', 'pods', 'p']);
    assert.equal(url.searchParams.get('fieldSelector'), 'metadata.name=p');
    assert.equal(info('GET', '/api/v1/namespaces/y/pods?fieldSelector=metadata.name%3Dq').name, 'q');
  });
  it('tells non-resource paths and keeps what makes a path unservable for the handler', () => {
    const v = info('GET', '/version');
    assert.deepEqual([v.isResourceRequest, v.verb, v.path, v.apiPrefix], [false, 'get', '/version', '']);
    assert.equal(info('GET', '/api/v1').isResourceRequest, false);
    assert.equal(info('GET', '/api/v1').apiPrefix, 'api');
    const bad = info('GET', '/api/v1/namespaces/y/pods/%zz');
    assert.equal(bad.isResourceRequest, false);
    assert.ok(bad.error);
  });
});

describe('filters', () => {
  it('run in the order of their list, the first outermost', async () => {
    const order: string[] = [];
    const mark =
      (name: string): Filter =>
      (next) =>
      (ctx) => {
        order.push(name);
        return next(ctx);
      };
    const h = terminal();
    await chain([mark('a'), mark('b'), mark('c')], h)(request('GET', '/version'));
    assert.deepEqual(order, ['a', 'b', 'c']);
    assert.equal(h.calls, 1);
  });

  it('answer a request the authorizer denies with 403 Forbidden in Kubernetes words', async () => {
    const authorizer = denying();
    const h = terminal();
    const ctx = request('POST', '/api/v1/namespaces/y/pods');
    ctx.user = { name: 'x', groups: [] };
    await withAuthorization(authorizer)(h)(ctx);
    assert.equal(h.calls, 0);
    assert.equal(ctx.res.statusCode, 403);
    assert.deepEqual(body(ctx), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'pods is forbidden: User "x" cannot create resource "pods" in API group "" in the namespace "y"',
      reason: 'Forbidden',
      details: { kind: 'pods' },
      code: 403,
    });
    assert.deepEqual(
      { ...authorizer.asked[0], user: authorizer.asked[0].user.name },
      {
        user: 'x',
        verb: 'create',
        isResourceRequest: true,
        path: '/api/v1/namespaces/y/pods',
        apiGroup: '',
        apiVersion: 'v1',
        namespace: 'y',
        resource: 'pods',
        subresource: '',
        name: '',
      },
    );
  });

  it('name the object, the subresource, the cluster scope or the path a refusal is about, and its reason', async () => {
    const refusal = async (method: string, url: string, reason = '') => {
      const ctx = request(method, url);
      ctx.user = alice;
      await withAuthorization(denying(reason))(terminal())(ctx);
      return body(ctx).message;
    };
    assert.equal(
      await refusal('PUT', '/apis/apps/v1/namespaces/y/deployments/web/scale'),
      'deployments.apps "web" is forbidden: User "alice" cannot update resource "deployments/scale" in API group "apps" in the namespace "y"',
    );
    assert.equal(
      await refusal('GET', '/api/v1/nodes', 'no RBAC policy matched'),
      'nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the cluster scope: no RBAC policy matched',
    );
    assert.equal(await refusal('GET', '/version'), 'forbidden: User "alice" cannot get path "/version"');
  });

  it('let allowed requests through, and ask nothing of the open health paths', async () => {
    const h = terminal();
    const ctx = request('GET', '/api/v1/pods');
    ctx.user = alice;
    await withAuthorization(alwaysAllow)(h)(ctx);
    assert.equal(h.calls, 1);
    const health = request('GET', '/readyz');
    await withAuthorization(denying())(h)(health);
    assert.equal(h.calls, 2);
  });

  it('take the first opinion of several authorizers; none is a refusal', () => {
    const noOpinion: Authorizer = { authorize: () => ({ decision: 'no-opinion', reason: 'not mine' }) };
    const a = { ...request('GET', '/version').info, user: alice };
    assert.equal(firstOpinion([noOpinion, alwaysAllow]).authorize(a).decision, 'allow');
    assert.deepEqual(firstOpinion([noOpinion, noOpinion]).authorize(a), {
      decision: 'no-opinion',
      reason: 'not mine\nnot mine',
    });
  });

  it('authenticate every path but health, and refuse a request without credentials with 401', async () => {
    const h = terminal();
    const f = withAuthentication((req) => (req.headers.authorization ? alice : undefined))(h);
    const anonymous = request('GET', '/api/v1/pods');
    await f(anonymous);
    assert.equal(anonymous.res.statusCode, 401);
    assert.equal(body(anonymous).reason, 'Unauthorized');
    await f(request('GET', '/livez'));
    const ok = request('GET', '/api/v1/pods', { Authorization: 'Bearer t' });
    await f(ok);
    assert.equal(ok.user, alice);
    assert.equal(h.calls, 2);
  });

  it('impersonate once the authorizer allows it, in Kubernetes words when it does not', async () => {
    const h = terminal();
    const as = request('GET', '/api/v1/pods', { 'Impersonate-User': 'bob', 'Impersonate-Group': 'devs' });
    as.user = alice;
    await withImpersonation(alwaysAllow)(h)(as);
    assert.equal(as.user?.name, 'bob');
    assert.deepEqual(as.user?.groups, ['devs', 'system:authenticated']);
    const authorizer = denying();
    const denied = request('GET', '/api/v1/pods', { 'Impersonate-User': 'bob' });
    denied.user = alice;
    await withImpersonation(authorizer)(h)(denied);
    assert.equal(denied.res.statusCode, 403);
    assert.equal(
      body(denied).message,
      'users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope',
    );
    assert.equal(h.calls, 1);
    const sa = request('GET', '/api/v1/pods', { 'Impersonate-User': 'system:serviceaccount:ns1:robot' });
    sa.user = alice;
    await withImpersonation(authorizer)(h)(sa);
    assert.equal(
      body(sa).message,
      'serviceaccounts "robot" is forbidden: User "alice" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "ns1"',
    );
  });

  it('hold requests to the in-flight limit, answering 429 over it, and never count watches', async () => {
    const metrics = new ApiMetrics();
    const waiting: (() => void)[] = [];
    const slow: Handler = (ctx) => new Promise((resolve) => waiting.push(() => resolve(ctx)));
    const releaseAll = () => waiting.splice(0).forEach((r) => r());
    const f = withMaxInFlight({ maxReadOnly: 1, maxMutating: 1 }, metrics)(slow);
    const first = f(request('GET', '/api/v1/pods'));
    const over = request('GET', '/api/v1/pods');
    await f(over);
    assert.equal(over.res.statusCode, 429);
    assert.equal((over.res as unknown as FakeResponse).headers['retry-after'], '1');
    // a watch and a mutating request are not held back by the read-only one
    const watch = f(request('GET', '/api/v1/pods?watch=true'));
    const mutating = f(request('POST', '/api/v1/namespaces/y/pods'));
    assert.equal(waiting.length, 3);
    releaseAll();
    await Promise.all([first, watch, mutating]);
    const after = f(request('GET', '/api/v1/pods'));
    assert.equal(waiting.length, 1);
    releaseAll();
    await after;
  });

  it('answer a fault in a filter or handler with a 500 and log it', async () => {
    const logged: string[] = [];
    const failing: Handler = () => {
      throw new Error('boom');
    };
    const rejecting: Handler = () => Promise.reject(new Error('bang'));
    for (const h of [failing, rejecting]) {
      const ctx = request('GET', '/api/v1/pods');
      await withPanicRecovery((m) => logged.push(m))(h)(ctx);
      assert.equal(ctx.res.statusCode, 500);
    }
    assert.equal(logged.length, 2);
    assert.match(logged[0], /boom/);
  });

  it('make one chain that resolves the request info before authenticating', async () => {
    const h = terminal();
    const seen: string[] = [];
    const handler = buildHandlerChain(h, {
      authenticate: (req) => (seen.push(req.url ?? ''), alice),
      authorizer: alwaysAllow,
      inFlight: { maxReadOnly: 10, maxMutating: 10 },
      metrics: new ApiMetrics(),
      log: () => {},
    });
    const ctx = request('GET', '/apis/apps/v1/namespaces/y/deployments');
    await handler(ctx);
    assert.deepEqual([ctx.info.verb, ctx.user?.name, ctx.res.statusCode, h.calls], ['list', 'alice', 200, 1]);
    assert.equal(await answered(ctx), ctx);
  });
});
