/**
 * The OpenAPI schemas of a kind the API model does not have (a custom resource given without one): the object with
 * its type and metadata, every other field kept as sent, and its list. Served in /openapi/v2 and /v3 like the
 * model's, and read by the field and patch machinery, which then leaves its fields as they are.
 */
import type { ResourceInfo } from '../api/resource-info.ts';
import type { Schema } from '../openapi/model.ts';

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';

/** the definition name of a resource's list kind, beside its kind's (as the OpenAPI operations name it) */
export function listDefinition(info: ResourceInfo): string {
  return info.definition.replace(/[^.]+$/, info.listKind);
}

export function freeFormSchemas(info: ResourceInfo): Record<string, Schema> {
  const gvk = (kind: string) => [{ group: info.group, version: info.version, kind }];
  const typeMeta: Record<string, Schema> = { apiVersion: { type: 'string' }, kind: { type: 'string' } };
  return {
    [info.definition]: {
      type: 'object',
      properties: { ...typeMeta, metadata: { ref: `${META}ObjectMeta` } },
      'x-kubernetes-preserve-unknown-fields': true,
      'x-kubernetes-group-version-kind': gvk(info.kind),
    },
    [listDefinition(info)]: {
      type: 'object',
      required: ['items'],
      properties: {
        ...typeMeta,
        metadata: { ref: `${META}ListMeta` },
        items: { type: 'array', items: { ref: info.definition } },
      },
      'x-kubernetes-group-version-kind': gvk(info.listKind),
    },
  };
}
