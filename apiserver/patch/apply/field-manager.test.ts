import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolve } from '../../openapi/index.ts';
import { PatchError } from '../errors.ts';
import type { TypeResolver } from '../schema.ts';
import { applyConflictError, conflictMessage } from './conflicts.ts';
import { type ApplyOptions, apply, trackUpdate } from './field-manager.ts';
import { validateApplyConfiguration } from './validate.ts';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Obj = any;

const resolver: TypeResolver = { resolve };
const DEPLOYMENT = 'io.k8s.api.apps.v1.Deployment';
const T0 = '2024-05-01T10:00:00Z';
const T1 = '2024-05-01T11:00:00Z';
const T2 = '2024-05-01T12:00:00Z';

const opts = (manager: string, now: string, extra: Partial<ApplyOptions> = {}): ApplyOptions => ({
  manager,
  force: false,
  typeName: DEPLOYMENT,
  resolver,
  now,
  ...extra,
});

const config = (): Obj => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'nginx', labels: { app: 'nginx' } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'nginx' } },
    template: {
      metadata: { labels: { app: 'nginx' } },
      spec: { containers: [{ name: 'nginx', image: 'nginx:1.14.2', ports: [{ containerPort: 80 }] }] },
    },
  },
});

function entries(obj: Obj): Obj[] {
  return obj.metadata.managedFields ?? [];
}

function entry(obj: Obj, manager: string): Obj {
  const e = entries(obj).find((x: Obj) => x.manager === manager);
  assert.ok(e, `no managedFields entry for ${manager}: ${JSON.stringify(entries(obj))}`);
  return e;
}

/** a created object as the store would hold it */
function created(obj: Obj): Obj {
  const o = structuredClone(obj);
  o.metadata.uid = '6b0e1d2c-0000-4000-8000-000000000001';
  o.metadata.creationTimestamp = T0;
  return o;
}

