/**
 * The controller manager: sets up the enabled controllers, one work queue and a pool of workers each, over one shared
 * set of informers. A worker takes a key, reconciles it, forgets its backoff on success, re-queues it with backoff
 * on an error and after requeueAfterMs when asked. The informers must be synced before the first reconcile.
 */
import { randomUUID } from 'node:crypto';
import type { ApiClient } from '../lib/kube/api.ts';
import { ApiEventRecorder } from '../lib/kube/events.ts';
import { InformerFactory } from '../lib/kube/informer.ts';
import { LeaderElector } from '../lib/kube/leader-election.ts';
import { MemoryQueue } from '../lib/workqueue/memory.ts';
import type { QueueFactory, WorkQueue } from '../lib/workqueue/queue.ts';
import { DEFAULT_CONTROLLER_OPTIONS, type ControllerDefinition, type ControllerOptions, type Reconciler } from './controller.ts';

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
}

interface Running {
  def: ControllerDefinition;
  queue: WorkQueue;
  reconciler: Reconciler;
  workers: Promise<void>[];
  /** a singleton beside a shared queue: reconciles only while this elector leads (and has caught up) */
  elector?: LeaderElector;
  leading?: boolean;
  /** set while the singleton catches up after taking its Lease: keys wait for it */
  catchingUp?: Promise<void>;
}

/** Which controllers the --controllers list turns on, in the order of the registry. Unknown names are an error. */
export function selectControllers(defs: readonly ControllerDefinition[], spec: string[] = ['*']): ControllerDefinition[] {
  const names = new Set(defs.map((d) => d.name));
  for (const s of spec) {
    const n = s.replace(/^-/, '');
    if (n !== '*' && !names.has(n)) throw new Error(`--controllers: unknown controller "${n}"; known: ${[...names].join(', ')}`);
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
    for (const def of selectControllers(this.opts.definitions, this.opts.enabled)) {
      const singleton = !!def.singleton && !!options.sharedQueue;
      const queue = singleton ? new MemoryQueue(def.name) : this.opts.queues(def.name);
      const recorder = new ApiEventRecorder(this.opts.client, def.component, this.opts.host);
      const reconciler = await def.setup({
        client: this.opts.client,
        informers: this.informers,
        recorder,
        enqueue: (key) => queue.add(key),
        enqueueAfter: (key, ms) => queue.addAfter(key, ms),
        options,
        log: (m) => this.log(`${def.name}: ${m}`),
      });
      const r: Running = { def, queue, reconciler, workers: [] };
      if (singleton) r.elector = this.singletonElector(r);
      this.running.push(r);
    }
    this.informers.start();
    await this.informers.waitForSync();
    if (this.stopping) return;
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
  private singletonElector(r: Running): LeaderElector {
    const name = `skiff-${r.def.name}`;
    return new LeaderElector({
      client: this.opts.client,
      namespace: 'kube-system',
      name,
      identity: `${this.opts.host ?? 'controller-manager'}_${randomUUID()}`,
      onStartedLeading: () => {
        r.catchingUp = (async () => r.reconciler.onStartedLeading?.())().then(
          () => {
            r.catchingUp = undefined;
            if (this.stopping) return;
            r.leading = true;
            this.log(`${r.def.name}: acting (holds the Lease kube-system/${name})`);
          },
          (e) => {
            r.catchingUp = undefined;
            // not acting without a fresh view: give the Lease up so that this or another manager tries again
            this.log(`${r.def.name}: could not catch up after taking the Lease: ${(e as Error).message}`);
            void r.elector?.stop().then(() => !this.stopping && void r.elector?.run());
          },
        );
      },
      onStoppedLeading: () => {
        r.leading = false;
      },
      log: (m) => this.log(`${r.def.name}: ${m}`),
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
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
          if (tries >= 3) this.log(`${r.def.name}: reconciling ${key} failed (attempt ${tries + 1}): ${(e as Error).message}`);
          r.queue.addRateLimited(key);
        }
      } finally {
        r.queue.done(key);
      }
    }
  }
}
