import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startApiServer, type ApiServer } from '../server.ts';
import { makeStrategy } from '../api/common.ts';
import { ALL_VERBS, type ResourceInfo } from '../api/resource-info.ts';

const crontabs: ResourceInfo = {
  group: 'stable.example.com',
  version: 'v1',
  resource: 'crontabs',
  singular: 'crontab',
  kind: 'CronTab',
  listKind: 'CronTabList',
  namespaced: true,
  shortNames: ['ct'],
  categories: [],
  verbs: ALL_VERBS,
  subresources: ['status'],
  definition: 'com.example.stable.v1.CronTab',
};
const BASE = '/apis/stable.example.com/v1';

describe('resources added while the server runs', () => {
  let dir: string;
  let api: ApiServer;
  const request = (method: string, p: string, body?: unknown) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${api.url}${p}`, { method, headers: { 'Content-Type': 'application/json' } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  const json = async (method: string, p: string, body?: unknown) => {
    const r = await request(method, p, body);
    return { status: r.status, obj: JSON.parse(r.body) };
  };

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-registry-'));
    api = await startApiServer({ dataDir: dir, port: 0, bindAddress: '127.0.0.1', insecure: true, log: () => {} });
  });
  after(async () => {
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('are served once added: discovery, OpenAPI, create, get, list and watch', async () => {
    assert.equal((await request('GET', `${BASE}/namespaces/default/crontabs`)).status, 404);
    // an object stored before the resource is served is in its watch cache once it is
    await api.backend.create(
      '/registry/crontabs/default/early',
      JSON.stringify({
        apiVersion: 'stable.example.com/v1',
        kind: 'CronTab',
        metadata: { name: 'early', namespace: 'default', uid: 'u0' },
      }),
    );
    await api.registry.add({ info: crontabs, type: makeStrategy({ namespaced: true }) });

    const groups = (await json('GET', '/apis')).obj.groups.map((g: { name: string }) => g.name);
    assert.ok(groups.includes('stable.example.com'));
    const list = (await json('GET', BASE)).obj;
    assert.deepEqual(
      list.resources.map((r: { name: string }) => r.name),
      ['crontabs', 'crontabs/status'],
    );
    const v3 = (await json('GET', '/openapi/v3')).obj;
    assert.ok(v3.paths['apis/stable.example.com/v1']);
    const v2 = (await json('GET', '/openapi/v2')).obj;
    assert.ok(v2.paths['/apis/stable.example.com/v1/namespaces/{namespace}/crontabs']);
    assert.ok(v2.definitions['com.example.stable.v1.CronTabList']);

    const listed = (await json('GET', `${BASE}/namespaces/default/crontabs`)).obj;
    assert.equal(listed.kind, 'CronTabList');
    assert.deepEqual(
      listed.items.map((o: { metadata: { name: string } }) => o.metadata.name),
      ['early'],
    );
    // a watch from now on sees the next create
    const watched = new Promise<string>((resolve, reject) => {
      http
        .get(
          `${api.url}${BASE}/namespaces/default/crontabs?watch=1&resourceVersion=${listed.metadata.resourceVersion}`,
          (res) => {
            res.setEncoding('utf8');
            let text = '';
            res.on('data', (c) => {
              text += c;
              if (text.includes('\n')) {
                res.destroy();
                resolve(text.slice(0, text.indexOf('\n')));
              }
            });
          },
        )
        .on('error', reject);
    });
    const created = await json('POST', `${BASE}/namespaces/default/crontabs`, {
      apiVersion: 'stable.example.com/v1',
      kind: 'CronTab',
      metadata: { name: 'nightly' },
      spec: { cronSpec: '0 3 * * *', image: 'backup:1' },
      status: { lastRun: 'never' },
    });
    assert.equal(created.status, 201);
    // fields the kind does not declare are kept, and status is reset on create as for any resource with one
    assert.deepEqual(created.obj.spec, { cronSpec: '0 3 * * *', image: 'backup:1' });
    assert.deepEqual(created.obj.status, {});
    const event = JSON.parse(await watched);
    assert.deepEqual([event.type, event.object.metadata.name], ['ADDED', 'nightly']);
    const got = await json('GET', `${BASE}/namespaces/default/crontabs/nightly`);
    assert.deepEqual([got.status, got.obj.spec.image], [200, 'backup:1']);
    const status = await json('PUT', `${BASE}/namespaces/default/crontabs/nightly/status`, {
      ...got.obj,
      spec: { image: 'ignored' },
      status: { lastRun: 'today' },
    });
    assert.deepEqual([status.status, status.obj.spec.image, status.obj.status.lastRun], [200, 'backup:1', 'today']);
  });

  it('are no longer served once removed; their objects stay stored', async () => {
    assert.equal(api.registry.remove('stable.example.com', 'v1', 'crontabs'), true);
    assert.equal((await request('GET', `${BASE}/namespaces/default/crontabs/nightly`)).status, 404);
    const groups = (await json('GET', '/apis')).obj.groups.map((g: { name: string }) => g.name);
    assert.ok(!groups.includes('stable.example.com'));
    assert.equal((await request('GET', BASE)).status, 404);
    assert.ok((await api.backend.get('/registry/crontabs/default/nightly')).kv);
    // and served again with what is stored
    await api.registry.add({ info: crontabs, type: makeStrategy({ namespaced: true }) });
    const listed = (await json('GET', `${BASE}/namespaces/default/crontabs`)).obj;
    assert.deepEqual(
      listed.items.map((o: { metadata: { name: string } }) => o.metadata.name),
      ['early', 'nightly'],
    );
  });

  it('refuses a resource that is served already', async () => {
    await assert.rejects(
      api.registry.add({ info: crontabs, type: makeStrategy({ namespaced: true }) }),
      /stable.example.com\/v1\/crontabs is served already/,
    );
  });
});
