/**
 * sim-nodes: simulated nodes for tests and benchmarks (in the manner of kwok). It registers Nodes, keeps their
 * Leases in kube-node-lease fresh (spread over the renewal interval), and plays the kubelet for the pods bound to
 * them: they become Running and Ready with an IP from the node's podCIDR, and pods being deleted are confirmed gone
 * at once. Nothing runs: it is a test and benchmark tool. Conventions for images that fail are in README.md.
 *
 * Cost: one pod informer and one node informer; every write goes through one bounded pool (32 in flight) keyed by
 * object, so a burst of 10,000 pods never floods the API server and no pod is written twice at the same time.
 */
import type { ApiClient } from '../../lib/kube/api.ts';
import { isAlreadyExists, isConflict, isNotFound } from '../../lib/kube/api.ts';
import { InformerFactory, type Informer } from '../../lib/kube/informer.ts';
import { keyOf } from '../../lib/kube/object.ts';
import { isPodTerminal } from '../../lib/kube/pods.ts';
import { Leases, Nodes, Pods } from '../../lib/kube/resources.ts';
import type { Lease } from '../../lib/kube/types/coordination-v1.ts';
import type { Node, Pod } from '../../lib/kube/types/core-v1.ts';
import { fallbackPodCidr, nodeAddress, parseCidr, PodIpPool } from './addresses.ts';
import { KeyedPool } from './keyed-pool.ts';
import { leaseObject, NODE_LEASE_NAMESPACE, nodeConditions, nodeObject } from './node-objects.ts';
import { containerFate, desiredPodStatus, statusSignature } from './pod-status.ts';
import { microTime, rfc3339 } from '../../lib/time.ts';

export { NEVER_READY, DOES_NOT_EXIST } from './pod-status.ts';

export interface SimNodesOptions {
  client: ApiClient;
  /** informers to share (their pod and node informers are used); by default sim-nodes runs its own */
  informers?: InformerFactory;
  count: number;
  /** node names are <prefix><number>, from 0 (default "sim-node-") */
  prefix?: string;
  /** capacity (and allocatable) of each node */
  cpu?: string;
  memory?: string;
  pods?: number;
  /** extra labels of every node */
  labels?: Record<string, string>;
  /** how often each node renews its Lease (default 10 s, as the kubelet) */
  leaseRenewMs?: number;
  /** writes in flight at once (default 32) */
  concurrency?: number;
  log?: (msg: string) => void;
}

interface SimNode {
  name: string;
  index: number;
  uid?: string;
  lease?: Lease;
  silenced: boolean;
  renewals: number;
  ips: PodIpPool;
}

/** the timer resolution of lease renewals: each tick renews the nodes of one slot of the interval */
const TICK_MS = 100;
/** the kubelet reports an unchanged node status this often (its nodeStatusReportFrequency) */
const NODE_STATUS_REPORT_MS = 5 * 60_000;
/** how long an image that cannot be pulled stays in ErrImagePull before ImagePullBackOff */
export const PULL_BACKOFF_MS = 2_000;
/** a failed pod write is tried again after this long */
const RETRY_MS = 1_000;

export class SimNodes {
  private readonly client: ApiClient;
  private readonly factory: InformerFactory;
  private readonly ownFactory: boolean;
  private readonly prefix: string;
  private readonly leaseRenewMs: number;
  private readonly log: (msg: string) => void;
  private readonly nodes = new Map<string, SimNode>();
  /** nodes by renewal slot: the tick of slot i renews them */
  private slots: SimNode[][] = [];
  private tick = 0;
  private ticker: NodeJS.Timeout | undefined;
  private readonly pool: KeyedPool;
  private pods!: Informer<Pod>;
  private nodeInformer!: Informer<Node>;
  /** pod key -> the IP given to it and its node */
  private readonly podIps = new Map<string, { node: string; ip: string }>();
  /** pod key -> when its image pull first failed */
  private readonly pullFailures = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private started = false;
  private stopped = false;
  /** the pod index by node of this simulator (several may share informers) */
  private readonly podIndex: string;

