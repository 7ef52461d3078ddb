import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openBackend } from '../storage/index.ts';
import type { Backend } from '../storage/backend.ts';
import { Dispatcher } from '../watchcache/dispatcher.ts';
import { ResourceCache, type EventType } from '../watchcache/cache.ts';
import { lookupResource } from '../api/registry.ts';
import type { ResourceInfo } from '../api/resource-info.ts';
import { parseFieldSelector, parseLabelSelector } from '../../lib/selectors.ts';
import { ApiError } from './status.ts';
import { RestStore, defaultPropagation, deletionFinalizers } from './store.ts';
import { restStrategy } from '../registry/index.ts';
import { AdmissionChain, type AdmissionPlugin } from '../admission/admission.ts';
import { NamespaceLifecycle } from '../admission/namespace-lifecycle.ts';
import { WatchServer } from './watch.ts';
import { storageKey, storagePrefix, type Resource, type TypeStrategy } from './resource.ts';
import { eventually } from '../../test/harness/eventually.ts';

// a fake type strategy: requires metadata.name, nothing else (the real ones live in apiserver/api)
const fakeStrategy: TypeStrategy = {
  defaults(o) {
    if (o.spec && o.spec.replicas === undefined && o.kind === 'Deployment') o.spec.replicas = 1;
  },
  validate: (o) => (o.metadata?.name ? [] : [{ type: 'FieldValueRequired', field: 'metadata.name' }]),
  validateUpdate: () => [],
  selectableFields: (o) => ({
    'metadata.name': o.metadata?.name ?? '',
    'metadata.namespace': o.metadata?.namespace ?? '',
  }),
};

function resource(dispatcher: Dispatcher, group: string, version: string, plural: string, capacity?: number): Resource {
  const info = lookupResource(group, version, plural)!;
  const prefix = storagePrefix(info);
  const cache = new ResourceCache(prefix, { selectableFields: fakeStrategy.selectableFields, capacity });
  dispatcher.register(cache);
  return {
    info,
    // each resource's own REST behaviour (status reset, graceful deletion, ...) over the fake type strategy
    strategy: restStrategy(info, fakeStrategy),
    prefix,
    cache,
    selectable: new Set(['metadata.name', 'metadata.namespace']),
    subresources: new Map(),
  };
}

/** NamespaceLifecycle over the namespaces' cache, then the plugins given */
function admission(ns: Resource, plugins: AdmissionPlugin[] = []): AdmissionChain {
  const lifecycle = new NamespaceLifecycle((name) => ns.cache.get(storageKey(ns, '', name)));
  return new AdmissionChain([lifecycle, ...plugins]);
}

const all = () => ({ labels: parseLabelSelector(''), fields: parseFieldSelector('') });

interface Fixture {
  backend: Backend;
  dispatcher: Dispatcher;
  ns: Resource;
  cms: Resource;
  store: RestStore;
}

/** runs fn on a fresh embedded store with namespaces and configmaps (whose cache keeps `capacity` events), then
 * removes it */
