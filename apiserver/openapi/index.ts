/**
 * skiff's API model and the OpenAPI documents built from it: /openapi/v2 (JSON and protocol buffers),
 * the /openapi/v3 index and one OpenAPI 3.0 document per group/version.
 *
 * The free functions keep one OpenApiDocuments per resource list (by identity), so repeated calls with the
 * registry's RESOURCES reuse the documents built the first time.
 */
import type { ResourceInfo } from '../api/resource-info.ts';
import { OpenApiDocuments, type DocumentOptions, type V3Discovery } from './documents.ts';
import type { SwaggerDocument } from './v2.ts';
import type { OpenApiV3Document } from './v3.ts';

export { loadModel, resolve, definitionFor, referencedDefinitions } from './definitions.ts';
export { OpenApiDocuments, JSON_TYPE, V2_PROTOBUF_TYPE, V2_PROTOBUF_ACCEPT } from './documents.ts';
export type { ServedDocument, V3Discovery, DocumentOptions } from './documents.ts';
export type { SwaggerDocument } from './v2.ts';
export type { OpenApiV3Document } from './v3.ts';
export { decodeV2Protobuf } from './v2-protobuf.ts';
export type { GVK, Model, Schema } from './model.ts';

const cache = new WeakMap<readonly ResourceInfo[], Map<string, OpenApiDocuments>>();

/** the (cached) documents of a resource list */
export function documentsFor(resources: readonly ResourceInfo[], options: DocumentOptions = {}): OpenApiDocuments {
  let byVersion = cache.get(resources);
  if (!byVersion) cache.set(resources, (byVersion = new Map()));
  const key = options.version ?? '';
  let docs = byVersion.get(key);
  if (!docs) byVersion.set(key, (docs = new OpenApiDocuments(resources, options)));
  return docs;
}

/** the /openapi/v2 Swagger 2.0 document (shared: do not modify) */
export function openapiV2(resources: readonly ResourceInfo[], options?: DocumentOptions): SwaggerDocument {
  return documentsFor(resources, options).v2Object();
}

/** the /openapi/v2 document as openapi.v2.Document protocol buffers */
export function openapiV2Protobuf(resources: readonly ResourceInfo[], options?: DocumentOptions): Buffer {
  return documentsFor(resources, options).v2Protobuf().body;
}

/** the /openapi/v3 index: { paths: { 'api/v1': { serverRelativeURL: '/openapi/v3/api/v1?hash=...' }, ... } } */
export function openapiV3Discovery(resources: readonly ResourceInfo[], options?: DocumentOptions): V3Discovery {
  return documentsFor(resources, options).v3DiscoveryObject();
}

/** the OpenAPI 3.0 document of 'api/v1', 'apis/apps/v1', 'api', 'apis' or 'apis/<group>'; undefined if not served */
export function openapiV3GroupVersion(
  groupVersionPath: string,
  resources: readonly ResourceInfo[],
  options?: DocumentOptions,
): OpenApiV3Document | undefined {
  return documentsFor(resources, options).v3Object(groupVersionPath.replace(/^\/+|\/+$/g, ''));
}
