import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { lookupResource } from '../api/registry.ts';
import { replicationControllerStrategy } from '../api/core/replicationcontroller.ts';
import { deploymentStrategy } from '../api/apps/apps.ts';
import { podStrategy } from '../api/core/pod.ts';
import type { NodeProxy } from '../nodeproxy/proxy.ts';
import { RequestContext } from '../rest/context.ts';
import type { ApiObject } from '../rest/meta.ts';
import type { Resource, TypeStrategy } from '../rest/resource.ts';
import { ApiError } from '../rest/status.ts';
import type { DeleteOptions, RestStore } from '../rest/store.ts';
import type { ObjectOperations, SubresourceRequest } from '../rest/subresource.ts';
import { restStrategy, subresources } from './index.ts';
import { toScale } from './subresources/scale.ts';

const proxy = { log: async () => {}, upgrade: () => {} } as unknown as NodeProxy;

function resource(group: string, version: string, plural: string, type: TypeStrategy): Resource {
  const info = lookupResource(group, version, plural)!;
  return {
    info,
    strategy: restStrategy(info, type),
    prefix: '',
    cache: undefined as never,
    selectable: new Set(),
    subresources: subresources(info, { nodeProxy: proxy }),
  };
}
const pods = resource('', 'v1', 'pods', podStrategy);

class Res extends EventEmitter {
  statusCode = 200;
  headersSent = false;
  body = '';
  setHeader() {}
  writeHead(code: number) {
    this.statusCode = code;
    this.headersSent = true;
  }
  end(b?: string) {
    if (b) this.body += b;
  }
}

/** a request for a subresource with a JSON body */
function request(method: string, sub: string, body?: unknown, r = pods, dryRun = false): SubresourceRequest {
  const req = Readable.from(
    body === undefined ? [] : [Buffer.from(JSON.stringify(body))],
  ) as unknown as IncomingMessage;
  Object.assign(req, { method, url: '/', headers: { 'content-type': 'application/json' } });
  const ctx = new RequestContext(req, new Res() as unknown as ServerResponse, new URL('https://localhost/'));
  ctx.user = { name: 'scheduler', groups: [] };
  const rep = { as: 'Object' as const, yaml: false };
  return { ctx, resource: r, namespace: 'ns', name: 'p', subresource: sub, method, rep, dryRun };
}
const answer = (s: SubresourceRequest) => {
  const res = s.ctx.res as unknown as Res;
  return { code: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined };
};

/** an object store of one object, recording writes and admissions */
function operations(obj: ApiObject) {
  const writes: { opts: Record<string, unknown>; obj?: ApiObject }[] = [];
  const admitted: ApiObject[] = [];
  const deleted: DeleteOptions[] = [];
  const store = {
    async get() {
      return structuredClone(obj);
    },
    async guaranteedUpdate(_r: Resource, _ns: string, _n: string, mutate: (c: ApiObject) => ApiObject, opts = {}) {
      const next = mutate(structuredClone(obj));
      writes.push({ opts, obj: next });
      obj = next;
      return { obj: next, created: false };
    },
    async delete(_r: Resource, _ns: string, _n: string, opts: DeleteOptions) {
      deleted.push(opts);
      return { obj, deleted: true };
    },
  } as unknown as RestStore;
  const ops: ObjectOperations = {
    store,
    patcher: { patchTypes: [], patch: (_r, _t, cur) => cur, apply: (_r, l) => l!, trackUpdate: () => {} },
    get: async () => {},
    update: async () => {},
    patch: async () => {},
    fieldManager: () => 'test',
    checkType: () => {},
    admit: async (_s, o) => void admitted.push(o),
  };
  return { ops, writes, admitted, deleted };
}

const rejects = (p: Promise<unknown>, code: number, message: string) =>
  assert.rejects(p, (e: ApiError) => (assert.deepEqual([e.code, e.message], [code, message]), true));