async function withStore(
  fn: (f: Fixture) => Promise<void>,
  opts: { capacity?: number; plugins?: AdmissionPlugin[] } = {},
): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-store-'));
  const backend = openBackend('', { dataDir: dir });
  await backend.start();
  const dispatcher = new Dispatcher(backend);
  const ns = resource(dispatcher, '', 'v1', 'namespaces');
  const cms = resource(dispatcher, '', 'v1', 'configmaps', opts.capacity);
  const store = new RestStore(
    backend,
    dispatcher,
    () => new ApiError(422, 'Invalid', 'invalid'),
    admission(ns, opts.plugins),
  );
  try {
    await dispatcher.start();
    await fn({ backend, dispatcher, ns, cms, store });
  } finally {
    dispatcher.stop();
    await backend.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('RestStore on the embedded store', () => {
  let dir: string;
  let backend: Backend;
  let dispatcher: Dispatcher;
  let store: RestStore;
  let ns: Resource;
  let cms: Resource;
  let deps: Resource;
  let pods: Resource;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-store-'));
    backend = openBackend('', { dataDir: dir });
    await backend.start();
    dispatcher = new Dispatcher(backend);
    ns = resource(dispatcher, '', 'v1', 'namespaces');
    cms = resource(dispatcher, '', 'v1', 'configmaps', 8);
    deps = resource(dispatcher, 'apps', 'v1', 'deployments');
    pods = resource(dispatcher, '', 'v1', 'pods');
    store = new RestStore(
      backend,
      dispatcher,
      (r, name, errs) => new ApiError(422, 'Invalid', `${r.info.kind} "${name}" is invalid: ${errs[0].field}`),
      admission(ns),
    );
    await dispatcher.start();
    await store.create(ns, '', { metadata: { name: 'default' } });
    await dispatcher.waitFor(await backend.currentRevision(), 2000);
  });
  after(async () => {
    dispatcher.stop();
    await backend.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates with Kubernetes metadata and refuses duplicates and missing namespaces', async () => {
    const o = await store.create(cms, 'default', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'a' },
      data: { x: '1' },
    });
    assert.match(o.metadata.uid, /^[0-9a-f-]{36}$/);
    assert.match(o.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(o.metadata.namespace, 'default');
    assert.ok(Number(o.metadata.resourceVersion) > 0);
    assert.equal(o.metadata.generation, undefined);
    await assert.rejects(
      store.create(cms, 'default', { metadata: { name: 'a' } }),
      (e: any) => e.code === 409 && e.reason === 'AlreadyExists',
    );
    await assert.rejects(
      store.create(cms, 'nowhere', { metadata: { name: 'b' } }),
      (e: any) => e.code === 404 && /namespaces "nowhere" not found/.test(e.message),
    );
    await assert.rejects(
      store.create(cms, 'default', { kind: 'Secret', metadata: { name: 'b' } }),
      (e: any) => e.code === 400,
    );
    const g = await store.create(cms, 'default', { metadata: { generateName: 'gen-' } });
    assert.match(g.metadata.name, /^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });

  it('bumps generation only on spec changes and detects stale writes', async () => {
    const d = await store.create(deps, 'default', {
      metadata: { name: 'web' },
      spec: { template: {} },
      status: { replicas: 9 },
    });
    assert.equal(d.metadata.generation, 1);
    assert.deepEqual(d.status, {}, 'status is reset on create');
    const { obj: d2 } = await store.guaranteedUpdate(deps, 'default', 'web', (cur) => ({
      ...cur,
      metadata: { ...cur.metadata, labels: { a: 'b' } },
    }));
    assert.equal(d2.metadata.generation, 1);
    const { obj: d3 } = await store.guaranteedUpdate(deps, 'default', 'web', (cur) => ({
      ...cur,
      spec: { ...cur.spec, replicas: 3 },
    }));
    assert.equal(d3.metadata.generation, 2);
    const { obj: same } = await store.guaranteedUpdate(deps, 'default', 'web', (cur) => cur);
    assert.equal(same.metadata.resourceVersion, d3.metadata.resourceVersion, 'a no-op update writes nothing');
    await assert.rejects(
      store.guaranteedUpdate(deps, 'default', 'web', (cur) => ({
        ...cur,
        metadata: { ...cur.metadata, resourceVersion: d.metadata.resourceVersion },
      })),
      (e: any) => e.code === 409 && /the object has been modified/.test(e.message),
    );
    const { obj: st } = await store.guaranteedUpdate(
      deps,
      'default',
      'web',
      (cur) => ({ ...cur, spec: { replicas: 100 }, status: { replicas: 3 } }),
      { subresource: 'status' },
    );
    assert.equal(st.status.replicas, 3);
    assert.equal(st.spec.replicas, 3, 'a status write leaves spec alone');
  });

  it('writes that lose a race apply again on the newer object; a stale version the writer named stays a conflict', async () => {
    await store.create(cms, 'default', { metadata: { name: 'race' }, data: {} });
    // 8 writers at once, each adding its own key to what it read (as a merge patch does): none may be lost
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        store.guaranteedUpdate(cms, 'default', 'race', (cur) => ({ ...cur, data: { ...cur.data, [`k${i}`]: 'v' } })),
      ),
    );
    const got = await store.get(cms, 'default', 'race');
    assert.equal(Object.keys(got.data).length, 8);
    const stale = got.metadata.resourceVersion;
    await store.guaranteedUpdate(cms, 'default', 'race', (cur) => ({ ...cur, data: { ...cur.data, more: 'x' } }));
    await assert.rejects(
      store.guaranteedUpdate(cms, 'default', 'race', (cur) => ({
        ...cur,
        metadata: { ...cur.metadata, resourceVersion: stale },
      })),
      (e: any) => e.code === 409,
    );
  });

  it('marks objects with finalizers and deletes them once the finalizers are gone', async () => {
    await store.create(cms, 'default', { metadata: { name: 'fin', finalizers: ['example.com/keep'] } });
    const { obj, deleted } = await store.delete(cms, 'default', 'fin');
    assert.equal(deleted, false);
    assert.ok(obj.metadata.deletionTimestamp);
    await assert.rejects(
      store.guaranteedUpdate(cms, 'default', 'fin', (cur) => ({
        ...cur,
        metadata: { ...cur.metadata, finalizers: ['example.com/keep', 'new/one'] },
      })),
      (e: any) => e.code === 422,
    );
    await store.guaranteedUpdate(cms, 'default', 'fin', (cur) => ({
      ...cur,
      metadata: { ...cur.metadata, finalizers: [] },
    }));
    await assert.rejects(store.get(cms, 'default', 'fin'), (e: any) => e.code === 404);
  });

  it('deletes a running pod gracefully and an unscheduled one at once', async () => {
    await store.create(pods, 'default', { metadata: { name: 'p1' }, spec: { nodeName: 'n1', containers: [] } });
    const r1 = await store.delete(pods, 'default', 'p1', {});
    assert.equal(r1.deleted, false);
    assert.equal(r1.obj.metadata.deletionGracePeriodSeconds, 30);
    const r2 = await store.delete(pods, 'default', 'p1', { gracePeriodSeconds: 0 });
    assert.equal(r2.deleted, true);
    await store.create(pods, 'default', { metadata: { name: 'p2' }, spec: { containers: [] } });
    assert.equal((await store.delete(pods, 'default', 'p2')).deleted, true);
  });

  it('sets the garbage collector finalizers from the propagation policy and the resource default', async () => {
    const fin = async (name: string) => (await store.get(cms, 'default', name)).metadata.finalizers;
    // Foreground: marked with foregroundDeletion, kept until the finalizer goes
    await store.create(cms, 'default', { metadata: { name: 'fg', finalizers: ['example.com/keep'] } });
    const fg = await store.delete(cms, 'default', 'fg', { propagationPolicy: 'Foreground' });
    assert.equal(fg.deleted, false);
    assert.ok(fg.obj.metadata.deletionTimestamp);
    assert.equal(fg.obj.metadata.deletionGracePeriodSeconds, 0);
    assert.deepEqual(await fin('fg'), ['example.com/keep', 'foregroundDeletion']);
    // a later Orphan swaps it for orphan; a later Background removes both
    await store.delete(cms, 'default', 'fg', { propagationPolicy: 'Orphan' });
    assert.deepEqual(await fin('fg'), ['example.com/keep', 'orphan']);
    await store.delete(cms, 'default', 'fg', { propagationPolicy: 'Background' });
    assert.deepEqual(await fin('fg'), ['example.com/keep']);
    // no policy keeps what the object has
    await store.create(cms, 'default', { metadata: { name: 'keep-orphan', finalizers: ['orphan'] } });
    await store.delete(cms, 'default', 'keep-orphan');
    assert.deepEqual(await fin('keep-orphan'), ['orphan']);
    // Background (the default for most resources) deletes at once and clears a preset orphan finalizer
    await store.create(cms, 'default', { metadata: { name: 'bg', finalizers: ['orphan'] } });
    assert.equal((await store.delete(cms, 'default', 'bg', { propagationPolicy: 'Background' })).deleted, true);
    await store.create(cms, 'default', { metadata: { name: 'plain' } });
    assert.equal((await store.delete(cms, 'default', 'plain')).deleted, true);
    // removing the last finalizer deletes the object
    await store.create(cms, 'default', { metadata: { name: 'orph' } });
    assert.equal((await store.delete(cms, 'default', 'orph', { propagationPolicy: 'Orphan' })).deleted, false);
    await store.guaranteedUpdate(cms, 'default', 'orph', (cur) => ({
      ...cur,
      metadata: { ...cur.metadata, finalizers: [] },
    }));
    await assert.rejects(store.get(cms, 'default', 'orph'), (e: any) => e.code === 404);
  });

  it('defaults to orphaning for batch/v1 Jobs and ignores policies for events', () => {
    const info = (group: string, version: string, resource: string) => {
      const i = { group, version, resource, subresources: [] as string[] } as ResourceInfo;
      return { info: i, strategy: restStrategy(i, fakeStrategy) } as Resource;
    };
    assert.equal(defaultPropagation(info('batch', 'v1', 'jobs')), 'Orphan');
    assert.equal(defaultPropagation(info('', 'v1', 'events')), 'Unsupported');
    assert.equal(defaultPropagation(info('apps', 'v1', 'deployments')), 'Background');
    assert.deepEqual(deletionFinalizers(info('batch', 'v1', 'jobs'), [], undefined), ['orphan']);
    assert.deepEqual(deletionFinalizers(info('batch', 'v1', 'jobs'), [], 'Background'), []);
    assert.deepEqual(deletionFinalizers(info('', 'v1', 'events'), [], 'Foreground'), []);
    assert.deepEqual(deletionFinalizers(info('apps', 'v1', 'deployments'), ['a'], undefined), ['a']);
  });

  it('keeps a pod in its grace period when its last finalizer goes', async () => {
    await store.create(pods, 'default', {
      metadata: { name: 'gp', finalizers: ['example.com/keep'] },
      spec: { nodeName: 'n1', containers: [] },
    });
    const r = await store.delete(pods, 'default', 'gp', {});
    assert.equal(r.obj.metadata.deletionGracePeriodSeconds, 30);
    await store.guaranteedUpdate(pods, 'default', 'gp', (cur) => ({
      ...cur,
      metadata: { ...cur.metadata, finalizers: [] },
    }));
    assert.ok((await store.get(pods, 'default', 'gp')).metadata.deletionTimestamp);
    // a second delete with a longer grace period keeps the first one, and grace 0 deletes it
    const again = await store.delete(pods, 'default', 'gp', { gracePeriodSeconds: 60 });
    assert.equal(again.obj.metadata.deletionGracePeriodSeconds, 30);
    assert.equal((await store.delete(pods, 'default', 'gp', { gracePeriodSeconds: 0 })).deleted, true);
  });

  it('checks delete preconditions', async () => {
    await store.create(cms, 'default', { metadata: { name: 'pre' } });
    await assert.rejects(
      store.delete(cms, 'default', 'pre', { preconditions: { uid: 'nope' } }),
      (e: any) => e.code === 409 && /Precondition failed: UID/.test(e.message),
    );
  });

  it('lists from the cache with limit and continue, consistently', async () => {
    for (let i = 0; i < 25; i++)
      await store.create(cms, 'default', {
        metadata: { name: `page-${String(i).padStart(2, '0')}`, labels: { page: 'yes' } },
      });
    const filter = { ...all(), labels: parseLabelSelector('page=yes'), namespace: 'default' };
    const names: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const res = await store.list(cms, { filter, limit: 10, continueToken: token });
      names.push(...res.items.map((o) => o.metadata.name));
      token = res.continueToken;
      pages++;
    } while (token);
    assert.equal(pages, 3);
    assert.equal(names.length, 25);
    assert.deepEqual(names, [...names].sort());
    const before = (await store.list(cms, { filter })).resourceVersion;
    const exact = await store.list(cms, { filter, resourceVersion: before, resourceVersionMatch: 'Exact' });
    assert.equal(exact.items.length, 25);
    // a first page at a resourceVersion other than 0 is read at exactly that version, as Kubernetes does
    await store.create(cms, 'default', { metadata: { name: 'page-later', labels: { page: 'yes' } } });
    const first = await store.list(cms, { filter, limit: 100, resourceVersion: before });
    assert.equal(first.resourceVersion, before);
    assert.equal(first.items.length, 25);
    assert.equal(
      (await store.list(cms, { filter, resourceVersion: before })).items.length,
      26,
      'without a limit: not older than',
    );
  });

  it("checks list options as Kubernetes' ValidateListOptions does", async () => {
    const filter = all();
    const token = (await store.list(cms, { filter, limit: 1 })).continueToken;
    assert.ok(token);
    const fails = async (q: Record<string, unknown>, code: number, message: string) => {
      await assert.rejects(
        store.list(cms, { filter, ...q }),
        (e: unknown) => e instanceof ApiError && e.code === code && e.message === message,
      );
    };
    await fails(
      { resourceVersionMatch: 'NotOlderThan' },
      422,
      'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided',
    );
    await fails(
      { resourceVersionMatch: 'Sometimes', resourceVersion: '1' },
      422,
      'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Unsupported value: "Sometimes": supported values: "Exact", "NotOlderThan", ""',
    );
    await fails(
      { resourceVersionMatch: 'Exact', resourceVersion: '0' },
      422,
      'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
    );
    await fails(
      { resourceVersionMatch: 'Exact', resourceVersion: '5', continueToken: token },
      422,
      'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden when continue is provided',
    );
    await fails(
      { resourceVersion: '5', continueToken: token },
      400,
      'specifying resource version is not allowed when using continue',
    );
    // resourceVersion 0 with a continue token is the token alone
    assert.ok(
      (await store.list(cms, { filter, limit: 1, resourceVersion: '0', continueToken: token })).items.length === 1,
    );
  });

  it('serves watches from a resourceVersion, with selectors deciding ADDED/DELETED', async () => {
    const start = (await store.list(cms, { filter: all() })).resourceVersion;
    await store.create(cms, 'default', { metadata: { name: 'w', labels: { sel: 'a' } } });
    const moved = await store.guaranteedUpdate(cms, 'default', 'w', (cur) => ({
      ...cur,
      metadata: { ...cur.metadata, labels: { sel: 'b' } },
    }));
    await store.delete(cms, 'default', 'w');
    await dispatcher.waitFor(await backend.currentRevision(), 2000);
    const watches = new WatchServer(dispatcher, backend);
    const collect = async (labelSel: string, table = false) => {
      const seen: string[] = [];
      let ended = false;
      await watches.serve(
        cms,
        {
          filter: { ...all(), labels: parseLabelSelector(labelSel), namespace: 'default' },
          resourceVersion: start,
          allowBookmarks: false,
          timeoutSeconds: 1,
          // a re-encoding watcher (as Table and PartialObjectMetadata watches are) gets the same objects
          transform: table ? (type, obj) => `{"type":"${type}","object":${JSON.stringify(obj)}}\n` : undefined,
        },
        {
          write(line) {
            const ev = JSON.parse(line.text) as { type: EventType; object: any };
            if (ev.object.metadata.name !== 'w') return true;
            // an object leaving the selector is sent as it was, with the resourceVersion of the change
            const rv = ev.object.metadata.resourceVersion;
            seen.push(
              ev.type === 'DELETED' && rv === moved.obj.metadata.resourceVersion
                ? `DELETED sel=${ev.object.metadata.labels.sel}`
                : ev.type,
            );
            return true;
          },
          backlog: () => 0,
          end() {
            ended = true;
          },
          abort() {
            assert.fail('a watcher that keeps up is not cut');
          },
          onClose() {},
        },
      );
      assert.equal(ended, false);
      return seen;
    };
    assert.deepEqual(await collect(''), ['ADDED', 'MODIFIED', 'DELETED']);
    for (const table of [false, true]) {
      assert.deepEqual(await collect('sel=a', table), ['ADDED', 'DELETED sel=a']);
      assert.deepEqual(await collect('sel=b', table), ['ADDED', 'DELETED']);
    }
  });
});

