/**
 * Leader election between real processes: two `skiff controller-manager`s and two `skiff scheduler`s against one API
 * server. One of each leads; when it dies (kill -9, no release) the standby takes over within the lease duration.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSkiff, type SkiffProcess } from './harness/skiff.ts';
import { startRole, type RoleProcess } from './harness/processes.ts';
import { Client } from '../lib/kube/client.ts';
import { Leases, Nodes, Pods, ReplicaSets } from '../lib/kube/resources.ts';

async function eventually<T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what}: not reached in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('leader failover between processes', () => {
  let s: SkiffProcess;
  let client: Client;
  const roles: RoleProcess[] = [];
  const role = (args: string[]) => {
    const r = startRole([...args, '--kubeconfig', s.kubeconfig, '--leader-elect-lease-duration', '3']);
    roles.push(r);
    return r;
  };

  before(async () => {
    s = await startSkiff({ command: 'apiserver' });
    client = await Client.fromKubeconfig(s.kubeconfig);
  });
  after(async () => {
    for (const r of roles) await r.kill9();
    client?.close();
    await s?.stop();
    s?.cleanup();
  });

  const activePods = async (sel: string) =>
    (await client.list(Pods, { namespace: 'default', labelSelector: sel })).items;

  it('controller manager: the standby takes over when the leader dies', async () => {
    const a = role(['controller-manager', '--controllers', 'replicaset', '--leader-elect-identity', 'cm-a']);
    await a.waitFor('became leader');
    const b = role(['controller-manager', '--controllers', 'replicaset', '--leader-elect-identity', 'cm-b']);
    await b.waitFor('standing by');
    const lease = await client.get(Leases, 'kube-system', 'kube-controller-manager');
    assert.equal(lease.spec?.holderIdentity, 'cm-a');

    await client.create(ReplicaSets, {
      metadata: { name: 'rs', namespace: 'default' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'rs' } },
        template: { metadata: { labels: { app: 'rs' } }, spec: { containers: [{ name: 'c', image: 'x' }] } },
      },
    });
    await eventually('2 pods', async () => (await activePods('app=rs')).length === 2);

    const killedAt = Date.now();
    await a.kill9();
    await b.waitFor('became leader', 10_000);
    const tookOver = Date.now() - killedAt;
    assert.ok(tookOver < 3000 + 4000, `took over after ${tookOver} ms (lease 3 s)`);
    assert.equal((await client.get(Leases, 'kube-system', 'kube-controller-manager')).spec?.holderIdentity, 'cm-b');
    await client.patch(ReplicaSets, 'default', 'rs', { spec: { replicas: 3 } }, 'merge');
    await eventually('3 pods', async () => (await activePods('app=rs')).length === 3);
  });

  it('scheduler: the standby takes over when the leader dies', async () => {
    await client.create(Nodes, {
      metadata: { name: 'n1', labels: { 'kubernetes.io/hostname': 'n1' } },
      status: {
        capacity: { cpu: '4', memory: '8Gi', pods: '110' },
        allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'KubeletReady',
            message: 'ok',
            lastHeartbeatTime: new Date().toISOString(),
            lastTransitionTime: new Date().toISOString(),
          },
        ],
      },
    });
    const a = role(['scheduler', '--leader-elect-identity', 'sched-a']);
    await a.waitFor('became leader');
    const b = role(['scheduler', '--leader-elect-identity', 'sched-b']);
    await b.waitFor('standing by');
    const pod = (name: string) => ({
      metadata: { name, namespace: 'default', labels: { app: 'sched' } },
      spec: { containers: [{ name: 'c', image: 'x' }] },
    });
    await client.create(Pods, pod('p1'));
    await eventually('p1 bound', async () => (await client.get(Pods, 'default', 'p1')).spec?.nodeName === 'n1');
    await a.kill9();
    await b.waitFor('became leader', 10_000);
    await client.create(Pods, pod('p2'));
    await eventually('p2 bound', async () => (await client.get(Pods, 'default', 'p2')).spec?.nodeName === 'n1');
  });
});
