/**
 * The controller manager: sets up the enabled controllers, one work queue and a pool of workers each, over one shared
 * set of informers. A worker takes a key, reconciles it, forgets its backoff on success, re-queues it with backoff
 * on an error and after requeueAfterMs when asked. The informers must be synced before the first reconcile.
 * wireController turns a controller's declaration (for, owns, watches) into informers, indexes and event handlers.
 */
import { randomUUID } from 'node:crypto';
import type { ApiClient } from '../lib/kube/api.ts';
import { ApiEventRecorder } from '../lib/kube/events.ts';
import { InformerFactory, type EventHandler, type Informer } from '../lib/kube/informer.ts';
import { LeaderElector, type LeaderElectorOptions } from '../lib/kube/leader-election.ts';
import { keyOf, type KubeObject } from '../lib/kube/object.ts';
import type { Resource } from '../lib/kube/resources.ts';
import { MemoryQueue } from '../lib/workqueue/memory.ts';
import type { QueueFactory, WorkQueue } from '../lib/workqueue/queue.ts';
import {
  CONTROLLER_INDEX,
  DEFAULT_CONTROLLER_OPTIONS,
  controllerUids,
  resolveController,
  type ControllerContext,
  type ControllerDefinition,
  type ControllerOptions,
  type Owned,
  type Queue,
  type Reconciler,
  type Source,
} from './controller.ts';
import { ServedResources } from './discovery.ts';
import type { Expectations } from './expectations.ts';

export interface ManagerOptions {
  client: ApiClient;
  /** where queues come from: in process by default, or Redis */
  queues: QueueFactory;
  definitions: readonly ControllerDefinition[];
  /** --controllers: "*" (all on by default), "name" (enable), "-name" (disable); default ["*"] */
  enabled?: string[];
  options?: Partial<ControllerOptions>;
  /** informers to share with other components in the same process */
  informers?: InformerFactory;
  host?: string;
  log?(msg: string): void;
  /** makes the elector of a singleton's Lease (tests; default LeaderElector) */
  elector?(opts: LeaderElectorOptions): SingletonElector;
  /** the delay before a failed catch-up of a singleton is tried again, doubling up to maxMs (default 1 s to 30 s) */
  catchUpRetry?: { initialMs: number; maxMs: number };
}

/** what the manager uses of a LeaderElector */
export type SingletonElector = Pick<LeaderElector, 'run' | 'stop' | 'isLeader'>;

interface Running {
  def: ControllerDefinition;
  queue: WorkQueue;
  reconciler: Reconciler;
  workers: Promise<void>[];
  /** a singleton beside a shared queue: reconciles only while this elector leads (and has caught up) */
  elector?: SingletonElector;
  leading?: boolean;
  /** set while the singleton catches up after taking its Lease: keys wait for it */
  catchingUp?: Promise<void>;
  /**
   * bumped whenever leading starts or stops: a catch-up that finishes (or a retry that fires) after the Lease it was
   * for was lost, or lost and taken again, belongs to an earlier term and must not make this one act
   */
  generation: number;
  /** a failed catch-up waiting to be tried again */
  retry?: NodeJS.Timeout;
  /** the delay before the next retry; unset after a successful catch-up */
  retryDelayMs?: number;
}

/** Which controllers the --controllers list turns on, in the order of the registry. Unknown names are an error. */
export function selectControllers(
  defs: readonly ControllerDefinition[],
  spec: string[] = ['*'],
): ControllerDefinition[] {
  const names = new Set(defs.map((d) => d.name));
  for (const s of spec) {
    const n = s.replace(/^-/, '');
    if (n !== '*' && !names.has(n))
      throw new Error(`--controllers: unknown controller "${n}"; known: ${[...names].join(', ')}`);
  }
  const star = spec.includes('*');
  return defs.filter((d) => {
    if (spec.includes(`-${d.name}`)) return false;
    if (spec.includes(d.name)) return true;
    return star && !d.disabledByDefault;
  });
}

export class ControllerManager {
  readonly name = 'controller-manager';
  readonly informers: InformerFactory;
  private readonly running: Running[] = [];
  private stopping = false;
  private started = false;
  private readonly log: (msg: string) => void;

  constructor(private readonly opts: ManagerOptions) {
    this.informers = opts.informers ?? new InformerFactory(opts.client);
    this.log = opts.log ?? ((m) => console.log(`controller-manager: ${m}`));
  }

