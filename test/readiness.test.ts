/**
 * Health endpoints against a real etcd that goes away: the API server stays live but is not ready, and says why in
 * Kubernetes' verbose format.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startApiServer, type ApiServer } from '../apiserver/server.ts';
import { clientFromKubeconfig, type BenchClient } from '../bench/client.ts';
import { startEtcd, type EtcdServer } from './harness/etcd.ts';
import { eventually } from './harness/eventually.ts';

describe('health endpoints on etcd', () => {
  let etcd: EtcdServer;
  let dir: string;
  let api: ApiServer;
  let c: BenchClient;

  before(async () => {
    etcd = await startEtcd();
    dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-ready-'));
    api = await startApiServer({ dataDir: dir, port: 0, bindAddress: '127.0.0.1', store: etcd.url, log: () => {} });
    c = clientFromKubeconfig(api.kubeconfigPath!);
  });
  after(async () => {
    c?.close();
    await api?.close();
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists every check, and each check has its own path', async () => {
    const ready = await c.request('GET', '/readyz?verbose');
    assert.equal(ready.status, 200);
    assert.equal(ready.body, '[+]ping ok\n[+]log ok\n[+]etcd ok\n[+]watch-cache ok\nreadyz check passed\n');
    assert.equal((await c.request('GET', '/livez?verbose')).body, '[+]ping ok\n[+]log ok\nlivez check passed\n');
    assert.match((await c.request('GET', '/healthz?verbose')).body, /\n\[\+\]etcd ok\n.*healthz check passed\n$/s);
    for (const p of ['/healthz/ping', '/readyz/ping', '/livez/ping', '/readyz/etcd', '/healthz/log']) {
      const r = await c.request('GET', p);
      assert.deepEqual([r.status, r.body], [200, 'ok'], p);
    }
    assert.equal((await c.request('GET', '/livez/etcd')).status, 404);
  });

  it('is not ready while the store is unreachable, and stays live', async () => {
    await etcd.stop();
    // the watch cache notices first; the store probe runs at most once a second
    const r = await eventually(
      'readyz reports etcd and the watch cache failed',
      async () => {
        const r = await c.request('GET', '/readyz?verbose');
        return r.body.includes('[-]etcd failed') && r.body.includes('[-]watch-cache failed') && r;
      },
      60_000,
      250,
    );
    assert.equal(r.status, 500);
    assert.match(
      r.body,
      /^\[\+\]ping ok\n\[\+\]log ok\n\[-\]etcd failed: .+\n\[-\]watch-cache failed: .+\nreadyz check failed\n$/,
    );
    assert.equal((await c.request('GET', '/readyz/etcd')).status, 500);
    assert.equal((await c.request('GET', '/healthz')).status, 500);
    assert.equal((await c.request('GET', '/livez')).status, 200);
  });
});