  constructor(private readonly opts: SimNodesOptions) {
    if (!Number.isInteger(opts.count) || opts.count < 0)
      throw new Error(`sim-nodes: count must be a whole number, not ${opts.count}`);
    this.client = opts.client;
    this.ownFactory = !opts.informers;
    this.factory = opts.informers ?? new InformerFactory(opts.client);
    this.prefix = opts.prefix ?? 'sim-node-';
    this.podIndex = `sim-nodes:${this.prefix}:nodeName`;
    this.leaseRenewMs = opts.leaseRenewMs ?? 10_000;
    if (!(this.leaseRenewMs > 0)) throw new Error(`sim-nodes: leaseRenewMs must be positive, not ${opts.leaseRenewMs}`);
    this.log = opts.log ?? ((m) => console.error(`sim-nodes: ${m}`));
    this.pool = new KeyedPool(
      (key) => this.work(key),
      opts.concurrency ?? 32,
      (key, e) => this.failed(key, e),
    );
    for (let i = 0; i < opts.count; i++) {
      const name = `${this.prefix}${i}`;
      this.nodes.set(name, {
        name,
        index: i,
        silenced: false,
        renewals: 0,
        ips: new PodIpPool(fallbackPodCidr(this.prefix, i)),
      });
    }
  }

  /** the names of the simulated nodes */
  nodeNames(): string[] {
    return [...this.nodes.keys()];
  }

  /** registers the nodes and their Leases, then follows their pods; resolves when all nodes are registered */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.nodeInformer = this.factory.informer(Nodes);
    this.pods = this.factory.informer(Pods);
    this.pods.addIndex(this.podIndex, (p) =>
      p.spec?.nodeName && this.nodes.has(p.spec.nodeName) ? [p.spec.nodeName] : [],
    );
    this.nodeInformer.addEventHandler({ onAdd: (n) => this.nodeChanged(n), onUpdate: (_, n) => this.nodeChanged(n) });
    this.pods.addEventHandler({
      onAdd: (p) => this.podChanged(p),
      onUpdate: (_, p) => this.podChanged(p),
      onDelete: (p) => this.podGone(p),
    });

    await bounded([...this.nodes.values()], this.opts.concurrency ?? 32, (n) => this.register(n));
    if (this.stopped) return;

    if (this.ownFactory) this.factory.start();
    else {
      this.nodeInformer.start();
      this.pods.start();
    }
    await Promise.all([this.nodeInformer.waitForSync(), this.pods.waitForSync()]);

