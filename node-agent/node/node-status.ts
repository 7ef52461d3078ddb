/**
 * The Node object the agent registers and keeps current, and its Lease: capacity and allocatable from the host,
 * addresses, nodeInfo with the runtime's version, conditions (Ready, MemoryPressure, DiskPressure, PIDPressure) and
 * the images present. The Lease in kube-node-lease is renewed every 10 s; the status is written when it changes and
 * at least every minute (kubelet's nodeStatusReportFrequency is 5 min; a shorter one keeps heartbeats readable).
 */
import type { ApiClient } from '../../lib/kube/api.ts';
import { isAlreadyExists, isConflict, isNotFound } from '../../lib/kube/api.ts';
import type { KubeObject } from '../../lib/kube/object.ts';
import type { Taint } from '../../lib/kube/taints.ts';
import { asView, type Node } from '../objects.ts';
import { Leases, Nodes } from '../../lib/kube/resources.ts';
import type { Image } from '../cri/types.ts';
import { hostFacts, pressure, type HostFacts } from './host.ts';
import { microTime, rfc3339 } from '../../lib/time.ts';

/** the fields of a coordination.k8s.io/v1 Lease the node renews */
interface Lease extends KubeObject {
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; renewTime?: string };
}

export const LEASE_NAMESPACE = 'kube-node-lease';
export const LEASE_DURATION_SECONDS = 40;
export const LEASE_RENEW_MS = 10_000;
const STATUS_REPORT_MS = 60_000;
const STATUS_CHECK_MS = 10_000;

export interface NodeStatusOptions {
  client: ApiClient;
  nodeName: string;
  nodeIP: string;
  dataDir: string;
  labels?: Record<string, string>;
  taints?: Taint[];
  /** pod CIDR set by the agent itself (--pod-cidr); otherwise the node-ipam controller assigns one */
  podCIDR?: string;
  kubeletVersion: string;
  runtimeVersion: () => string;
  /** port of the agent's streaming server */
  port: () => number;
  /** why the node cannot run pods yet (runtime or network not ready), or undefined when it can */
  notReadyReason: () => string | undefined;
  images: () => Promise<Image[]>;
  maxPods?: number;
  log?: (msg: string) => void;
}

export class NodeStatusReporter {
  private facts: HostFacts;
  private node?: Node;
  private leaseTimer?: NodeJS.Timeout;
  private statusTimer?: NodeJS.Timeout;
  private lastReport = 0;
  private lastSignature = '';
  private readonly log: (msg: string) => void;
  private stopped = false;

  constructor(private readonly o: NodeStatusOptions) {
    this.facts = hostFacts(o.dataDir);
    this.log = o.log ?? ((m) => console.log(`[agent] ${m}`));
  }

  get current(): Node | undefined {
    return this.node;
  }

  allocatable(): Record<string, string> {
    return this.resources();
  }

  private resources(): Record<string, string> {
    return {
      cpu: String(this.facts.cpus),
      memory: `${Math.floor(this.facts.memoryBytes / 1024)}Ki`,
      'ephemeral-storage': `${Math.floor(this.facts.ephemeralStorageBytes / 1024)}Ki`,
      pods: String(this.o.maxPods ?? 110),
      'hugepages-1Gi': '0',
      'hugepages-2Mi': '0',
    };
  }

  private desiredLabels(): Record<string, string> {
    return {
      'kubernetes.io/hostname': this.o.nodeName,
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': this.facts.architecture,
      'beta.kubernetes.io/os': 'linux',
      'beta.kubernetes.io/arch': this.facts.architecture,
      ...(this.o.labels ?? {}),
    };
  }