  /** sets up every enabled controller, starts the informers, waits for them, then starts the workers */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const options: ControllerOptions = { ...DEFAULT_CONTROLLER_OPTIONS, ...this.opts.options };
    const served = new ServedResources(this.opts.client, this.log);
    for (const def of selectControllers(this.opts.definitions, this.opts.enabled)) {
      const singleton = !!def.singleton && !!options.sharedQueue;
      const queue = singleton ? new MemoryQueue(def.name) : this.opts.queues(def.name);
      const recorder = new ApiEventRecorder(this.opts.client, def.component, this.opts.host);
      const reconciler = await wireController(def, {
        client: this.opts.client,
        informers: this.informers,
        recorder,
        enqueue: (key) => queue.add(key),
        enqueueAfter: (key, ms) => queue.addAfter(key, ms),
        options,
        log: (m) => this.log(`${def.name}: ${m}`),
        now: Date.now,
        served: (candidates) => served.of(candidates),
      });
      const r: Running = { def, queue, reconciler, workers: [], generation: 0 };
      if (singleton) r.elector = this.singletonElector(r);
      this.running.push(r);
    }
    this.informers.start();
    await this.informers.waitForSync();
    if (this.stopping) return;
    for (const r of this.running) r.reconciler.start?.();
    for (const r of this.running) void r.elector?.run();
    for (const r of this.running) {
      const n = r.def.workers ?? options.workers;
      for (let i = 0; i < n; i++) r.workers.push(this.work(r));
    }
    this.log(`started controllers: ${this.running.map((r) => r.def.name).join(', ')}`);
  }

  /** names of the running controllers */
  controllers(): string[] {
    return this.running.map((r) => r.def.name);
  }

  /** healthy when every informer has synced */
  healthy(): boolean {
    return this.informers.health().every((h) => h.synced);
  }

  /** the Lease a singleton controller holds while it acts, when controller managers share a queue */
  private singletonElector(r: Running): SingletonElector {
    const name = `skiff-${r.def.name}`;
    const opts: LeaderElectorOptions = {
      client: this.opts.client,
      namespace: 'kube-system',
      name,
      identity: `${this.opts.host ?? 'controller-manager'}_${randomUUID()}`,
      onStartedLeading: () => {
        r.generation++;
        this.cancelRetry(r);
        this.catchUp(r, r.generation, `kube-system/${name}`);
      },
      onStoppedLeading: () => {
        r.generation++;
        r.leading = false;
        r.catchingUp = undefined;
        this.cancelRetry(r);
      },
      log: (m) => this.log(`${r.def.name}: ${m}`),
    };
    return this.opts.elector?.(opts) ?? new LeaderElector(opts);
  }

  /** rebuilds the singleton's view after it took its Lease; it acts only if that term is still current when done */
  private catchUp(r: Running, generation: number, lease: string): void {
    const current = () => generation === r.generation && !this.stopping && !!r.elector?.isLeader();
    const attempt = (async () => r.reconciler.onStartedLeading?.())();
    r.catchingUp = attempt;
    attempt.then(
      () => {
        if (r.catchingUp === attempt) r.catchingUp = undefined;
        if (!current()) return;
        r.leading = true;
        r.retryDelayMs = undefined;
        this.log(`${r.def.name}: acting (holds the Lease ${lease})`);
      },
      (e) => {
        if (r.catchingUp === attempt) r.catchingUp = undefined;
        if (!current()) return;
        // Not acting without a fresh view, but keeping the Lease: a standby would list from the same API server, and
        // giving the Lease up to take it again at once would loop on writes and lists against it.
        const { initialMs, maxMs } = this.opts.catchUpRetry ?? { initialMs: 1_000, maxMs: 30_000 };
        const delay = r.retryDelayMs ?? initialMs;
        r.retryDelayMs = Math.min(delay * 2, maxMs);
        this.log(
          `${r.def.name}: holds the Lease ${lease} but does not act: rebuilding its state from the API failed ` +
            `(${(e as Error).message}); retrying in ${delay / 1000} s. No manager runs ${r.def.name} until this ` +
            `succeeds: check that the API server is reachable and that this manager may list what ${r.def.name} reads`,
        );
        r.retry = setTimeout(() => {
          r.retry = undefined;
          if (current()) this.catchUp(r, generation, lease);
        }, delay);
      },
    );
  }

  private cancelRetry(r: Running): void {
    clearTimeout(r.retry);
    r.retry = undefined;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const r of this.running) this.cancelRetry(r);
    await Promise.all(this.running.map((r) => r.elector?.stop()));
    for (const r of this.running) r.reconciler.stop?.();
    await Promise.all(this.running.map((r) => r.queue.shutDown()));
    this.informers.stop();
    await Promise.all(this.running.flatMap((r) => r.workers));
  }

  private async work(r: Running): Promise<void> {
    for (;;) {
      const key = await r.queue.get();
      if (key === undefined) return;
      if (r.catchingUp) await r.catchingUp;
      if (r.elector && !r.leading) {
        // another manager acts for this singleton; its keys are queued again when this one takes over
        r.queue.forget(key);
        r.queue.done(key);
        continue;
      }
      try {
        const res = await r.reconciler.reconcile(key);
        r.queue.forget(key);
        if (res?.requeueAfterMs !== undefined && !this.stopping) r.queue.addAfter(key, res.requeueAfterMs);
      } catch (e) {
        if (!this.stopping) {
          const tries = r.queue.numRequeues(key);
          // the first failures are usually conflicts with a newer version: retried quietly, reported when they persist
          if (tries >= 3)
            this.log(`${r.def.name}: reconciling ${key} failed (attempt ${tries + 1}): ${(e as Error).message}`);
          r.queue.addRateLimited(key);
        }
      } finally {
        r.queue.done(key);
      }
    }
  }
}

