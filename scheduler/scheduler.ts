/**
 * The scheduler: pending pods from the Pod informer go through the scheduling queue; each cycle decides a node
 * synchronously on the cache (algorithm.ts), assumes the pod there (Reserve), and binds it through the Bind plugins
 * in the background, several bindings in flight, so the next cycle never waits for the API. A pod that fits nowhere
 * gets PodScheduled=False/Unschedulable with kube-scheduler's message, and a FailedScheduling event; when preemption
 * can make room, the victims are deleted and the pod nominated to the node.
 */
import type { ApiClient } from '../lib/kube/api.ts';
import { isConflict, isNotFound } from '../lib/kube/api.ts';
import type { EventRecorder } from '../lib/kube/events.ts';
import type { Informer, InformerFactory } from '../lib/kube/informer.ts';
import { keyOf } from '../lib/kube/object.ts';
import type { Node, Pod } from '../lib/kube/types/core-v1.ts';
import { Nodes, Pods } from '../lib/kube/resources.ts';
import {
  fitErrorMessage,
  NO_NODES_MESSAGE,
  resolveProfile,
  runFilters,
  schedulePod,
  type ResolvedProfile,
} from './algorithm.ts';
import { SchedulerCache } from './cache.ts';
import type { NodeInfo } from './framework/node-info.ts';
import { CycleState, SUCCESS, type Handle, type PostFilterResult, type Status } from './framework/types.ts';
import { DEFAULT_PROFILE, DEFAULT_SCHEDULER_NAME, type Profile } from './plugins/registry.ts';
import { SchedulingQueue, type QueuedPod } from './queue/scheduling-queue.ts';
import { schedulerNodeView, schedulerPodView } from './views.ts';
import { rfc3339 } from '../lib/time.ts';

export { DEFAULT_SCHEDULER_NAME };

export interface SchedulerOptions {
  client: ApiClient;
  informers: InformerFactory;
  recorder: EventRecorder;
  log?(m: string): void;
  /** API calls of binding cycles (and preemptions) in flight at once; 16 by default, as kube-scheduler's parallelism */
  parallelism?: number;
  /** the default profile unless given */
  profile?: Profile;
}

export interface SchedulerStats {
  scheduled: number;
  unschedulable: number;
  bindErrors: number;
  preemptions: number;
}

/** plugins whose rejections a newly placed pod may lift (required pod affinity, topology spreading) */
const ASSIGNED_POD_ADD_PLUGINS = ['InterPodAffinity', 'PodTopologySpread'];

export class Scheduler {
  readonly cache = new SchedulerCache();
  readonly queue = new SchedulingQueue();
  readonly stats: SchedulerStats = { scheduled: 0, unschedulable: 0, bindErrors: 0, preemptions: 0 };
  private readonly profile: ResolvedProfile;
  private readonly name: string;
  private readonly log: (m: string) => void;
  private readonly handle: Handle;
  private pods!: Informer<Pod>;
  private nodes!: Informer<Node>;
  private running = false;
  private loop: Promise<void> | undefined;
  private nextStart = 0;
  private apiCallsInFlight = 0;
  private slotFree: (() => void) | undefined;
  private readonly maxInFlight: number;
  private readonly bindings = new Set<Promise<void>>();

