/**
 * @kubernetes/client-node against a real `skiff server`: typed CRUD, Watch, and an informer that sees adds, updates
 * and deletes and recovers after the server restarts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { startSkiff, type SkiffProcess } from './harness/skiff.ts';
import { eventually } from './harness/eventually.ts';

describe('@kubernetes/client-node against skiff server', () => {
  let s: SkiffProcess;
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let apps: k8s.AppsV1Api;

  before(async () => {
    // the API server as kubectl and clients see it; what the controllers do is tested in controllers.test.ts
    s = await startSkiff({ args: ['--disable-controller-manager', '--disable-scheduler'] });
    kc = new k8s.KubeConfig();
    kc.loadFromFile(s.kubeconfig);
    core = kc.makeApiClient(k8s.CoreV1Api);
    apps = kc.makeApiClient(k8s.AppsV1Api);
  });
  after(async () => {
    await s?.stop();
    s?.cleanup();
  });

  it('streams every watch on a kept-alive HTTP/1.1 connection, also one sent as the previous response ends', async () => {
    // a response gets the connection's socket only once the previous one is done with it: a watch answered before
    // then must not end at once (it did, empty, for about every third watch on one connection)
    const { clientFromKubeconfig } = await import('../bench/client.ts');
    const https = await import('node:https');
    const c = clientFromKubeconfig(s.kubeconfig, 1);
    const o = c.agent.options;
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: o.ca, cert: o.cert, key: o.key });
    try {
      await c.request('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'kept-alive' } });
      for (let i = 0; i < 4; i++) {
        const body = await new Promise<string>((resolve, reject) => {
          https
            .get(
              {
                host: c.base.hostname,
                port: c.base.port,
                path: '/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1',
                agent,
                headers: { Accept: 'application/json' },
              },
              (res) => {
                let b = '';
                res.on('data', (d) => (b += d));
                res.on('end', () => resolve(b));
              },
            )
            .on('error', reject);
        });
        assert.ok(body.includes('"name":"kept-alive"'), `watch ${i + 1} delivered its initial events`);
      }
    } finally {
      agent.destroy();
      c.close();
    }
  });

  it('creates, reads, updates, lists and deletes with the typed APIs', async () => {
    const cm = await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'c1', labels: { a: 'b' } }, data: { k: 'v' } },
    });
    assert.ok(cm.metadata?.uid);
    const got = await core.readNamespacedConfigMap({ name: 'c1', namespace: 'default' });
    assert.equal(got.data?.k, 'v');
    got.data = { k: 'v2' };
    const upd = await core.replaceNamespacedConfigMap({ name: 'c1', namespace: 'default', body: got });
    assert.notEqual(upd.metadata?.resourceVersion, cm.metadata?.resourceVersion);
    const list = await core.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'a=b' });
    assert.deepEqual(
      list.items.map((i) => i.metadata?.name),
      ['c1'],
    );
    await core.deleteNamespacedConfigMap({ name: 'c1', namespace: 'default' });
    await assert.rejects(
      core.readNamespacedConfigMap({ name: 'c1', namespace: 'default' }),
      (e: any) => e.code === 404,
    );

    const dep = await apps.createNamespacedDeployment({
      namespace: 'default',
      body: {
        metadata: { name: 'd1' },
        spec: {
          selector: { matchLabels: { app: 'd1' } },
          template: { metadata: { labels: { app: 'd1' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
        },
      },
    });
    assert.equal(dep.spec?.replicas, 1);
    assert.equal(dep.spec?.template.spec?.containers[0].imagePullPolicy, 'Always');
    const scaled = await apps.replaceNamespacedDeploymentScale({
      name: 'd1',
      namespace: 'default',
      body: { metadata: { name: 'd1', namespace: 'default' }, spec: { replicas: 3 } },
    });
    assert.equal(scaled.spec?.replicas, 3);
    assert.equal((await apps.readNamespacedDeployment({ name: 'd1', namespace: 'default' })).spec?.replicas, 3);
  });

  it('watches events', async () => {
    const seen: string[] = [];
    const w = new k8s.Watch(kc);
    const req = await w.watch(
      '/api/v1/namespaces/default/configmaps',
      {},
      (type, obj) => seen.push(`${type} ${obj.metadata.name}`),
      () => {},
    );
    try {
      await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'w1' } } });
      await core.patchNamespacedConfigMap(
        { name: 'w1', namespace: 'default', body: { data: { x: 'y' } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      await core.deleteNamespacedConfigMap({ name: 'w1', namespace: 'default' });
      await eventually('the DELETED event', () => seen.includes('DELETED w1'));
      assert.deepEqual(
        seen.filter((x) => x.endsWith(' w1')),
        ['ADDED w1', 'MODIFIED w1', 'DELETED w1'],
      );
    } finally {
      req.abort();
    }
  });

  it('keeps an informer in sync, across a server restart', async () => {
    const informer = k8s.makeInformer(kc, '/api/v1/namespaces/default/configmaps', () =>
      core.listNamespacedConfigMap({ namespace: 'default' }),
    );
    const events: string[] = [];
    informer.on('add', (o) => events.push(`add ${o.metadata?.name}`));
    informer.on('update', (o) => events.push(`update ${o.metadata?.name}`));
    informer.on('delete', (o) => events.push(`delete ${o.metadata?.name}`));
    let stopped = false;
    // an informer whose watch fails is restarted by its user, as client-node expects
    informer.on('error', () => setTimeout(() => !stopped && void informer.start().catch(() => {}), 200).unref());
    await informer.start();
    try {
      await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'i1' } } });
      await eventually('add i1', () => events.includes('add i1'));
      await core.patchNamespacedConfigMap(
        { name: 'i1', namespace: 'default', body: { data: { a: '1' } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      await eventually('update i1', () => events.includes('update i1'));
      await core.deleteNamespacedConfigMap({ name: 'i1', namespace: 'default' });
      await eventually('delete i1', () => events.includes('delete i1'));

      // restart the server on the same port and data folder; the informer must recover by itself
      await s.stop();
      s = await startSkiff({
        dataDir: s.dataDir,
        port: s.port,
        args: ['--disable-controller-manager', '--disable-scheduler'],
      });
      await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'i2' } } });
      await eventually('add i2 after the restart', () => events.includes('add i2'), 60_000);
      assert.ok(informer.list('default').some((o) => o.metadata?.name === 'i2'));
    } finally {
      stopped = true;
      await informer.stop();
    }
  });
});
