import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '../lib/kube/client.ts';
import { InformerFactory } from '../lib/kube/informer.ts';
import type { KubeObject } from '../lib/kube/object.ts';
import { Leases, Nodes, Pods } from '../lib/kube/resources.ts';
import { eventually } from './harness/eventually.ts';
import { startSkiff, type SkiffProcess } from './harness/skiff.ts';
import { PULL_BACKOFF_MS, SimNodes } from '../tools/sim-nodes/index.ts';

function pod(name: string, image: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { containers: [{ name: 'app', image }] },
  };
}

describe('sim-nodes against a real API server', () => {
  let s: SkiffProcess;
  let client: Client;
  let sim: SimNodes;
  /** the simulator's informers, shared with the test so that it sees what the simulator knows */
  let informers: InformerFactory;

  before(async () => {
    s = await startSkiff({ args: ['--disable-scheduler', '--disable-controller-manager'] });
    client = await Client.fromKubeconfig(s.kubeconfig);
    informers = new InformerFactory(client);
    sim = new SimNodes({
      client,
      informers,
      count: 3,
      prefix: 'sim-',
      cpu: '4',
      memory: '8Gi',
      pods: 20,
      labels: { zone: 'z1' },
      leaseRenewMs: 300,
      log: () => {},
    });
    await sim.start();
  });
  after(async () => {
    await sim?.stop();
    informers?.stop();
    client?.close();
    await s?.stop();
    s?.cleanup();
  });

  const bind = (name: string, node: string) =>
    client.create(
      Pods,
      {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name, namespace: 'default' },
        target: { apiVersion: 'v1', kind: 'Node', name: node },
      } as KubeObject,
      {
        subresource: 'binding',
        name,
      },
    );

  it('registers Ready nodes with capacity, addresses and node info, and renews their Leases', async () => {
    const nodes = (await client.list(Nodes)).items.sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
    assert.deepEqual(
      nodes.map((n) => n.metadata.name),
      ['sim-0', 'sim-1', 'sim-2'],
    );
    for (const n of nodes) {
      assert.equal(n.metadata.labels!.zone, 'z1');
      assert.equal(n.metadata.labels!['kubernetes.io/hostname'], n.metadata.name);
      assert.deepEqual(n.status?.capacity, { cpu: '4', memory: '8Gi', pods: '20', 'ephemeral-storage': '100Gi' });
      assert.deepEqual(n.status?.allocatable, n.status?.capacity);
      assert.equal(n.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
      assert.match(n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '', /^192\.168\.\d+\.\d+$/);
      assert.equal(n.status?.nodeInfo?.operatingSystem, 'linux');
    }
    const lease = await client.get<KubeObject>(Leases, 'kube-node-lease', 'sim-1');
    assert.equal(lease.spec.holderIdentity, 'sim-1');
    assert.equal(lease.spec.leaseDurationSeconds, 40);
    assert.equal(lease.metadata.ownerReferences![0].uid, nodes[1].metadata.uid);
    const first = lease.spec.renewTime;
    assert.match(first, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    await eventually(
      'a renewal',
      async () => (await client.get<KubeObject>(Leases, 'kube-node-lease', 'sim-1')).spec.renewTime !== first,
    );
  });

  it('runs a bound pod: Running and Ready with an IP from the podCIDR, then confirms its deletion', async () => {
    // node IPAM is not running here: give one node a podCIDR by hand
    await client.patch(
      Nodes,
      undefined,
      'sim-0',
      { spec: { podCIDR: '10.244.7.0/24', podCIDRs: ['10.244.7.0/24'] } },
      'merge',
    );
    // the simulator learns it through its node informer (its handlers run as the cache takes the change)
    await eventually(
      'the simulator knows the podCIDR',
      () => informers.informer(Nodes).get('sim-0')?.spec?.podCIDR === '10.244.7.0/24',
    );
    await client.create(Pods, pod('web', 'registry.local/web:1'));
    await bind('web', 'sim-0');
    const running = await eventually('Running and Ready', async () => {
      const p = await client.get<KubeObject>(Pods, 'default', 'web');
      return (
        p.status.phase === 'Running' &&
        p.status.conditions?.find((c: any) => c.type === 'Ready')?.status === 'True' &&
        p
      );
    });
    assert.match(running.status.podIP, /^10\.244\.7\.\d+$/);
    assert.deepEqual(running.status.podIPs, [{ ip: running.status.podIP }]);
    assert.match(running.status.hostIP, /^192\.168\./);
    assert.ok(running.status.startTime);
    const cs = running.status.containerStatuses[0];
    assert.equal(cs.ready, true);
    assert.ok(cs.state.running.startedAt);
    for (const t of ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready']) {
      assert.equal(running.status.conditions.find((c: any) => c.type === t)?.status, 'True', t);
    }

    await client.delete(Pods, 'default', 'web');
    await eventually('the pod is gone', async () => {
      try {
        await client.get(Pods, 'default', 'web');
        return false;
      } catch (e) {
        return (e as any).code === 404;
      }
    });
  });

  it('follows the image conventions: never-ready, then does-not-exist with ErrImagePull and ImagePullBackOff', async () => {
    await client.create(Pods, pod('stuck', 'registry.local/never-ready:1'));
    await bind('stuck', 'sim-1');
    const stuck = await eventually('Running, not ready', async () => {
      const p = await client.get<KubeObject>(Pods, 'default', 'stuck');
      return p.status.phase === 'Running' && p;
    });
    assert.equal(stuck.status.conditions.find((c: any) => c.type === 'Ready').status, 'False');
    assert.equal(stuck.status.containerStatuses[0].ready, false);
    // fallback IP (no podCIDR on sim-1)
    assert.match(stuck.status.podIP, /^172\.(1[6-9]|2\d|3[01])\./);

    await client.create(Pods, pod('nope', 'registry.local/does-not-exist:1'));
    await bind('nope', 'sim-2');
    const pulling = await eventually('ErrImagePull', async () => {
      const p = await client.get<KubeObject>(Pods, 'default', 'nope');
      return p.status.containerStatuses?.[0]?.state?.waiting?.reason === 'ErrImagePull' && p;
    });
    assert.equal(pulling.status.phase, 'Pending');
    const backoff = await eventually(
      'ImagePullBackOff',
      async () => {
        const p = await client.get<KubeObject>(Pods, 'default', 'nope');
        return p.status.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff' && p;
      },
      PULL_BACKOFF_MS + 60_000,
    );
    assert.equal(
      backoff.status.containerStatuses[0].state.waiting.message,
      'Back-off pulling image "registry.local/does-not-exist:1"',
    );
    assert.equal(backoff.status.phase, 'Pending');
  });

  it('a silenced node stops renewing its Lease', async () => {
    const renewTime = async (node: string): Promise<string> =>
      (await client.get<KubeObject>(Leases, 'kube-node-lease', node)).spec.renewTime;
    sim.silence('sim-2');
    // a renewal already on its way lands; a queued one is dropped; none starts any more
    await sim.idle();
    const a = await renewTime('sim-2');
    // the other nodes still renew: through two renewals of sim-0, sim-2's Lease stays as it was
    const others = new Set([await renewTime('sim-0')]);
    await eventually('two renewals of sim-0', async () => others.add(await renewTime('sim-0')).size > 2);
    assert.equal(await renewTime('sim-2'), a);
  });
});
