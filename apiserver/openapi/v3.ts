/**
 * The OpenAPI 3.0 documents served under /openapi/v3: one document per group/version (and for the discovery
 * roots 'api', 'apis', 'apis/<group>'), each with its paths and the component schemas they reference.
 * The index (/openapi/v3) is built by documents.ts, which knows each document's content hash.
 */
import type { ResourceInfo } from '../api/resource-info.ts';
import { referencedDefinitions, renderSchema, resolve } from './definitions.ts';
import { allPaths, operationRefs, type Operation, type Param, type PathEntry, type Response } from './operations.ts';
import { BEARER_TOKEN, RESPONSE_TEXT } from './v2.ts';

export interface OpenApiV3Document {
  openapi: '3.0.0';
  info: { title: string; version: string };
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, Record<string, unknown>>; securitySchemes: Record<string, unknown> };
  security: Record<string, string[]>[];
}

const SCHEMA_PREFIX = '#/components/schemas/';

function param(p: Param): Record<string, unknown> {
  const out: Record<string, unknown> = { name: p.name, in: p.in };
  if (p.required) out.required = true;
  out.schema = { type: p.type, uniqueItems: true };
  return out;
}

function responses(list: Response[], produces: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const r of list) {
    const schema = r.ref ? { $ref: SCHEMA_PREFIX + r.ref } : { type: 'string' };
    const content: Record<string, unknown> = {};
    for (const type of produces) content[type] = { schema };
    out[r.code] = { description: RESPONSE_TEXT[r.code], content };
  }
  out['401'] = { description: RESPONSE_TEXT['401'] };
  return out;
}

function operation(o: Operation, tag: string): Record<string, unknown> {
  const out: Record<string, unknown> = { tags: [tag], operationId: o.operationId };
  if (o.params.length > 0) out.parameters = o.params.map(param);
  if (o.body) {
    const content: Record<string, unknown> = {};
    for (const type of o.consumes) content[type] = { schema: { $ref: SCHEMA_PREFIX + o.body.ref } };
    out.requestBody = { content, required: o.body.required };
  }
  out.responses = responses(o.responses, o.produces);
  if (o.action) out['x-kubernetes-action'] = o.action;
  if (o.gvk) out['x-kubernetes-group-version-kind'] = { group: o.gvk.group, version: o.gvk.version, kind: o.gvk.kind };
  return out;
}

/** the paths of the registry grouped by the /openapi/v3 document they belong to, in registry order */
export function pathsByDocument(resources: readonly ResourceInfo[]): Map<string, PathEntry[]> {
  const out = new Map<string, PathEntry[]>();
  for (const entry of allPaths(resources)) {
    const list = out.get(entry.document) ?? [];
    list.push(entry);
    out.set(entry.document, list);
  }
  return out;
}

/** one /openapi/v3/<document> document from its paths */
export function buildV3Document(entries: readonly PathEntry[], version = 'unversioned'): OpenApiV3Document {
  const paths: OpenApiV3Document['paths'] = {};
  const roots: string[] = [];
  for (const entry of entries) {
    const item: Record<string, unknown> = {};
    for (const o of entry.operations) {
      item[o.method] = operation(o, entry.tag);
      roots.push(...operationRefs(o));
    }
    if (entry.params.length > 0) item.parameters = entry.params.map(param);
    paths[entry.path] = item;
  }
  const schemas: OpenApiV3Document['components']['schemas'] = {};
  for (const name of referencedDefinitions(roots)) schemas[name] = renderSchema(resolve(name)!, SCHEMA_PREFIX);
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version },
    paths,
    components: { schemas, securitySchemes: { BearerToken: BEARER_TOKEN } },
    security: [{ BearerToken: [] }],
  };
}
