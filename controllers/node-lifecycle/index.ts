/**
 * The node lifecycle controller. Every nodeMonitorPeriodMs each node is checked: one that gave no sign of life (a
 * new Lease renewTime or Ready lastHeartbeatTime, timed on this controller's clock) for nodeMonitorGracePeriodMs gets
 * its Ready, MemoryPressure, DiskPressure and PIDPressure conditions set to Unknown. When Ready leaves True its pods
 * are marked not ready. Taints follow the conditions (see health.ts): NoExecute unreachable/not-ready, and the
 * NoSchedule taints of TaintNodesByCondition. Pods on a node with NoExecute taints are deleted once their
 * tolerations run out (tolerations.ts): the work queue's delayed requeue of the pod's key is the timer, and a pod
 * whose taints went away is simply not deleted when it comes up.
 * Queue keys: a node's name, or "namespace/name" of a pod.
 */
import type { ApiClient } from '../../lib/kube/api.ts';
import { isConflict, isNotFound } from '../../lib/kube/api.ts';
import type { EventRecorder } from '../../lib/kube/events.ts';
import type { Informer } from '../../lib/kube/informer.ts';
import { keyOf, splitKey, type KubeObject } from '../../lib/kube/object.ts';
import { podCondition } from '../../lib/kube/pods.ts';
import { Leases, Nodes, Pods } from '../../lib/kube/resources.ts';
import type { ControllerContext, ControllerDefinition, Reconciler, Result } from '../controller.ts';
import { conditionTaints, nodeCondition, reconcileConditionTaints, unknownConditions, type Taint } from './health.ts';
import { noExecuteTaints, tolerationMs } from './tolerations.ts';
import { rfc3339 } from '../../lib/time.ts';

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
export const POD_NODE_INDEX = 'spec.nodeName';
export const DISRUPTION_TARGET = 'DisruptionTarget';

export const nodeLifecycleController: ControllerDefinition<NodeLifecycleReconciler> = {
  name: 'node-lifecycle',
  component: 'node-controller',
  for: Nodes,
  watches: [
    // a pod's own key: its eviction is counted down when it is bound, moved, or tolerates otherwise
    {
      resource: Pods,
      indexes: { [POD_NODE_INDEX]: (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []) },
      map: (p) => [keyOf(p)],
      add: (p) => !!p.spec?.nodeName,
      update: (old, p) =>
        !!p.spec?.nodeName &&
        (old.spec?.nodeName !== p.spec.nodeName ||
          JSON.stringify(old.spec?.tolerations) !== JSON.stringify(p.spec?.tolerations)),
    },
  ],
  reconciler: (ctx) => new NodeLifecycleReconciler(ctx),
};

/** what this controller last saw of a node's signs of life, and when it last saw one change (its own clock) */
interface Probe {
  at: number;
  heartbeat?: string;
  renewTime?: string;
  ready?: string;
}

export class NodeLifecycleReconciler implements Reconciler {
  /** per node: the last sign of life observed; silence is measured on this controller's clock, not the node's */
  private readonly probes = new Map<string, Probe>();
  /** the NoExecute taints last seen on each node, to look at its pods when they change */
  private readonly lastTaints = new Map<string, string>();
  /** pods counting down to their eviction: key → when the count began and against which taints */
  private readonly countdowns = new Map<string, { since: number; taints: string }>();
  private readonly client: ApiClient;
  private readonly nodes: Informer;
  private readonly leases: Informer;
  private readonly pods: Informer;
  private readonly recorder: EventRecorder;
  private monitor: NodeJS.Timeout | undefined;

  constructor(private readonly ctx: ControllerContext) {
    this.client = ctx.client;
    this.nodes = ctx.informers.informer(Nodes);
    this.leases = ctx.informers.informer(Leases, { namespace: NODE_LEASE_NAMESPACE });
    this.pods = ctx.informers.informer(Pods);
    this.recorder = ctx.recorder;
  }

  /** the node monitor: every node is looked at each nodeMonitorPeriodMs */
  start(): void {
    this.monitor = setInterval(() => {
      if (this.nodes.hasSynced() && this.leases.hasSynced())
        for (const name of this.nodes.keys()) this.ctx.enqueue(name);
    }, this.ctx.options.nodeMonitorPeriodMs);
    this.monitor.unref();
  }

  stop(): void {
    clearInterval(this.monitor);
  }

  async reconcile(key: string): Promise<Result | void> {
    return key.includes('/') ? this.reconcilePod(key) : this.reconcileNode(key);
  }

  // ---- nodes ----