describe('a live watcher that falls behind', () => {
  /** a sink whose client reads nothing until drain(): its backlog is every byte written since */
  function stalledSink() {
    const s = {
      queued: 0,
      lines: 0,
      ended: false,
      aborted: false,
      write(l: { chunk: Buffer }) {
        s.queued += l.chunk.length;
        s.lines++;
        return true;
      },
      backlog: () => s.queued,
      drain() {
        s.queued = 0;
      },
      end() {
        s.ended = true;
      },
      abort() {
        s.aborted = true;
      },
      onClose() {},
    };
    return s;
  }

  it('is cut once its backlog grows past the limit beyond its initial events; one that keeps up is not', async () => {
    await withStore(async ({ backend, dispatcher, ns, cms, store }) => {
      // names of one length: every event line has about the same size
      const cm = (name: string) => ({ metadata: { name }, data: { v: 'x'.repeat(1000) } });
      const settle = async () => dispatcher.waitFor(await backend.currentRevision(), 2000);
      const create = async (name: string, before?: () => void) => {
        before?.();
        await store.create(cms, 'default', cm(name));
        await settle();
      };
      await store.create(ns, '', { metadata: { name: 'default' } });
      for (let i = 10; i < 30; i++) await store.create(cms, 'default', cm(`initial-${i}`));
      await settle();
      const q = { filter: all(), allowBookmarks: false, timeoutSeconds: 30 };
      // the size of one event line
      const probe = stalledSink();
      const probing = new WatchServer(dispatcher, backend);
      await probing.serve(cms, q, probe);
      const line = probe.queued / probe.lines;
      assert.equal(probe.lines, 20);
      probe.onClose();
      // the limit: five and a half lines
      const terminated: string[] = [];
      const watches = new WatchServer(dispatcher, backend, {
        liveBacklogLimit: 5.5 * line,
        onTerminated: (r) => terminated.push(r.info.resource),
      });
      const stalled = stalledSink();
      const keepsUp = stalledSink();
      const drainedFirst = stalledSink();
      for (const sink of [stalled, keepsUp, drainedFirst]) await watches.serve(cms, q, sink);
      // the 20 initial events are queued before the watchers are live (more than the limit) and are their floor
      assert.equal(stalled.lines, 20);
      assert.equal(watches.active, 3);
      drainedFirst.drain();
      for (let i = 10; i < 15; i++) await create(`live-${i}`, () => keepsUp.drain());
      assert.equal(stalled.aborted || drainedFirst.aborted, false, 'five lines are within the limit');
      // the sixth: stalled is 26 lines behind, over its floor (20) plus the limit
      await create('live-15', () => keepsUp.drain());
      assert.equal(stalled.aborted, true);
      assert.equal(stalled.ended, false, 'cut, not ended: what is queued for it is dropped');
      // drainedFirst read its initial events: its floor fell to the one line it had after that, 6 + 1 > 1 + 5.5
      assert.equal(drainedFirst.aborted, false);
      await create('live-16', () => keepsUp.drain());
      assert.equal(drainedFirst.aborted, true);
      assert.deepEqual(terminated, ['configmaps', 'configmaps']);
      assert.equal(watches.active, 1);
      // cut watchers get nothing more; the one that keeps up gets everything and is never cut
      const lines = stalled.lines;
      for (let i = 17; i < 40; i++) await create(`live-${i}`, () => keepsUp.drain());
      assert.equal(stalled.lines, lines);
      assert.equal(keepsUp.aborted || keepsUp.ended, false);
      assert.equal(keepsUp.lines, 20 + 30);
    });
  });
});

