import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { RESOURCES } from '../api/registry.ts';
import { groupVersion, type ResourceInfo } from '../api/resource-info.ts';
import {
  OpenApiDocuments,
  decodeV2Protobuf,
  definitionFor,
  loadModel,
  openapiV2,
  openapiV2Protobuf,
  openapiV3Discovery,
  openapiV3GroupVersion,
  resolve,
  type Schema,
} from './index.ts';

type Json = Record<string, any>;

function walkSchema(s: Schema, visit: (s: Schema) => void): void {
  visit(s);
  if (s.items) walkSchema(s.items, visit);
  if (s.additionalProperties) walkSchema(s.additionalProperties, visit);
  for (const p of Object.values(s.properties ?? {})) walkSchema(p, visit);
}

/** every '$ref' string anywhere in a JSON value */
function refsIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) refsIn(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refsIn(v, out);
    }
  }
  return out;
}

const pods = RESOURCES.find((r) => r.resource === 'pods' && r.group === '')!;
const deployments = RESOURCES.find((r) => r.resource === 'deployments')!;

test('the model holds the served kinds, their lists and patch strategies, without descriptions', () => {
  const model = loadModel();
  assert.match(model.source, /^\d+\.\d+/);
  for (const r of RESOURCES) {
    assert.ok(resolve(r.definition), `model lacks ${r.definition}`);
    // create-only kinds (reviews) have no list
    if (r.verbs.includes('list'))
      assert.ok(resolve(r.definition.replace(/[^.]+$/, r.listKind)), `model lacks the list of ${r.definition}`);
  }
  for (const extra of [
    'io.k8s.api.batch.v1.Job',
    'io.k8s.api.batch.v1.CronJobList',
    'io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler',
    'io.k8s.api.autoscaling.v1.Scale',
    'io.k8s.api.policy.v1.Eviction',
  ]) {
    assert.ok(resolve(extra), `model lacks ${extra}`);
  }
  const containers = resolve('io.k8s.api.core.v1.PodSpec')!.properties!.containers;
  assert.equal(containers.type, 'array');
  assert.equal(containers.items?.ref, 'io.k8s.api.core.v1.Container');
  assert.equal(containers['x-kubernetes-patch-strategy'], 'merge');
  assert.equal(containers['x-kubernetes-patch-merge-key'], 'name');
  assert.deepEqual(containers['x-kubernetes-list-map-keys'], ['name']);
  const strategy = resolve('io.k8s.api.apps.v1.DeploymentSpec')!.properties!.strategy;
  assert.equal(strategy.ref, 'io.k8s.api.apps.v1.DeploymentStrategy');
  assert.equal(resolve('io.k8s.apimachinery.pkg.util.intstr.IntOrString')!.format, 'int-or-string');
  assert.equal(resolve('io.k8s.api.nope.v1.Thing'), undefined);
  assert.equal(resolve('constructor'), undefined);

  for (const [name, def] of Object.entries(model.definitions)) {
    walkSchema(def, (s) => {
      assert.ok(!('description' in s), `${name} keeps a description`);
      assert.ok(!('$ref' in s), `${name} keeps a $ref`);
      if (s.ref) assert.ok(model.definitions[s.ref], `${name} references missing ${s.ref}`);
    });
  }
});

test('definitionFor finds definitions by group/version/kind', () => {
  assert.equal(definitionFor({ group: '', version: 'v1', kind: 'Pod' }), 'io.k8s.api.core.v1.Pod');
  assert.equal(definitionFor({ group: 'apps', version: 'v1', kind: 'Deployment' }), 'io.k8s.api.apps.v1.Deployment');
  assert.equal(definitionFor({ group: 'events.k8s.io', version: 'v1', kind: 'Event' }), 'io.k8s.api.events.v1.Event');
  assert.equal(definitionFor({ group: '', version: 'v1', kind: 'Event' }), 'io.k8s.api.core.v1.Event');
  assert.equal(
    definitionFor({ group: 'autoscaling', version: 'v1', kind: 'Scale' }),
    'io.k8s.api.autoscaling.v1.Scale',
  );
  assert.equal(
    definitionFor({ group: 'apps', version: 'v1', kind: 'DeleteOptions' }),
    'io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions',
  );
  assert.equal(definitionFor({ group: 'apps', version: 'v2', kind: 'Deployment' }), undefined);
  for (const r of RESOURCES) assert.equal(definitionFor(r), r.definition, `${r.group}/${r.version} ${r.kind}`);
});

