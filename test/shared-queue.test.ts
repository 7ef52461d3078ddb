/**
 * Two `skiff controller-manager` processes sharing their work through a real Redis (--queue redis://...): every
 * Deployment gets exactly its replicas (no double creation when a key moves between processes), node IPAM (whose
 * table of ranges is global) acts in one process at a time and never gives a range twice, and when one process dies
 * the other carries on alone.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSkiff, type SkiffProcess } from './harness/skiff.ts';
import { startRole, type RoleProcess } from './harness/processes.ts';
import { startRedis } from './harness/redis.ts';
import { Client } from '../lib/kube/client.ts';
import { Deployments, Nodes, Pods } from '../lib/kube/resources.ts';

async function eventually(what: string, f: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`${what}: not reached in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('controller managers sharing a Redis work queue', () => {
  let s: SkiffProcess;
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let client: Client;
  const roles: RoleProcess[] = [];

  before(async () => {
    redis = await startRedis();
    s = await startSkiff({ command: 'apiserver' });
    client = await Client.fromKubeconfig(s.kubeconfig);
    for (let i = 0; i < 2; i++) {
      roles.push(
        startRole([
          'controller-manager',
          '--kubeconfig',
          s.kubeconfig,
          '--queue',
          redis.url,
          '--controllers',
          'deployment,replicaset,garbage-collector,node-ipam',
        ]),
      );
    }
    for (const r of roles) await r.waitFor('started controllers');
  });
  after(async () => {
    for (const r of roles) await r.kill9();
    client?.close();
    await s?.stop();
    s?.cleanup();
    await redis?.stop();
  });

  const deployment = (name: string, replicas: number) => ({
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'x' }] } },
    },
  });
  const podsOf = async (app: string) =>
    (await client.list(Pods, { namespace: 'default', labelSelector: `app=${app}` })).items.filter(
      (p) => !p.metadata.deletionTimestamp,
    );

  it('both work, and every Deployment gets exactly its replicas', async () => {
    const names = Array.from({ length: 8 }, (_, i) => `d${i}`);
    await Promise.all(names.map((n) => client.create(Deployments, deployment(n, 3))));
    await eventually('3 pods each', async () => (await Promise.all(names.map(podsOf))).every((p) => p.length === 3));
    // and it stays so: nothing created twice a moment later
    await new Promise((r) => setTimeout(r, 1500));
    for (const n of names) assert.equal((await podsOf(n)).length, 3, `${n} has exactly 3 pods`);
    await Promise.all(names.map((n) => client.patch(Deployments, 'default', n, { spec: { replicas: 5 } }, 'merge')));
    await eventually('5 pods each', async () => (await Promise.all(names.map(podsOf))).every((p) => p.length === 5));
    await new Promise((r) => setTimeout(r, 1500));
    for (const n of names) assert.equal((await podsOf(n)).length, 5, `${n} has exactly 5 pods`);
  });

  const cidrs = async () => (await client.list(Nodes)).items.map((n) => n.spec?.podCIDR as string | undefined);

  it('node IPAM gives every node its own range, from one process at a time', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => client.create(Nodes, { metadata: { name: `n${i}` } })));
    await eventually('20 pod ranges', async () => (await cidrs()).filter(Boolean).length === 20);
    const all = (await cidrs()) as string[];
    assert.equal(new Set(all).size, 20, `no range given twice: ${all.join(' ')}`);
    const acting = roles.filter((r) => r.output().includes('node-ipam: acting'));
    assert.equal(acting.length, 1, 'one process holds the node-ipam Lease');
  });

  it('the survivor carries on when the other process dies', async () => {
    await roles[0].kill9();
    await client.create(Deployments, deployment('after', 2));
    await client.create(Nodes, { metadata: { name: 'late' } });
    // keys the dead process held come back after its lock timeout (30 s by default); a dead IPAM holder's Lease
    // expires after 15 s
    await eventually('2 pods', async () => (await podsOf('after')).length === 2, 45_000);
    await eventually('a range for the late node', async () => (await cidrs()).filter(Boolean).length === 21, 45_000);
    assert.equal(new Set(await cidrs()).size, 21, 'still no range given twice');
  });
});
