/**
 * The API server's HTTP behaviour, in process with TLS and real client credentials: authentication, error Statuses,
 * limits, watches over HTTP and WebSocket, Table output, discovery, health and metrics.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import WebSocket from 'ws';
import { startApiServer, type ApiServer } from '../apiserver/server.ts';
import { clientFromKubeconfig, type BenchClient } from '../bench/client.ts';
import { eventually } from './harness/eventually.ts';

describe('API server over HTTPS', () => {
  let dir: string;
  let api: ApiServer;
  let c: BenchClient;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-api-'));
    api = await startApiServer({ dataDir: dir, port: 0, bindAddress: '127.0.0.1', log: () => {} });
    c = clientFromKubeconfig(api.kubeconfigPath!);
  });
  after(async () => {
    c?.close();
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const anonymous = (p: string) =>
    new Promise<number>((resolve, reject) => {
      https
        .get(`${api.url}${p}`, { rejectUnauthorized: false }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('error', reject);
    });

  it('refuses requests without credentials, except health checks', async () => {
    assert.equal(await anonymous('/api/v1/namespaces'), 401);
    assert.equal(await anonymous('/version'), 401);
    assert.equal(await anonymous('/readyz'), 200);
    assert.equal(await anonymous('/livez'), 200);
  });

  it('answers errors as Status objects with Kubernetes codes and reasons', async () => {
    const nf = await c.request('GET', '/api/v1/namespaces/default/configmaps/nope');
    assert.equal(nf.status, 404);
    const st = JSON.parse(nf.body);
    assert.equal(st.kind, 'Status');
    assert.equal(st.reason, 'NotFound');
    assert.equal(st.message, 'configmaps "nope" not found');
    const notJson = await c.request('POST', '/api/v1/namespaces/default/configmaps', '{not json');
    assert.equal(notJson.status, 400);
    assert.equal(
      JSON.parse(notJson.body).message,
      "the object provided is unrecognized (must be of type ConfigMap): couldn't get version/kind; json parse error: invalid character 'n' looking for beginning of object key string ({not json)",
    );
    assert.equal(
      (await c.request('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'patch-me' } })).status,
      201,
    );
    for (const [type, message] of [
      ['application/strategic-merge-patch+json', "invalid character '}' looking for beginning of object key string"],
      ['application/json-patch+json', "invalid character '}' looking for beginning of object key string"],
      ['application/merge-patch+json', 'Invalid JSON Patch'],
    ]) {
      const r = await c.request('PATCH', '/api/v1/namespaces/default/configmaps/patch-me', '{"data":{"a":"b",}}', {
        'Content-Type': type,
      });
      assert.deepEqual([r.status, JSON.parse(r.body).message], [400, message], type);
    }
    const wrongKind = await c.request('POST', '/api/v1/namespaces/default/configmaps', {
      kind: 'Secret',
      apiVersion: 'v1',
      metadata: { name: 'x' },
    });
    assert.equal(wrongKind.status, 400);
    for (const q of ['timeoutSeconds=abc', 'watch=1&timeoutSeconds=-5', 'limit=1.5']) {
      const bad = await c.request('GET', `/api/v1/namespaces/default/configmaps?${q}`);
      assert.equal(bad.status, 400, q);
      assert.match(
        JSON.parse(bad.body).message,
        /^(timeoutSeconds|limit): Invalid value: ".*": must be a non-negative integer$/,
      );
    }
    const huge = await c.request('POST', '/api/v1/namespaces/default/configmaps', {
      metadata: { name: 'big' },
      data: { x: 'y'.repeat(3 * 1024 * 1024 + 10) },
    });
    assert.equal(huge.status, 413);
    const badPatch = await c.request('PATCH', '/api/v1/namespaces/default/configmaps/x', '{}', {
      'Content-Type': 'text/plain',
    });
    assert.equal(badPatch.status, 415);
    const invalid = await c.request('POST', '/api/v1/namespaces/default/configmaps', {
      metadata: { name: 'Bad_Name' },
    });
    assert.equal(invalid.status, 422);
    const inv = JSON.parse(invalid.body);
    assert.equal(inv.reason, 'Invalid');
    assert.equal(inv.details.causes[0].field, 'metadata.name');
    const unknown = await c.request('GET', '/apis/nothing.example.com/v1/things');
    assert.equal(unknown.status, 404);
    const badSel = await c.request('GET', '/api/v1/pods?labelSelector=a%20b%20c');
    assert.equal(badSel.status, 400);
    const badField = await c.request('GET', '/api/v1/pods?fieldSelector=spec.bogus%3Dx');
    assert.equal(badField.status, 400);
    assert.match(JSON.parse(badField.body).message, /field label not supported: spec.bogus/);
  });

  it('refuses values its types cannot hold and drops unknown fields, as decoding into the Go types does', async () => {
    const typeErr = await c.request('POST', '/api/v1/namespaces/default/configmaps', {
      metadata: { name: 'typed' },
      data: { n: 1 },
    });
    assert.equal(typeErr.status, 400);
    const st = JSON.parse(typeErr.body);
    assert.equal(st.reason, 'BadRequest');
    assert.equal(
      st.message,
      'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal number into Go struct field ConfigMap.data of type string',
    );
    const pod = await c.request('POST', '/api/v1/namespaces/default/pods', {
      metadata: { name: 'typed' },
      spec: { containers: [{ name: 'a', image: 'i', ports: [{ containerPort: '80' }] }] },
    });
    assert.equal(pod.status, 400);
    assert.match(
      JSON.parse(pod.body).message,
      /json: cannot unmarshal string into Go struct field ContainerPort\.spec\.containers\.ports\.containerPort of type int32$/,
    );
    assert.equal((await c.request('GET', '/api/v1/namespaces/default/configmaps/typed')).status, 404);
    // unknown fields (default fieldValidation: Warn) are not stored, nor tracked as anybody's
    const created = await c.request('POST', '/api/v1/namespaces/default/configmaps', {
      metadata: { name: 'pruned', bogus: 1 },
      extra: { deep: [1] },
      data: { a: 'b' },
    });
    assert.equal(created.status, 201);
    const got = JSON.parse((await c.request('GET', '/api/v1/namespaces/default/configmaps/pruned')).body);
    assert.equal(got.extra, undefined);
    assert.equal(got.metadata.bogus, undefined);
    assert.deepEqual(got.data, { a: 'b' });
    assert.deepEqual(Object.keys(got.metadata.managedFields[0].fieldsV1), ['f:data']);
    // a merge patch adding an unknown field changes nothing
    const patched = await c.request(
      'PATCH',
      '/api/v1/namespaces/default/configmaps/pruned',
      { spec: { x: 1 } },
      { 'Content-Type': 'application/merge-patch+json' },
    );
    assert.equal(patched.status, 200);
    assert.equal(JSON.parse(patched.body).spec, undefined);
    assert.equal(JSON.parse(patched.body).metadata.resourceVersion, got.metadata.resourceVersion);
    // an applied configuration must fit the type, whatever the fieldValidation
    const applied = await c.request(
      'PATCH',
      '/api/v1/namespaces/default/configmaps/pruned?fieldManager=t&fieldValidation=Ignore',
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'pruned', namespace: 'default' },
        spec: { x: 1 },
      }),
      { 'Content-Type': 'application/apply-patch+yaml' },
    );
    assert.equal(applied.status, 400);
    assert.equal(
      JSON.parse(applied.body).message,
      'failed to create typed patch object (default/pruned; /v1, Kind=ConfigMap): .spec: field not declared in schema',
    );
    // the scale subresource and delete options are decoded into their types too
    const dep = {
      metadata: { name: 'typed' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { a: 'b' } },
        template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
      },
    };
    assert.equal((await c.request('POST', '/apis/apps/v1/namespaces/default/deployments', dep)).status, 201);
    const scale = await c.request(
      'PATCH',
      '/apis/apps/v1/namespaces/default/deployments/typed/scale',
      { spec: { replicas: '3' } },
      { 'Content-Type': 'application/merge-patch+json' },
    );
    assert.equal(scale.status, 400);
    assert.equal(
      JSON.parse(scale.body).message,
      'Scale in version "v1" cannot be handled as a Scale: json: cannot unmarshal string into Go struct field ScaleSpec.spec.replicas of type int32',
    );
    const del = await c.request('DELETE', '/apis/apps/v1/namespaces/default/deployments/typed', {
      gracePeriodSeconds: '5',
    });
    assert.equal(del.status, 400);
    assert.equal(
      JSON.parse(del.body).message,
      'DeleteOptions in version "v1" cannot be handled as a DeleteOptions: json: cannot unmarshal string into Go struct field DeleteOptions.gracePeriodSeconds of type int64',
    );
    assert.equal(
      (await c.request('DELETE', '/apis/apps/v1/namespaces/default/deployments/typed', { gracePeriodSeconds: 0 }))
        .status,
      200,
    );
  });

  it('refuses values nested deeper than its limit with a 400, whichever way they come, and stays up', async () => {
    const nested = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
    const rev = (name: string, data: string) => `{"metadata":{"name":"${name}"},"revision":1,"data":${data}}`;
    const revisions = '/apis/apps/v1/namespaces/default/controllerrevisions';
    // data (free-form) is at depth 2: 999 more levels fit
    assert.equal((await c.request('POST', revisions, rev('deep-ok', nested(999)))).status, 201);
    const yamlOk = await c.request('GET', `${revisions}/deep-ok`, undefined, { Accept: 'application/yaml' });
    assert.equal(yamlOk.status, 200);
    for (const [body, type] of [
      [rev('deep-json', nested(1000)), 'application/json'],
      [rev('deep-huge', '['.repeat(300_000) + ']'.repeat(300_000)), 'application/json'],
      [rev('deep-yaml', nested(5000)), 'application/yaml'],
    ]) {
      const r = await c.request('POST', revisions, body, { 'Content-Type': type });
      assert.equal(r.status, 400, type);
      assert.match(JSON.parse(r.body).message, /exceeded max depth: arrays and objects nest more than 1000 deep/);
    }
    // patches: a deep patch body, and a JSON patch that nests a free-form value deeper than either body did
    assert.equal(
      (
        await c.request('POST', '/api/v1/namespaces/default/configmaps', {
          metadata: { name: 'deep' },
          data: { a: 'b' },
        })
      ).status,
      201,
    );
    const cm = '/api/v1/namespaces/default/configmaps/deep';
    const deepPatch = await c.request('PATCH', cm, `{"metadata":{"labels":${nested(20_000)}}}`, {
      'Content-Type': 'application/strategic-merge-patch+json',
    });
    assert.equal(deepPatch.status, 400);
    assert.match(JSON.parse(deepPatch.body).message, /^error decoding patch: exceeded max depth/);
    // fieldsV1 is free-form: nest a field set (f:a in f:a ...) 900 deep there, then add another 900 inside it
    const fieldSet = (n: number) => '{"f:a":'.repeat(n) + '{}' + '}'.repeat(n);
    const add = (p: string, value: string) => `[{"op":"add","path":"${p}","value":${value}}]`;
    const first = await c.request('PATCH', cm, add('/metadata/managedFields/0/fieldsV1/f:x', fieldSet(900)), {
      'Content-Type': 'application/json-patch+json',
    });
    assert.equal(first.status, 200, first.body);
    const stored = JSON.parse(first.body).metadata;
    const at = stored.managedFields.findIndex((m: any) => m.fieldsV1['f:x']);
    assert.ok(at >= 0, 'the field set added by the first patch is kept');
    const second = await c.request(
      'PATCH',
      cm,
      add(`/metadata/managedFields/${at}/fieldsV1/f:x${'/f:a'.repeat(800)}`, fieldSet(900)),
      { 'Content-Type': 'application/json-patch+json' },
    );
    assert.equal(second.status, 400, second.body.slice(0, 300));
    assert.equal(
      JSON.parse(second.body).message,
      'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: exceeded max depth: arrays and objects nest more than 1000 deep',
    );
    const before = stored.resourceVersion;
    const after = JSON.parse((await c.request('GET', cm)).body);
    assert.equal(after.metadata.resourceVersion, before);
    assert.equal((await c.request('GET', '/healthz')).status, 200);
  });

  it('takes the path as sent: a name of dots is refused, not read as the namespace holding it', async () => {
    for (const p of ['pods/%2e%2e', 'pods/..', 'configmaps/%2E%2E', 'pods/%2e%2e/log']) {
      const r = await c.request('DELETE', `/api/v1/namespaces/default/${p}`);
      assert.equal(r.status, 400, p);
      assert.equal(JSON.parse(r.body).message, `Name parameter invalid: "..": may not be '..'`);
    }
    const slash = await c.request('GET', '/api/v1/namespaces/default/configmaps/a%2Fb');
    assert.equal(JSON.parse(slash.body).message, `Name parameter invalid: "a/b": may not contain '/'`);
    assert.equal((await c.request('GET', '/api/v1/namespaces/default/configmaps/%zz')).status, 400);
    const ns = JSON.parse((await c.request('GET', '/api/v1/namespaces/default')).body);
    assert.equal(ns.status.phase, 'Active');
    assert.equal(ns.metadata.deletionTimestamp, undefined);
  });

  it("writes status and metadata through /status, never spec (nor a Deployment's labels), and tracks the status manager", async () => {
    const dep = {
      metadata: { name: 'st', labels: { a: 'b' } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { a: 'b' } },
        template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
      },
    };
    assert.equal((await c.request('POST', '/apis/apps/v1/namespaces/default/deployments', dep)).status, 201);
    const patch = {
      metadata: { annotations: { 'via-status': 'yes' }, labels: { a: 'changed' } },
      spec: { replicas: 5 },
      status: { observedGeneration: 1, replicas: 1 },
    };
    const r = await c.request(
      'PATCH',
      '/apis/apps/v1/namespaces/default/deployments/st/status?fieldManager=me',
      patch,
      { 'Content-Type': 'application/merge-patch+json' },
    );
    assert.equal(r.status, 200, r.body);
    const got = JSON.parse(r.body);
    assert.equal(got.metadata.annotations['via-status'], 'yes');
    assert.deepEqual(got.metadata.labels, { a: 'b' });
    assert.equal(got.spec.replicas, 1);
    assert.equal(got.status.replicas, 1);
    const entry = got.metadata.managedFields.find((m: any) => m.manager === 'me');
    assert.equal(entry?.subresource, 'status');
    assert.deepEqual(Object.keys(entry.fieldsV1).sort(), ['f:metadata', 'f:status']);
    assert.deepEqual(entry.fieldsV1['f:metadata'], { 'f:annotations': { '.': {}, 'f:via-status': {} } });
    const stored = JSON.parse((await c.request('GET', '/apis/apps/v1/namespaces/default/deployments/st')).body);
    assert.deepEqual(stored.metadata.managedFields, got.metadata.managedFields);
    // marking it for deletion moves its generation once (Kubernetes' markAsDeleting)
    await c.request(
      'PATCH',
      '/apis/apps/v1/namespaces/default/deployments/st',
      { metadata: { finalizers: ['example.com/hold'] } },
      { 'Content-Type': 'application/merge-patch+json' },
    );
    const marked = JSON.parse((await c.request('DELETE', '/apis/apps/v1/namespaces/default/deployments/st')).body);
    assert.deepEqual(
      [marked.metadata.generation, !!marked.metadata.deletionTimestamp],
      [stored.metadata.generation + 1, true],
    );
    const again = JSON.parse((await c.request('DELETE', '/apis/apps/v1/namespaces/default/deployments/st')).body);
    assert.equal(again.metadata.generation, stored.metadata.generation + 1);
    await c.request(
      'PATCH',
      '/apis/apps/v1/namespaces/default/deployments/st',
      { metadata: { finalizers: null } },
      { 'Content-Type': 'application/merge-patch+json' },
    );
  });

  it('names the port whose NodePort is taken or out of range by its index', async () => {
    const svc = (name: string, ports: Array<{ name?: string; port: number; nodePort?: number }>) => ({
      metadata: { name },
      spec: { type: 'NodePort', selector: { a: 'b' }, ports },
    });
    assert.equal(
      (await c.request('POST', '/api/v1/namespaces/default/services', svc('np1', [{ port: 80, nodePort: 30080 }])))
        .status,
      201,
    );
    for (const [ports, message] of [
      [
        [
          { name: 'a', port: 81 },
          { name: 'b', port: 82, nodePort: 30080 },
        ],
        'Service "np2" is invalid: spec.ports[1].nodePort: Invalid value: 30080: provided port is already allocated',
      ],
      [
        [{ port: 81, nodePort: 40000 }],
        'Service "np2" is invalid: spec.ports[0].nodePort: Invalid value: 40000: provided port is not in the valid range. The range of valid ports is 30000-32767',
      ],
    ] as const) {
      const r = await c.request('POST', '/api/v1/namespaces/default/services', svc('np2', [...ports]));
      assert.equal(r.status, 422);
      assert.equal(JSON.parse(r.body).message, message);
    }
  });

  it('serves the same Events through core/v1 and events.k8s.io/v1, each in its own form', async () => {
    const now = new Date().toISOString().replace(/\.\d+Z$/, '.000000Z');
    const v1 = {
      metadata: { name: 'ev-new' },
      eventTime: now,
      reportingController: 'example.com/ctl',
      reportingInstance: 'ctl-1',
      action: 'Sync',
      reason: 'Synced',
      note: 'all good',
      type: 'Normal',
      regarding: { kind: 'ConfigMap', namespace: 'default', name: 'keep', apiVersion: 'v1' },
    };
    const created = await c.request('POST', '/apis/events.k8s.io/v1/namespaces/default/events', v1);
    assert.equal(created.status, 201, created.body);
    assert.equal(JSON.parse(created.body).note, 'all good');
    // read through core/v1: renamed fields
    const core = JSON.parse((await c.request('GET', '/api/v1/namespaces/default/events/ev-new')).body);
    assert.equal(core.apiVersion, 'v1');
    assert.equal(core.message, 'all good');
    assert.equal(core.reportingComponent, 'example.com/ctl');
    assert.deepEqual(core.involvedObject, v1.regarding);
    assert.equal(core.note, undefined);
    // written through core/v1, seen through events.k8s.io/v1 (get, list with a field selector, watch)
    const old = {
      metadata: { name: 'ev-old' },
      involvedObject: { kind: 'Pod', namespace: 'default', name: 'p1' },
      reason: 'Started',
      message: 'started',
      source: { component: 'kubelet' },
      count: 3,
      type: 'Warning',
    };
    assert.equal((await c.request('POST', '/api/v1/namespaces/default/events', old)).status, 201);
    const seen = JSON.parse((await c.request('GET', '/apis/events.k8s.io/v1/namespaces/default/events/ev-old')).body);
    assert.equal(seen.apiVersion, 'events.k8s.io/v1');
    assert.deepEqual(
      [seen.note, seen.deprecatedCount, seen.deprecatedSource, seen.regarding.name],
      ['started', 3, { component: 'kubelet' }, 'p1'],
    );
    const list = JSON.parse(
      (
        await c.request(
          'GET',
          '/apis/events.k8s.io/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dp1',
        )
      ).body,
    );
    assert.deepEqual(
      list.items.map((e: any) => [e.apiVersion, e.metadata.name, e.note]),
      [['events.k8s.io/v1', 'ev-old', 'started']],
    );
    const watched = await c.request('GET', '/apis/events.k8s.io/v1/namespaces/default/events?watch=1&timeoutSeconds=1');
    const names = watched.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).object);
    assert.deepEqual(names.map((o: any) => o.metadata.name).sort(), ['ev-new', 'ev-old']);
    assert.ok(names.every((o: any) => o.apiVersion === 'events.k8s.io/v1' && o.involvedObject === undefined));
    // an Event written through core/v1 can be labelled through events.k8s.io/v1; what it says may not change there
    const evs = '/apis/events.k8s.io/v1/namespaces/default/events';
    const labelled = await c.request(
      'PATCH',
      `${evs}/ev-old`,
      { metadata: { labels: { seen: 'yes' } } },
      { 'Content-Type': 'application/merge-patch+json' },
    );
    assert.equal(labelled.status, 200, labelled.body);
    const renote = await c.request(
      'PATCH',
      `${evs}/ev-new`,
      { note: 'changed' },
      { 'Content-Type': 'application/merge-patch+json' },
    );
    assert.deepEqual(
      [renote.status, JSON.parse(renote.body).message],
      [422, 'Event.events.k8s.io "ev-new" is invalid: message: Invalid value: "changed": field is immutable'],
    );
    const strict = await c.request('POST', evs, {
      ...v1,
      metadata: { name: 'ev-strict' },
      series: { count: 1 },
      deprecatedCount: 4,
    });
    assert.equal(strict.status, 422);
    assert.match(
      JSON.parse(strict.body).message,
      /series\.count: Invalid value: "": should be at least 2.*series\.lastObservedTime: Required value.*count: Invalid value: "": needs to be unset/,
    );
    // one object: a name taken through one API is taken for the other, a delete through one removes it from both
    assert.equal(
      (await c.request('POST', '/api/v1/namespaces/default/events', { ...old, metadata: { name: 'ev-new' } })).status,
      409,
    );
    assert.equal((await c.request('DELETE', '/apis/events.k8s.io/v1/namespaces/default/events/ev-old')).status, 200);
    assert.equal((await c.request('GET', '/api/v1/namespaces/default/events/ev-old')).status, 404);
  });

  it('serves PodTemplates: lifecycle, defaults, validation, generation, tables, deletecollection', async () => {
    const base = '/api/v1/namespaces/default/podtemplates';
    const pt = (name: string) => ({
      metadata: { name, labels: { podtemplate: 'set' } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
    });
    const created = JSON.parse((await c.request('POST', base, pt('pt-1'))).body);
    assert.equal(created.metadata.generation, 1);
    assert.equal(created.template.spec.restartPolicy, 'Always');
    assert.equal(created.template.spec.containers[0].terminationMessagePath, '/dev/termination-log');
    assert.equal((await c.request('POST', base, pt('pt-2'))).status, 201);
    const bad = await c.request('POST', base, { metadata: { name: 'pt-bad' }, template: { spec: { containers: [] } } });
    assert.equal(bad.status, 422);
    assert.match(JSON.parse(bad.body).message, /template\.spec\.containers: Required value/);
    const patched = JSON.parse(
      (
        await c.request(
          'PATCH',
          `${base}/pt-1`,
          { template: { metadata: { labels: { app: 'patched' } } } },
          { 'Content-Type': 'application/strategic-merge-patch+json' },
        )
      ).body,
    );
    assert.deepEqual([patched.template.metadata.labels.app, patched.metadata.generation], ['patched', 2]);
    const annotated = JSON.parse(
      (
        await c.request('PUT', `${base}/pt-1`, {
          ...patched,
          metadata: { ...patched.metadata, annotations: { updated: 'true' } },
        })
      ).body,
    );
    assert.deepEqual([annotated.metadata.annotations.updated, annotated.metadata.generation], ['true', 2]);
    const table = JSON.parse(
      (await c.request('GET', base, undefined, { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' })).body,
    );
    assert.deepEqual(
      table.columnDefinitions.map((d: any) => d.name),
      ['Name', 'Containers', 'Images', 'Pod Labels'],
    );
    assert.deepEqual(table.rows.find((row: any) => row.cells[0] === 'pt-1').cells, [
      'pt-1',
      'c',
      'nginx',
      'app=patched',
    ]);
    const removed = JSON.parse((await c.request('DELETE', `${base}?labelSelector=podtemplate%3Dset`)).body);
    assert.deepEqual(removed.items.map((i: any) => i.metadata.name).sort(), ['pt-1', 'pt-2']);
    assert.equal(JSON.parse((await c.request('GET', `${base}?labelSelector=podtemplate%3Dset`)).body).items.length, 0);
    const discovery = JSON.parse((await c.request('GET', '/api/v1')).body);
    assert.ok(
      discovery.resources.some(
        (res: any) => res.name === 'podtemplates' && res.kind === 'PodTemplate' && res.namespaced,
      ),
    );
  });

  it('answers reviews (who am I, may I, whose token) without storing them; skiff allows every authenticated request', async () => {
    const who = await c.request('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'SelfSubjectReview',
    });
    assert.equal(who.status, 201);
    const me = JSON.parse(who.body);
    assert.equal(me.kind, 'SelfSubjectReview');
    assert.equal(me.status.userInfo.username, 'skiff-admin');
    assert.ok(
      me.status.userInfo.groups.includes('system:masters') &&
        me.status.userInfo.groups.includes('system:authenticated'),
    );
    const may = await c.request('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      spec: { resourceAttributes: { verb: 'delete', resource: 'pods', namespace: 'default' } },
    });
    assert.deepEqual([may.status, JSON.parse(may.body).status], [201, { allowed: true }]);
    const neither = await c.request('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { spec: {} });
    assert.equal(neither.status, 422);
    assert.match(
      JSON.parse(neither.body).message,
      /exactly one of nonResourceAttributes or resourceAttributes must be specified/,
    );
    const local = await c.request(
      'POST',
      '/apis/authorization.k8s.io/v1/namespaces/default/localsubjectaccessreviews',
      { spec: { user: 'x', resourceAttributes: { verb: 'get', resource: 'pods', namespace: 'other' } } },
    );
    assert.match(
      JSON.parse(local.body).message,
      /spec\.resourceAttributes\.namespace: Invalid value: "other": must match metadata\.namespace/,
    );
    const rules = JSON.parse(
      (
        await c.request('POST', '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews', {
          spec: { namespace: 'default' },
        })
      ).body,
    );
    assert.deepEqual(rules.status.resourceRules, [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }]);
    const token = JSON.parse(
      (await c.request('POST', '/apis/authentication.k8s.io/v1/tokenreviews', { spec: { token: 'not-a-token' } })).body,
    );
    assert.equal(token.status.authenticated, undefined);
    // a service account token, checked for the API server's audience, for its own, and for another
    assert.equal(
      (await c.request('POST', '/api/v1/namespaces/default/serviceaccounts', { metadata: { name: 'reviewed' } }))
        .status,
      201,
    );
    const issued = await c.request('POST', '/api/v1/namespaces/default/serviceaccounts/reviewed/token', {
      spec: { audiences: ['vault', 'https://kubernetes.default.svc.cluster.local'] },
    });
    assert.equal(issued.status, 201, issued.body);
    const jwt = JSON.parse(issued.body).status.token;
    const review = async (audiences?: string[]) =>
      JSON.parse(
        (await c.request('POST', '/apis/authentication.k8s.io/v1/tokenreviews', { spec: { token: jwt, audiences } }))
          .body,
      ).status;
    const plain = await review();
    assert.deepEqual(
      [plain.authenticated, plain.user.username, plain.audiences],
      [true, 'system:serviceaccount:default:reviewed', ['https://kubernetes.default.svc.cluster.local']],
    );
    assert.deepEqual((await review(['vault', 'other'])).audiences, ['vault']);
    const other = await review(['other']);
    assert.equal(other.authenticated, undefined);
    assert.match(other.error, /other/);
    assert.equal((await c.request('GET', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews')).status, 405);
    // impersonation (kubectl --as): the request acts as the user it names
    const as = await c.request(
      'POST',
      '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      {},
      {
        'Impersonate-User': 'system:serviceaccount:team:bot',
        'Impersonate-Group': 'devs',
        'Impersonate-Extra-Scopes': 'view',
      },
    );
    assert.deepEqual(JSON.parse(as.body).status.userInfo, {
      username: 'system:serviceaccount:team:bot',
      groups: ['devs', 'system:serviceaccounts', 'system:serviceaccounts:team', 'system:authenticated'],
      extra: { scopes: ['view'] },
    });
    const groupOnly = await c.request(
      'POST',
      '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      {},
      { 'Impersonate-Group': 'devs' },
    );
    assert.equal(groupOnly.status, 400);
  });

  it('serves HorizontalPodAutoscalers as autoscaling/v1 and v2, stored once as v2', async () => {
    const v1base = '/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers';
    const v2base = '/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers';
    const ref = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' };
    const created = await c.request('POST', v1base, {
      metadata: { name: 'hpa-v1' },
      spec: { scaleTargetRef: ref, maxReplicas: 5, targetCPUUtilizationPercentage: 50 },
    });
    assert.equal(created.status, 201, created.body);
    assert.deepEqual(JSON.parse(created.body).spec, {
      scaleTargetRef: ref,
      minReplicas: 1,
      maxReplicas: 5,
      targetCPUUtilizationPercentage: 50,
    });
    const asV2 = JSON.parse((await c.request('GET', `${v2base}/hpa-v1`)).body);
    assert.deepEqual(asV2.spec.metrics, [
      { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } },
    ]);
    const v2obj = {
      metadata: { name: 'hpa-v2' },
      spec: {
        scaleTargetRef: ref,
        maxReplicas: 4,
        metrics: [
          { type: 'Pods', pods: { metric: { name: 'rps' }, target: { type: 'AverageValue', averageValue: '10' } } },
        ],
      },
    };
    assert.equal((await c.request('POST', v2base, v2obj)).status, 201);
    const list = JSON.parse((await c.request('GET', v1base)).body);
    assert.equal(list.apiVersion, 'autoscaling/v1');
    const seen = list.items.find((i: any) => i.metadata.name === 'hpa-v2');
    assert.equal(seen.apiVersion, 'autoscaling/v1');
    assert.equal(seen.spec.targetCPUUtilizationPercentage, undefined);
    assert.deepEqual(JSON.parse(seen.metadata.annotations['autoscaling.alpha.kubernetes.io/metrics']), [
      { type: 'Pods', pods: { metricName: 'rps', targetAverageValue: '10' } },
    ]);
    // a v1 update that keeps the annotation keeps the v2 metric
    seen.spec.maxReplicas = 6;
    assert.equal((await c.request('PUT', `${v1base}/hpa-v2`, seen)).status, 200);
    const after = JSON.parse((await c.request('GET', `${v2base}/hpa-v2`)).body);
    assert.deepEqual([after.spec.maxReplicas, after.spec.metrics], [6, v2obj.spec.metrics]);
    assert.equal(after.metadata.annotations, undefined);
    const table = JSON.parse(
      (await c.request('GET', v1base, undefined, { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' })).body,
    );
    assert.deepEqual(table.rows.find((row: any) => row.cells[0] === 'hpa-v1').cells.slice(0, 5), [
      'hpa-v1',
      'Deployment/web',
      'cpu: <unknown>/50%',
      '1',
      5,
    ]);
    const watched = await c.request('GET', `${v1base}?watch=1&timeoutSeconds=1`);
    assert.ok(
      watched.body
        .trim()
        .split('\n')
        .every((l) => JSON.parse(l).object.apiVersion === 'autoscaling/v1'),
    );
    // the answer to a write is the object as stored: v1's implicit 80% CPU target shows at once
    const noTarget = JSON.parse(
      (
        await c.request('POST', v1base, {
          metadata: { name: 'hpa-default' },
          spec: { scaleTargetRef: ref, maxReplicas: 2 },
        })
      ).body,
    );
    assert.equal(noTarget.spec.targetCPUUtilizationPercentage, 80);
    const bad = await c.request('POST', v1base, {
      metadata: { name: 'hpa-bad' },
      spec: { scaleTargetRef: ref, maxReplicas: 5, targetCPUUtilizationPercentage: 0 },
    });
    assert.equal(bad.status, 422);
    const groups = JSON.parse((await c.request('GET', '/apis')).body).groups;
    assert.equal(groups.find((g: any) => g.name === 'autoscaling').preferredVersion.version, 'v2');
  });

  it('keeps stored data intact when a write is refused', async () => {
    const ok = await c.request('POST', '/api/v1/namespaces/default/configmaps', {
      metadata: { name: 'keep' },
      data: { a: '1' },
    });
    assert.equal(ok.status, 201);
    const cur = JSON.parse(ok.body);
    const stale = await c.request('PUT', '/api/v1/namespaces/default/configmaps/keep', {
      ...cur,
      data: { a: '2' },
      metadata: { ...cur.metadata, resourceVersion: '1' },
    });
    assert.equal(stale.status, 409);
    const bad = await c.request('PUT', '/api/v1/namespaces/default/configmaps/keep', {
      ...cur,
      metadata: { ...cur.metadata, labels: { 'bad key!': 'x' } },
    });
    assert.equal(bad.status, 422);
    // a uid in an update is a precondition (PUT), and may not be changed (patch)
    const otherUid = await c.request('PUT', '/api/v1/namespaces/default/configmaps/keep', {
      ...cur,
      data: { a: '3' },
      metadata: { ...cur.metadata, uid: 'zzz' },
    });
    assert.equal(otherUid.status, 409);
    assert.equal(
      JSON.parse(otherUid.body).message,
      `Operation cannot be fulfilled on configmaps "keep": Precondition failed: UID in precondition: zzz, UID in object meta: ${cur.metadata.uid}`,
    );
    const patchedUid = await c.request(
      'PATCH',
      '/api/v1/namespaces/default/configmaps/keep',
      { metadata: { uid: 'zzz' } },
      { 'Content-Type': 'application/merge-patch+json' },
    );
    assert.equal(patchedUid.status, 422);
    assert.equal(
      JSON.parse(patchedUid.body).message,
      'ConfigMap "keep" is invalid: metadata.uid: Invalid value: "zzz": field is immutable',
    );
    const after = JSON.parse((await c.request('GET', '/api/v1/namespaces/default/configmaps/keep')).body);
    assert.deepEqual(after.data, { a: '1' });
    assert.equal(after.metadata.resourceVersion, cur.metadata.resourceVersion);
  });

  it('dry-runs writes without storing them', async () => {
    const r = await c.request('POST', '/api/v1/namespaces/default/configmaps?dryRun=All', {
      metadata: { name: 'dry' },
    });
    assert.equal(r.status, 201);
    assert.equal((await c.request('GET', '/api/v1/namespaces/default/configmaps/dry')).status, 404);
    // deletions: dryRun in the query or in the DeleteOptions body (as kubectl delete --dry-run=server sends it)
    for (const name of ['keep-dry-1', 'keep-dry-2']) {
      assert.equal(
        (
          await c.request('POST', '/api/v1/namespaces/default/configmaps', {
            metadata: { name, labels: { dry: 'run' } },
          })
        ).status,
        201,
      );
    }
    const body = { kind: 'DeleteOptions', apiVersion: 'v1', dryRun: ['All'] };
    assert.equal((await c.request('DELETE', '/api/v1/namespaces/default/configmaps/keep-dry-1', body)).status, 200);
    assert.equal(
      (await c.request('DELETE', '/api/v1/namespaces/default/configmaps/keep-dry-1?dryRun=All')).status,
      200,
    );
    const all = await c.request('DELETE', '/api/v1/namespaces/default/configmaps?labelSelector=dry%3Drun', body);
    assert.equal(JSON.parse(all.body).items.length, 2);
    for (const name of ['keep-dry-1', 'keep-dry-2'])
      assert.equal((await c.request('GET', `/api/v1/namespaces/default/configmaps/${name}`)).status, 200, name);
    const bad = await c.request('DELETE', '/api/v1/namespaces/default/configmaps/keep-dry-1', {
      ...body,
      dryRun: ['Some'],
    });
    assert.deepEqual(
      [bad.status, JSON.parse(bad.body).message],
      [422, 'DeleteOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: "Some": supported values: "All"'],
    );
    // request options that cannot be: a 422 on the verb's options kind, as Kubernetes validates them
    const cases: Array<[string, string, unknown, Record<string, string>, string]> = [
      [
        'POST',
        '/api/v1/namespaces/default/configmaps?dryRun=Some',
        { metadata: { name: 'o' } },
        {},
        'CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: "Some": supported values: "All"',
      ],
      [
        'POST',
        `/api/v1/namespaces/default/configmaps?fieldManager=${'m'.repeat(129)}`,
        { metadata: { name: 'o' } },
        {},
        'CreateOptions.meta.k8s.io "" is invalid: fieldManager: Too long: may not be more than 128 bytes',
      ],
      [
        'PUT',
        '/api/v1/namespaces/default/configmaps/keep-dry-1?fieldValidation=Loose',
        { metadata: { name: 'keep-dry-1' } },
        {},
        'UpdateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "Loose": supported values: "Ignore", "Strict", "Warn"',
      ],
      [
        'PATCH',
        '/api/v1/namespaces/default/configmaps/keep-dry-1?force=true',
        {},
        { 'Content-Type': 'application/merge-patch+json' },
        'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch',
      ],
      [
        'PATCH',
        '/api/v1/namespaces/default/configmaps/keep-dry-1',
        {},
        { 'Content-Type': 'application/apply-patch+yaml' },
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
      ],
      [
        'DELETE',
        '/api/v1/namespaces/default/configmaps/keep-dry-1?propagationPolicy=Bad',
        undefined,
        {},
        'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "Bad": supported values: "Foreground", "Background", "Orphan", "nil"',
      ],
    ];
    for (const [method, path, reqBody, headers, message] of cases) {
      const r = await c.request(method, path, reqBody as any, headers);
      assert.deepEqual([r.status, JSON.parse(r.body).message], [422, message], `${method} ${path.slice(0, 80)}`);
    }
    assert.equal((await c.request('GET', '/api/v1/namespaces/default/configmaps/keep-dry-1')).status, 200);
  });

  it('serves Tables for kubectl', async () => {
    const r = await c.request('GET', '/api/v1/namespaces', undefined, {
      Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json',
    });
    const t = JSON.parse(r.body);
    assert.equal(t.kind, 'Table');
    assert.deepEqual(
      t.columnDefinitions.map((c: any) => c.name),
      ['Name', 'Status', 'Age'],
    );
    assert.ok(t.rows.some((row: any) => row.cells[0] === 'kube-system' && row.cells[1] === 'Active'));
  });

  it('offers aggregated discovery and classic discovery', async () => {
    const agg = await c.request('GET', '/apis', undefined, {
      Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json',
    });
    const d = JSON.parse(agg.body);
    assert.equal(d.kind, 'APIGroupDiscoveryList');
    assert.ok(d.items.some((g: any) => g.metadata.name === 'apps'));
    const core = JSON.parse((await c.request('GET', '/api/v1')).body);
    const pods = core.resources.find((r: any) => r.name === 'pods');
    assert.deepEqual(pods.shortNames, ['po']);
    assert.ok(core.resources.some((r: any) => r.name === 'pods/status'));
  });

  it('streams watch events over HTTP, with initial events and a bookmark', async () => {
    const lines: any[] = [];
    const req = https.request(
      {
        agent: c.agent,
        host: '127.0.0.1',
        port: api.port,
        path: '/api/v1/namespaces/default/configmaps?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true',
      },
      (res) => {
        let buf = '';
        res.on('data', (d) => {
          buf += d;
          let i;
          while ((i = buf.indexOf('\n')) >= 0) {
            lines.push(JSON.parse(buf.slice(0, i)));
            buf = buf.slice(i + 1);
          }
        });
      },
    );
    req.end();
    try {
      const bm = await eventually('the bookmark', () => lines.find((l) => l.type === 'BOOKMARK'), { everyMs: 20 });
      assert.equal(bm.object.metadata.annotations['k8s.io/initial-events-end'], 'true');
      assert.ok(lines.some((l) => l.type === 'ADDED' && l.object.metadata.name === 'keep'));
      await c.request('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'live' } });
      const live = await eventually('the live event', () => lines.find((l) => l.object.metadata?.name === 'live'), {
        everyMs: 20,
      });
      assert.equal(live.type, 'ADDED');
    } finally {
      req.destroy();
    }
  });

  it("checks watch options as Kubernetes' validateWatchOptions does, and starts a watch without initial events at now", async () => {
    const cms = '/api/v1/namespaces/default/configmaps';
    const cases: Array<[string, string]> = [
      [
        'resourceVersionMatch=NotOlderThan',
        'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided',
      ],
      [
        'sendInitialEvents=true',
        'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan',
      ],
      [
        'sendInitialEvents=true&resourceVersionMatch=Exact&resourceVersion=5',
        'ListOptions.meta.k8s.io "" is invalid: [resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan, resourceVersionMatch: Unsupported value: "Exact": supported values: "NotOlderThan"]',
      ],
    ];
    for (const [q, message] of cases) {
      const r = await c.request('GET', `${cms}?watch=1&${q}`);
      assert.deepEqual([r.status, JSON.parse(r.body).message], [422, message], q);
    }
    const list = await c.request('GET', `${cms}?sendInitialEvents=true`);
    assert.deepEqual(
      [list.status, JSON.parse(list.body).message],
      [
        422,
        'ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list',
      ],
    );
    // initial events without bookmarks: allowed (no end-of-initial-events bookmark then)
    const noBookmarks = await c.request(
      'GET',
      `${cms}?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=1`,
    );
    assert.equal(noBookmarks.status, 200);
    assert.ok(
      noBookmarks.body
        .trim()
        .split('\n')
        .every((l) => JSON.parse(l).type === 'ADDED'),
    );
    // no initial events, no resourceVersion: nothing from the past
    const fromNow = await c.request(
      'GET',
      `${cms}?watch=1&sendInitialEvents=false&resourceVersionMatch=NotOlderThan&timeoutSeconds=1`,
    );
    assert.deepEqual([fromNow.status, fromNow.body], [200, '']);
  });

  it('serves the deprecated /watch/ paths Kubernetes still serves', async () => {
    assert.equal(
      (await c.request('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'watched-one' } })).status,
      201,
    );
    const one = await c.request('GET', '/api/v1/watch/namespaces/default/configmaps/watched-one?timeoutSeconds=1');
    assert.equal(one.status, 200);
    const lines = one.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((l) => [l.type, l.object.metadata.name]),
      [['ADDED', 'watched-one']],
    );
    const all = await c.request('GET', '/api/v1/watch/namespaces/default/configmaps?timeoutSeconds=1');
    assert.ok(all.body.trim().split('\n').length > 1);
    const apps = await c.request('GET', '/apis/apps/v1/watch/deployments?timeoutSeconds=1');
    assert.equal(apps.status, 200);
    assert.equal((await c.request('DELETE', '/api/v1/watch/namespaces/default/configmaps/watched-one')).status, 405);
  });

  it('reads boolean query parameters as Kubernetes does: absent, 0 and false (any case) are false, anything else true', async () => {
    for (const q of ['watch', 'watch=', 'watch=True', 'watch=yes']) {
      const r = await c.request('GET', `/api/v1/namespaces/default/configmaps?${q}&timeoutSeconds=1`);
      assert.equal(r.status, 200, q);
      assert.equal(JSON.parse(r.body.split('\n')[0]).type, 'ADDED', q);
    }
    for (const q of ['watch=0', 'watch=FALSE', 'other=1']) {
      const r = await c.request('GET', `/api/v1/namespaces/default/configmaps?${q}&timeoutSeconds=1`);
      assert.equal(JSON.parse(r.body).kind, 'ConfigMapList', q);
    }
  });

  it('cuts a live watcher that stops reading once it is too far behind, and counts it', async () => {
    const metric = async (re: RegExp) => Number(re.exec((await c.request('GET', '/metrics')).body)?.[1] ?? 0);
    const terminated = () => metric(/^apiserver_terminated_watchers_total\{resource="configmaps"\} (\d+)/m);
    const watching = () => metric(/^apiserver_longrunning_requests\{verb="WATCH"\} (\d+)/m);
    assert.equal((await c.request('POST', '/api/v1/namespaces', { metadata: { name: 'stalled' } })).status, 201);
    const before = await terminated();
    const open = await watching();
    // a client that sends its watch and then reads nothing
    const o = c.agent.options as tls.ConnectionOptions;
    const sock = tls.connect({
      host: '127.0.0.1',
      port: api.port,
      ca: o.ca,
      cert: o.cert,
      key: o.key,
      servername: 'localhost',
      ALPNProtocols: ['http/1.1'],
    });
    const closed = new Promise<void>((resolve) => sock.on('close', () => resolve()));
    sock.on('error', () => {});
    await new Promise<void>((resolve) => sock.on('secureConnect', () => resolve()));
    sock.pause();
    sock.write(
      `GET /api/v1/namespaces/stalled/configmaps?watch=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n`,
    );
    await eventually('the watch is counted', async () => (await watching()) !== open, { everyMs: 20 });
    assert.equal(await watching(), open + 1);
    // 512 KiB events: the socket buffers fill, then the server's queue for the watcher grows past its limit
    let written = 0;
    while ((await terminated()) === before && written < 80) {
      const r = await c.request('POST', '/api/v1/namespaces/stalled/configmaps', {
        metadata: { name: `big-${written++}` },
        data: { v: 'x'.repeat(512 * 1024) },
      });
      assert.equal(r.status, 201);
    }
    assert.equal(await terminated(), before + 1, `the watcher was cut after ${written} events of 512 KiB`);
    assert.equal(await watching(), open);
    // its connection is closed: the client sees the end once it reads
    sock.resume();
    await closed;
    await c.request('DELETE', '/api/v1/namespaces/stalled/configmaps');
  });

  it('streams watch events over WebSocket', async () => {
    const ws = new WebSocket(
      `wss://127.0.0.1:${api.port}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=0`,
      { agent: c.agent } as any,
    );
    const msgs: any[] = [];
    ws.on('message', (m) => msgs.push(JSON.parse(m.toString())));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    try {
      await c.request('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'via-ws' } });
      const got = await eventually('the event over WebSocket', () =>
        msgs.find((m) => m.object.metadata?.name === 'via-ws'),
      );
      assert.equal(got.type, 'ADDED');
      // the client has nothing to say: a large message ends the watch instead of being buffered
      const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
      ws.send(Buffer.alloc(100 * 1024));
      assert.ok([1009, 1006].includes(await closed));
    } finally {
      ws.close();
    }
    // a frame that breaks the protocol (unmasked, from a client) ends that watch, not the server
    const bad = new WebSocket(`wss://127.0.0.1:${api.port}/api/v1/namespaces/default/configmaps?watch=true`, {
      agent: c.agent,
    } as any);
    await new Promise((resolve, reject) => {
      bad.once('open', resolve);
      bad.once('error', reject);
    });
    const badClosed = new Promise((resolve) => bad.once('close', resolve));
    bad.on('error', () => {});
    (bad as any)._socket.write(Buffer.from([0x81, 0x02, 0x68, 0x69]));
    await badClosed;
    assert.equal((await c.request('GET', '/healthz')).status, 200);
  });

  it('reads one object at a resourceVersion: not older than it, or a 504 client-go recognizes once waiting is over', async () => {
    const created = JSON.parse(
      (
        await c.request('POST', '/api/v1/namespaces/default/configmaps', {
          metadata: { name: 'at-rv' },
          data: { a: '1' },
        })
      ).body,
    );
    const rv = created.metadata.resourceVersion;
    for (const q of [`resourceVersion=${rv}`, 'resourceVersion=0']) {
      const r = await c.request('GET', `/api/v1/namespaces/default/configmaps/at-rv?${q}`);
      assert.equal(r.status, 200, q);
      assert.deepEqual(JSON.parse(r.body).data, { a: '1' });
    }
    const future = Number(rv) + 1000;
    for (const p of ['configmaps/at-rv', 'configmaps']) {
      const r = await c.request('GET', `/api/v1/namespaces/default/${p}?resourceVersion=${future}`);
      assert.equal(r.status, 504, p);
      const st = JSON.parse(r.body);
      assert.equal(st.reason, 'Timeout');
      assert.match(st.message, new RegExp(`^Timeout: Too large resource version: ${future}, current: \\d+$`));
      assert.deepEqual(st.details, {
        causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
        retryAfterSeconds: 1,
      });
    }
    assert.equal((await c.request('GET', '/api/v1/namespaces/default/configmaps/at-rv?resourceVersion=x')).status, 400);
  });

  it("serves the scale subresource in Kubernetes' shape, a ReplicationController's label map as its selector", async () => {
    const rcs = '/api/v1/namespaces/default/replicationcontrollers';
    const template = {
      metadata: { labels: { app: 'scaled', tier: 'a' } },
      spec: { containers: [{ name: 'c', image: 'i' }] },
    };
    assert.equal(
      (await c.request('POST', rcs, { metadata: { name: 'scaled' }, spec: { replicas: 2, template } })).status,
      201,
    );
    const got = JSON.parse((await c.request('GET', `${rcs}/scaled/scale`)).body);
    assert.equal(got.kind, 'Scale');
    assert.equal(got.apiVersion, 'autoscaling/v1');
    assert.deepEqual(got.spec, { replicas: 2 });
    assert.deepEqual(got.status, { replicas: 0, selector: 'app=scaled,tier=a' });
    const put = await c.request('PUT', `${rcs}/scaled/scale`, { ...got, spec: { replicas: 0 } });
    assert.equal(put.status, 200);
    assert.deepEqual(JSON.parse(put.body).spec, {}, 'zero replicas is left out (omitempty)');
    assert.equal(JSON.parse((await c.request('GET', `${rcs}/scaled`)).body).spec.replicas, 0);
  });

  it('answers 410 Gone for a compacted resourceVersion', async () => {
    const cur = await api.backend.currentRevision();
    await api.backend.compact(cur);
    const r = await c.request(
      'GET',
      '/api/v1/namespaces/default/configmaps?resourceVersion=2&resourceVersionMatch=Exact',
    );
    assert.equal(r.status, 410);
    assert.equal(JSON.parse(r.body).reason, 'Expired');
  });

  describe('over HTTP/2', () => {
    const connect = (withCredentials = true) => {
      const o = c.agent.options;
      const session = http2.connect(api.url, withCredentials ? { ca: o.ca, cert: o.cert, key: o.key } : { ca: o.ca });
      session.on('error', () => {});
      return session;
    };
    const get = (session: http2.ClientHttp2Session, p: string) =>
      new Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }>((resolve, reject) => {
        const st = session.request({ ':path': p });
        let body = '';
        let headers: http2.IncomingHttpHeaders = {};
        st.setEncoding('utf8');
        st.on('response', (h) => (headers = h));
        st.on('data', (d) => (body += d));
        st.on('end', () => resolve({ status: Number(headers[':status']), headers, body }));
        st.on('error', reject);
      });

    it('is negotiated by ALPN and serves resources and the other paths', async () => {
      const session = connect();
      try {
        await new Promise((r) => session.once('connect', r));
        assert.equal(session.alpnProtocol, 'h2');
        const list = await get(session, '/api/v1/namespaces/default/configmaps');
        assert.equal(list.status, 200);
        assert.equal(JSON.parse(list.body).kind, 'ConfigMapList');
        const version = await get(session, '/version');
        assert.equal(version.status, 200);
        assert.match(JSON.parse(version.body).gitVersion, /^v1\./);
        assert.equal((await get(session, '/readyz')).body, 'ok');
        const missing = await get(session, '/apis/nope.example.com');
        assert.equal(missing.status, 404);
        assert.equal(JSON.parse(missing.body).reason, 'NotFound');
        const openapi = JSON.parse((await get(session, '/openapi/v3')).body);
        const apiV1 = openapi.paths['api/v1'].serverRelativeURL as string;
        const stale = await get(session, `${apiV1.split('?')[0]}?hash=stale`);
        assert.equal(stale.status, 301);
        assert.equal(stale.headers.location, apiV1);
        const doc = await get(session, apiV1);
        assert.equal(doc.status, 200);
        assert.equal(doc.headers['cache-control'], 'public, immutable');
      } finally {
        session.close();
      }
    });

    const openWatches = async () => {
      const m = /^apiserver_longrunning_requests\{verb="WATCH"\} (\d+)/m.exec(
        (await c.request('GET', '/metrics')).body,
      );
      return Number(m?.[1]);
    };
    const watchesOpen = (n: number) =>
      eventually(`${n} watches open`, async () => (await openWatches()) === n, { everyMs: 20 });

    it('carries many watches on one connection, each getting its events', async () => {
      const session = connect();
      const lines: any[][] = [[], [], []];
      const streams = lines.map((got) => {
        const st = session.request({
          ':path':
            '/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=0&fieldSelector=metadata.name%3Dh2-watched',
        });
        let buf = '';
        st.setEncoding('utf8');
        st.on('data', (d) => {
          buf += d;
          let i;
          while ((i = buf.indexOf('\n')) >= 0) {
            got.push(JSON.parse(buf.slice(0, i)));
            buf = buf.slice(i + 1);
          }
        });
        st.on('error', () => {});
        return st;
      });
      try {
        await Promise.all(streams.map((st) => new Promise((r) => st.once('response', r))));
        await c.request('POST', '/api/v1/namespaces/default/configmaps', {
          metadata: { name: 'h2-watched' },
          data: { a: '1' },
        });
        await c.request('DELETE', '/api/v1/namespaces/default/configmaps/h2-watched');
        await eventually('two events on each watch', () => lines.every((l) => l.length >= 2), { everyMs: 20 });
        for (const got of lines)
          assert.deepEqual(
            got.map((l) => `${l.type} ${l.object.metadata.name}`),
            ['ADDED h2-watched', 'DELETED h2-watched'],
          );
        assert.equal(await openWatches(), 3);
        // one watch ends (the client resets its stream), then the connection goes away with the other two
        streams[0].close(http2.constants.NGHTTP2_CANCEL);
        await watchesOpen(2);
        session.destroy();
        await watchesOpen(0);
      } finally {
        session.destroy();
      }
    });

    it('refuses a client without credentials and does not keep its connection', async () => {
      const session = connect(false);
      const closed = new Promise((r) => session.once('close', r));
      const r = await get(session, '/api/v1/namespaces');
      assert.equal(r.status, 401);
      assert.equal(JSON.parse(r.body).reason, 'Unauthorized');
      // a bound for a connection kept open by mistake, generous for a loaded machine
      let bound: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        closed.then(() => 'closed'),
        new Promise((r) => (bound = setTimeout(() => r('still open'), 60_000))),
      ]);
      clearTimeout(bound);
      assert.equal(outcome, 'closed');
    });
  });

  it('exposes Prometheus metrics', async () => {
    assert.equal((await c.request('GET', '/apis/apps/v1/namespaces/default/deployments')).status, 200);
    const r = await c.request('GET', '/metrics');
    assert.equal(r.status, 200);
    assert.match(
      r.body,
      /^apiserver_request_total\{verb="GET",group="",version="v1",resource="configmaps",subresource="",code="404"\} \d+/m,
    );
    assert.match(
      r.body,
      /^apiserver_request_total\{verb="LIST",group="apps",version="v1",resource="deployments",subresource="",code="200"\} \d+/m,
    );
    assert.match(r.body, /^apiserver_request_duration_seconds_bucket\{/m);
    assert.match(
      r.body,
      /^apiserver_storage_operation_duration_seconds_count\{operation="create",driver="sqlite"\} \d+/m,
    );
  });
});

describe('watches from before the watch cache', () => {
  let dir: string;
  let api: ApiServer;
  let c: BenchClient;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-api-'));
    api = await startApiServer({ dataDir: dir, port: 0, bindAddress: '127.0.0.1', watchCacheSize: 5, log: () => {} });
    c = clientFromKubeconfig(api.kubeconfigPath!);
  });
  after(async () => {
    c?.close();
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const cms = '/api/v1/namespaces/default/configmaps';
  const events = (body: string) =>
    body
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));

  it('replays from the store what the cache no longer holds, and answers a compacted one with an Expired event', async () => {
    const rvs: string[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await c.request('POST', cms, { metadata: { name: `early-${i}` }, data: { i: String(i) } });
      assert.equal(r.status, 201);
      rvs.push(JSON.parse(r.body).metadata.resourceVersion);
    }
    // after the first write: the 11 others, 6 of them from the store, then the cache's 5
    const replayed = await c.request('GET', `${cms}?watch=1&resourceVersion=${rvs[0]}&timeoutSeconds=1`);
    assert.equal(replayed.status, 200);
    assert.deepEqual(
      events(replayed.body).map((e) => `${e.type} ${e.object.metadata.name}`),
      rvs.slice(1).map((_, i) => `ADDED early-${i + 1}`),
    );

    const cur = await api.backend.currentRevision();
    await api.backend.compact(cur);
    // accepted, with the error as its one event, as from Kubernetes' watch cache
    const expired = await c.request('GET', `${cms}?watch=1&resourceVersion=${rvs[0]}&timeoutSeconds=5`);
    assert.equal(expired.status, 200);
    assert.deepEqual(events(expired.body), [
      {
        type: 'ERROR',
        object: {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: `too old resource version: ${rvs[0]} (${cur})`,
          reason: 'Expired',
          code: 410,
        },
      },
    ]);

    const ws = new WebSocket(`wss://127.0.0.1:${api.port}${cms}?watch=true&resourceVersion=${rvs[0]}`, {
      agent: c.agent,
    } as any);
    const messages: any[] = [];
    ws.on('message', (m) => messages.push(JSON.parse(String(m))));
    await new Promise((resolve, reject) => {
      ws.on('close', resolve);
      ws.on('error', reject);
    });
    assert.equal(messages.length, 1);
    assert.equal(messages[0].type, 'ERROR');
    assert.equal(messages[0].object.code, 410);
  });
});