function collectionPath(r: ResourceInfo): string {
  const prefix = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  return r.namespaced ? `${prefix}/namespaces/{namespace}/${r.resource}` : `${prefix}/${r.resource}`;
}

function paramNames(op: Json): string[] {
  return (op.parameters ?? []).map((p: Json) => p.name);
}

test('the v2 document describes every resource, verb and subresource of the registry', () => {
  const doc = openapiV2(RESOURCES, { version: 'v1.33.0' }) as unknown as Json;
  assert.deepEqual(JSON.parse(JSON.stringify(doc)), doc);
  assert.equal(doc.swagger, '2.0');
  assert.deepEqual(doc.info, { title: 'Kubernetes', version: 'v1.33.0' });

  const ids = new Set<string>();
  for (const item of Object.values(doc.paths as Record<string, Json>)) {
    for (const m of ['get', 'put', 'post', 'patch', 'delete']) {
      if (!item[m]) continue;
      assert.ok(!ids.has(item[m].operationId), `duplicate operationId ${item[m].operationId}`);
      ids.add(item[m].operationId);
    }
  }

  for (const r of RESOURCES) {
    const gvk = { group: r.group, version: r.version, kind: r.kind };
    const collection = doc.paths[collectionPath(r)];
    if (r.verbs.length === 1 && r.verbs[0] === 'create') {
      // a review: POST on the collection only
      assert.deepEqual(
        Object.keys(collection).filter((k) => k !== 'parameters'),
        ['post'],
        r.resource,
      );
      assert.equal(doc.paths[`${collectionPath(r)}/{name}`], undefined);
      continue;
    }
    const item = doc.paths[`${collectionPath(r)}/{name}`];
    assert.ok(collection && item, `paths of ${r.resource}`);
    assert.equal(collection.get['x-kubernetes-action'], 'list');
    assert.deepEqual(collection.get['x-kubernetes-group-version-kind'], gvk);
    assert.equal(
      collection.get.responses['200'].schema.$ref,
      `#/definitions/${r.definition.replace(/[^.]+$/, r.listKind)}`,
    );
    assert.ok(paramNames(collection.get).includes('labelSelector'));
    assert.equal(collection.post['x-kubernetes-action'], 'post');
    assert.equal(Boolean(collection.delete), r.verbs.includes('deletecollection'), `deletecollection of ${r.resource}`);
    for (const m of ['get', 'put', 'patch', 'delete']) {
      assert.ok(item[m], `${m} on ${r.resource}/{name}`);
      assert.deepEqual(item[m]['x-kubernetes-group-version-kind'], gvk);
    }
    assert.deepEqual(item.patch.consumes, [
      'application/json-patch+json',
      'application/merge-patch+json',
      'application/strategic-merge-patch+json',
      'application/apply-patch+yaml',
    ]);
    for (const q of ['dryRun', 'fieldManager', 'fieldValidation', 'force'])
      assert.ok(paramNames(item.patch).includes(q), `PATCH ${r.resource} lacks ${q}`);
    assert.equal(item.patch.parameters[0].in, 'body');
    assert.equal(item.put.parameters[0].schema.$ref, `#/definitions/${r.definition}`);
    const pathParams = item.parameters.map((p: Json) => p.name);
    assert.deepEqual(pathParams, r.namespaced ? ['name', 'namespace', 'pretty'] : ['name', 'pretty']);
    if (r.namespaced)
      assert.equal(
        doc.paths[`/${r.group ? 'apis/' + r.group : 'api'}/${r.version}/${r.resource}`].get.operationId.endsWith(
          'ForAllNamespaces',
        ),
        true,
      );
  }

  // subresources
  const podItem = `${collectionPath(pods)}/{name}`;
  assert.equal(
    doc.paths['/api/v1/namespaces/{namespace}/pods/{name}'].delete.responses['200'].schema.$ref,
    '#/definitions/io.k8s.api.core.v1.Pod',
  );
  assert.equal(
    doc.paths['/api/v1/namespaces/{namespace}/configmaps/{name}'].delete.responses['200'].schema.$ref,
    '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Status',
  );
  assert.equal(doc.paths[`${podItem}/status`].patch.operationId, 'patchCoreV1NamespacedPodStatus');
  assert.ok(paramNames(doc.paths[`${podItem}/status`].patch).includes('fieldValidation'));
  assert.deepEqual(doc.paths[`${podItem}/eviction`].post['x-kubernetes-group-version-kind'], {
    group: 'policy',
    version: 'v1',
    kind: 'Eviction',
  });
  assert.equal(
    doc.paths[`${podItem}/binding`].post.parameters[0].schema.$ref,
    '#/definitions/io.k8s.api.core.v1.Binding',
  );
  assert.equal(doc.paths[`${podItem}/log`].get.responses['200'].schema.type, 'string');
  assert.equal(doc.paths[`${podItem}/exec`].post['x-kubernetes-action'], 'connect');
  const scale = doc.paths[`${collectionPath(deployments)}/{name}/scale`];
  assert.deepEqual(scale.patch['x-kubernetes-group-version-kind'], {
    group: 'autoscaling',
    version: 'v1',
    kind: 'Scale',
  });
  assert.equal(scale.get.responses['200'].schema.$ref, '#/definitions/io.k8s.api.autoscaling.v1.Scale');
  assert.ok(doc.paths['/api/v1/namespaces/{name}/finalize'].put);
  assert.ok(doc.paths['/api/v1/watch/namespaces/{namespace}/pods/{name}'].get);
  assert.equal(
    doc.paths['/apis/apps/v1/'].get.responses['200'].schema.$ref,
    '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList',
  );

  // every reference resolves inside the document
  for (const ref of refsIn(doc)) {
    assert.ok(ref.startsWith('#/definitions/'), ref);
    assert.ok(doc.definitions[ref.slice('#/definitions/'.length)], `unresolved ${ref}`);
  }
  assert.ok(!JSON.stringify(doc.definitions).includes('"ref"'), 'model references must be rendered as $ref');
});

