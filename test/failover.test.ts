/**
 * Leader election between real processes: two `skiff controller-manager`s and two `skiff scheduler`s against one API
 * server. One of each leads; when it dies (kill -9, no release) the standby takes over once the lease has expired,
 * not before.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSkiff, type SkiffProcess } from './harness/skiff.ts';
import { startRole, type RoleProcess } from './harness/processes.ts';
import { eventually } from './harness/eventually.ts';
import { Client } from '../lib/kube/client.ts';
import { Leases, Nodes, Pods, ReplicaSets } from '../lib/kube/resources.ts';

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

    await a.kill9();
    // the dead leader's last renewal: the standby may take the lease only once it has seen it unchanged for 3 s
    const last = (await client.get(Leases, 'kube-system', 'kube-controller-manager')).spec ?? {};
    await b.waitFor('became leader');
    const taken = (await client.get(Leases, 'kube-system', 'kube-controller-manager')).spec ?? {};
    assert.equal(taken.holderIdentity, 'cm-b');
    assert.equal(taken.leaseTransitions, (last.leaseTransitions ?? 0) + 1);
    const waited = Date.parse(taken.acquireTime ?? '') - Date.parse(last.renewTime ?? '');
    assert.ok(waited >= 3000, `taken ${waited} ms after the last renewal, before the 3 s lease expired`);
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
    await b.waitFor('became leader');
    await client.create(Pods, pod('p2'));
    await eventually('p2 bound', async () => (await client.get(Pods, 'default', 'p2')).spec?.nodeName === 'n1');
  });
});
