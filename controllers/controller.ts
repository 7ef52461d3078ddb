/**
 * What a controller is, in controller-runtime's shape: a reconcile of one key, level-based (it reads the current
 * state from the informers' caches and never trusts the event that woke it), plus the watches that put keys on its
 * queue. The manager (manager.ts) owns the queues, the workers, the informers and leader election; the registry
 * (registry.ts) lists every controller.
 */
import type { ApiClient } from '../lib/kube/api.ts';
import type { EventRecorder } from '../lib/kube/events.ts';
import type { InformerFactory } from '../lib/kube/informer.ts';

export interface Result {
  /** reconcile this key again after this many milliseconds (e.g. to check a deadline) */
  requeueAfterMs?: number;
}

/** What the manager gives a controller when it sets it up. */
export interface ControllerContext {
  client: ApiClient;
  informers: InformerFactory;
  /** a recorder whose events name this controller as source.component */
  recorder: EventRecorder;
  /** puts a key on this controller's queue */
  enqueue(key: string): void;
  /** puts a key on this controller's queue after a delay */
  enqueueAfter(key: string, delayMs: number): void;
  /** options of the controller manager (cluster CIDR, node monitor periods, ...) */
  options: ControllerOptions;
  log(msg: string): void;
}

export interface ControllerOptions {
  /** pod CIDR of the cluster, from which each node gets a /24 (node IPAM) */
  clusterCIDR: string;
  /** mask size of each node's podCIDR */
  nodeCIDRMaskSize: number;
  /** a node whose Lease is older than this is NotReady/Unknown */
  nodeMonitorGracePeriodMs: number;
  /** how often node health is checked */
  nodeMonitorPeriodMs: number;
  /** workers per controller unless the controller says otherwise */
  workers: number;
  /**
   * the work queue is shared with other controller-manager processes (Redis): a key may have been handled last by
   * another process, so a controller about to create or delete confirms its counts with a fresh read of the API
   * instead of trusting its own expectations and cache alone
   */
  sharedQueue?: boolean;
}

export const DEFAULT_CONTROLLER_OPTIONS: ControllerOptions = {
  clusterCIDR: '10.244.0.0/16',
  nodeCIDRMaskSize: 24,
  nodeMonitorGracePeriodMs: 40_000,
  nodeMonitorPeriodMs: 5_000,
  workers: 5,
  sharedQueue: false,
};

export interface Reconciler {
  reconcile(key: string): Promise<Result | void>;
  /**
   * a singleton controller has just taken its Lease (see ControllerDefinition.singleton): rebuild what it holds from
   * a fresh read of the API and queue every key it may have to act on; reconciles wait until this is done
   */
  onStartedLeading?(): Promise<void>;
  /** background loops the controller runs beside its queue (node monitor, ...), stopped with the manager */
  stop?(): void;
}

export interface ControllerDefinition {
  /** the name used by --controllers and in events: "deployment", "replicaset", "garbage-collector", ... */
  name: string;
  /** source.component of its events, as Kubernetes names it: "deployment-controller" */
  component: string;
  /** off unless named in --controllers */
  disabledByDefault?: boolean;
  workers?: number;
  /**
   * its state is global (node IPAM's table of ranges), so only one instance may act at a time: when controller
   * managers share a Redis queue, it keeps an in-process queue in each of them and reconciles only in the one holding
   * the Lease kube-system/skiff-<name> (as every controller does behind the manager's own Lease otherwise)
   */
  singleton?: boolean;
  /** registers informer handlers that enqueue keys, and returns the reconciler */
  setup(ctx: ControllerContext): Reconciler | Promise<Reconciler>;
}