test('the v3 index carries content hashes that match the served documents and are stable', () => {
  const docs = new OpenApiDocuments(RESOURCES, { version: 'v1.33.0' });
  const index = docs.v3DiscoveryObject();
  const names = Object.keys(index.paths);
  for (const gv of new Set(RESOURCES.map((r) => (r.group ? `apis/${groupVersion(r)}` : `api/${r.version}`))))
    assert.ok(names.includes(gv), gv);
  for (const n of ['api', 'apis', 'apis/apps']) assert.ok(names.includes(n), n);
  for (const name of names) {
    const served = docs.v3(name)!;
    const hash = createHash('sha512').update(served.body).digest('hex').toUpperCase();
    assert.equal(index.paths[name].serverRelativeURL, `/openapi/v3/${name}?hash=${hash}`);
    assert.equal(served.etag, `"${hash}"`);
  }
  assert.equal(docs.v3Discovery().body.toString(), JSON.stringify(index));
  // another build of the same registry gives the same bytes, so clients' caches stay valid across restarts
  assert.equal(new OpenApiDocuments(RESOURCES, { version: 'v1.33.0' }).v3Discovery().hash, docs.v3Discovery().hash);
  assert.notEqual(new OpenApiDocuments(RESOURCES, { version: 'v1.34.0' }).v3Discovery().hash, docs.v3Discovery().hash);
  assert.deepEqual(openapiV3Discovery(RESOURCES), openapiV3Discovery(RESOURCES));
  assert.equal(docs.v3('apis/nope/v1'), undefined);
});

