/**
 * A compact model of Kubernetes' API types: the OpenAPI v2 definitions without descriptions.
 * Property and extension names are those of Kubernetes' published OpenAPI documents, so the model can be
 * served back as /openapi/v2 and /openapi/v3 and read by the patch and apply machinery.
 */

export interface GVK {
  group: string;
  version: string;
  kind: string;
}

export interface Schema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  /** int32, int64, double, date-time, byte, int-or-string, ... */
  format?: string;
  /** a reference to another definition: its name, e.g. io.k8s.api.core.v1.PodSpec (no '#/definitions/' prefix) */
  ref?: string;
  items?: Schema;
  additionalProperties?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  enum?: string[];
  default?: unknown;
  'x-kubernetes-patch-strategy'?: string; // 'merge', 'retainKeys', 'merge,retainKeys', 'replace'
  'x-kubernetes-patch-merge-key'?: string;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-group-version-kind'?: GVK[];
  'x-kubernetes-unions'?: unknown[];
}

export interface Model {
  /** the Kubernetes version the model was taken from, e.g. "1.33" */
  source: string;
  definitions: Record<string, Schema>;
}
