/**
 * Strategic merge patch (application/strategic-merge-patch+json), with the semantics of the API server for
 * built-in types. The type information comes from the API model: for each field, x-kubernetes-patch-strategy
 * ('merge', 'retainKeys', 'replace', or a combination) and x-kubernetes-patch-merge-key.
 *
 * - objects merge recursively; null deletes a member;
 * - lists with the merge strategy: maps are merged by their merge key, primitives are united; other lists are
 *   replaced;
 * - directives: `$patch: replace | delete` in an object, `{$patch: delete, <key>: v}` and `{$patch: replace}` in a
 *   merging list, `$retainKeys`, `$deleteFromPrimitiveList/<field>` and `$setElementOrder/<field>`;
 * - the resulting order of a merged list: items named by the patch (or by $setElementOrder) in the patch's order,
 *   interleaved with the items only the server has, in the server's order;
 * - fields without type information (unknown or free-form) merge objects and replace lists.
 */
import { PatchError, badRequest, unclassified } from './errors.ts';
import { type JsonObject, type JsonValue, deepCopy, deepEqual, goFormat, isObject } from './json-value.ts';
import { type Schema, type TypeResolver, itemSchema, memberSchema, patchStrategies } from './schema.ts';

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList';
const SET_ELEMENT_ORDER = '$setElementOrder';

/** errors Kubernetes answers with 400 */
const ERR_BAD_PRIMITIVE_LIST = 'invalid patch format of primitive list';
const ERR_BAD_RETAIN_KEYS = 'invalid patch format of retainKeys';
const ERR_BAD_SET_ELEMENT_ORDER = 'invalid patch format of setElementOrder list';
/** errors Kubernetes answers with 422 */
const ERR_NO_LIST_OF_LISTS = 'lists of lists are not supported';

class SmpError extends Error {}

function fail(message: string): never {
  throw new SmpError(message);
}

function toPatchError(message: string): PatchError {
  switch (message) {
    case ERR_BAD_PRIMITIVE_LIST:
    case ERR_BAD_RETAIN_KEYS:
    case ERR_BAD_SET_ELEMENT_ORDER:
      return badRequest(message);
    case ERR_NO_LIST_OF_LISTS:
      return new PatchError(422, 'Invalid', 'the server rejected our request due to an error in our request', message);
    default:
      return unclassified(message);
  }
}

/** where the patch code is in the type: the schema of the current object (undefined: no type information) */
interface Ctx {
  schema: Schema | undefined;
  resolver: TypeResolver;
}

function child(ctx: Ctx, key: string): { ctx: Ctx; field: Schema | undefined } {
  const field = memberSchema(ctx.schema, key, ctx.resolver);
  return { ctx: { schema: field, resolver: ctx.resolver }, field };
}

function fieldMeta(field: Schema | undefined): { strategy: string; mergeKey: string } {
  const parts = patchStrategies(field);
  const others = parts.filter((p) => p !== 'retainKeys');
  if (others.length > 1 || parts.length > 2) fail(`unexpected patch strategy: [${parts.join(' ')}]`);
  return { strategy: others[0] ?? '', mergeKey: field?.['x-kubernetes-patch-merge-key'] ?? '' };
}

function goType(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return '[]interface {}';
  if (isObject(v)) return 'map[string]interface {}';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int64' : 'float64';
  return typeof v === 'string' ? 'string' : 'bool';
}

/** a value in an error message, as the Go patch code prints it (%v) */
function show(v: unknown): string {
  return goFormat(v);
}

/**
 * apply a strategic merge patch to `original` (the object as stored, in the patch's version); neither input is
 * modified.
 * @param typeName the definition name of the object, e.g. 'io.k8s.api.apps.v1.Deployment'
 * @throws PatchError 400 for malformed directives, 422 for lists of lists, 500 (unclassified) for patches the
 *   merge cannot process (e.g. a merging list item without its merge key), as the API server answers
 */
export function strategicMergePatch<T>(
  original: T,
  patch: unknown,
  typeName: string | undefined,
  resolver: TypeResolver,
): T {
  if (!isObject(patch)) {
    throw badRequest(
      `json: cannot unmarshal ${Array.isArray(patch) ? 'array' : patch === null ? 'null' : typeof patch} into Go value of type map[string]interface {}`,
    );
  }
  const schema = typeName ? resolver.resolve(typeName) : undefined;
  const ctx: Ctx = { schema: schema ? { ref: typeName } : undefined, resolver };
  const start = isObject(original) ? (deepCopy(original) as JsonObject) : {};
  try {
    const merged = mergeMap(start, deepCopy(patch), ctx);
    return stripDirectiveKeys(merged) as unknown as T;
  } catch (e) {
    if (e instanceof SmpError) throw toPatchError(e.message);
    throw e;
  }
}