test('a v3 group/version document has its paths, resolvable schemas and fieldValidation on every PATCH', () => {
  for (const name of ['api/v1', 'apis/apps/v1', 'apis/coordination.k8s.io/v1']) {
    const doc = openapiV3GroupVersion(name, RESOURCES) as unknown as Json;
    assert.equal(doc.openapi, '3.0.0');
    const prefix = `/${name}/`;
    for (const path of Object.keys(doc.paths)) assert.ok(path.startsWith(prefix), `${path} does not belong to ${name}`);
    let patches = 0;
    for (const item of Object.values(doc.paths as Record<string, Json>)) {
      if (!item.patch) continue;
      patches++;
      assert.ok(item.patch['x-kubernetes-group-version-kind'], 'PATCH without group/version/kind');
      // kubectl reads the operation's own parameters, not the path's
      assert.ok(
        paramNames(item.patch).includes('fieldValidation'),
        `PATCH ${item.patch.operationId} lacks fieldValidation`,
      );
      assert.deepEqual(Object.keys(item.patch.requestBody.content).sort(), [
        'application/apply-patch+yaml',
        'application/json-patch+json',
        'application/merge-patch+json',
        'application/strategic-merge-patch+json',
      ]);
    }
    assert.ok(patches > 0);
    for (const ref of refsIn(doc)) {
      assert.ok(ref.startsWith('#/components/schemas/'), ref);
      assert.ok(doc.components.schemas[ref.slice('#/components/schemas/'.length)], `unresolved ${ref} in ${name}`);
    }
  }
  const core = openapiV3GroupVersion('/api/v1/', RESOURCES) as unknown as Json;
  assert.ok(core.paths['/api/v1/namespaces/{namespace}/pods/{name}'].get);
  assert.ok(core.components.schemas['io.k8s.api.core.v1.Pod']['x-kubernetes-group-version-kind']);
  assert.equal(
    core.components.schemas['io.k8s.api.apps.v1.Deployment'],
    undefined,
    'api/v1 must not carry apps schemas',
  );
  const apps = openapiV3GroupVersion('apis/apps/v1', RESOURCES) as unknown as Json;
  assert.equal(
    apps.components.schemas['io.k8s.api.apps.v1.Deployment'].properties.spec.$ref,
    '#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec',
  );
  assert.equal(openapiV3GroupVersion('apis/batch/v1', RESOURCES), undefined);
});

/** a minimal protocol buffer wire reader: the fields of one message as [number, bytes-or-varint] */
function fields(buf: Uint8Array): [number, Uint8Array | number][] {
  const out: [number, Uint8Array | number][] = [];
  let i = 0;
  const varint = () => {
    let v = 0;
    let mul = 1;
    for (;;) {
      const b = buf[i++];
      v += (b & 0x7f) * mul;
      mul *= 128;
      if (b < 0x80) return v;
    }
  };
  while (i < buf.length) {
    const tag = varint();
    const wire = tag % 8;
    const num = Math.floor(tag / 8);
    if (wire === 0) out.push([num, varint()]);
    else if (wire === 2) {
      const len = varint();
      out.push([num, buf.subarray(i, i + len)]);
      i += len;
    } else throw new Error(`unexpected wire type ${wire} for field ${num}`);
  }
  return out;
}
const text = (b: Uint8Array | number) => Buffer.from(b as Uint8Array).toString('utf8');
const sub = (msg: Uint8Array, num: number) =>
  fields(msg)
    .filter(([n]) => n === num)
    .map(([, v]) => v as Uint8Array);