describe('subresources', () => {
  it('are registered per resource: generic status, finalize and scale, and the pods and serviceaccounts own', () => {
    assert.deepEqual(
      [...pods.subresources.keys()],
      ['status', 'binding', 'log', 'exec', 'attach', 'portforward', 'eviction'],
    );
    assert.equal(pods.subresources.get('log')?.streams, true);
    assert.ok(pods.subresources.get('exec')?.upgrade);
    const deploy = resource('apps', 'v1', 'deployments', deploymentStrategy);
    assert.deepEqual([...deploy.subresources.keys()], ['status', 'scale']);
    assert.deepEqual(
      [...subresources(lookupResource('', 'v1', 'serviceaccounts')!, { nodeProxy: proxy }).keys()],
      ['token'],
    );
    const odd = { ...lookupResource('', 'v1', 'configmaps')!, subresources: ['teleport'] };
    assert.throws(() => subresources(odd, { nodeProxy: proxy }), /lists a subresource teleport nothing serves/);
  });

  it('binding assigns an unassigned pod to the node, marks it scheduled, and admits the Binding', async () => {
    const { ops, writes, admitted } = operations({ metadata: { name: 'p', uid: 'u1' }, spec: {}, status: {} });
    const s = request('POST', 'binding', { target: { name: 'n1' } });
    await pods.subresources.get('binding')!.serve(s, ops);
    assert.deepEqual(answer(s), {
      code: 201,
      body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 },
    });
    assert.equal(writes[0].opts.internal, true);
    assert.equal((writes[1].obj?.spec as { nodeName: string }).nodeName, 'n1');
    assert.equal(writes[1].opts.subresource, 'status');
    assert.deepEqual(
      ((writes[1].obj?.status as { conditions: { type: string; status: string }[] }).conditions ?? []).map((c) => [
        c.type,
        c.status,
      ]),
      [['PodScheduled', 'True']],
    );
    assert.deepEqual(admitted, [{ target: { name: 'n1' } }]);
  });

  it('binding refuses what Kubernetes refuses', async () => {
    const binding = pods.subresources.get('binding')!;
    const assigned = operations({ metadata: { name: 'p', uid: 'u1' }, spec: { nodeName: 'n0' } }).ops;
    await rejects(
      binding.serve(request('POST', 'binding', { target: { name: 'n1' } }), assigned),
      409,
      'Operation cannot be fulfilled on pods/binding "p": pod p is already assigned to node "n0"',
    );
    const deleting = operations({ metadata: { name: 'p', deletionTimestamp: 'x' }, spec: {} }).ops;
    await rejects(
      binding.serve(request('POST', 'binding', { target: { name: 'n1' } }), deleting),
      409,
      'Operation cannot be fulfilled on pods/binding "p": pod p is being deleted, cannot be assigned to a host',
    );
    const free = operations({ metadata: { name: 'p', uid: 'u1' }, spec: {} }).ops;
    await rejects(
      binding.serve(request('POST', 'binding', { metadata: { uid: 'u2' }, target: { name: 'n1' } }), free),
      409,
      'Operation cannot be fulfilled on pods/binding "p": Precondition failed: UID in precondition: u2, UID in object meta: u1',
    );
    await rejects(
      binding.serve(request('POST', 'binding', { target: {} }), free),
      422,
      'Binding "p" is invalid: target.name: Required value',
    );
    await rejects(
      binding.serve(request('POST', 'binding', { target: { name: 'n', kind: 'Pod' } }), free),
      422,
      `Binding "p" is invalid: target.kind: Invalid value: "Pod": must be empty or 'Node'`,
    );
    await rejects(
      binding.serve(request('GET', 'binding'), free),
      405,
      'get is not supported on resources of kind "pods/binding"',
    );
  });

  it('eviction deletes the pod with the Eviction options, as the user asking', async () => {
    const { ops, deleted, admitted } = operations({ metadata: { name: 'p' } });
    const s = request('POST', 'eviction', {
      kind: 'Eviction',
      deleteOptions: { gracePeriodSeconds: 5, dryRun: ['All'] },
    });
    await pods.subresources.get('eviction')!.serve(s, ops);
    assert.equal(answer(s).code, 201);
    assert.deepEqual(deleted, [{ gracePeriodSeconds: 5, dryRun: true, user: s.ctx.user }]);
    assert.equal(admitted.length, 1);
  });

  it('exec, attach and port-forward take upgrades only; status refuses deletion', async () => {
    const { ops } = operations({ metadata: {} });
    await rejects(
      pods.subresources.get('exec')!.serve(request('POST', 'exec'), ops),
      503,
      'pods/exec is served by the node agent, which is not reachable for pods "p"',
    );
    await rejects(
      pods.subresources.get('status')!.serve(request('DELETE', 'status'), ops),
      405,
      'delete is not supported on resources of kind "pods/status"',
    );
  });

  it('token is not served by a server that signs no tokens', async () => {
    const token = subresources(lookupResource('', 'v1', 'serviceaccounts')!, { nodeProxy: proxy }).get('token')!;
    await rejects(
      token.serve(request('POST', 'token', {}), operations({}).ops),
      404,
      'the server could not find the requested resource',
    );
  });

  it("scale shows the object as a Scale, a ReplicationController's label map as its selector", async () => {
    const rc = resource('', 'v1', 'replicationcontrollers', replicationControllerStrategy);
    const obj = {
      metadata: { name: 'web', namespace: 'ns', uid: 'u' },
      spec: { replicas: 2, selector: { app: 'web' } },
      status: { replicas: 1 },
    };
    assert.deepEqual(toScale(rc, obj), {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: { name: 'web', namespace: 'ns', uid: 'u', resourceVersion: undefined, creationTimestamp: undefined },
      spec: { replicas: 2 },
      status: { replicas: 1, selector: 'app=web' },
    });
    const deploy = resource('apps', 'v1', 'deployments', deploymentStrategy);
    assert.deepEqual(toScale(deploy, { metadata: {}, spec: { replicas: 0 } }).spec, {});
    const { ops, writes } = operations(obj);
    const s = request('PUT', 'scale', { kind: 'Scale', spec: { replicas: 4 } }, rc);
    await rc.subresources.get('scale')!.serve(s, ops);
    assert.equal(answer(s).body.spec.replicas, 4);
    assert.equal(writes[0].opts.subresource, 'scale');
    await rejects(
      rc.subresources.get('scale')!.serve(request('PUT', 'scale', { kind: 'Scale', spec: { replicas: -1 } }, rc), ops),
      422,
      'Scale.autoscaling "p" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0',
    );
  });
});