function mergeMap(original: JsonObject | undefined, patch: JsonObject, ctx: Ctx): JsonObject {
  if (Object.hasOwn(patch, DIRECTIVE)) {
    const d = patch[DIRECTIVE];
    if (d === 'replace') {
      delete patch[DIRECTIVE];
      return patch;
    }
    if (d === 'delete') return {};
    fail(`unknown patch type: ${String(d)} in map: ${show(patch)}`);
  }
  const orig: JsonObject = original ?? {};
  applyRetainKeys(orig, patch);
  mergeSetElementOrderLists(orig, patch, ctx);

  // deletion lists first, then everything else: the result does not depend on key order
  const keys = Object.keys(patch);
  const ordered = [
    ...keys.filter((k) => k.startsWith(DELETE_FROM_PRIMITIVE_LIST)),
    ...keys.filter((k) => !k.startsWith(DELETE_FROM_PRIMITIVE_LIST)),
  ];
  for (const rawKey of ordered) {
    const patchV = patch[rawKey];
    let k = rawKey;
    let isDeleteList = false;
    if (rawKey.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      k = extractKey(rawKey, DELETE_FROM_PRIMITIVE_LIST);
      isDeleteList = true;
    }
    if (patchV === null) {
      delete orig[k];
      continue;
    }
    if (!Object.hasOwn(orig, k)) {
      if (!isDeleteList) setOrDrop(orig, k, removeDirectives(discardNulls(patchV)));
      continue;
    }
    const origV = orig[k];
    if (goType(origV) !== goType(patchV) && !(typeof origV === 'number' && typeof patchV === 'number')) {
      if (!isDeleteList) setOrDrop(orig, k, removeDirectives(discardNulls(patchV)));
      continue;
    }
    if (isObject(origV) && isObject(patchV)) {
      const { ctx: sub, field } = child(ctx, k);
      const { strategy } = fieldMeta(field);
      orig[k] = strategy === 'replace' ? patchV : mergeMap(origV, patchV, sub);
    } else if (Array.isArray(origV) && Array.isArray(patchV)) {
      const { ctx: sub, field } = child(ctx, k);
      const { strategy, mergeKey } = fieldMeta(field);
      orig[k] = strategy === 'merge' || isDeleteList ? mergeSlice(origV, patchV, sub, mergeKey, isDeleteList) : patchV;
    } else {
      setOrDrop(orig, k, removeDirectives(patchV));
    }
  }
  return orig;
}

function setOrDrop(obj: JsonObject, key: string, v: JsonValue | undefined): void {
  if (v === undefined) delete obj[key];
  else obj[key] = v;
}

function extractKey(s: string, prefix: string): string {
  const slash = s.indexOf('/');
  if (slash < 0 || s.slice(0, slash) !== prefix) {
    fail(prefix === DELETE_FROM_PRIMITIVE_LIST ? ERR_BAD_PRIMITIVE_LIST : ERR_BAD_SET_ELEMENT_ORDER);
  }
  return s.slice(slash + 1);
}

function applyRetainKeys(original: JsonObject, patch: JsonObject): void {
  if (!Object.hasOwn(patch, RETAIN_KEYS)) return;
  const list = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(list)) fail(ERR_BAD_RETAIN_KEYS);
  const keep = new Set(list.filter((x): x is string => typeof x === 'string'));
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith(DELETE_FROM_PRIMITIVE_LIST) || k.startsWith(SET_ELEMENT_ORDER)) continue;
    if (!keep.has(k)) fail(ERR_BAD_RETAIN_KEYS);
  }
  for (const k of Object.keys(original)) if (!keep.has(k)) delete original[k];
}

/** removes nulls everywhere in a value taken from the patch (they mean nothing where the original has nothing) */
function discardNulls(v: JsonValue): JsonValue {
  if (isObject(v)) {
    for (const [k, x] of Object.entries(v)) {
      if (x === null) delete v[k];
      else discardNulls(x);
    }
  } else if (Array.isArray(v)) for (const x of v) discardNulls(x);
  return v;
}

/** drops objects carrying $patch (and list items that are such objects); undefined when `v` itself is one */
function removeDirectives(v: JsonValue): JsonValue | undefined {
  if (isObject(v)) {
    if (Object.hasOwn(v, DIRECTIVE)) return undefined;
    for (const [k, x] of Object.entries(v)) setOrDrop(v, k, removeDirectives(x));
    return v;
  }
  if (Array.isArray(v)) {
    const out: JsonValue[] = [];
    for (const x of v) {
      const y = removeDirectives(x);
      if (y !== undefined) out.push(y);
    }
    return out;
  }
  return v;
}

