/**
 * The fixture of the controllers' unit tests, in the shape of sample-controller's: objects are seeded into a fake API
 * and the informers' caches, one key runs through the controller's reconcile, and the whole ordered list of API writes
 * is compared with the list the test expects, so that an unexpected extra write fails it. The controller is built from
 * its declaration as the manager builds it (wireController): its handlers see what the test seeds, and the keys they
 * queue are kept in `queued`.
 */
import assert from 'node:assert/strict';
import type { PatchType } from '../lib/kube/api.ts';
import { MemoryEventRecorder } from '../lib/kube/events.ts';
import { FakeClient, type Action } from '../lib/kube/fake.ts';
import { Informer, InformerFactory, type InformerOptions } from '../lib/kube/informer.ts';
import type { KubeObject } from '../lib/kube/object.ts';
import { apiVersionOf, type Resource } from '../lib/kube/resources.ts';
import { parseFieldSelector, parseLabelSelector } from '../lib/selectors.ts';
import {
  DEFAULT_CONTROLLER_OPTIONS,
  type ControllerContext,
  type ControllerDefinition,
  type ControllerOptions,
  type Reconciler,
  type Result,
} from './controller.ts';
import { ServedResources } from './discovery.ts';
import { wireController } from './manager.ts';

export interface FixtureOptions {
  /** a FakeClient of the test's own (one that answers some calls differently) */
  client?: FakeClient;
  options?: Partial<ControllerOptions>;
  /** the time ctx.now() gives, in milliseconds (the real time when left out) */
  clock?: number;
}

/**
 * One write the test expects. `action` is "verb resource[/subresource] [namespace/]name" as `summary` writes it, e.g.
 * "update daemonsets/status kube-system/agent"; `body` is the whole body sent (the patch, the delete options), `has`
 * the part of it that matters: every field it gives must be there with that value (arrays element by element, of the
 * same length; a field given as undefined must be absent; a part given as exactly(value) is compared as a whole).
 */
export interface ExpectedWrite {
  action: string;
  body?: unknown;
  has?: unknown;
  patchType?: PatchType;
}

/** an action as one line: "create pods ns/web-1", "update namespaces/finalize shop" */
export function summary(a: Action): string {
  const what = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  return `${a.verb} ${what} ${a.namespace ? `${a.namespace}/` : ''}${a.name ?? ''}`;
}

/** an InformerFactory that remembers the informers it made and how they select, for seeding their caches */
class SeedableInformers extends InformerFactory {
  readonly made: { informer: Informer; opts: InformerOptions }[] = [];

  override informer<T extends KubeObject = KubeObject>(
    r: Resource<T>,
    opts: InformerOptions<NoInfer<T>> = {},
  ): Informer<T> {
    const inf = super.informer(r, opts);
    const seen = inf as unknown as Informer;
    if (!this.made.some((m) => m.informer === seen)) this.made.push({ informer: seen, opts: opts as InformerOptions });
    return inf;
  }

  /** the informers of a resource that would hold this object */
  holding(r: Resource, obj: KubeObject): Informer[] {
    return this.made
      .filter(({ informer, opts }) => informer.resource === r && selects(opts, obj))
      .map((m) => m.informer);
  }
}

function selects(opts: InformerOptions, obj: KubeObject): boolean {
  if (opts.namespace && obj.metadata.namespace !== opts.namespace) return false;
  const fields = { 'metadata.name': obj.metadata.name ?? '', 'metadata.namespace': obj.metadata.namespace ?? '' };
  if (!parseFieldSelector(opts.fieldSelector).matches(fields)) return false;
  return parseLabelSelector(opts.labelSelector).matches(obj.metadata.labels ?? {});
}

export class ControllerFixture<R extends Reconciler> {
  readonly client: FakeClient;
  readonly informers: SeedableInformers;
  readonly recorder = new MemoryEventRecorder();
  /** keys the controller's handlers (and its reconciles) queued, oldest first: "key", or "key after N ms" */
  readonly queued: string[] = [];
  readonly logs: string[] = [];
  /** the time ctx.now() gives; undefined: the real time */
  clock: number | undefined;
  private built: R | undefined;
  /** the last of the client's actions checked, and the last observed into the caches (the client may clear them) */
  private checked: Action | undefined;
  private observed: Action | undefined;

  private constructor(opts: FixtureOptions) {
    this.client = opts.client ?? new FakeClient();
    this.informers = new SeedableInformers(this.client);
    this.clock = opts.clock;
  }

  /** the controller of a definition, wired as the manager wires it, over synced (hand-filled) caches */
  static async of<R extends Reconciler>(
    def: ControllerDefinition<R>,
    opts: FixtureOptions = {},
  ): Promise<ControllerFixture<R>> {
    const t = new ControllerFixture<R>(opts);
    const served = new ServedResources(t.client, (m) => t.logs.push(m));
    const ctx: ControllerContext = {
      client: t.client,
      informers: t.informers,
      recorder: t.recorder,
      enqueue: (k) => t.queued.push(k),
      enqueueAfter: (k, ms) => t.queued.push(`${k} after ${ms} ms`),
      options: { ...DEFAULT_CONTROLLER_OPTIONS, ...opts.options },
      log: (m) => t.logs.push(m),
      now: () => t.clock ?? Date.now(),
      served: (candidates) => served.of(candidates),
    };
    t.built = await wireController(def, ctx);
    t.informers.markAllSynced();
    t.client.clearActions();
    return t;
  }

