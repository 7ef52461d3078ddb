/**
 * The scheduling queue (kube-scheduler's PriorityQueue): pods wait in the active queue (a heap) by priority, then by
 * creation time, then by arrival; a pod that failed waits out its backoff (1 s doubling to 10 s per attempt) in the
 * backoff queue (a heap by expiry); a pod that fits nowhere is parked as unschedulable, with the plugins that
 * rejected it, until the cluster changes in a way that may help (a node added or updated, a pod removed: everyone;
 * a pod placed: those rejected by affinity or spreading), or for at most 5 minutes. A change seen while a pod was
 * being scheduled sends it to backoff rather than parking it.
 */
import { keyOf } from '../../lib/kube/object.ts';
import type { Pod } from '../../lib/kube/types/core-v1.ts';
import { KeyedHeap } from './heap.ts';

export interface QueuedPod {
  pod: Pod;
  key: string;
  /** when it entered the queue first (for the priority order and the time to schedule) */
  initialAt: number;
  queuedAt: number;
  attempts: number;
  backoffUntil: number;
  unschedulableSince?: number;
  /** the plugins that rejected it last time */
  unschedulablePlugins?: readonly string[];
  /** metadata.creationTimestamp in ms (0 when unknown) */
  createdAt: number;
  /** arrival order, for ties */
  seq: number;
}

export const INITIAL_BACKOFF_MS = 1000;
export const MAX_BACKOFF_MS = 10_000;
export const UNSCHEDULABLE_MAX_MS = 5 * 60_000;

const priorityOf = (p: Pod) => (typeof p.spec?.priority === 'number' ? p.spec.priority : 0);