/**
 * Builds a controller from its declaration: the informers and indexes of its `for`, `owns` and `watches` kinds, then
 * its reconciler, then the event handlers that put keys on its queue (registered last: they may ask the reconciler).
 * The manager runs it for every controller, and the unit tests' fixture (testing.ts) for the one under test.
 */
export async function wireController<R extends Reconciler>(
  def: ControllerDefinition<R>,
  ctx: ControllerContext,
): Promise<R> {
  const forKind = def.for && asSource(def.for);
  const owns = (def.owns ?? []).map((o): Owned<R> => ({ ...asSource(o), ownerIndex: true }));
  const watches = typeof def.watches === 'function' ? await def.watches(ctx) : (def.watches ?? []);
  if (owns.length && !forKind) throw new Error(`controller ${def.name}: it owns kinds but reconciles no kind (for)`);

  const forInformer = forKind && informerOf(ctx, forKind);
  const ownedInformers = owns.map((o) => informerOf(ctx, o));
  const watchInformers = watches.map((w) => informerOf(ctx, w));
  const r = await def.reconciler(ctx);
  const queue: Queue = {
    add: (k) => ctx.enqueue(k),
    addAfter: (k, ms) => ctx.enqueueAfter(k, ms),
  };

  if (forKind && forInformer) {
    const forget = owns.flatMap((o) => (o.expectations ? [o.expectations(r)] : []));
    forInformer.addEventHandler(
      enqueueing(forKind, r, queue, (o) => [keyOf(o)], {
        deleted: (o) => {
          for (const e of forget) e.delete(keyOf(o));
        },
      }),
    );
    owns.forEach((o, i) => {
      const ownerKey = (obj: KubeObject) => {
        const owner = resolveController(obj, forInformer);
        return owner ? [keyOf(owner)] : [];
      };
      ownedInformers[i].addEventHandler(enqueueing(o, r, queue, ownerKey, observing(o.expectations?.(r), ownerKey)));
    });
  }
  watches.forEach((w, i) => {
    watchInformers[i].addEventHandler(
      'handler' in w ? w.handler(r, queue) : enqueueing(w, r, queue, (o) => w.map(o, r)),
    );
  });
  return r;
}

type Indexed = Pick<Source, 'resource' | 'select' | 'indexes' | 'ownerIndex'>;

/** a kind named by its resource alone: every event counts */
function asSource<R extends Reconciler, S extends Source<R>>(s: Resource | S): S | Source<R> {
  return isResource(s) ? { resource: s } : s;
}

function isResource<R extends Reconciler>(s: Resource | Source<R>): s is Resource {
  return typeof s.resource === 'string';
}

function informerOf(ctx: ControllerContext, s: Indexed): Informer {
  const inf = ctx.informers.informer(s.resource, s.select ?? {});
  for (const [name, fn] of Object.entries(s.indexes ?? {})) inf.addIndex(name, fn);
  if (s.ownerIndex) inf.addIndex(CONTROLLER_INDEX, controllerUids);
  return inf;
}

/** what happened to an object, before its event is filtered (expectations count every event) */
interface Observer {
  added?(obj: KubeObject): void;
  deleting?(obj: KubeObject): void;
  deleted?(obj: KubeObject): void;
}

/** lowers the owner's expectations as its objects appear, start their deletion and go */
function observing(expectations: Expectations | undefined, ownerKey: (o: KubeObject) => string[]): Observer {
  if (!expectations) return {};
  const each = (o: KubeObject, f: (key: string) => void) => {
    for (const k of ownerKey(o)) f(k);
  };
  return {
    added: (o) => each(o, (k) => expectations.creationObserved(k)),
    deleting: (o) => each(o, (k) => expectations.deletionObserved(k, o.metadata.uid)),
    deleted: (o) => each(o, (k) => expectations.deletionObserved(k, o.metadata.uid)),
  };
}

/** the handler of one declared kind: its filters, then the keys its mapping gives, at once or after its delay */
function enqueueing<R extends Reconciler>(
  s: Source<R>,
  r: R,
  queue: Queue,
  map: (o: KubeObject) => Iterable<string>,
  observer: Observer = {},
): EventHandler<KubeObject> {
  const put = (keys: Iterable<string>) => {
    for (const k of keys) {
      if (s.delayMs) queue.addAfter(k, s.delayMs);
      else queue.add(k);
    }
  };
  return {
    onAdd(obj) {
      observer.added?.(obj);
      if (!s.add || s.add(obj, r)) put(map(obj));
    },
    onUpdate(old, obj) {
      if (obj.metadata.deletionTimestamp && !old.metadata.deletionTimestamp) observer.deleting?.(obj);
      if (s.update && !s.update(old, obj, r)) return;
      // the keys of the object before and after: an owner or a selector may have changed
      put(new Set([...map(old), ...map(obj)]));
    },
    onDelete(obj) {
      observer.deleted?.(obj);
      if (!s.delete || s.delete(obj, r)) put(map(obj));
    },
  };
}
