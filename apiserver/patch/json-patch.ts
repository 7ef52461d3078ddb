/**
 * RFC 6902 JSON patch (application/json-patch+json) with the behaviour of the API server:
 * - a body that is not a list of operations is a 400 BadRequest;
 * - more than 10000 operations is a 413;
 * - "copy" operations may add at most 3 MiB to the document in all (JSON bytes of what they copy; as the API server's
 *   JSONPatchMaxCopyBytes): a few dozen copies of a document into itself would otherwise double it each time;
 * - an operation that cannot be applied (missing path, failed test, bad index, unknown op) is a 422 Invalid with
 *   the generic message "the server rejected our request due to an error in our request"; the precise reason is in
 *   PatchError.detail.
 * Like the API server, "replace" of a missing object member adds it, negative array indexes count from the end,
 * and "test" of a missing member passes when the expected value is null.
 */
import { PatchError, badRequest, unprocessable } from './errors.ts';
import { type JsonObject, type JsonValue, deepCopy, deepEqual, isObject } from './json-value.ts';

export const MAX_JSON_PATCH_OPERATIONS = 10000;
export const MAX_JSON_PATCH_COPY_BYTES = 3 * 1024 * 1024;

export interface JsonPatchOperation {
  op: string;
  path?: string;
  from?: string;
  value?: JsonValue;
}

/** check the decoded body is a list of operation objects (as the API server decodes it) */
export function parseJsonPatch(body: unknown): JsonPatchOperation[] {
  if (!Array.isArray(body)) {
    const got = body === null ? 'null' : Array.isArray(body) ? 'array' : typeof body;
    throw badRequest(
      `json: cannot unmarshal ${got === 'object' ? 'object' : got} into Go value of type jsonpatch.Patch`,
    );
  }
  for (const op of body) {
    if (!isObject(op))
      throw badRequest('json: cannot unmarshal a non-object operation into Go value of type jsonpatch.Operation');
  }
  if (body.length > MAX_JSON_PATCH_OPERATIONS) {
    throw new PatchError(
      413,
      'RequestEntityTooLarge',
      `The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${body.length}`,
    );
  }
  return body as unknown as JsonPatchOperation[];
}

