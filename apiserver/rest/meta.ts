/** Object metadata helpers shared by the REST store: timestamps, names, deep equality, cloning. */

/** an object of the API as the server handles it: its type, its metadata, and the rest as JSON */
export interface ApiObject {
  apiVersion?: string;
  kind?: string;
  metadata?: Record<string, unknown>;
  [field: string]: unknown;
}

/** a JSON object (not an array, not null) */
export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

// Kubernetes' alphabet for generated name suffixes: no vowels (no words), no confusable characters.
const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

export function generateNameSuffix(n = 5, random: () => number = Math.random): string {
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHANUMS[Math.floor(random() * ALPHANUMS.length)];
  return s;
}

/** generateName + suffix, truncating the base so the result fits 63 characters as Kubernetes does */
export function generateName(base: string): string {
  const maxBase = 63 - 5;
  return (base.length > maxBase ? base.slice(0, maxBase) : base) + generateNameSuffix(5);
}

/** structural equality of JSON values (one implementation, shared with the patch machinery) */
export { deepEqual } from '../patch/json-value.ts';

export function clone<T>(o: T): T {
  return structuredClone(o);
}

/** everything but metadata and status: a change here bumps metadata.generation */
export function specPart(obj: any): any {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = obj ?? {};
  return rest;
}