describe('watch older than the cache window', () => {
  it('replays from the store, then continues live from the cache without gaps or duplicates', async () => {
    await withStore(
      async ({ backend, dispatcher, ns, cms, store }) => {
        await store.create(ns, '', { metadata: { name: 'default' } });
        await dispatcher.waitFor(await backend.currentRevision(), 2000);
        const start = Number((await store.list(cms, { filter: all() })).resourceVersion);
        for (let i = 0; i < 20; i++) await store.create(cms, 'default', { metadata: { name: `old-${i}` } });
        await dispatcher.waitFor(await backend.currentRevision(), 2000);
        assert.ok(cms.cache.windowStart > start, 'the cache window has moved past the start');
        const names: string[] = [];
        const watches = new WatchServer(dispatcher, backend);
        await watches.serve(
          cms,
          { filter: all(), resourceVersion: String(start), allowBookmarks: false, timeoutSeconds: 5 },
          {
            write: (l) => (names.push(JSON.parse(l.text).object.metadata.name), true),
            backlog: () => 0,
            end() {},
            abort() {},
            onClose() {},
          },
        );
        for (let i = 0; i < 5; i++) await store.create(cms, 'default', { metadata: { name: `new-${i}` } });
        await eventually('25 events written', () => names.length >= 25, { everyMs: 10 });
        assert.deepEqual(names, [
          ...Array.from({ length: 20 }, (_, i) => `old-${i}`),
          ...Array.from({ length: 5 }, (_, i) => `new-${i}`),
        ]);
      },
      { capacity: 4 },
    );
  });
});