/** the directive keys left in a result are not fields of any type: drop them, as decoding into the type does */
function stripDirectiveKeys(v: JsonValue): JsonValue {
  if (isObject(v)) {
    for (const k of Object.keys(v)) {
      if (
        k === DIRECTIVE ||
        k === RETAIN_KEYS ||
        k.startsWith(`${SET_ELEMENT_ORDER}/`) ||
        k.startsWith(`${DELETE_FROM_PRIMITIVE_LIST}/`)
      ) {
        delete v[k];
      } else stripDirectiveKeys(v[k]);
    }
  } else if (Array.isArray(v)) for (const x of v) stripDirectiveKeys(x);
  return v;
}

type Kind = 'map' | 'scalar';

/** the element kind shared by the lists; fails like Kubernetes for lists of lists and mixed lists */
function elementKind(...lists: JsonValue[][]): Kind | undefined {
  let prev: string | undefined;
  for (const l of lists) {
    for (const v of l) {
      const t = typeof v === 'number' ? 'number' : goType(v);
      if (prev === undefined) {
        prev = t;
        if (t === '[]interface {}') fail(ERR_NO_LIST_OF_LISTS);
      } else if (prev !== t) {
        fail(`list element types are not identical: ${lists.map((x) => show(x)).join(' ')}`);
      }
    }
  }
  if (prev === undefined) return undefined;
  return prev === 'map[string]interface {}' ? 'map' : 'scalar';
}

/** the identity of a list item for ordering: its merge key value for maps, itself for primitives */
function identity(item: JsonValue, mergeKey: string, kind: Kind): unknown {
  if (kind === 'map') return isObject(item) ? item[mergeKey] : undefined;
  return item;
}

function sameIdentity(a: unknown, b: unknown): boolean {
  return a === b || (typeof a === 'object' && a !== null && deepEqual(a, b));
}

/** the first index recorded for each value: scalars by a map, objects (rare as identities) by deep comparison */
class FirstIndex {
  private readonly scalars = new Map<unknown, number>();
  private readonly objects: Array<[unknown, number]> = [];

  /** records `i` for `value` unless it has one already */
  add(value: unknown, i: number): void {
    if (typeof value === 'object' && value !== null) {
      if (!this.objects.some(([x]) => deepEqual(x, value))) this.objects.push([value, i]);
    } else if (!this.scalars.has(value)) this.scalars.set(value, i);
  }

  /** the index recorded for `value`, or -1 */
  get(value: unknown): number {
    if (typeof value === 'object' && value !== null) return this.objects.find(([x]) => deepEqual(x, value))?.[1] ?? -1;
    return this.scalars.get(value) ?? -1;
  }
}

/** first index of each identity in `list` */
class OrderIndex {
  private readonly first = new FirstIndex();
  constructor(list: JsonValue[], mergeKey: string, kind: Kind) {
    list.forEach((item, i) => this.first.add(identity(item, mergeKey, kind), i));
  }
  indexOf(item: JsonValue, mergeKey: string, kind: Kind): number {
    return this.first.get(identity(item, mergeKey, kind));
  }
}

/**
 * Where each merge key value first occurs in a list of maps, found without a scan per lookup (a patch of n items on a
 * list of n would take n^2 steps). Lookups fail as Go's scan does when a non-map item comes before the match (or
 * anywhere, when nothing matches).
 */
class MergeKeyIndex {
  private readonly first = new FirstIndex();
  private firstNonMap = Infinity;

  constructor(
    list: JsonValue[],
    private readonly mergeKey: string,
  ) {
    list.forEach((item, i) => this.add(item, i));
  }

  /** records `item` at index i (items are added in list order) */
  add(item: JsonValue, i: number): void {
    if (!isObject(item)) {
      if (this.firstNonMap === Infinity) this.firstNonMap = i;
      return;
    }
    if (Object.hasOwn(item, this.mergeKey)) this.first.add(item[this.mergeKey], i);
  }

  /** the index of the first map whose merge key is `key`, or -1 */
  find(key: JsonValue): number {
    const at = this.first.get(key);
    if (this.firstNonMap < (at < 0 ? Infinity : at)) fail('value for key is not a map');
    return at;
  }

  has(key: JsonValue): boolean {
    return this.first.get(key) >= 0;
  }
}

