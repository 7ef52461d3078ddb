/**
 * The scheduler: pending pods from the Pod informer go through the scheduling queue; each cycle decides a node
 * synchronously on the local cache (algorithm.ts), assumes the pod there, and binds it through pods/binding in the
 * background (several bindings in flight), so the next cycle never waits for the API. A pod that fits nowhere gets
 * PodScheduled=False/Unschedulable with the reasons per node, and a FailedScheduling event.
 */
import type { ApiClient } from '../lib/kube/api.ts';
import { isConflict, isNotFound } from '../lib/kube/api.ts';
import type { EventRecorder } from '../lib/kube/events.ts';
import type { Informer, InformerFactory } from '../lib/kube/informer.ts';
import { keyOf, type KubeObject } from '../lib/kube/object.ts';
import { Nodes, Pods } from '../lib/kube/resources.ts';
import { decide, fitErrorMessage, resolveProfile, type ResolvedProfile } from './algorithm.ts';
import { SchedulerCache } from './cache.ts';
import { DEFAULT_PROFILE, type Profile } from './plugins/registry.ts';
import { SchedulingQueue, type QueuedPod } from './queue/scheduling-queue.ts';
import { schedulerNodeView, schedulerPodView } from './views.ts';

export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

export interface SchedulerOptions {
  client: ApiClient;
  informers: InformerFactory;
  recorder: EventRecorder;
  log?(msg: string): void;
  schedulerName?: string;
  profile?: Profile;
  /** bindings in flight at once */
  bindConcurrency?: number;
}

export interface SchedulerStats {
  scheduled: number;
  unschedulable: number;
  bindErrors: number;
}

export class Scheduler {
  readonly cache = new SchedulerCache();
  readonly queue = new SchedulingQueue();
  readonly stats: SchedulerStats = { scheduled: 0, unschedulable: 0, bindErrors: 0 };
  private readonly profile: ResolvedProfile;
  private readonly name: string;
  private readonly log: (m: string) => void;
  private pods!: Informer;
  private nodes!: Informer;
  private running = false;
  private loop: Promise<void> | undefined;
  private nextStart = 0;
  private bindsInFlight = 0;
  private bindSlot: (() => void) | undefined;
  private readonly maxBinds: number;

  constructor(private readonly opts: SchedulerOptions) {
    this.profile = resolveProfile(opts.profile ?? DEFAULT_PROFILE);
    this.name = opts.schedulerName ?? DEFAULT_SCHEDULER_NAME;
    this.log = opts.log ?? ((m) => console.log(`scheduler: ${m}`));
    this.maxBinds = opts.bindConcurrency ?? 32;
  }

  /** subscribes to the informers, waits for their sync, and starts scheduling */
  async start(): Promise<void> {
    this.pods = this.opts.informers.informer(Pods, { transform: schedulerPodView });
    this.nodes = this.opts.informers.informer(Nodes, { transform: schedulerNodeView });
    this.nodes.addEventHandler({
      onAdd: (n) => {
        this.cache.upsertNode(n);
        this.queue.moveAllToActiveOrBackoff();
      },
      onUpdate: (o, n) => {
        this.cache.upsertNode(n);
        if (nodeSchedulingChanged(o, n)) this.queue.moveAllToActiveOrBackoff();
      },
      onDelete: (n) => this.cache.removeNode(n.metadata.name!),
    });
    this.pods.addEventHandler({
      onAdd: (p) => this.onPod(undefined, p),
      onUpdate: (o, p) => this.onPod(o, p),
      onDelete: (p) => {
        const key = keyOf(p);
        this.queue.delete(key);
        if (p.spec?.nodeName || this.cache.isAssumed(key)) {
          this.cache.removePod(p);
          this.queue.moveAllToActiveOrBackoff();
        }
      },
    });
    this.opts.informers.start();
    await Promise.all([this.pods.waitForSync(), this.nodes.waitForSync()]);
    this.running = true;
    this.loop = this.run();
    this.log(`scheduling (${this.cache.nodeCount()} nodes known)`);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.queue.close();
    await this.loop;
  }

  healthy(): boolean {
    return this.running && this.pods.hasSynced() && this.nodes.hasSynced();
  }

  /** the cycle for the pod at the head of the queue; exposed for tests */
  scheduleOne(q: QueuedPod): void {
    const pod = q.pod;
    if (!this.responsibleFor(pod)) {
      this.queue.done(q.key);
      return;
    }
    const d = decide(this.profile, pod, this.cache, this.nextStart);
    this.nextStart = d.next;
    if (d.node) {
      this.cache.assume(pod, d.node);
      this.stats.scheduled++;
      void this.bind(q, d.node);
      return;
    }
    this.stats.unschedulable++;
    const message = fitErrorMessage(this.cache.nodeCount(), d);
    this.queue.unschedulableAgain(q);
    void this.reportUnschedulable(pod, message);
  }