export class SchedulingQueue {
  private readonly active = new KeyedHeap<QueuedPod>((a, b) => {
    const pa = priorityOf(a.pod);
    const pb = priorityOf(b.pod);
    if (pa !== pb) return pa > pb;
    if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt;
    return a.seq < b.seq;
  });
  private readonly backoff = new KeyedHeap<QueuedPod>((a, b) => a.backoffUntil < b.backoffUntil);
  private readonly unschedulable = new Map<string, QueuedPod>();
  /** plugin name -> keys of parked pods it rejected */
  private readonly parkedByPlugin = new Map<string, Set<string>>();
  private seq = 0;
  /** pods handed out and not yet done */
  private readonly inFlight = new Map<string, QueuedPod>();
  private moveSeq = 0;
  private readonly poppedAtSeq = new Map<string, number>();
  private waiter: ((q: QueuedPod | undefined) => void) | undefined;
  private backoffTimer: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly now: () => number = Date.now) {
    this.flushTimer = setInterval(() => this.flushUnschedulableLeftover(), 30_000);
    this.flushTimer.unref();
  }

  /**
   * a new pending pod, or a newer version of one already queued; `changed` says whether what scheduling depends on
   * changed (not only its status): only then does a parked pod get another try
   */
  addOrUpdate(pod: Pod, changed = true): void {
    const key = keyOf(pod);
    const fly = this.inFlight.get(key);
    if (fly) {
      fly.pod = pod;
      return;
    }
    for (const h of [this.active, this.backoff]) {
      const q = h.get(key);
      if (q) {
        q.pod = pod;
        return;
      }
    }
    const parked = this.unschedulable.get(key);
    if (parked) {
      parked.pod = pod;
      if (!changed) return;
      // an update to the pod itself may make it schedulable: retry (after its backoff)
      this.unpark(parked);
      this.requeue(parked);
      return;
    }
    const t = this.now();
    const created = Date.parse(pod.metadata.creationTimestamp ?? '');
    this.pushActive({
      pod,
      key,
      initialAt: t,
      queuedAt: t,
      attempts: 0,
      backoffUntil: 0,
      createdAt: Number.isNaN(created) ? 0 : created,
      seq: ++this.seq,
    });
  }

  /** the pod was bound, deleted, or is no longer for this scheduler */
  delete(key: string): void {
    this.active.delete(key);
    this.backoff.delete(key);
    const parked = this.unschedulable.get(key);
    if (parked) this.unpark(parked);
    const fly = this.inFlight.get(key);
    if (fly)
      fly.pod = {
        ...fly.pod,
        metadata: { ...fly.pod.metadata, deletionTimestamp: fly.pod.metadata.deletionTimestamp ?? 'gone' },
      };
  }

  has(key: string): boolean {
    return this.active.has(key) || this.backoff.has(key) || this.unschedulable.has(key) || this.inFlight.has(key);
  }

  /** the next pod to schedule; waits when none is ready; undefined once closed */
  pop(): Promise<QueuedPod | undefined> {
    const q = this.take();
    if (q || this.closed) return Promise.resolve(q);
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  /** the next pod if one is ready now */
  tryPop(): QueuedPod | undefined {
    return this.take();
  }

  /** scheduling of the pod ended: bound (or given up) */
  done(key: string): void {
    this.inFlight.delete(key);
    this.poppedAtSeq.delete(key);
  }

  /** the pod fits nowhere now (rejected by `plugins`): park it, or back off if the cluster changed meanwhile */
  unschedulableAgain(q: QueuedPod, plugins: readonly string[] = []): void {
    const key = q.key;
    const seq = this.poppedAtSeq.get(key) ?? 0;
    this.done(key);
    if (q.pod.metadata.deletionTimestamp === 'gone') return;
    q.attempts++;
    if (this.moveSeq > seq) {
      this.requeue(q);
    } else {
      q.unschedulableSince = this.now();
      q.unschedulablePlugins = plugins;
      this.unschedulable.set(key, q);
      for (const p of plugins) {
        let set = this.parkedByPlugin.get(p);
        if (!set) this.parkedByPlugin.set(p, (set = new Set()));
        set.add(key);
      }
    }
  }

  /** scheduling failed for another reason (bind error): retry after backoff */
  retryLater(q: QueuedPod): void {
    this.done(q.key);
    if (q.pod.metadata.deletionTimestamp === 'gone') return;
    q.attempts++;
    this.requeue(q);
  }

  /** the cluster changed in a way that may let parked pods fit: all of them go back (through their backoff) */
  moveAllToActiveOrBackoff(): void {
    this.moveSeq++;
    if (!this.unschedulable.size) return;
    for (const q of this.unschedulable.values()) this.requeue(q);
    this.unschedulable.clear();
    this.parkedByPlugin.clear();
  }

  /** a change that may lift the rejections of these plugins only: their parked pods go back (through backoff) */
  moveForPlugins(plugins: readonly string[]): void {
    this.moveSeq++;
    for (const p of plugins) {
      const keys = this.parkedByPlugin.get(p);
      if (!keys) continue;
      for (const k of [...keys]) {
        const q = this.unschedulable.get(k);
        if (!q) continue;
        this.unpark(q);
        this.requeue(q);
      }
    }
  }

  /** some parked pod was rejected by one of these plugins */
  parkedFor(plugins: readonly string[]): boolean {
    return plugins.some((p) => (this.parkedByPlugin.get(p)?.size ?? 0) > 0);
  }

  private unpark(q: QueuedPod): void {
    this.unschedulable.delete(q.key);
    for (const p of q.unschedulablePlugins ?? []) {
      const set = this.parkedByPlugin.get(p);
      set?.delete(q.key);
      if (set && !set.size) this.parkedByPlugin.delete(p);
    }
    q.unschedulablePlugins = undefined;
  }

  stats(): { active: number; backoff: number; unschedulable: number; inFlight: number } {
    return {
      active: this.active.size,
      backoff: this.backoff.size,
      unschedulable: this.unschedulable.size,
      inFlight: this.inFlight.size,
    };
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.backoffTimer);
    clearInterval(this.flushTimer);
    const w = this.waiter;
    this.waiter = undefined;
    w?.(undefined);
  }

  private take(): QueuedPod | undefined {
    this.flushBackoff();
    const q = this.active.pop();
    if (!q) return undefined;
    this.inFlight.set(q.key, q);
    this.poppedAtSeq.set(q.key, this.moveSeq);
    return q;
  }

  private requeue(q: QueuedPod): void {
    q.unschedulableSince = undefined;
    q.backoffUntil = this.now() + Math.min(MAX_BACKOFF_MS, INITIAL_BACKOFF_MS * 2 ** Math.max(0, q.attempts - 1));
    if (q.backoffUntil <= this.now()) this.pushActive(q);
    else {
      this.backoff.push(q.key, q);
      this.armBackoffTimer();
    }
  }

  private pushActive(q: QueuedPod): void {
    q.queuedAt = this.now();
    this.active.push(q.key, q);
    const w = this.waiter;
    if (w) {
      const next = this.take();
      if (next) {
        this.waiter = undefined;
        w(next);
      }
    }
  }

  private flushBackoff(): void {
    const t = this.now();
    for (let top = this.backoff.peek(); top && top.backoffUntil <= t; top = this.backoff.peek()) {
      this.backoff.pop();
      top.queuedAt = t;
      this.active.push(top.key, top);
    }
  }

  private armBackoffTimer(): void {
    const top = this.backoff.peek();
    if (!top) return;
    clearTimeout(this.backoffTimer);
    this.backoffTimer = setTimeout(
      () => {
        this.flushBackoff();
        if (this.waiter && this.active.size) {
          const w = this.waiter;
          this.waiter = undefined;
          w(this.take());
        }
        this.armBackoffTimer();
      },
      Math.max(0, top.backoffUntil - this.now()) + 1,
    );
    this.backoffTimer.unref();
  }

  /** parked pods waiting longer than 5 minutes go back; runs every 30 s, exposed for tests */
  flushUnschedulableLeftover(): void {
    const t = this.now();
    for (const q of this.unschedulable.values()) {
      if (t - (q.unschedulableSince ?? t) >= UNSCHEDULABLE_MAX_MS) {
        this.unpark(q);
        this.requeue(q);
      }
    }
    if (this.waiter && this.active.size) {
      const w = this.waiter;
      this.waiter = undefined;
      w(this.take());
    }
  }
}