/** RFC 6901 reference token decoding */
export function decodePointerToken(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** RFC 6901 reference token encoding */
export function encodePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

type Container = JsonObject | JsonValue[];

class OpFailure extends Error {}

function fail(message: string): never {
  throw new OpFailure(message);
}

/** the container holding the last token of `path`, and that token; undefined when the path does not lead there */
function findParent(doc: JsonValue, path: string): { parent: Container; key: string } | undefined {
  const parts = path.split('/');
  if (parts.length < 2) return undefined;
  let cur: JsonValue = doc;
  for (const raw of parts.slice(1, -1)) {
    const token = decodePointerToken(raw);
    let next: JsonValue | undefined;
    if (Array.isArray(cur)) {
      const idx = parseIndex(token);
      if (idx === undefined || idx < -cur.length || idx >= cur.length) return undefined;
      next = cur[idx < 0 ? idx + cur.length : idx];
    } else if (isObject(cur)) {
      next = Object.hasOwn(cur, token) ? cur[token] : undefined;
    } else return undefined;
    if (next === undefined || next === null || typeof next !== 'object') return undefined;
    cur = next;
  }
  if (!isObject(cur) && !Array.isArray(cur)) return undefined;
  return { parent: cur, key: decodePointerToken(parts[parts.length - 1]) };
}

function parseIndex(token: string): number | undefined {
  return /^-?\d+$/.test(token) ? Number(token) : undefined;
}

/** an existing index of `arr` (negative counts from the end) */
function arrayIndex(arr: JsonValue[], token: string): number {
  const idx = parseIndex(token);
  if (idx === undefined) fail(`value was not a proper array index: '${token}'`);
  if (idx < -arr.length || idx >= arr.length) fail(`Unable to access invalid index: ${idx}: invalid index referenced`);
  return idx < 0 ? idx + arr.length : idx;
}

function getChild(c: Container, key: string): JsonValue | undefined {
  if (Array.isArray(c)) return c[arrayIndex(c, key)];
  return Object.hasOwn(c, key) ? c[key] : undefined;
}

function addChild(c: Container, key: string, value: JsonValue): void {
  if (!Array.isArray(c)) {
    c[key] = value;
    return;
  }
  if (key === '-') {
    c.push(value);
    return;
  }
  const idx = parseIndex(key);
  if (idx === undefined) fail(`value was not a proper array index: '${key}'`);
  const size = c.length + 1;
  if (idx >= size || idx < -size) fail(`Unable to access invalid index: ${idx}: invalid index referenced`);
  c.splice(idx < 0 ? idx + size : idx, 0, value);
}

function removeChild(c: Container, key: string): void {
  if (Array.isArray(c)) {
    c.splice(arrayIndex(c, key), 1);
    return;
  }
  if (!Object.hasOwn(c, key)) fail(`Unable to remove nonexistent key: ${key}: missing value`);
  delete c[key];
}

function requirePath(op: JsonPatchOperation, field: 'path' | 'from'): string {
  const v = op[field];
  if (typeof v !== 'string') fail(`operation missing ${field} field: missing value`);
  return v;
}

/** the operation's value; a missing value is null, as the API server treats it */
function opValue(op: JsonPatchOperation): JsonValue {
  return Object.hasOwn(op, 'value') && op.value !== undefined ? deepCopy(op.value) : null;
}

/** what the copy operations of one patch have added so far, in bytes of JSON */
interface CopyBudget {
  copied: number;
}

function applyOne(doc: JsonValue, op: JsonPatchOperation, budget: CopyBudget): JsonValue {
  switch (op.op) {
    case 'add': {
      const path = requirePath(op, 'path');
      const value = opValue(op);
      const at = findParent(doc, path);
      if (!at) fail(`add operation does not apply: doc is missing path: "${path}": missing value`);
      addChild(at.parent, at.key, value);
      return doc;
    }
    case 'remove': {
      const path = requirePath(op, 'path');
      const at = findParent(doc, path);
      if (!at) fail(`remove operation does not apply: doc is missing path: "${path}": missing value`);
      removeChild(at.parent, at.key);
      return doc;
    }
    case 'replace': {
      const path = requirePath(op, 'path');
      const value = opValue(op);
      if (path === '') {
        if (!isObject(value) && !Array.isArray(value)) fail('replace operation value must be object or array');
        return value;
      }
      const at = findParent(doc, path);
      if (!at) fail(`replace operation does not apply: doc is missing path: ${path}: missing value`);
      if (Array.isArray(at.parent)) at.parent[arrayIndex(at.parent, at.key)] = value;
      else at.parent[at.key] = value;
      return doc;
    }
    case 'move': {
      const from = requirePath(op, 'from');
      const src = findParent(doc, from);
      if (!src) fail(`move operation does not apply: doc is missing from path: ${from}: missing value`);
      const value = getChild(src.parent, src.key);
      removeChild(src.parent, src.key);
      const path = requirePath(op, 'path');
      const dst = findParent(doc, path);
      if (!dst) fail(`move operation does not apply: doc is missing destination path: ${path}: missing value`);
      addChild(dst.parent, dst.key, value === undefined ? null : value);
      return doc;
    }
    case 'copy': {
      const from = requirePath(op, 'from');
      const src = findParent(doc, from);
      if (!src) fail(`copy operation does not apply: doc is missing from path: ${from}: missing value`);
      const value = getChild(src.parent, src.key);
      const path = requirePath(op, 'path');
      const dst = findParent(doc, path);
      if (!dst) fail(`copy operation does not apply: doc is missing destination path: ${path}: missing value`);
      budget.copied += Buffer.byteLength(JSON.stringify(value ?? null));
      if (budget.copied > MAX_JSON_PATCH_COPY_BYTES) {
        fail(
          `Unable to complete the copy, the accumulated size increase of copy is ${budget.copied}, exceeding the limit ${MAX_JSON_PATCH_COPY_BYTES}`,
        );
      }
      addChild(dst.parent, dst.key, value === undefined ? null : deepCopy(value));
      return doc;
    }
    case 'test': {
      const path = requirePath(op, 'path');
      const expected = opValue(op);
      if (path === '') {
        if (!deepEqual(doc, expected)) fail(`testing value ${path} failed: test failed`);
        return doc;
      }
      const at = findParent(doc, path);
      if (!at) fail(`test operation does not apply: is missing path: ${path}: missing value`);
      const actual = getChild(at.parent, at.key);
      if (actual === undefined || actual === null) {
        if (expected === null) return doc;
        fail(`testing value ${path} failed: test failed`);
      }
      if (!deepEqual(actual, expected)) fail(`testing value ${path} failed: test failed`);
      return doc;
    }
    default:
      fail(`Unexpected kind: ${String(op.op ?? '')}`);
  }
}

/**
 * apply a JSON patch to a document; the input is not modified.
 * @throws PatchError (400 malformed, 413 too many operations, 422 an operation that cannot be applied)
 */
export function applyJsonPatch<T = JsonValue>(doc: T, patch: unknown): T {
  const ops = parseJsonPatch(patch);
  let cur = deepCopy(doc) as unknown as JsonValue;
  try {
    const budget: CopyBudget = { copied: 0 };
    for (const op of ops) cur = applyOne(cur, op, budget);
  } catch (e) {
    if (e instanceof OpFailure) throw unprocessable(e.message);
    throw e;
  }
  return cur as unknown as T;
}
