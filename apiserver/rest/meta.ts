/** Object metadata helpers shared by the REST store: timestamps, names, deep equality, cloning. */
import { randomBytes } from 'node:crypto';

/** RFC 3339 with second precision, as Kubernetes writes metav1.Time */
export function nowRfc3339(d = new Date()): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** RFC 3339 with microseconds, as Kubernetes writes metav1.MicroTime */
export function nowMicro(d = new Date()): string {
  return d.toISOString().replace(/Z$/, '000Z');
}

// Kubernetes' alphabet for generated name suffixes: no vowels (no words), no confusable characters.
const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

export function generateNameSuffix(n = 5): string {
  const bytes = randomBytes(n);
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHANUMS[bytes[i] % ALPHANUMS.length];
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
