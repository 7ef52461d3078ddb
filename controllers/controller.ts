/**
 * What a controller is, in controller-runtime's shape: a reconcile of one key, level-based (it reads the current
 * state from the informers' caches and never trusts the event that woke it), and a declaration of what puts keys on
 * its queue, as controller-runtime's builder says it: `for` the kind it reconciles, `owns` the kinds it creates (their
 * controller ownerReference enqueues the owner), `watches` other kinds with a mapping from an object to keys. The
 * manager (manager.ts) registers the informers, indexes and handlers from the declaration and owns the queues, the
 * workers and leader election; the registry (registry.ts) lists every controller; testing.ts runs one in unit tests.
 */
import type { ApiClient } from '../lib/kube/api.ts';
import type { EventRecorder } from '../lib/kube/events.ts';
import type { EventHandler, Informer, InformerFactory } from '../lib/kube/informer.ts';
import { controllerOf, type KubeObject, type OwnerReference } from '../lib/kube/object.ts';
import { apiVersionOf, type Resource } from '../lib/kube/resources.ts';
import type { Expectations } from './expectations.ts';

export interface Result {
  /** reconcile this key again after this many milliseconds (e.g. to check a deadline) */
  requeueAfterMs?: number;
}

/** What the manager gives a controller when it builds its reconciler. */
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
  /** the time in milliseconds, as reconciles read it (a fixed clock in tests) */
  now(): number;
  /** those of the resources the API server serves (asked once per manager, whoever asks) */
  served(candidates: readonly Resource[]): Promise<Resource[]>;
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
  /** starts the background loops the controller runs beside its queue (node monitor, ...), once the caches synced */
  start?(): void;
  /** stops them, with the manager */
  stop?(): void;
}

/** where handlers put keys */
export interface Queue {
  add(key: string): void;
  addAfter(key: string, delayMs: number): void;
}

/**
 * One kind of object a controller reacts to, and which of its events count. A filter left out lets every event of
 * its kind through; `update` sees the object before and after. Callbacks get the controller's reconciler, for what
 * it knows (its caches, what it wrote).
 */
export interface Source<R extends Reconciler = Reconciler> {
  resource: Resource;
  /** a namespace or selector narrowing what is watched (one shared informer per distinct choice) */
  select?: { namespace?: string; labelSelector?: string; fieldSelector?: string };
  /** informer indexes the reconcile reads, by name */
  indexes?: Readonly<Record<string, (obj: KubeObject) => string[]>>;
  /** index the objects by the uid of their controller owner, for controlledBy() */
  ownerIndex?: boolean;
  /** the keys of its events are queued after this delay, so that a burst of them makes one pass */
  delayMs?: number;
  add?(obj: KubeObject, r: R): boolean;
  update?(old: KubeObject, obj: KubeObject, r: R): boolean;
  delete?(obj: KubeObject, r: R): boolean;
}

/** a kind whose objects are created by the controller and name it as their controller owner */
export interface Owned<R extends Reconciler = Reconciler> extends Source<R> {
  /**
   * the reconciler's expectations of these objects (expectations.ts): their creation is observed when they appear,
   * their deletion when they are marked for deletion or go, and an owner's are forgotten when it is deleted
   */
  expectations?(r: R): Expectations;
}

/** another kind whose events concern the objects of the controller, by a mapping to their keys */
export interface Mapped<R extends Reconciler = Reconciler> extends Source<R> {
  /** the keys an event about this object puts on the queue (for an update: those of the old and the new object) */
  map(obj: KubeObject, r: R): Iterable<string>;
}

/** a kind whose events a whole handler turns into keys, for what a mapping cannot say (the garbage collector's graph) */
export interface Handled<R extends Reconciler = Reconciler> extends Pick<
  Source<R>,
  'resource' | 'select' | 'indexes' | 'ownerIndex'
> {
  handler(r: R, queue: Queue): EventHandler<KubeObject>;
}

export type Watch<R extends Reconciler = Reconciler> = Mapped<R> | Handled<R>;

export interface ControllerDefinition<R extends Reconciler = Reconciler> {
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
  /** the kind it reconciles: an event about an object queues its key ("namespace/name", or "name") */
  for?: Resource | Source<R>;
  /** kinds it creates: an event about one queues the key of its controller owner, an object of the `for` kind */
  owns?: readonly (Resource | Owned<R>)[];
  /** other kinds that concern it; a function when they are known only at start (what the API server serves) */
  watches?: readonly Watch<R>[] | ((ctx: ControllerContext) => Promise<readonly Watch<R>[]>);
  /** builds the reconciler, once the informers and indexes of the declaration exist */
  reconciler(ctx: ControllerContext): R | Promise<R>;
}

/** a filter that lets no event of its kind through: `delete: ignore` */
export const ignore = (): boolean => false;

/** the informer index of objects by the uid of their controller owner */
export const CONTROLLER_INDEX = 'controller-uid';

export function controllerUids(obj: KubeObject): string[] {
  const c = controllerOf(obj);
  return c ? [c.uid] : [];
}

/** the objects whose controller owner has this uid (the informer must be declared in `owns` or with `ownerIndex`) */
export function controlledBy(informer: Informer, ownerUid: string): KubeObject[] {
  return informer.byIndex(CONTROLLER_INDEX, ownerUid);
}

/**
 * The controller owner of an object, if it is in the owners' cache: its controller ownerReference names the kind
 * of these owners, and the cached object of that name has its uid (an owner deleted and made again is another).
 */
export function resolveController(obj: KubeObject, owners: Informer): KubeObject | undefined {
  const ref = controllerOf(obj);
  const r = owners.resource;
  if (!ref || ref.kind !== r.kind || groupOf(ref.apiVersion) !== r.group) return undefined;
  const owner = owners.getByName(r.namespaced ? obj.metadata.namespace : undefined, ref.name);
  return owner?.metadata.uid === ref.uid ? owner : undefined;
}

function groupOf(apiVersion: string): string {
  const i = apiVersion.indexOf('/');
  return i < 0 ? '' : apiVersion.slice(0, i);
}

/** the ownerReference naming an owner as controller, as controllers set it on what they create */
export function controllerRef(owner: KubeObject, resource: Resource): OwnerReference {
  return {
    apiVersion: apiVersionOf(resource),
    kind: resource.kind,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}