describe('server-side apply', () => {
  it('creates the object and records the Apply entry as Kubernetes encodes it', () => {
    const r = apply(undefined, config(), opts('kubectl', T0));
    assert.equal(r.conflicts, undefined);
    assert.equal(r.object.kind, 'Deployment');
    assert.deepEqual((r.object as Obj).spec.template.spec.containers, config().spec.template.spec.containers);
    const mf = entries(r.object);
    assert.equal(mf.length, 1);
    const { fieldsV1, ...rest } = mf[0];
    assert.deepEqual(rest, {
      manager: 'kubectl',
      operation: 'Apply',
      apiVersion: 'apps/v1',
      time: T0,
      fieldsType: 'FieldsV1',
    });
    assert.equal(
      JSON.stringify(fieldsV1),
      '{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:replicas":{},"f:selector":{},"f:template":{"f:metadata":{"f:labels":{"f:app":{}}},' +
        '"f:spec":{"f:containers":{"k:{\\"name\\":\\"nginx\\"}":{".":{},"f:image":{},"f:name":{},"f:ports":{"k:{\\"containerPort\\":80,\\"protocol\\":\\"TCP\\"}":{".":{},"f:containerPort":{}}}}}}}}}',
    );
    assert.deepEqual(Object.keys(mf[0]), ['manager', 'operation', 'apiVersion', 'time', 'fieldsType', 'fieldsV1']);
  });

  it('re-applying the same configuration changes nothing, not even the time', () => {
    const first = created(apply(undefined, config(), opts('kubectl', T0)).object);
    const again = apply(first, config(), opts('kubectl', T1));
    assert.deepEqual(again.object, first);
    assert.equal(entry(again.object, 'kubectl').time, T0);
  });

  it('removes fields the manager no longer applies', () => {
    const c1 = config();
    c1.metadata.labels.tier = 'web';
    c1.spec.template.spec.containers.push({ name: 'sidecar', image: 'envoy:1' });
    const first = created(apply(undefined, c1, opts('kubectl', T0)).object);
    const r = apply(first, config(), opts('kubectl', T1));
    const obj: Obj = r.object;
    assert.deepEqual(obj.metadata.labels, { app: 'nginx' });
    assert.deepEqual(
      obj.spec.template.spec.containers.map((c: Obj) => c.name),
      ['nginx'],
    );
    assert.equal(entry(obj, 'kubectl').time, T1);
    assert.ok(!JSON.stringify(entry(obj, 'kubectl').fieldsV1).includes('tier'));
    assert.equal(obj.metadata.uid, first.metadata.uid, 'server-set metadata is kept');
  });

  it('keeps a removed field another manager also owns', () => {
    const first = created(apply(undefined, config(), opts('a', T0)).object);
    const shared = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'nginx', labels: { app: 'nginx' } } };
    const both = apply(first, shared, opts('b', T1));
    assert.equal(both.conflicts, undefined, 'same value: no conflict');
    const c = config();
    delete c.metadata.labels;
    const r = apply(both.object, c, opts('a', T2));
    assert.deepEqual((r.object as Obj).metadata.labels, { app: 'nginx' });
    assert.equal(JSON.stringify(entry(r.object, 'b').fieldsV1), '{"f:metadata":{"f:labels":{"f:app":{}}}}');
    assert.equal(entry(r.object, 'a').fieldsV1['f:metadata'], undefined, 'a no longer owns metadata.labels.app');
  });

  it('reports a conflict with an Update manager and leaves the object alone', () => {
    const first = created(apply(undefined, config(), opts('kubectl', T0)).object);
    const scaled = structuredClone(first);
    scaled.spec.replicas = 5;
    const afterScale = trackUpdate(first, scaled, 'kubectl-scale', DEPLOYMENT, resolver, T1);
    assert.equal(JSON.stringify(entry(afterScale, 'kubectl-scale').fieldsV1), '{"f:spec":{"f:replicas":{}}}');
    assert.ok(
      !JSON.stringify(entry(afterScale, 'kubectl').fieldsV1).includes('f:replicas'),
      'the update took replicas from the applier',
    );

    const c = config();
    c.spec.replicas = 3;
    const r = apply(afterScale, c, opts('kubectl', T2));
    assert.equal(r.conflicts?.length, 1);
    assert.equal(r.conflicts![0].field, '.spec.replicas');
    assert.deepEqual(r.object, afterScale);
    const err = applyConflictError(r.conflicts!);
    assert.ok(err instanceof PatchError);
    assert.equal(err.status, 409);
    assert.equal(err.reason, 'Conflict');
    assert.equal(
      err.message,
      'Apply failed with 1 conflict: conflict with "kubectl-scale" using apps/v1: .spec.replicas',
    );
    assert.deepEqual(err.causes, [
      {
        reason: 'FieldManagerConflict',
        message: 'conflict with "kubectl-scale" using apps/v1',
        field: '.spec.replicas',
      },
    ]);
  });

  it('force takes ownership of conflicting fields', () => {
    const first = created(apply(undefined, config(), opts('kubectl', T0)).object);
    const scaled = structuredClone(first);
    scaled.spec.replicas = 5;
    const afterScale = trackUpdate(first, scaled, 'kubectl-scale', DEPLOYMENT, resolver, T1);
    const c = config();
    c.spec.replicas = 3;
    const r = apply(afterScale, c, opts('kubectl', T2, { force: true }));
    assert.equal(r.conflicts, undefined);
    assert.equal((r.object as Obj).spec.replicas, 3);
    assert.ok(JSON.stringify(entry(r.object, 'kubectl').fieldsV1).includes('"f:replicas":{}'));
    assert.ok(!entries(r.object).some((e: Obj) => e.manager === 'kubectl-scale'), 'the emptied entry is dropped');
  });

  it('conflicts between two appliers name the manager without a version; plural form lists each', () => {
    const first = created(apply(undefined, config(), opts('a', T0)).object);
    const c = config();
    c.spec.replicas = 4;
    c.metadata.labels.app = 'other';
    const r = apply(first, c, opts('b', T1));
    assert.equal(r.conflicts?.length, 2);
    assert.equal(
      conflictMessage(r.conflicts!),
      'Apply failed with 2 conflicts: conflicts with "a":\n- .metadata.labels.app\n- .spec.replicas',
    );
    assert.equal(
      conflictMessage(r.conflicts!.slice(1)),
      'Apply failed with 1 conflict: conflict with "a": .spec.replicas',
    );
  });

  it('names list items by their keys in conflicts', () => {
    const first = created(apply(undefined, config(), opts('a', T0)).object);
    const c = config();
    c.spec.template.spec.containers[0].image = 'nginx:2';
    const r = apply(first, c, opts('b', T1));
    assert.deepEqual(
      r.conflicts?.map((x) => x.field),
      ['.spec.template.spec.containers[name="nginx"].image'],
    );
  });

  it('gives the fields of an object that had no managedFields to before-first-apply', () => {
    const legacy = created(config());
    legacy.spec.paused = false;
    const c = config();
    delete c.spec.replicas;
    const r = apply(legacy, c, opts('kubectl', T1));
    assert.equal(r.conflicts, undefined);
    const before = entry(r.object, 'before-first-apply');
    assert.equal(before.operation, 'Update');
    assert.ok(JSON.stringify(before.fieldsV1).includes('"f:paused":{}'));
    assert.ok(JSON.stringify(before.fieldsV1).includes('"f:replicas":{}'));
  });

  it('replaces atomic lists and maps as a whole', () => {
    const c = config();
    c.spec.template.spec.tolerations = [
      { key: 'a', operator: 'Exists' },
      { key: 'b', operator: 'Exists' },
    ];
    c.spec.template.spec.nodeSelector = { disk: 'ssd', zone: 'z1' };
    const first = created(apply(undefined, c, opts('kubectl', T0)).object);
    const fields = JSON.stringify(entry(first, 'kubectl').fieldsV1);
    assert.ok(fields.includes('"f:nodeSelector":{}') && fields.includes('"f:tolerations":{}'));
    const c2 = config();
    c2.spec.template.spec.tolerations = [{ key: 'c', operator: 'Exists' }];
    c2.spec.template.spec.nodeSelector = { zone: 'z2' };
    const r: Obj = apply(first, c2, opts('kubectl', T1)).object;
    assert.deepEqual(r.spec.template.spec.tolerations, [{ key: 'c', operator: 'Exists' }]);
    assert.deepEqual(r.spec.template.spec.nodeSelector, { zone: 'z2' });
  });

  it('merges associative lists by key, keeping other managers items', () => {
    const first = created(apply(undefined, config(), opts('a', T0)).object);
    const c = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'nginx' },
      spec: { template: { spec: { containers: [{ name: 'logger', image: 'fluent:1' }] } } },
    };
    const r: Obj = apply(first, c, opts('b', T1)).object;
    assert.deepEqual(
      r.spec.template.spec.containers.map((x: Obj) => x.name),
      ['nginx', 'logger'],
    );
  });

  it('does not track fields reset for the endpoint', () => {
    const c: Obj = config();
    c.status = { replicas: 1 };
    const r = apply(undefined, c, opts('kubectl', T0, { resetFields: [['status']] }));
    assert.ok(!JSON.stringify(entry(r.object, 'kubectl').fieldsV1).includes('status'));
  });

  it('an item of a list map without its key is refused', () => {
    const c = config();
    c.spec.template.spec.containers.push({ image: 'x' });
    assert.throws(
      () => apply(undefined, c, opts('kubectl', T0)),
      (e: unknown) => e instanceof PatchError && e.status === 500 && /omits all key fields/.test(e.message),
    );
  });

  it('validates the configuration', () => {
    const bad = (v: unknown, re: RegExp, target = {}) =>
      assert.throws(
        () => validateApplyConfiguration(v, target),
        (e: unknown) => e instanceof PatchError && e.status === 400 && re.test(e.message),
      );
    bad([], /must be an object/);
    bad({ kind: 'Deployment', metadata: { name: 'x' } }, /no apiVersion/);
    bad({ apiVersion: 'apps/v1', metadata: { name: 'x' } }, /no kind/);
    bad({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: {} }, /no metadata.name/);
    bad({ apiVersion: 'apps/v1', kind: 'Deployment' }, /no metadata/);
    bad(
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x', managedFields: [] } },
      /metadata.managedFields must be nil/,
    );
    bad(
      { apiVersion: 'apps/v1beta1', kind: 'Deployment', metadata: { name: 'x' } },
      /^invalid object type: apps\/v1beta1, Kind=Deployment$/,
      { apiVersion: 'apps/v1', kind: 'Deployment' },
    );
    bad(
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' } },
      /does not match the name on the URL \(y\)/,
      { name: 'y' },
    );
    validateApplyConfiguration(config(), { apiVersion: 'apps/v1', kind: 'Deployment', name: 'nginx' });
  });
});

