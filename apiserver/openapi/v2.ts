/**
 * The Swagger 2.0 document served at /openapi/v2: every path of the registry's resources with Kubernetes'
 * operation ids, actions, group/version/kinds, parameters and media types, and the definitions they reference.
 */
import type { ResourceInfo } from '../api/resource-info.ts';
import { referencedDefinitions, renderSchema, resolve } from './definitions.ts';
import { allPaths, operationRefs, type Operation, type Param, type Response } from './operations.ts';

export interface SwaggerDocument {
  swagger: '2.0';
  info: { title: string; version: string };
  paths: Record<string, Record<string, unknown>>;
  definitions: Record<string, Record<string, unknown>>;
  securityDefinitions: Record<string, Record<string, unknown>>;
  security: Record<string, string[]>[];
}

const DEF_PREFIX = '#/definitions/';
export const RESPONSE_TEXT: Record<string, string> = {
  '200': 'OK',
  '201': 'Created',
  '202': 'Accepted',
  '401': 'Unauthorized',
};
export const BEARER_TOKEN = {
  type: 'apiKey',
  name: 'authorization',
  in: 'header',
  description: 'Bearer Token authentication',
};

function param(p: Param): Record<string, unknown> {
  const out: Record<string, unknown> = { name: p.name, in: p.in, type: p.type, uniqueItems: true };
  if (p.required) out.required = true;
  return out;
}

function responses(list: Response[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const r of list)
    out[r.code] = {
      description: RESPONSE_TEXT[r.code],
      schema: r.ref ? { $ref: DEF_PREFIX + r.ref } : { type: 'string' },
    };
  out['401'] = { description: RESPONSE_TEXT['401'] };
  return out;
}

function operation(o: Operation, tag: string): Record<string, unknown> {
  const parameters: Record<string, unknown>[] = [];
  if (o.body)
    parameters.push({ name: 'body', in: 'body', required: o.body.required, schema: { $ref: DEF_PREFIX + o.body.ref } });
  parameters.push(...o.params.map(param));
  const out: Record<string, unknown> = {
    consumes: o.consumes,
    produces: o.produces,
    schemes: ['https'],
    tags: [tag],
    operationId: o.operationId,
  };
  if (parameters.length > 0) out.parameters = parameters;
  out.responses = responses(o.responses);
  if (o.action) out['x-kubernetes-action'] = o.action;
  if (o.gvk) out['x-kubernetes-group-version-kind'] = { group: o.gvk.group, version: o.gvk.version, kind: o.gvk.kind };
  return out;
}

/** the /openapi/v2 document for these resources; `version` is the server version shown in info */
export function openapiV2(resources: readonly ResourceInfo[], version = 'unversioned'): SwaggerDocument {
  const paths: SwaggerDocument['paths'] = {};
  const roots: string[] = [];
  for (const entry of allPaths(resources)) {
    const item: Record<string, unknown> = {};
    for (const o of entry.operations) {
      item[o.method] = operation(o, entry.tag);
      roots.push(...operationRefs(o));
    }
    if (entry.params.length > 0) item.parameters = entry.params.map(param);
    paths[entry.path] = item;
  }
  const definitions: SwaggerDocument['definitions'] = {};
  for (const name of referencedDefinitions(roots)) definitions[name] = renderSchema(resolve(name)!, DEF_PREFIX);
  return {
    swagger: '2.0',
    info: { title: 'Kubernetes', version },
    paths,
    definitions,
    securityDefinitions: { BearerToken: BEARER_TOKEN },
    security: [{ BearerToken: [] }],
  };
}
