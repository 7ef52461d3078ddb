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
import { eventually } from './harness/eventually.ts';
import { Client } from '../lib/kube/client.ts';
import type { WatchHandle } from '../lib/kube/api.ts';
import { Deployments, Nodes, Pods, ReplicaSets } from '../lib/kube/resources.ts';

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

  /**
   * Every ReplicaSet of the apps has seen its latest spec and counts `replicas` pods: the controllers have finished
   * with them, so a pod created twice would already be in `created`.
   */
  const settled = async (apps: string[], replicas: number) => {
    const sets = (await client.list(ReplicaSets, { namespace: 'default' })).items.filter((rs) =>
      apps.includes(rs.metadata.labels?.app ?? ''),
    );
    return (
      sets.length === apps.length &&
      sets.every(
        (rs) =>
          rs.spec?.replicas === replicas &&
          rs.status?.observedGeneration === rs.metadata.generation &&
          rs.status?.replicas === replicas,
      ) &&
      (await Promise.all(apps.map(podsOf))).every((p) => p.length === replicas)
    );
  };

  it('both work, and every Deployment gets exactly its replicas', async () => {
    const names = Array.from({ length: 8 }, (_, i) => `d${i}`);
    // every pod ever created, by app: a pod created twice counts even if the controllers deleted the extra one since
    const created = new Map<string, Set<string>>(names.map((n) => [n, new Set()]));
    const from = (await client.list(Pods, { namespace: 'default' })).metadata.resourceVersion;
    let watchError: Error | undefined;
    const watch: WatchHandle = client.watch(
      Pods,
      { namespace: 'default', resourceVersion: from },
      (e) => {
        if (e.type === 'ADDED') created.get(e.object.metadata.labels?.app ?? '')?.add(e.object.metadata.name!);
      },
      (err) => (watchError = err),
    );
    try {
      await Promise.all(names.map((n) => client.create(Deployments, deployment(n, 3))));
      await eventually('3 pods each, counted by every ReplicaSet', () => settled(names, 3), 60_000);
      await eventually('the watch saw 3 pods each', () => names.every((n) => created.get(n)!.size >= 3), 60_000);
      for (const n of names) assert.equal(created.get(n)!.size, 3, `${n}: 3 pods created, none twice`);
      await Promise.all(names.map((n) => client.patch(Deployments, 'default', n, { spec: { replicas: 5 } }, 'merge')));
      await eventually('5 pods each, counted by every ReplicaSet', () => settled(names, 5), 60_000);
      await eventually('the watch saw 5 pods each', () => names.every((n) => created.get(n)!.size >= 5), 60_000);
      for (const n of names) assert.equal(created.get(n)!.size, 5, `${n}: 5 pods created, none twice`);
      assert.equal(watchError, undefined, 'the watch of pods ran throughout');
    } finally {
      watch.stop();
    }
  });

  const cidrs = async () => (await client.list(Nodes)).items.map((n) => n.spec?.podCIDR as string | undefined);

  it('node IPAM gives every node its own range, from one process at a time', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => client.create(Nodes, { metadata: { name: `n${i}` } })));
    await eventually('20 pod ranges', async () => (await cidrs()).filter(Boolean).length === 20, 60_000);
    const all = (await cidrs()) as string[];
    assert.equal(new Set(all).size, 20, `no range given twice: ${all.join(' ')}`);
    // (the process's words reach this one through a pipe, maybe after the ranges they gave)
    const acting = await eventually('a process says it acts for node IPAM', () => {
      const a = roles.filter((r) => r.output().includes('node-ipam: acting'));
      return a.length > 0 && a;
    });
    assert.equal(acting.length, 1, 'one process holds the node-ipam Lease');
  });

  it('the survivor carries on when the other process dies', async () => {
    await roles[0].kill9();
    await client.create(Deployments, deployment('after', 2));
    await client.create(Nodes, { metadata: { name: 'late' } });
    // keys the dead process held come back after its lock timeout (30 s by default); a dead IPAM holder's Lease
    // expires after 15 s (and a loaded machine adds its share)
    await eventually('2 pods', async () => (await podsOf('after')).length === 2, 120_000);
    await eventually('a range for the late node', async () => (await cidrs()).filter(Boolean).length === 21, 120_000);
    assert.equal(new Set(await cidrs()).size, 21, 'still no range given twice');
  });
});