  private onPod(old: KubeObject | undefined, p: KubeObject): void {
    const key = keyOf(p);
    if (p.spec?.nodeName) {
      this.cache.upsertPod(p);
      if (this.queue.has(key)) this.queue.delete(key);
      return;
    }
    if (this.responsibleFor(p)) this.queue.addOrUpdate(p, !old || schedulingInputsChanged(old, p));
    else this.queue.delete(key);
  }

  private responsibleFor(p: KubeObject): boolean {
    if (p.spec?.nodeName || p.metadata.deletionTimestamp) return false;
    const phase = p.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return false;
    return (p.spec?.schedulerName || DEFAULT_SCHEDULER_NAME) === this.name;
  }

  private async run(): Promise<void> {
    let sinceYield = 0;
    while (this.running) {
      let q = this.queue.tryPop();
      if (!q) {
        sinceYield = 0;
        q = await this.queue.pop();
        if (!q) return;
      }
      if (this.bindsInFlight >= this.maxBinds) await new Promise<void>((r) => (this.bindSlot = r));
      try {
        this.scheduleOne(q);
      } catch (e) {
        this.log(`scheduling ${q.key} failed: ${(e as Error).stack ?? e}`);
        this.queue.retryLater(q);
      }
      // let the watch events (our own bindings among them) in between cycles
      if (++sinceYield >= 8) {
        sinceYield = 0;
        await new Promise((r) => setImmediate(r));
      }
    }
  }

  private async bind(q: QueuedPod, node: string): Promise<void> {
    const pod = q.pod;
    const ns = pod.metadata.namespace!;
    const name = pod.metadata.name!;
    this.bindsInFlight++;
    try {
      await this.opts.client.create(
        Pods,
        { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace: ns, uid: pod.metadata.uid }, target: { apiVersion: 'v1', kind: 'Node', name: node } } as KubeObject,
        { subresource: 'binding', name },
      );
      this.queue.done(q.key);
      this.opts.recorder.event(pod, 'Normal', 'Scheduled', `Successfully assigned ${ns}/${name} to ${node}`);
    } catch (e) {
      this.cache.forget(pod);
      if (isNotFound(e) || (isConflict(e) && /already assigned|already bound/i.test((e as Error).message))) {
        this.queue.done(q.key);
        return;
      }
      this.stats.bindErrors++;
      this.log(`binding ${ns}/${name} to ${node} failed: ${(e as Error).message}`);
      this.opts.recorder.event(pod, 'Warning', 'FailedScheduling', `Binding rejected: ${(e as Error).message}`);
      this.queue.retryLater(q);
    } finally {
      this.bindsInFlight--;
      const s = this.bindSlot;
      this.bindSlot = undefined;
      s?.();
    }
  }

  private async reportUnschedulable(pod: KubeObject, message: string): Promise<void> {
    this.opts.recorder.event(pod, 'Warning', 'FailedScheduling', message);
    const cur = (pod.status?.conditions ?? []).find((c: any) => c.type === 'PodScheduled');
    if (cur && cur.status === 'False' && cur.reason === 'Unschedulable' && cur.message === message) return;
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    try {
      await this.opts.client.patch(
        Pods,
        pod.metadata.namespace,
        pod.metadata.name!,
        { status: { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastProbeTime: null, lastTransitionTime: cur?.status === 'False' ? cur.lastTransitionTime : now }] } },
        'strategic',
        { subresource: 'status' },
      );
    } catch (e) {
      if (!isNotFound(e)) this.log(`recording why ${keyOf(pod)} is unschedulable failed: ${(e as Error).message}`);
    }
  }
}

/** a node change that may let a parked pod fit */
function nodeSchedulingChanged(o: KubeObject, n: KubeObject): boolean {
  const ready = (x: KubeObject) => (x.status?.conditions ?? []).find((c: any) => c.type === 'Ready')?.status;
  return (
    JSON.stringify(o.metadata.labels) !== JSON.stringify(n.metadata.labels) ||
    JSON.stringify(o.spec?.taints) !== JSON.stringify(n.spec?.taints) ||
    o.spec?.unschedulable !== n.spec?.unschedulable ||
    JSON.stringify(o.status?.allocatable) !== JSON.stringify(n.status?.allocatable) ||
    ready(o) !== ready(n)
  );
}

/** the pod changed in what scheduling reads (not only its status) */
function schedulingInputsChanged(o: KubeObject, n: KubeObject): boolean {
  return JSON.stringify(o.spec) !== JSON.stringify(n.spec) || JSON.stringify(o.metadata.labels) !== JSON.stringify(n.metadata.labels);
}