    const slotCount = Math.max(1, Math.round(this.leaseRenewMs / TICK_MS));
    this.slots = Array.from({ length: slotCount }, () => []);
    for (const n of this.nodes.values()) this.slots[n.index % slotCount].push(n);
    this.ticker = setInterval(() => this.onTick(), Math.min(TICK_MS, this.leaseRenewMs));
    this.ticker.unref();
  }

  /** stops renewing and following pods; the Nodes stay registered (as when kubelets stop) */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.ticker);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.pool.close();
    await this.pool.idle();
    if (this.ownFactory) this.factory.stop();
  }

  /** the node stops renewing its Lease and status and stops tending its pods, as if its kubelet died */
  silence(nodeName: string): void {
    this.node(nodeName).silenced = true;
  }

  /** a silenced node comes back: reports Ready and renews its Lease again */
  resume(nodeName: string): void {
    const n = this.node(nodeName);
    if (!n.silenced) return;
    n.silenced = false;
    this.pool.add(`status/${n.name}`);
    this.pool.add(`lease/${n.name}`);
    for (const p of this.pods.byIndex(this.podIndex, n.name)) this.pool.add(`pod/${keyOf(p)}`);
  }

  /** resolves when no write is queued or in flight (for tests) */
  idle(): Promise<void> {
    return this.pool.idle();
  }

  private node(name: string): SimNode {
    const n = this.nodes.get(name);
    if (!n)
      throw new Error(
        `sim-nodes: "${name}" is not one of the simulated nodes (${this.prefix}0..${this.prefix}${this.nodes.size - 1})`,
      );
    return n;
  }

  // ---- registration and heartbeats ----

  private async register(n: SimNode): Promise<void> {
    const shape = {
      name: n.name,
      address: nodeAddress(this.prefix, n.index),
      cpu: this.opts.cpu ?? '32',
      memory: this.opts.memory ?? '256Gi',
      pods: this.opts.pods ?? 110,
      labels: this.opts.labels ?? {},
    };
    const want = nodeObject(shape, new Date());
    let node: Node;
    try {
      node = await this.client.create(Nodes, want);
    } catch (e) {
      if (!isAlreadyExists(e))
        throw new Error(`sim-nodes: cannot register node ${n.name}: ${(e as Error).message}`, { cause: e });
      // registered by an earlier run: take it over, with this run's capacity and a fresh Ready condition
      node = await this.client.patch(
        Nodes,
        undefined,
        n.name,
        { metadata: { labels: want.metadata.labels }, status: want.status },
        'merge',
        { subresource: 'status' },
      );
    }
    n.uid = node.metadata.uid;
    await this.renewLease(n);
  }

  private onTick(): void {
    const slot = this.slots[this.tick++ % this.slots.length];
    for (const n of slot) {
      if (n.silenced) continue;
      this.pool.add(`lease/${n.name}`);
      if (++n.renewals % Math.max(1, Math.round(NODE_STATUS_REPORT_MS / this.leaseRenewMs)) === 0)
        this.pool.add(`status/${n.name}`);
    }
  }

  private async renewLease(n: SimNode): Promise<void> {
    const now = new Date();
    if (n.lease) {
      try {
        n.lease = await this.client.update(Leases, {
          ...n.lease,
          spec: { ...n.lease.spec, renewTime: microTime(now) },
        });
        return;
      } catch (e) {
        if (!isConflict(e) && !isNotFound(e)) throw e;
        n.lease = undefined;
      }
    }
    try {
      const cur = await this.client.get(Leases, NODE_LEASE_NAMESPACE, n.name);
      const fresh = leaseObject({ metadata: { name: n.name, uid: n.uid } }, now);
      n.lease = await this.client.update(Leases, {
        ...cur,
        metadata: { ...cur.metadata, ownerReferences: fresh.metadata.ownerReferences },
        spec: fresh.spec,
      });
    } catch (e) {
      if (!isNotFound(e)) throw e;
      n.lease = await this.client.create(Leases, leaseObject({ metadata: { name: n.name, uid: n.uid } }, now));
    }
  }

  private async reportStatus(n: SimNode): Promise<void> {
    const cur = this.nodeInformer.get(n.name);
    const since: Record<string, string | undefined> = {};
    for (const c of cur?.status?.conditions ?? []) {
      // the conditions a healthy kubelet reports: keep their transition time while they hold
      const healthy = c.type === 'Ready' ? c.status === 'True' : c.status === 'False';
      if (healthy) since[c.type] = c.lastTransitionTime;
    }
    await this.client.patch(
      Nodes,
      undefined,
      n.name,
      { status: { conditions: nodeConditions(rfc3339(new Date()), since) } },
      'merge',
      { subresource: 'status' },
    );
  }

  private nodeChanged(node: Node): void {
    const n = this.nodes.get(node.metadata.name ?? '');
    if (!n) return;
    const cidr = parseCidr(node.spec?.podCIDR);
    if (cidr) n.ips.setCidr(cidr);
    if (n.silenced || this.stopped) return;
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
    // marked NotReady/Unknown while this kubelet is alive (it was slow): say it is ready again, as a kubelet would
    if (ready && ready.status !== 'True' && this.started) this.pool.add(`status/${n.name}`);
  }

  // ---- pods ----

  private podChanged(pod: Pod): void {
    const nodeName = pod.spec?.nodeName;
    if (!nodeName || !this.nodes.has(nodeName)) return;
    this.pool.add(`pod/${keyOf(pod)}`);
  }

  private podGone(pod: Pod): void {
    const key = keyOf(pod);
    const given = this.podIps.get(key);
    if (given) {
      this.nodes.get(given.node)?.ips.release(given.ip);
      this.podIps.delete(key);
    }
    this.pullFailures.delete(key);
  }

  private async syncPod(key: string): Promise<void> {
    const pod = this.pods.get(key);
    if (!pod) return;
    const n = this.nodes.get(pod.spec?.nodeName ?? '');
    if (!n || n.silenced) return;
    const { namespace, name, uid } = pod.metadata;
    if (pod.metadata.deletionTimestamp) {
      // the containers are "stopped": confirm the deletion, as the kubelet does once they are
      try {
        await this.client.delete(Pods, namespace, name!, { gracePeriodSeconds: 0, preconditions: { uid } });
      } catch (e) {
        if (!isNotFound(e) && !isConflict(e)) throw e;
      }
      return;
    }
    if (isPodTerminal(pod)) return;

    const ip = this.podIp(key, pod, n);
    const now = Date.now();
    let pullBackOff = false;
    if (pod.spec?.containers?.some((c) => containerFate(c.image) === 'pull-error')) {
      const first = this.pullFailures.get(key);
      if (first === undefined) {
        this.pullFailures.set(key, now);
        this.later(`pod/${key}`, PULL_BACKOFF_MS);
      } else pullBackOff = now - first >= PULL_BACKOFF_MS;
    }
    const status = desiredPodStatus({
      pod,
      hostIP: nodeAddress(this.prefix, n.index),
      podIP: ip,
      now: rfc3339(new Date(now)),
      pullBackOff,
    });
    if (statusSignature(status) === statusSignature(pod.status)) return;
    try {
      await this.client.patch(Pods, namespace, name!, { metadata: { uid }, status }, 'merge', {
        subresource: 'status',
      });
    } catch (e) {
      if (!isNotFound(e) && !isConflict(e)) throw e;
    }
  }

  private podIp(key: string, pod: Pod, n: SimNode): string {
    const given = this.podIps.get(key);
    if (given) return given.ip;
    const had: string | undefined = pod.status?.podIP || undefined;
    const ip = had ?? n.ips.allocate();
    if (had) n.ips.reserve(had);
    this.podIps.set(key, { node: n.name, ip });
    return ip;
  }

  // ---- the pool ----

  private async work(key: string): Promise<void> {
    if (this.stopped) return;
    const i = key.indexOf('/');
    const kind = key.slice(0, i);
    const rest = key.slice(i + 1);
    if (kind === 'pod') return this.syncPod(rest);
    const n = this.nodes.get(rest);
    if (!n || n.silenced) return;
    if (kind === 'lease') return this.renewLease(n);
    if (kind === 'status') return this.reportStatus(n);
  }

  private failed(key: string, e: Error): void {
    if (this.stopped) return;
    this.log(`${key}: ${e.message} (trying again in ${RETRY_MS} ms)`);
    // leases are renewed on the next tick anyway; pods and statuses are tried again
    if (!key.startsWith('lease/')) this.later(key, RETRY_MS);
  }

  private later(key: string, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.pool.add(key);
    }, ms);
    t.unref();
    this.timers.add(t);
  }
}

/** runs fn over items with at most `limit` at once; rejects with the first error once all have settled */
async function bounded<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let firstError: Error | undefined;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (e) {
        firstError ??= e as Error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (firstError) throw firstError;
}
