/**
 * What the API server knows about one served resource: naming for discovery, scope, verbs and subresources.
 * One ResourceInfo per group/version/resource; the list lives in apiserver/api/registry.ts.
 */

export interface GroupVersionKind {
  group: string; // '' for core
  version: string;
  kind: string;
}

export interface ResourceInfo {
  group: string; // '' for core
  version: string;
  /** plural, lower case: 'pods', 'deployments' */
  resource: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  /** subresource names served: 'status', 'scale', 'binding', 'log', 'exec', ... */
  subresources: string[];
  /** OpenAPI definition name of the kind, e.g. io.k8s.api.core.v1.Pod */
  definition: string;
}

export const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export function groupVersion(r: { group: string; version: string }): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}