test('the v2 protobuf encoding uses the openapi.v2 field numbers and matches the JSON document', () => {
  const bytes = openapiV2Protobuf(RESOURCES);
  const top = fields(bytes);
  assert.deepEqual(
    [...new Set(top.map(([n]) => n))].sort((a, b) => a - b),
    [1, 2, 8, 9, 12, 13],
  );
  assert.equal(text(sub(bytes, 1)[0]), '2.0');
  assert.equal(text(sub(sub(bytes, 2)[0], 1)[0]), 'Kubernetes');

  // Document.definitions(9) → NamedSchema(1){name 1, value 2} → Schema.properties(25) → NamedSchema → Schema.vendor_extension(31)
  const podSpec = sub(sub(bytes, 9)[0], 1).find((ns) => text(sub(ns, 1)[0]) === 'io.k8s.api.core.v1.PodSpec');
  assert.ok(podSpec, 'PodSpec definition');
  const containers = sub(sub(sub(podSpec, 2)[0], 25)[0], 1).find((ns) => text(sub(ns, 1)[0]) === 'containers')!;
  const schema = sub(containers, 2)[0];
  assert.equal(text(sub(sub(schema, 22)[0], 1)[0]), 'array'); // Schema.type(22) → TypeItem.value(1)
  const items = sub(sub(schema, 23)[0], 1)[0]; // Schema.items(23) → ItemsItem.schema(1)
  assert.equal(text(sub(items, 1)[0]), '#/definitions/io.k8s.api.core.v1.Container'); // Schema._ref(1)
  const ext = Object.fromEntries(
    sub(schema, 31).map((na) => [text(sub(na, 1)[0]), JSON.parse(text(sub(sub(na, 2)[0], 2)[0]))]),
  );
  assert.equal(ext['x-kubernetes-patch-strategy'], 'merge');
  assert.equal(ext['x-kubernetes-patch-merge-key'], 'name');

  // Document.paths(8) → Paths.path(2) → NamedPathItem → PathItem.patch(8) → Operation.consumes(7) and vendor_extension(13)
  const podPath = sub(sub(bytes, 8)[0], 2).find(
    (np) => text(sub(np, 1)[0]) === '/api/v1/namespaces/{namespace}/pods/{name}',
  )!;
  const patch = sub(sub(podPath, 2)[0], 8)[0];
  assert.ok(sub(patch, 7).map(text).includes('application/strategic-merge-patch+json'));
  const opExt = Object.fromEntries(
    sub(patch, 13).map((na) => [text(sub(na, 1)[0]), JSON.parse(text(sub(sub(na, 2)[0], 2)[0]))]),
  );
  assert.deepEqual(opExt['x-kubernetes-group-version-kind'], { group: '', version: 'v1', kind: 'Pod' });
  assert.equal(opExt['x-kubernetes-action'], 'patch');
  // Operation.parameters(8) → ParametersItem.parameter(1) → Parameter.non_body_parameter(2) → query_parameter_sub_schema(3) → name(4)
  const queryNames = sub(patch, 8)
    .map((pi) => sub(sub(pi, 1)[0], 2)[0])
    .filter(Boolean)
    .map((nb) => text(sub(sub(nb, 3)[0], 4)[0]));
  assert.deepEqual(queryNames, ['dryRun', 'fieldManager', 'fieldValidation', 'force']);

  // the full decode agrees with the JSON document
  const json = openapiV2(RESOURCES) as unknown as Json;
  const decoded = decodeV2Protobuf(bytes) as Json;
  assert.equal(decoded.paths.path.length, Object.keys(json.paths).length);
  assert.equal(decoded.definitions.additional_properties.length, Object.keys(json.definitions).length);
  assert.equal(openapiV2Protobuf(RESOURCES), bytes, 'the encoding is cached');
});