  get reconciler(): R {
    return this.built!;
  }

  // ---- the world before the sync ----

  /** an object in the API and in the caches, as the watch brings it; the stored copy (uid, resourceVersion) */
  seed(r: Resource, obj: KubeObject): KubeObject {
    const stored = this.client.seed(r, obj);
    this.cache(r, stored);
    return stored;
  }

  /** an object in the API only (one the controller reads live, or not watched yet) */
  api(r: Resource, obj: KubeObject): KubeObject {
    return this.client.seed(r, obj);
  }

  /** an object in the caches only (the API no longer has it, or not yet); its type filled in as a list gives it */
  cache(r: Resource, obj: KubeObject): KubeObject {
    const o = structuredClone(obj);
    o.apiVersion ??= apiVersionOf(r);
    o.kind ??= r.kind;
    for (const inf of this.informers.holding(r, o)) inf.upsert(structuredClone(o));
    return o;
  }

  /** an object gone from the caches, as the watch shows a deletion */
  remove(r: Resource, obj: KubeObject): void {
    for (const inf of this.informers.holding(r, obj)) inf.remove(obj);
  }

  /** the API's current version of an object into the caches (or out of them when it is gone) */
  observe(r: Resource, namespace: string | undefined, name: string): void {
    const stored = this.client.stored(r, namespace, name);
    if (stored) this.cache(r, stored);
    else this.remove(r, { metadata: { name, namespace } });
  }

  /** every object written since the last call, as the watches of the controller's caches would show it */
  observeWrites(): void {
    const actions = this.after(this.observed);
    for (const a of actions) {
      if (a.verb === 'get' || a.verb === 'list' || a.verb === 'watch' || !a.name) continue;
      const watched = this.informers.made.find((m) => m.informer.resource.resource === a.resource);
      if (watched) this.observe(watched.informer.resource, a.namespace, a.name);
    }
    this.observed = actions.at(-1) ?? this.observed;
  }

  // ---- the sync ----

  /** one key through the controller's reconcile */
  sync(key: string): Promise<Result | void> {
    return this.reconciler.reconcile(key);
  }

  /** the keys queued since the last drain */
  drain(): string[] {
    return this.queued.splice(0);
  }

  // ---- what it wrote ----

  /** the actions (reads too) since the last check, in order */
  actions(): Action[] {
    return this.after(this.checked);
  }

  private after(mark: Action | undefined): Action[] {
    const all = this.client.actions;
    return all.slice(mark ? all.indexOf(mark) + 1 : 0);
  }

  /** the writes since the last check, in order */
  writes(): Action[] {
    return this.actions().filter((a) => a.verb !== 'get' && a.verb !== 'list' && a.verb !== 'watch');
  }

  /** the writes since the last check are exactly these, in this order; the next check sees what comes after */
  expectWrites(expected: readonly (string | ExpectedWrite)[]): void {
    const actual = this.writes();
    const want = expected.map((e) => (typeof e === 'string' ? { action: e } : e));
    assert.deepEqual(
      actual.map(summary),
      want.map((e) => e.action),
      'the writes, in order',
    );
    want.forEach((e, i) => {
      const a = actual[i];
      const what = `write ${i + 1} (${e.action})`;
      if ('body' in e) assert.deepEqual(a.body, e.body, `${what}: body`);
      if ('has' in e) assertHas(a.body, e.has, `${what}: body`);
      if (e.patchType) assert.equal(a.patchType, e.patchType, `${what}: patch type`);
    });
    this.checked = this.client.actions.at(-1) ?? this.checked;
  }
}

/** a value inside `has` that must be matched as a whole, not field by field */
class Exactly {
  constructor(readonly value: unknown) {}
}

/** in `has`: this part of the body is exactly this value (no field more) */
export function exactly(value: unknown): unknown {
  return new Exactly(value);
}

/** every field of `want` is in `got` with that value; arrays have the same length, element by element */
export function assertHas(got: unknown, want: unknown, path: string): void {
  if (want instanceof Exactly) {
    assert.deepEqual(got, want.value, path);
    return;
  }
  if (Array.isArray(want)) {
    assert.ok(Array.isArray(got), `${path}: ${JSON.stringify(got)} is not an array`);
    assert.equal(got.length, want.length, `${path}: length of ${JSON.stringify(got)}`);
    want.forEach((w, i) => assertHas(got[i], w, `${path}[${i}]`));
    return;
  }
  if (want !== null && typeof want === 'object') {
    assert.ok(got !== null && typeof got === 'object', `${path}: ${JSON.stringify(got)} is not an object`);
    for (const [k, w] of Object.entries(want)) assertHas((got as Record<string, unknown>)[k], w, `${path}.${k}`);
    return;
  }
  assert.deepEqual(got, want, path);
}
