/** The minimal shape of a Kubernetes object every component relies on, and keys for caches and work queues. */
import { isDeepStrictEqual } from 'node:util';
import type { ListMeta, ObjectMeta, OwnerReference } from './types/meta.ts';

export type { ObjectMeta, OwnerReference, ListMeta };

/**
 * The type of what code written before the generated types reads: any field, unchecked. It is the default of
 * KubeObject's parameters so that the folders not typed yet (controllers/, node-agent/, apiserver/ and their tests)
 * compile as they did; typed code names a kind of ./types/ (Pod, Deployment, ...) instead. Once nothing relies on the
 * defaults, they become `unknown`, the index signature goes, and so does this.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the one deliberate escape, see above
export type Untyped = any;

/**
 * An object of any kind: apiVersion, kind and metadata, generic over its spec and status. Every kind of ./types/ is a
 * KubeObject; `KubeObject` with the default parameters is an object whose other fields are untyped.
 */
export interface KubeObject<Spec = Untyped, Status = Untyped> {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: Spec;
  status?: Status;
  [field: string]: Untyped;
}

export interface ObjectList<T extends KubeObject = KubeObject> {
  apiVersion?: string;
  kind?: string;
  metadata: ListMeta;
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
export function sameStatus(stored: object | undefined, desired: object): boolean {
  const s: Record<string, unknown> = { ...stored };
  const d: Record<string, unknown> = { ...desired };
  for (const k of new Set([...Object.keys(s), ...Object.keys(d)])) {
    const a = s[k];
    const b = d[k];
    if (isZero(a) && isZero(b)) continue;
    if (a === b) continue;
    if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
    // as stored: fields set to undefined are not there
    if (!isDeepStrictEqual(JSON.parse(JSON.stringify(a)), JSON.parse(JSON.stringify(b)))) return false;
  }
  return true;
}
