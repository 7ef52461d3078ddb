#!/usr/bin/env node
/**
 * Builds apiserver/openapi/model.json from a Kubernetes OpenAPI v2 document (swagger.json):
 * the definitions reachable from the kinds skiff serves (read from the resource registry), their lists,
 * the meta types every API server answers with, and a few kinds that are about to be served.
 * Descriptions are dropped; '#/definitions/x' references become { ref: 'x' }.
 *
 * usage: node --import tsx scripts/gen-openapi-model.mjs <swagger.json> [kubernetes-version, e.g. 1.36]
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const outFile = path.join(here, '..', 'apiserver', 'openapi', 'model.json');

/** definitions served besides the registry's kinds and lists */
const EXTRA_ROOTS = [
  'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta',
  'io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta',
  'io.k8s.apimachinery.pkg.apis.meta.v1.Status',
  'io.k8s.apimachinery.pkg.apis.meta.v1.StatusDetails',
  'io.k8s.apimachinery.pkg.apis.meta.v1.StatusCause',
  'io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions',
  'io.k8s.apimachinery.pkg.apis.meta.v1.Preconditions',
  'io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent',
  'io.k8s.apimachinery.pkg.apis.meta.v1.Patch',
  'io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList',
  'io.k8s.apimachinery.pkg.apis.meta.v1.APIGroupList',
  'io.k8s.apimachinery.pkg.apis.meta.v1.APIGroup',
  'io.k8s.apimachinery.pkg.apis.meta.v1.APIVersions',
  'io.k8s.api.autoscaling.v1.Scale',
  'io.k8s.api.core.v1.Binding',
  'io.k8s.api.policy.v1.Eviction',
  // kinds about to be served
  'io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler',
  'io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerList',
  'io.k8s.api.batch.v1.Job',
  'io.k8s.api.batch.v1.JobList',
  'io.k8s.api.batch.v1.CronJob',
  'io.k8s.api.batch.v1.CronJobList',
];

/** schema keys copied as they are (descriptions and anything unknown are dropped or rejected) */
const COPIED = new Set([
  'type',
  'format',
  'required',
  'enum',
  'default',
  'x-kubernetes-patch-strategy',
  'x-kubernetes-patch-merge-key',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-int-or-string',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-group-version-kind',
  'x-kubernetes-unions',
]);
const DROPPED = new Set(['description']);
const REF_PREFIX = '#/definitions/';

function fail(msg) {
  console.error(`gen-openapi-model: ${msg}`);
  process.exit(1);
}

function convert(schema, where, refs) {
  const out = {};
  for (const [key, value] of Object.entries(schema)) {
    if (DROPPED.has(key)) continue;
    if (key === '$ref') {
      if (typeof value !== 'string' || !value.startsWith(REF_PREFIX))
        fail(`${where}: unsupported reference ${JSON.stringify(value)}`);
      out.ref = value.slice(REF_PREFIX.length);
      refs.push(out.ref);
    } else if (key === 'allOf') {
      // a single-entry allOf wraps a reference so that siblings (default) are allowed: flatten it
      if (!Array.isArray(value) || value.length !== 1)
        fail(`${where}: allOf with ${value.length} entries is not supported`);
      Object.assign(out, convert(value[0], `${where}.allOf`, refs));
    } else if (key === 'items' || key === 'additionalProperties') {
      if (typeof value === 'boolean') fail(`${where}: boolean ${key} is not supported by the model`);
      out[key] = convert(value, `${where}.${key}`, refs);
    } else if (key === 'properties') {
      out.properties = {};
      for (const [name, prop] of Object.entries(value)) out.properties[name] = convert(prop, `${where}.${name}`, refs);
    } else if (COPIED.has(key)) {
      out[key] = value;
    } else {
      fail(`${where}: schema key ${key} is not part of the model (extend apiserver/openapi/model.ts first)`);
    }
  }
  return out;
}

async function main() {
  const [swaggerPath, versionArg] = process.argv.slice(2);
  if (!swaggerPath) fail('usage: node --import tsx scripts/gen-openapi-model.mjs <swagger.json> [kubernetes-version]');
  const swagger = JSON.parse(fs.readFileSync(swaggerPath, 'utf8'));
  if (!swagger.definitions) fail(`${swaggerPath} has no definitions: is it an OpenAPI v2 document?`);
  const source = versionArg ?? String(swagger.info?.version ?? '').replace(/^v/, '');
  if (!/^\d+\.\d+/.test(source))
    fail(
      `cannot tell the Kubernetes version from info.version "${swagger.info?.version}": pass it as the second argument`,
    );

  const { RESOURCES } = await import('../apiserver/api/registry.ts');
  const EXTRA_DEFINITIONS = JSON.parse(fs.readFileSync(path.join(here, 'openapi-extra-definitions.json'), 'utf8'));
  const roots = [...EXTRA_ROOTS];
  for (const r of RESOURCES) {
    roots.push(r.definition);
    // create-only kinds (reviews) have no list
    if (r.verbs.includes('list')) roots.push(r.definition.replace(/[^.]+$/, r.listKind));
  }

  const definitions = {};
  const queue = [...new Set(roots)];
  while (queue.length > 0) {
    const name = queue.shift();
    if (definitions[name]) continue;
    const def = swagger.definitions[name];
    if (!def && EXTRA_DEFINITIONS[name]) {
      // a served API Kubernetes' own document leaves out (metrics.k8s.io comes from metrics-server upstream)
      definitions[name] = EXTRA_DEFINITIONS[name];
      const refsIn = (v) =>
        v && typeof v === 'object' ? Object.entries(v).flatMap(([k, x]) => (k === 'ref' ? [x] : refsIn(x))) : [];
      for (const ref of refsIn(definitions[name])) if (!definitions[ref]) queue.push(ref);
      continue;
    }
    if (!def) fail(`definition ${name} is not in ${swaggerPath}`);
    const refs = [];
    definitions[name] = convert(def, name, refs);
    for (const ref of refs) if (!definitions[ref]) queue.push(ref);
  }

  const sorted = {};
  for (const name of Object.keys(definitions).sort()) sorted[name] = definitions[name];
  const text = JSON.stringify({ source, definitions: sorted });
  fs.writeFileSync(outFile, text + '\n');
  console.log(
    `wrote ${path.relative(process.cwd(), outFile)}: ${Object.keys(sorted).length} definitions, ${text.length} bytes`,
  );
}

await main();