  private async reconcileNode(name: string): Promise<Result | void> {
    let node = this.nodes.get(name);
    if (!node) {
      this.probes.delete(name);
      this.lastTaints.delete(name);
      return;
    }
    const now = this.ctx.now();
    const nowIso = rfc3339(new Date(now));
    const probe = this.observe(node, now);
    const before = probe.ready ?? nodeCondition(node, 'Ready')?.status;
    const silent = now - probe.at > this.ctx.options.nodeMonitorGracePeriodMs;

    if (silent) {
      const conditions = unknownConditions(node, nowIso);
      if (conditions) {
        node = await this.write(() =>
          this.client.update(Nodes, { ...node!, status: { ...node!.status, conditions } }, { subresource: 'status' }),
        );
        if (!node) return;
        // what this controller wrote is not a sign of life
        probe.heartbeat = nodeCondition(node, 'Ready')?.lastHeartbeatTime;
        this.ctx.log(
          `node ${name} sent no heartbeat for ${Math.round((now - probe.at) / 1000)}s: its status is now Unknown`,
        );
      }
    }
    const ready: string | undefined = nodeCondition(node, 'Ready')?.status;
    probe.ready = ready;
    if (ready !== undefined && ready !== 'True') {
      if (before === 'True')
        this.recorder.event(node, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
      // its pods are not ready either: at the transition, and for as long as the kubelet is silent
      if (before === 'True' || silent) await this.markPodsNotReady(name, nowIso);
    }

    const taints = reconcileConditionTaints((node.spec?.taints ?? []) as Taint[], conditionTaints(node), nowIso);
    if (taints) {
      const spec = { ...node.spec, taints };
      if (taints.length === 0) delete spec.taints;
      node = await this.write(() => this.client.update(Nodes, { ...node!, spec }));
      if (!node) return;
    }

    const sig = JSON.stringify(noExecuteTaints(node).map((t) => [t.key, t.value ?? '']));
    if ((this.lastTaints.get(name) ?? '[]') !== sig) {
      this.lastTaints.set(name, sig);
      for (const p of this.pods.byIndex(POD_NODE_INDEX, name)) this.ctx.enqueue(keyOf(p));
    }
  }

  /** the node's probe, moved to now when its Ready heartbeat or its Lease's renewTime changed since last seen */
  private observe(node: KubeObject, now: number): Probe {
    const name = node.metadata.name!;
    const heartbeat: string | undefined = nodeCondition(node, 'Ready')?.lastHeartbeatTime;
    const renewTime: string | undefined = this.leases.getByName(NODE_LEASE_NAMESPACE, name)?.spec?.renewTime;
    let p = this.probes.get(name);
    // a node seen for the first time gets its whole grace period from now
    if (!p) this.probes.set(name, (p = { at: now, heartbeat, renewTime }));
    if (heartbeat !== p.heartbeat || (renewTime !== undefined && renewTime !== p.renewTime)) {
      p.at = now;
      p.heartbeat = heartbeat;
      p.renewTime = renewTime;
    }
    return p;
  }

  /** a write of the node; undefined when the node is gone */
  private async write(f: () => Promise<KubeObject>): Promise<KubeObject | undefined> {
    try {
      return await f();
    } catch (e) {
      if (isNotFound(e)) return undefined;
      if (isConflict(e))
        throw new Error(`node changed while its health was being written, trying again: ${(e as Error).message}`, {
          cause: e,
        });
      throw e;
    }
  }

  /** the Ready condition of the node's pods set to False, each with a NodeNotReady event */
  private async markPodsNotReady(nodeName: string, nowIso: string): Promise<void> {
    for (const pod of this.pods.byIndex(POD_NODE_INDEX, nodeName)) {
      const ready = podCondition(pod, 'Ready');
      if (!ready || ready.status === 'False') continue;
      const conditions = (pod.status?.conditions as { type: string }[]).map((c) =>
        c.type === 'Ready' ? { ...c, status: 'False', lastTransitionTime: nowIso } : c,
      );
      try {
        await this.client.update(Pods, { ...pod, status: { ...pod.status, conditions } }, { subresource: 'status' });
      } catch (e) {
        if (isNotFound(e)) continue;
        throw e;
      }
      this.recorder.event(pod, 'Warning', 'NodeNotReady', 'Node is not ready');
    }
  }

  // ---- taint-based eviction ----

  private async reconcilePod(key: string): Promise<Result | void> {
    const pod = this.pods.get(key);
    const node = pod?.spec?.nodeName ? this.nodes.get(pod.spec.nodeName) : undefined;
    const taints = noExecuteTaints(node);
    const running = this.countdowns.get(key);
    if (!pod || pod.metadata.deletionTimestamp || taints.length === 0) {
      if (running) {
        this.countdowns.delete(key);
        if (pod && !pod.metadata.deletionTimestamp)
          this.recorder.event(pod, 'Normal', 'TaintManagerEviction', `Cancelling deletion of Pod ${key}`);
      }
      return;
    }
    const allowed = tolerationMs(pod, taints);
    if (allowed === Infinity) {
      this.countdowns.delete(key);
      return;
    }
    const now = this.ctx.now();
    const sig = JSON.stringify(taints.map((t) => [t.key, t.value ?? '', t.effect]));
    let c = running;
    if (!c || c.taints !== sig) this.countdowns.set(key, (c = { since: running?.since ?? now, taints: sig }));
    const remaining = c.since + allowed - now;
    if (remaining > 0) return { requeueAfterMs: remaining };
    this.countdowns.delete(key);
    const { namespace, name } = splitKey(key);
    this.recorder.event(pod, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${key}`);
    try {
      // the pod says why it goes before it goes
      if (podCondition(pod, DISRUPTION_TARGET)?.status !== 'True') {
        const nowIso = rfc3339(new Date(now));
        const condition = {
          type: DISRUPTION_TARGET,
          status: 'True',
          lastTransitionTime: nowIso,
          reason: 'DeletionByTaintManager',
          message: 'Taint manager: deleting due to NoExecute taint',
        };
        await this.client.patch(
          Pods,
          namespace,
          name,
          { metadata: { uid: pod.metadata.uid }, status: { conditions: [condition] } },
          'strategic',
          { subresource: 'status' },
        );
      }
      await this.client.delete(Pods, namespace, name, { preconditions: { uid: pod.metadata.uid } });
    } catch (e) {
      if (!isNotFound(e) && !isConflict(e)) throw e;
    }
  }
}