describe('namespace deletion', () => {
  it('marks a namespace Terminating while spec.finalizers remain, and deletes it once finalized', async () => {
    const admitted: string[] = [];
    const recorder: AdmissionPlugin = {
      name: 'Recorder',
      handles: (op) => op === 'CREATE',
      admit: (a) => void admitted.push(String(a.object?.metadata?.name)),
    };
    await withStore(
      async ({ backend, dispatcher, ns, cms, store }) => {
        // the namespace is checked before admission and validation, as Kubernetes' NamespaceLifecycle comes first
        await assert.rejects(
          store.create(cms, 'shop', { metadata: { name: 'early' } }),
          (e: any) => e.code === 404 && /namespaces "shop" not found/.test(e.message),
        );
        await assert.rejects(store.create(cms, 'shop', { metadata: {} }), (e: any) => e.code === 404);
        assert.deepEqual(admitted, []);
        await store.create(ns, '', { metadata: { name: 'shop' }, spec: { finalizers: ['kubernetes'] } });
        // an update without spec keeps the finalizers: they change only through /finalize
        await store.guaranteedUpdate(ns, '', 'shop', (cur) => ({ ...cur, spec: {} }));
        const { obj, deleted } = await store.delete(ns, '', 'shop');
        assert.equal(deleted, false);
        assert.equal(obj.status.phase, 'Terminating');
        assert.ok(obj.metadata.deletionTimestamp);
        assert.deepEqual(obj.spec.finalizers, ['kubernetes']);
        await dispatcher.waitFor(await backend.currentRevision(), 2000);
        await assert.rejects(
          store.create(cms, 'shop', { metadata: { name: 'late' } }),
          (e: any) => e.code === 403 && e.reason === 'Forbidden',
        );
        assert.deepEqual(admitted, ['shop']);
        await store.guaranteedUpdate(ns, '', 'shop', (cur) => ({ ...cur, spec: { finalizers: [] } }), {
          subresource: 'finalize',
        });
        await assert.rejects(store.get(ns, '', 'shop'), (e: any) => e.code === 404);
      },
      { plugins: [recorder] },
    );
  });
});