function mergeSlice(
  original: JsonValue[],
  patch: JsonValue[],
  ctx: Ctx,
  mergeKey: string,
  isDeleteList: boolean,
): JsonValue[] {
  if (original.length === 0 && patch.length === 0) return original;
  const kind = elementKind(original, patch);
  if (kind === undefined) fail('no elements in any of the given slices');
  let merged: JsonValue[];
  let orig = original;
  let pat = patch;
  if (kind !== 'map') {
    if (isDeleteList) {
      const drop = new OrderIndex(patch, '', 'scalar');
      return original.filter((v) => drop.indexOf(v, '', 'scalar') < 0);
    }
    merged = dedupe([...original, ...patch]);
  } else {
    if (!mergeKey)
      fail(
        `cannot merge lists without merge key for ${ctx.schema?.ref ?? ctx.schema?.items?.ref ?? 'an untyped list'}`,
      );
    [orig, pat] = mergeSpecialElements(original, patch, mergeKey);
    merged = mergeWithoutSpecialElements(orig, pat, mergeKey, {
      schema: itemSchema(ctx.schema, ctx.resolver),
      resolver: ctx.resolver,
    });
  }
  const [patchItems, serverOnly] = partition(merged, pat, mergeKey, kind);
  return normalizeElementOrder(patchItems, serverOnly, pat, orig, mergeKey, kind);
}

/** the list without repeated primitives, first occurrences kept */
function dedupe(list: JsonValue[]): JsonValue[] {
  return [...new Set(list)];
}

function mergeKeyValue(item: JsonObject, mergeKey: string): JsonValue {
  if (!Object.hasOwn(item, mergeKey)) fail(`map: ${show(item)} does not contain declared merge key: ${mergeKey}`);
  return item[mergeKey];
}

/** handles `$patch` items of a merging list of maps: returns the (possibly reduced or replaced) original and the plain patch items */
function mergeSpecialElements(original: JsonValue[], patch: JsonValue[], mergeKey: string): [JsonValue[], JsonValue[]] {
  const plain: JsonValue[] = [];
  let replace = false;
  const deleted: JsonObject[] = [];
  for (const v of patch) {
    const item = v as JsonObject;
    if (!Object.hasOwn(item, DIRECTIVE)) {
      plain.push(v);
      continue;
    }
    const d = item[DIRECTIVE];
    if (d === 'delete') {
      mergeKeyValue(item, mergeKey);
      deleted.push(item);
    } else if (d === 'replace') {
      replace = true;
    } else if (d === 'merge') {
      fail('merging lists cannot yet be specified in the patch');
    } else {
      fail(`unknown patch type: ${String(d)} in map: ${show(item)}`);
    }
  }
  if (replace) return [plain, []];
  if (deleted.length === 0) return [original, plain];
  const gone = new MergeKeyIndex(deleted, mergeKey);
  return [original.filter((o) => !(isObject(o) && Object.hasOwn(o, mergeKey) && gone.has(o[mergeKey]))), plain];
}

function mergeWithoutSpecialElements(
  original: JsonValue[],
  patch: JsonValue[],
  mergeKey: string,
  itemCtx: Ctx,
): JsonValue[] {
  const out = [...original];
  const index = new MergeKeyIndex(out, mergeKey);
  for (const v of patch) {
    const item = v as JsonObject;
    const key = mergeKeyValue(item, mergeKey);
    const at = index.find(key);
    if (at >= 0) out[at] = mergeMap(out[at] as JsonObject, item, itemCtx);
    else {
      const added = removeDirectives(discardNulls(item));
      if (added !== undefined) {
        index.add(added, out.length);
        out.push(added);
      }
    }
  }
  return out;
}

/** splits `list` into the items present in `by` and the others, both in list order */
function partition(list: JsonValue[], by: JsonValue[], mergeKey: string, kind: Kind): [JsonValue[], JsonValue[]] {
  const index = new OrderIndex(by, mergeKey, kind);
  const inBy: JsonValue[] = [];
  const others: JsonValue[] = [];
  for (const v of list) {
    if (kind === 'map') {
      if (!isObject(v)) fail(`expected a map[string]interface {}, but received a ${goType(v)}`);
      mergeKeyValue(v, mergeKey);
    }
    (index.indexOf(v, mergeKey, kind) >= 0 ? inBy : others).push(v);
  }
  return [inBy, others];
}