  constructor(private readonly opts: SchedulerOptions) {
    this.profile = resolveProfile(opts.profile ?? DEFAULT_PROFILE);
    this.name = this.profile.profile.schedulerName;
    this.log = opts.log ?? ((m) => console.log(`scheduler: ${m}`));
    this.maxInFlight = Math.max(1, opts.parallelism ?? 16);
    this.handle = { client: opts.client };
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
      onDelete: (p) => this.onPodDelete(p),
    });
    this.opts.informers.start();
    await Promise.all([this.pods.waitForSync(), this.nodes.waitForSync()]);
    this.running = true;
    this.loop = this.run();
    this.log(`scheduling as ${this.name} (${this.cache.nodeCount()} nodes known)`);
  }

  /** stops taking pods from the queue and waits for the bindings in flight */
  async stop(): Promise<void> {
    this.running = false;
    this.queue.close();
    await this.loop;
    await Promise.allSettled([...this.bindings]);
  }

  healthy(): boolean {
    return this.running && this.pods.hasSynced() && this.nodes.hasSynced();
  }

  /** one scheduling cycle for a pod taken from the queue; its binding cycle runs on in the background */
  scheduleOne(q: QueuedPod): void {
    const pod = q.pod;
    if (!this.responsibleFor(pod) || this.cache.isAssumed(q.key)) {
      this.queue.done(q.key);
      return;
    }
    const total = this.cache.nodeCount();
    const d = schedulePod(this.profile, pod, this.cache, this.nextStart, this.profile.profile.percentageOfNodesToScore);
    this.nextStart = d.next;
    if (!d.node) {
      this.stats.unschedulable++;
      if (total === 0) {
        this.queue.unschedulableAgain(q, []);
        this.track(this.reportFailure(pod, 'Unschedulable', NO_NODES_MESSAGE));
        return;
      }
      const post = this.runPostFilters(d.state, pod, d.statuses ?? { byNode: new Map() });
      const message = fitErrorMessage(
        total,
        d,
        post.status.code === 'Success' ? undefined : post.status.reasons.join(', '),
      );
      const plugins = new Set<string>();
      if (d.preFilterStatus?.plugin) plugins.add(d.preFilterStatus.plugin);
      for (const s of d.statuses?.byNode.values() ?? []) if (s.plugin) plugins.add(s.plugin);
      this.queue.unschedulableAgain(q, [...plugins]);
      if (post.nominatedNodeName && post.victims?.length)
        this.track(this.preempt(pod, post.nominatedNodeName, post.victims));
      this.track(this.reportFailure(pod, 'Unschedulable', message, post.nominatedNodeName));
      return;
    }
    // Reserve: the pod counts on the node from now on, before the API knows
    const node = d.node;
    this.cache.assume(pod, node);
    const reserved = this.runReserve(d.state, pod, node);
    if (reserved.code !== 'Success') {
      this.cache.forget(pod);
      this.queue.retryLater(q);
      this.track(this.reportFailure(pod, 'SchedulerError', reserved.reasons.join(', ')));
      return;
    }
    this.stats.scheduled++;
    this.track(this.bindingCycle(q, d.state, node));
  }

  private onPod(old: Pod | undefined, p: Pod): void {
    const key = keyOf(p);
    if (p.spec?.nodeName) {
      const confirmsOwn = this.cache.isAssumed(key);
      const newlyPlaced = !old?.spec?.nodeName;
      this.cache.upsertPod(p);
      if (this.queue.has(key)) this.queue.delete(key);
      // a pod placed by someone else may be the partner a parked pod's affinity or spreading waits for
      if (newlyPlaced && !confirmsOwn) this.queue.moveForPlugins(ASSIGNED_POD_ADD_PLUGINS);
      if (confirmsOwn && this.queue.parkedFor(ASSIGNED_POD_ADD_PLUGINS))
        this.queue.moveForPlugins(ASSIGNED_POD_ADD_PLUGINS);
      return;
    }
    if (this.cache.isAssumed(key)) return; // being bound by us: the bound version will follow
    if (this.responsibleFor(p)) this.queue.addOrUpdate(p, !old || schedulingInputsChanged(old, p));
    else this.queue.delete(key);
  }

  private onPodDelete(p: Pod): void {
    const key = keyOf(p);
    this.queue.delete(key);
    if (p.spec?.nodeName || this.cache.isAssumed(key)) {
      this.cache.removePod(p);
      this.queue.moveAllToActiveOrBackoff();
    }
  }

  private responsibleFor(p: Pod): boolean {
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
      while (this.apiCallsInFlight >= this.maxInFlight) await new Promise<void>((r) => (this.slotFree = r));
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

  /** keeps count of API work in flight, so that the loop stops taking pods when it piles up */
  private track(p: Promise<void>): void {
    this.apiCallsInFlight++;
    this.bindings.add(p);
    p.catch((e) => this.log(`scheduler API work failed: ${(e as Error).stack ?? e}`)).finally(() => {
      this.bindings.delete(p);
      this.apiCallsInFlight--;
      const s = this.slotFree;
      this.slotFree = undefined;
      s?.();
    });
  }

  private runReserve(state: CycleState, pod: Pod, node: string): Status {
    const done: typeof this.profile.reserves = [];
    for (const p of this.profile.reserves) {
      const s = p.reserve!(state, pod, node);
      if (s.code !== 'Success') {
        for (const u of [p, ...done.reverse()]) u.unreserve!(state, pod, node);
        return { ...s, plugin: p.name };
      }
      done.push(p);
    }
    return SUCCESS;
  }

  private runPostFilters(
    state: CycleState,
    pod: Pod,
    statuses: NonNullable<ReturnType<typeof schedulePod>['statuses']>,
  ): PostFilterResult {
    const filter = (p: Pod, n: NodeInfo) => runFilters(this.profile, state, p, n) ?? SUCCESS;
    let last: PostFilterResult = { status: { code: 'Unschedulable', reasons: [] } };
    for (const p of this.profile.postFilters) {
      const r = p.postFilter!(state, pod, this.cache, statuses, filter);
      if (r.status.code === 'Success') return r;
      last = r;
    }
    return last;
  }

  /** the binding cycle: Bind plugins in order until one does not Skip; on failure the pod is forgotten and retried */
  private async bindingCycle(q: QueuedPod, state: CycleState, node: string): Promise<void> {
    const pod = q.pod;
    const ns = pod.metadata.namespace!;
    const name = pod.metadata.name!;
    let status: Status = { code: 'Error', reasons: ['no bind plugin bound the pod'] };
    for (const b of this.profile.binds) {
      status = await b.bind!(state, pod, node, this.handle);
      if (status.code !== 'Skip') break;
    }
    if (status.code === 'Success') {
      this.queue.done(q.key);
      this.opts.recorder.event(pod, 'Normal', 'Scheduled', `Successfully assigned ${ns}/${name} to ${node}`);
      return;
    }
    for (const p of [...this.profile.reserves].reverse()) p.unreserve!(state, pod, node);
    this.cache.forget(pod);
    const err = status.error;
    if (isNotFound(err) || (isConflict(err) && /already (assigned|bound)/i.test((err as Error).message))) {
      // deleted meanwhile, or bound already: the watch tells the rest
      this.queue.done(q.key);
      return;
    }
    this.stats.bindErrors++;
    const message = status.reasons.join(', ');
    this.log(`binding ${ns}/${name} to ${node} failed: ${message}`);
    this.queue.retryLater(q);
    await this.reportFailure(pod, 'SchedulerError', message);
  }

  /** deletes the victims (after marking them DisruptionTarget) so that the pod fits on the nominated node */
  private async preempt(pod: Pod, node: string, victims: Pod[]): Promise<void> {
    this.stats.preemptions++;
    const now = rfc3339();
    await Promise.all(
      victims.map(async (v) => {
        const ns = v.metadata.namespace;
        const name = v.metadata.name!;
        try {
          const condition = {
            type: 'DisruptionTarget',
            status: 'True',
            reason: 'PreemptionByScheduler',
            message: `${this.name}: preempting to accommodate a higher priority pod`,
            lastTransitionTime: now,
          };
          await this.opts.client.patch(Pods, ns, name, { status: { conditions: [condition] } }, 'strategic', {
            subresource: 'status',
          });
          await this.opts.client.delete(Pods, ns, name, { preconditions: { uid: v.metadata.uid } });
          this.opts.recorder.event(v, 'Normal', 'Preempted', `Preempted by pod ${pod.metadata.uid} on node ${node}`);
        } catch (e) {
          if (!isNotFound(e)) this.log(`preempting ${keyOf(v)} for ${keyOf(pod)} failed: ${(e as Error).message}`);
        }
      }),
    );
  }

  /** the PodScheduled=False condition (and the nominated node) on the pod, and a FailedScheduling event */
  private async reportFailure(
    pod: Pod,
    reason: 'Unschedulable' | 'SchedulerError',
    message: string,
    nominatedNodeName?: string,
  ): Promise<void> {
    this.opts.recorder.event(pod, 'Warning', 'FailedScheduling', message);
    const cur = (pod.status?.conditions ?? []).find((c) => c.type === 'PodScheduled');
    const nominationSame =
      (pod.status?.nominatedNodeName ?? undefined) === nominatedNodeName || nominatedNodeName === undefined;
    if (cur && cur.status === 'False' && cur.reason === reason && cur.message === message && nominationSame) return;
    const now = rfc3339();
    const status: Record<string, unknown> = {
      conditions: [
        {
          type: 'PodScheduled',
          status: 'False',
          reason,
          message,
          lastProbeTime: null,
          lastTransitionTime: cur?.status === 'False' ? cur.lastTransitionTime : now,
        },
      ],
    };
    if (nominatedNodeName) status.nominatedNodeName = nominatedNodeName;
    try {
      await this.opts.client.patch(Pods, pod.metadata.namespace, pod.metadata.name!, { status }, 'strategic', {
        subresource: 'status',
      });
    } catch (e) {
      if (!isNotFound(e)) this.log(`recording why ${keyOf(pod)} is not scheduled failed: ${(e as Error).message}`);
    }
  }
}

/** a node change that may let a parked pod fit */
function nodeSchedulingChanged(o: Node, n: Node): boolean {
  const ready = (x: Node) => (x.status?.conditions ?? []).find((c) => c.type === 'Ready')?.status;
  return (
    JSON.stringify(o.metadata.labels) !== JSON.stringify(n.metadata.labels) ||
    JSON.stringify(o.spec?.taints) !== JSON.stringify(n.spec?.taints) ||
    o.spec?.unschedulable !== n.spec?.unschedulable ||
    JSON.stringify(o.status?.allocatable) !== JSON.stringify(n.status?.allocatable) ||
    ready(o) !== ready(n)
  );
}

/** the pod changed in what scheduling reads (not only its status) */
function schedulingInputsChanged(o: Pod, n: Pod): boolean {
  return (
    JSON.stringify(o.spec) !== JSON.stringify(n.spec) ||
    JSON.stringify(o.metadata.labels) !== JSON.stringify(n.metadata.labels)
  );
}
