/**
 * Durability: every object acknowledged before `kill -9` of skiff server is there after the restart, on both stores.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { startSkiff, type SkiffProcess } from './harness/skiff.ts';
import { startEtcd } from './harness/etcd.ts';
import { eventually } from './harness/eventually.ts';

async function writeAndCrash(store?: string): Promise<void> {
  let s: SkiffProcess | undefined = await startSkiff({ store });
  try {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(s.kubeconfig);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const acked: string[] = [];
    // writes in flight while the process is killed: only the acknowledged ones must survive
    let stop = false;
    const writers = Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        const name = `obj-${w}-${i}`;
        try {
          await core.createNamespacedConfigMap({
            namespace: 'default',
            body: { metadata: { name }, data: { i: String(i) } },
          });
          acked.push(name);
        } catch {
          return;
        }
      }
    });
    // enough acknowledged writes to be worth checking, however fast the machine is; the writers are still going
    await eventually('100 writes acknowledged', () => acked.length >= 100, 60_000);
    stop = true;
    const killed = s.kill9();
    await Promise.allSettled(writers);
    await killed;

    s = await startSkiff({ dataDir: s.dataDir, port: s.port, store });
    const kc2 = new k8s.KubeConfig();
    kc2.loadFromFile(s.kubeconfig);
    const core2 = kc2.makeApiClient(k8s.CoreV1Api);
    const names = new Set(
      (await core2.listNamespacedConfigMap({ namespace: 'default' })).items.map((i) => i.metadata?.name),
    );
    const lost = acked.filter((n) => !names.has(n));
    assert.deepEqual(lost, [], `${lost.length} acknowledged writes were lost`);
  } finally {
    await s?.stop();
    s?.cleanup();
  }
}

describe('kill -9 and restart', () => {
  it('loses no acknowledged write on the embedded store', async () => {
    await writeAndCrash();
  });

  let etcd: Awaited<ReturnType<typeof startEtcd>> | undefined;
  after(async () => {
    await etcd?.stop();
  });
  it('loses no acknowledged write on etcd', async () => {
    etcd = await startEtcd();
    await writeAndCrash(etcd.url);
  });
});