  /** Creates the Node, or takes over the existing one (labels merged, addresses and capacity refreshed). */
  async register(): Promise<Node> {
    const { client, nodeName } = this.o;
    const body: Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: nodeName, labels: this.desiredLabels() },
      spec: {
        ...(this.o.podCIDR ? { podCIDR: this.o.podCIDR, podCIDRs: [this.o.podCIDR] } : {}),
        ...(this.o.taints?.length ? { taints: this.o.taints } : {}),
      },
    };
    try {
      this.node = await client.create(asView<Node>(Nodes), body);
      this.log(`registered node ${nodeName}`);
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      this.node = await client.patch(
        asView<Node>(Nodes),
        undefined,
        nodeName,
        { metadata: { labels: this.desiredLabels() } },
        'merge',
      );
      if (this.o.podCIDR && !this.node.spec?.podCIDR) {
        this.node = await client.patch(
          asView<Node>(Nodes),
          undefined,
          nodeName,
          { spec: { podCIDR: this.o.podCIDR, podCIDRs: [this.o.podCIDR] } },
          'merge',
        );
      }
      this.log(`node ${nodeName} already registered; taking it over`);
    }
    await this.reportStatus(true);
    await this.renewLease();
    return this.node!;
  }

  start(): void {
    const leaseLoop = async () => {
      try {
        await this.renewLease();
      } catch (e) {
        this.log(`renewing the node lease failed: ${(e as Error).message}`);
      }
      if (!this.stopped) this.leaseTimer = setTimeout(leaseLoop, LEASE_RENEW_MS);
    };
    const statusLoop = async () => {
      try {
        await this.reportStatus(false);
      } catch (e) {
        this.log(`updating the node status failed: ${(e as Error).message}`);
      }
      if (!this.stopped) this.statusTimer = setTimeout(statusLoop, STATUS_CHECK_MS);
    };
    this.leaseTimer = setTimeout(leaseLoop, LEASE_RENEW_MS);
    this.statusTimer = setTimeout(statusLoop, STATUS_CHECK_MS);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.leaseTimer);
    clearTimeout(this.statusTimer);
  }

  /** Writes the status now if anything changed (or the report is due); `force` always writes. */
  async reportStatus(force: boolean): Promise<void> {
    const { client, nodeName } = this.o;
    const now = new Date();
    const p = pressure(this.o.dataDir);
    const notReady = this.o.notReadyReason();
    const old = new Map((this.node?.status?.conditions ?? []).map((c) => [c.type, c]));
    const cond = (
      type: string,
      status: boolean,
      reasonTrue: string,
      reasonFalse: string,
      msgTrue: string,
      msgFalse: string,
    ) => {
      const s = status ? 'True' : 'False';
      const prev = old.get(type);
      return {
        type,
        status: s,
        lastHeartbeatTime: rfc3339(now),
        lastTransitionTime: prev && prev.status === s ? prev.lastTransitionTime : rfc3339(now),
        reason: status ? reasonTrue : reasonFalse,
        message: status ? msgTrue : msgFalse,
      };
    };
    const conditions = [
      cond(
        'MemoryPressure',
        p.memory,
        'KubeletHasInsufficientMemory',
        'KubeletHasSufficientMemory',
        'kubelet has insufficient memory available',
        'kubelet has sufficient memory available',
      ),
      cond(
        'DiskPressure',
        p.disk,
        'KubeletHasDiskPressure',
        'KubeletHasNoDiskPressure',
        'kubelet has disk pressure',
        'kubelet has no disk pressure',
      ),
      cond(
        'PIDPressure',
        p.pid,
        'KubeletHasInsufficientPID',
        'KubeletHasSufficientPID',
        'kubelet has insufficient PID available',
        'kubelet has sufficient PID available',
      ),
      cond('Ready', !notReady, 'KubeletReady', 'KubeletNotReady', 'kubelet is posting ready status', notReady ?? ''),
    ];
    const images = (await this.o.images().catch(() => [] as Image[]))
      .map((i) => ({ names: [...i.repo_digests, ...i.repo_tags], sizeBytes: Number(i.size) }))
      .filter((i) => i.names.length)
      .sort((a, b) => b.sizeBytes - a.sizeBytes)
      .slice(0, 50);
    const res = this.resources();
    const status = {
      capacity: res,
      allocatable: res,
      conditions,
      addresses: [
        { type: 'InternalIP', address: this.o.nodeIP },
        { type: 'Hostname', address: this.o.nodeName },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: this.o.port() } },
      nodeInfo: {
        machineID: this.facts.machineID,
        systemUUID: this.facts.systemUUID,
        bootID: this.facts.bootID,
        kernelVersion: this.facts.kernelVersion,
        osImage: this.facts.osImage,
        containerRuntimeVersion: this.o.runtimeVersion(),
        kubeletVersion: this.o.kubeletVersion,
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: this.facts.architecture,
      },
      images,
    };
    const signature = JSON.stringify({
      ...status,
      conditions: conditions.map((c) => [c.type, c.status, c.reason, c.message]),
    });
    if (!force && signature === this.lastSignature && Date.now() - this.lastReport < STATUS_REPORT_MS) return;
    try {
      this.node = await client.patch(asView<Node>(Nodes), undefined, nodeName, { status }, 'merge', {
        subresource: 'status',
      });
    } catch (e) {
      if (isNotFound(e)) {
        this.log(`node ${nodeName} was deleted; registering it again`);
        this.node = undefined;
        await this.register();
        return;
      }
      throw e;
    }
    this.lastSignature = signature;
    this.lastReport = Date.now();
  }

  /** A fresher copy of the Node (from the agent's watch). */
  observe(node: Node): void {
    this.node = node;
  }

  private lease?: Lease;

  async renewLease(): Promise<void> {
    const { client, nodeName } = this.o;
    const now = microTime(new Date());
    const node = this.node;
    const desired: Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: nodeName,
        namespace: LEASE_NAMESPACE,
        ...(node?.metadata.uid
          ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: node.metadata.uid }] }
          : {}),
      },
      spec: { holderIdentity: nodeName, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: now },
    };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        if (!this.lease) this.lease = await client.get(Leases, LEASE_NAMESPACE, nodeName);
        this.lease = await client.update(Leases, { ...this.lease, spec: { ...this.lease.spec, ...desired.spec } });
        return;
      } catch (e) {
        if (isNotFound(e)) {
          try {
            this.lease = await client.create(Leases, desired);
            return;
          } catch (e2) {
            if (!isAlreadyExists(e2)) throw e2;
          }
        } else if (!isConflict(e)) throw e;
        this.lease = undefined;
      }
    }
  }
}
