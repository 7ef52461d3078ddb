/** The minimal shape of a Kubernetes object every component relies on, and keys for caches and work queues. */
import { isDeepStrictEqual } from 'node:util';

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  [k: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [k: string]: any;
}

export interface ObjectList<T extends KubeObject = KubeObject> {
  apiVersion?: string;
  kind?: string;
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

/** "namespace/name", or "name" for cluster-scoped objects: the key of caches and work queues */
export function keyOf(obj: KubeObject): string {
  const ns = obj.metadata.namespace;
  return ns ? `${ns}/${obj.metadata.name}` : String(obj.metadata.name);
}

export function splitKey(key: string): { namespace: string | undefined; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: undefined, name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** the ownerReference with controller: true, if any */
export function controllerOf(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true);
}

const isZero = (v: unknown) => v === undefined || v === null || v === 0 || v === '' || v === false;

/**
 * whether a status as stored equals one a controller computed, as Go compares them: a field the server left out
 * stands for its zero value (Kubernetes does not store readyReplicas: 0 or a false flag), so a missing field and a
 * zero are the same; other fields compare by value, key order aside
 */
export function sameStatus(stored: Record<string, unknown> | undefined, desired: Record<string, unknown>): boolean {
  const s = stored ?? {};
  for (const k of new Set([...Object.keys(s), ...Object.keys(desired)])) {
    const a = s[k];
    const b = desired[k];
    if (isZero(a) && isZero(b)) continue;
    if (a === b) continue;
    if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
    // as stored: fields set to undefined are not there
    if (!isDeepStrictEqual(JSON.parse(JSON.stringify(a)), JSON.parse(JSON.stringify(b)))) return false;
  }
  return true;
}
