import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '../lib/kube/client.ts';
import type { KubeObject } from '../lib/kube/object.ts';
import { Leases, Nodes, Pods } from '../lib/kube/resources.ts';
import { startSkiff, type SkiffProcess } from './harness/skiff.ts';
import { PULL_BACKOFF_MS, SimNodes } from '../tools/sim-nodes/index.ts';

async function eventually<T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end)
      throw new Error(`${what}: not reached in ${timeoutMs} ms${last ? ` (${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

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

  before(async () => {
    s = await startSkiff({ args: ['--disable-scheduler', '--disable-controller-manager'] });
    client = await Client.fromKubeconfig(s.kubeconfig);
    sim = new SimNodes({
      client,
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
    // the simulator learns it through its node informer
    await new Promise((r) => setTimeout(r, 300));
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
      PULL_BACKOFF_MS + 5_000,
    );
    assert.equal(
      backoff.status.containerStatuses[0].state.waiting.message,
      'Back-off pulling image "registry.local/does-not-exist:1"',
    );
    assert.equal(backoff.status.phase, 'Pending');
  });

  it('a silenced node stops renewing its Lease', async () => {
    sim.silence('sim-2');
    await new Promise((r) => setTimeout(r, 400));
    const a = (await client.get<KubeObject>(Leases, 'kube-node-lease', 'sim-2')).spec.renewTime;
    await new Promise((r) => setTimeout(r, 800));
    const b = (await client.get<KubeObject>(Leases, 'kube-node-lease', 'sim-2')).spec.renewTime;
    assert.equal(a, b);
    const other = (await client.get<KubeObject>(Leases, 'kube-node-lease', 'sim-0')).spec.renewTime;
    assert.ok(Date.parse(other) > Date.parse(b), 'the other nodes still renew');
  });
});
