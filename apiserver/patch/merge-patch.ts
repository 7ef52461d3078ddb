/**
 * RFC 7386 JSON merge patch (application/merge-patch+json): objects merge recursively, null removes a member,
 * anything else (arrays included) replaces. The inputs are not modified.
 */
import { type JsonValue, deepCopy, isObject } from './json-value.ts';

export function applyMergePatch<T = JsonValue>(target: T, patch: unknown): T {
  return mergeValue(target as unknown as JsonValue, patch as JsonValue) as unknown as T;
}

function mergeValue(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isObject(patch)) return deepCopy(patch);
  const out: Record<string, JsonValue> = isObject(target) ? deepCopy(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergeValue(Object.hasOwn(out, k) ? out[k] : undefined, v);
  }
  return out;
}