function sortByOrder(items: JsonValue[], order: JsonValue[], mergeKey: string, kind: Kind): JsonValue[] {
  let toSort = items;
  let toDelete: JsonValue[] = [];
  if (kind === 'map') {
    for (const l of [items, order]) for (const v of l) if (isObject(v)) mergeKeyValue(v, mergeKey);
    toSort = items.filter((v) => !(isObject(v) && v[DIRECTIVE] === 'delete'));
    toDelete = items.filter((v) => isObject(v) && v[DIRECTIVE] === 'delete');
  }
  const index = new OrderIndex(order, mergeKey, kind);
  const keyed = toSort.map((v, i) => ({ v, i, at: index.indexOf(v, mergeKey, kind) }));
  keyed.sort((a, b) => (a.at >= 0 && b.at >= 0 && a.at !== b.at ? a.at - b.at : a.i - b.i));
  return [...keyed.map((x) => x.v), ...toDelete];
}

/**
 * orders a merged list: the patch items in `patchOrder`, the server-only items in `serverOrder`, interleaved so
 * that a server-only item comes before a patch item that follows it on the server
 */
function normalizeElementOrder(
  patchItems: JsonValue[],
  serverOnly: JsonValue[],
  patchOrder: JsonValue[],
  serverOrder: JsonValue[],
  mergeKey: string,
  kind: Kind,
): JsonValue[] {
  const right = sortByOrder(patchItems, patchOrder, mergeKey, kind);
  const left = sortByOrder(serverOnly, serverOrder, mergeKey, kind);
  const server = new OrderIndex(serverOrder, mergeKey, kind);
  const out: JsonValue[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      const li = server.indexOf(left[i], mergeKey, kind);
      const ri = server.indexOf(right[j], mergeKey, kind);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}

/** the order of a patch list must agree with its $setElementOrder list */
function validateSetOrder(patchList: JsonValue[], setOrder: JsonValue[], mergeKey: string): void {
  if (setOrder.length === 0 || patchList.length === 0) return;
  const items = mergeKey ? patchList.filter((v) => !(isObject(v) && v[DIRECTIVE] === 'delete')) : patchList;
  let p = 0;
  let s = 0;
  while (p < items.length && s < setOrder.length) {
    if (isObject(items[p]) && Object.hasOwn(items[p] as JsonObject, DIRECTIVE)) {
      p++;
      continue;
    }
    let equal: boolean;
    if (!mergeKey) equal = sameIdentity(items[p], setOrder[s]);
    else {
      const a = items[p];
      const b = setOrder[s];
      if (!isObject(a)) fail(`expected a map[string]interface {}, but received a ${goType(a)}`);
      if (!isObject(b)) fail(`expected a map[string]interface {}, but received a ${goType(b)}`);
      equal = sameIdentity(mergeKeyValue(a, mergeKey), mergeKeyValue(b, mergeKey));
    }
    if (equal) p++;
    s++;
  }
  if (p < items.length && s >= setOrder.length) {
    fail(
      `The order in patch list:\n${show(patchList)}\n doesn't match ${SET_ELEMENT_ORDER} list:\n${show(setOrder)}\n`,
    );
  }
}

/** merges every list that has a $setElementOrder directive, in the directive's order; removes both from the patch */
function mergeSetElementOrderLists(original: JsonObject, patch: JsonObject, ctx: Ctx): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(SET_ELEMENT_ORDER)) continue;
    const order = patch[key];
    delete patch[key];
    if (!Array.isArray(order)) fail(`expected a []interface {}, but received a ${goType(order)}`);
    const field = extractKey(key, SET_ELEMENT_ORDER);
    const origList = Object.hasOwn(original, field) ? original[field] : undefined;
    const patchList = Object.hasOwn(patch, field) ? patch[field] : undefined;
    if (origList !== undefined && !Array.isArray(origList))
      fail(`expected a []interface {}, but received a ${goType(origList)}`);
    if (patchList !== undefined && !Array.isArray(patchList))
      fail(`expected a []interface {}, but received a ${goType(patchList)}`);
    const { ctx: sub, field: fieldSchema } = child(ctx, field);
    const { strategy, mergeKey } = fieldMeta(fieldSchema);
    validateSetOrder(patchList ?? [], order, mergeKey);
    let merged: JsonValue[];
    if (origList && !patchList) merged = origList;
    else if (!origList && patchList) merged = removeDirectives(patchList) as JsonValue[];
    else if (origList && patchList)
      merged = strategy === 'merge' ? mergeSlice(origList, patchList, sub, mergeKey, false) : patchList;
    else continue;
    const kind = elementKind(merged, order) ?? 'scalar';
    const [inOrder, serverOnly] = partition(merged, order, mergeKey, kind);
    original[field] = normalizeElementOrder(inOrder, serverOnly, order, origList ?? [], mergeKey, kind);
    delete patch[field];
  }
}

export type { JsonValue } from './json-value.ts';