describe("kubectl's last-applied annotation", () => {
  const LAST = 'kubectl.kubernetes.io/last-applied-configuration';
  /** an object as kubectl's client-side apply leaves it: created by the update manager, the annotation holding `cfg` */
  function clientSideApplied(cfg: Obj): Obj {
    const obj = structuredClone(cfg);
    obj.metadata.annotations = { [LAST]: JSON.stringify(cfg) + '\n' };
    return created(trackUpdate(undefined, obj, 'kubectl-client-side-apply', DEPLOYMENT, resolver, T0));
  }

  it("kubectl's server-side apply takes fields its client-side apply set, unchanged since, without conflicts", () => {
    const live = clientSideApplied(config());
    const c = config();
    c.spec.replicas = 5;
    const r = apply(live, c, opts('kubectl', T1));
    assert.equal(r.conflicts, undefined);
    assert.equal((r.object as Obj).spec.replicas, 5);
    assert.ok(JSON.stringify(entry(r.object, 'kubectl').fieldsV1).includes('"f:replicas":{}'));
    assert.ok(!JSON.stringify(entry(r.object, 'kubectl-client-side-apply').fieldsV1).includes('f:replicas'));

    const other = apply(live, c, opts('someone-else', T1));
    assert.equal(other.conflicts?.[0].field, '.spec.replicas', 'only the manager named kubectl is let through');
  });

  it('a field changed since the client-side apply still conflicts', () => {
    const live = clientSideApplied(config());
    const scaled = structuredClone(live);
    scaled.spec.replicas = 4;
    const afterScale = trackUpdate(live, scaled, 'kubectl-client-side-apply', DEPLOYMENT, resolver, T1);
    const c = config();
    c.spec.replicas = 5;
    c.spec.template.spec.containers[0].image = 'nginx:1.16';
    const r = apply(afterScale, c, opts('kubectl', T2));
    assert.deepEqual(
      r.conflicts?.map((x) => x.field),
      ['.spec.replicas'],
      'the image (as last applied) is let through, replicas (4 now, 2 last applied) is not',
    );
  });

  it('is rewritten to what kubectl applied server-side, as Go encodes it', () => {
    const live = clientSideApplied(config());
    const c = config();
    c.metadata.annotations = { note: 'a<b & c>d' };
    c.metadata.labels = { '10': 'x', '9': 'y', app: 'nginx' };
    const r = apply(live, c, opts('kubectl', T1));
    const text = (r.object as Obj).metadata.annotations[LAST] as string;
    assert.ok(text.endsWith('}\n'));
    assert.ok(text.includes('"annotations":{"note":"a\\u003cb \\u0026 c\\u003ed"}'), text);
    assert.ok(text.includes('"labels":{"10":"x","9":"y","app":"nginx"}'), 'keys in byte order');
    assert.ok(text.startsWith('{"apiVersion":"apps/v1","kind":"Deployment","metadata":'), text);
    assert.deepEqual(JSON.parse(text), c);

    const serverSideOnly = apply(
      created(apply(undefined, config(), opts('kubectl', T0)).object),
      c,
      opts('kubectl', T1),
    );
    assert.deepEqual(
      (serverSideOnly.object as Obj).metadata.annotations,
      { note: 'a<b & c>d' },
      'an object without the annotation gets none',
    );
  });

  it('is dropped when the annotations would grow past 256 KiB', () => {
    const live = clientSideApplied(config());
    const c = config();
    c.metadata.annotations = { big: 'x'.repeat(200 * 1024) };
    const r = apply(live, c, opts('kubectl', T1));
    assert.equal((r.object as Obj).metadata.annotations[LAST], undefined);
    assert.equal((r.object as Obj).metadata.annotations.big.length, 200 * 1024);
  });
});

describe('update tracking', () => {
  it('records a create with the fields Kubernetes lists for an Update', () => {
    const obj = trackUpdate(undefined, config(), 'kubectl-create', DEPLOYMENT, resolver, T0);
    const e = entry(obj, 'kubectl-create');
    assert.equal(e.operation, 'Update');
    assert.equal(e.apiVersion, 'apps/v1');
    assert.equal(e.time, T0);
    assert.equal(
      JSON.stringify(e.fieldsV1),
      '{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:replicas":{},"f:selector":{},"f:template":{"f:metadata":{"f:labels":{".":{},"f:app":{}}},' +
        '"f:spec":{"f:containers":{"k:{\\"name\\":\\"nginx\\"}":{".":{},"f:image":{},"f:name":{},"f:ports":{".":{},"k:{\\"containerPort\\":80,\\"protocol\\":\\"TCP\\"}":{".":{},"f:containerPort":{}}}}}}}}}',
    );
  });

  it('takes changed fields from other managers and keeps one entry per manager and version', () => {
    const obj = created(trackUpdate(undefined, config(), 'kubectl-create', DEPLOYMENT, resolver, T0));
    const edited = structuredClone(obj);
    edited.spec.template.spec.containers[0].image = 'nginx:2';
    const after = trackUpdate(obj, edited, 'kubectl-edit', DEPLOYMENT, resolver, T1);
    assert.ok(!JSON.stringify(entry(after, 'kubectl-create').fieldsV1).includes('f:image'));
    assert.ok(JSON.stringify(entry(after, 'kubectl-edit').fieldsV1).includes('f:image'));
    // a second edit by the same manager adds to its entry
    const edited2: Obj = structuredClone(after);
    edited2.spec.replicas = 7;
    const after2 = trackUpdate(after, edited2, 'kubectl-edit', DEPLOYMENT, resolver, T2);
    const fields = JSON.stringify(entry(after2, 'kubectl-edit').fieldsV1);
    assert.ok(fields.includes('f:image') && fields.includes('f:replicas'));
    assert.equal(entries(after2).filter((x: Obj) => x.manager === 'kubectl-edit').length, 1);
    assert.equal(entry(after2, 'kubectl-edit').time, T2);
  });

  it('an update that changes nothing keeps the entries and their times', () => {
    const obj = created(trackUpdate(undefined, config(), 'kubectl-create', DEPLOYMENT, resolver, T0));
    const same = trackUpdate(obj, structuredClone(obj), 'kubectl-edit', DEPLOYMENT, resolver, T1);
    assert.deepEqual(same.metadata, obj.metadata);
  });

  it('leaves an existing object without managedFields untracked, and clears them on request', () => {
    const legacy = created(config());
    const edited = structuredClone(legacy);
    edited.spec.replicas = 9;
    assert.equal(
      (trackUpdate(legacy, edited, 'kubectl-edit', DEPLOYMENT, resolver, T1) as Obj).metadata.managedFields,
      undefined,
    );
    const tracked = created(trackUpdate(undefined, config(), 'kubectl-create', DEPLOYMENT, resolver, T0));
    const cleared = structuredClone(tracked);
    cleared.metadata.managedFields = [];
    assert.equal(
      (trackUpdate(tracked, cleared, 'kubectl-edit', DEPLOYMENT, resolver, T1) as Obj).metadata.managedFields,
      undefined,
    );
  });

  it('records subresource writes under their own entry', () => {
    const obj = created(trackUpdate(undefined, config(), 'kubectl-create', DEPLOYMENT, resolver, T0));
    const withStatus = structuredClone(obj);
    withStatus.status = { replicas: 2 };
    const after = trackUpdate(obj, withStatus, 'kube-controller-manager', DEPLOYMENT, resolver, T1, 'status');
    const e = entry(after, 'kube-controller-manager');
    assert.equal(e.subresource, 'status');
    assert.equal(JSON.stringify(e.fieldsV1), '{"f:status":{".":{},"f:replicas":{}}}');
  });
});
