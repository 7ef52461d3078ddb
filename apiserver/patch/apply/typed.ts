/**
 * Values walked with their type, as server-side apply needs them: which paths a value sets (its field set),
 * what changed between two values, merging an applied configuration into a live object, and removing paths.
 *
 * Types come from the API model. Objects are granular unless x-kubernetes-map-type is atomic; lists are atomic
 * unless x-kubernetes-list-type is 'set' or 'map' (or, without a list type, the patch strategy is 'merge');
 * list maps are keyed by x-kubernetes-list-map-keys (or the patch merge key). Free-form values (no schema,
 * unknown fields) behave as Kubernetes' deduced type: objects granular, lists atomic. RawExtension is atomic.
 */
import { unclassified } from '../errors.ts';
import { type JsonObject, type JsonValue, deepEqual, isObject } from '../json-value.ts';
import { type Schema, type TypeResolver } from '../schema.ts';
import {
  FieldSet,
  type Path,
  PathCursor,
  type PathElement,
  field,
  keyElement,
  pathString,
  serializePathElement,
} from './fieldpath.ts';

export interface MapType {
  atomic: boolean;
  /** declared fields (structs); undefined for plain maps */
  fields?: ReadonlyMap<string, Schema>;
  /** the schema of undeclared members; undefined means free-form */
  element?: Schema;
  /** defaults of declared fields (used for list map keys) */
  defaults: ReadonlyMap<string, JsonValue>;
  required?: ReadonlySet<string>;
}

export interface ListType {
  atomic: boolean;
  /** list map keys; empty for sets */
  keys: readonly string[];
  element?: Schema;
}

export interface Atom {
  scalar: boolean;
  map?: MapType;
  list?: ListType;
}

const RAW_EXTENSION = 'io.k8s.apimachinery.pkg.runtime.RawExtension';

/**
 * Defaults of list map keys that Kubernetes' schema carries but the OpenAPI v2 model does not: an item without
 * the key is identified with the default (e.g. ports: k:{"containerPort":80,"protocol":"TCP"}).
 */
const KEY_DEFAULTS: Record<string, Record<string, JsonValue>> = {
  'io.k8s.api.core.v1.ContainerPort': { protocol: 'TCP' },
  'io.k8s.api.core.v1.ServicePort': { protocol: 'TCP' },
};

const NO_DEFAULTS: ReadonlyMap<string, JsonValue> = new Map();

const UNTYPED_ATOMIC: Atom = {
  scalar: true,
  list: { atomic: true, keys: [] },
  map: { atomic: true, defaults: NO_DEFAULTS },
};
const DEDUCED: Atom = {
  scalar: true,
  list: { atomic: true, keys: [] },
  map: { atomic: false, defaults: NO_DEFAULTS },
};

export class ApplyTypeError extends Error {}

/** the atoms of the schemas of one resolver, computed once */
export class Types {
  private readonly named = new Map<string, Atom>();
  private readonly inline = new WeakMap<Schema, Atom>();

  constructor(readonly resolver: TypeResolver) {}

  /** the atom of a property schema (a reference or an inline schema); undefined schema: free-form */
  atom(schema: Schema | undefined): Atom {
    if (!schema) return DEDUCED;
    const cached = this.inline.get(schema);
    if (cached) return cached;
    let a: Atom;
    if (schema.ref) {
      a = schema.ref === RAW_EXTENSION ? UNTYPED_ATOMIC : this.namedAtom(schema.ref);
      const mt = schema['x-kubernetes-map-type'];
      if (mt && a.map) a = { ...a, map: { ...a.map, atomic: mt === 'atomic' } };
    } else a = this.convert(schema, undefined);
    this.inline.set(schema, a);
    return a;
  }

  private namedAtom(name: string): Atom {
    let a = this.named.get(name);
    if (!a) {
      const def = this.resolver.resolve(name);
      a = def ? this.convert(def, name) : DEDUCED;
      this.named.set(name, a);
    }
    return a;
  }

  private convert(s: Schema, name: string | undefined): Atom {
    if (s['x-kubernetes-map-type'] === 'atomic' && !s.properties && !s.additionalProperties && s.type === 'object')
      return UNTYPED_ATOMIC;
    if (s.properties && Object.keys(s.properties).length > 0) {
      const defaults = new Map<string, JsonValue>();
      for (const [k, p] of Object.entries(s.properties))
        if (p.default !== undefined) defaults.set(k, p.default as JsonValue);
      for (const [k, v] of Object.entries((name && KEY_DEFAULTS[name]) || {})) if (!defaults.has(k)) defaults.set(k, v);
      return {
        scalar: false,
        map: {
          atomic: s['x-kubernetes-map-type'] === 'atomic',
          fields: new Map(Object.entries(s.properties)),
          required: new Set(s.required ?? []),
          defaults,
        },
      };
    }
    if (s.type === 'object') {
      return {
        scalar: false,
        map: {
          atomic: s['x-kubernetes-map-type'] === 'atomic',
          element: s.additionalProperties,
          defaults: NO_DEFAULTS,
        },
      };
    }
    if (s.type === 'array') {
      const lt = s['x-kubernetes-list-type'];
      let atomic = true;
      let keys: string[] = [];
      if (lt === 'set') atomic = false;
      else if (lt === 'map') {
        atomic = false;
        keys = s['x-kubernetes-list-map-keys'] ?? [];
      } else if (!lt) {
        const strategy = s['x-kubernetes-patch-strategy'];
        if (strategy === 'merge' || strategy === 'merge,retainKeys') {
          atomic = false;
          const mk = s['x-kubernetes-patch-merge-key'];
          keys = mk ? [mk] : [];
        }
      }
      return { scalar: false, list: { atomic, keys, element: s.items } };
    }
    if (s.type) return { scalar: true };
    return DEDUCED;
  }

  /** the schema of member `key` of a map type (undefined: free-form) */
  memberSchema(m: MapType, key: string): Schema | undefined {
    return m.fields?.get(key) ?? m.element;
  }

  isRequired(m: MapType, key: string): boolean {
    return !!m.required && m.required.has(key);
  }

  isDeclared(m: MapType, key: string): boolean {
    return !!m.fields && m.fields.has(key);
  }
}

type Shape = 'scalar' | 'map' | 'list';

/** which side of an atom a value takes (a value that does not fit the type is handled as an opaque leaf) */
function shapeOf(atom: Atom, v: JsonValue | undefined): Shape | 'leaf' {
  if (v === undefined || v === null) return atom.map ? 'map' : atom.list ? 'list' : 'scalar';
  if (Array.isArray(v)) return atom.list ? 'list' : 'leaf';
  if (isObject(v)) return atom.map ? 'map' : 'leaf';
  return atom.scalar ? 'scalar' : 'leaf';
}

function fail(at: Path | PathCursor, message: string): never {
  const path = at instanceof PathCursor ? at.path() : at;
  throw new ApplyTypeError(path.length ? `${pathString(path)}: ${message}` : message);
}

/** the path element identifying a list item */
export function listItemElement(types: Types, list: ListType, item: JsonValue, path: Path | PathCursor): PathElement {
  if (list.keys.length > 0) {
    if (item === null) fail(path, 'associative list with keys may not have a null element');
    if (!isObject(item)) fail(path, 'associative list with keys may not have non-map elements');
    const elemMap = types.atom(list.element).map;
    const fields: Array<[string, JsonValue]> = [];
    for (const k of list.keys) {
      if (Object.hasOwn(item, k)) fields.push([k, item[k]]);
      else {
        const def = elemMap?.defaults.get(k);
        if (def !== undefined) fields.push([k, def]);
      }
    }
    if (fields.length === 0) {
      fail(
        path,
        `associative list with keys has an element that omits all key fields ${JSON.stringify(list.keys)} (and doesn't have default values for any key fields)`,
      );
    }
    return keyElement(fields);
  }
  if (isObject(item)) fail(path, "associative list without keys has an element that's a map type");
  if (Array.isArray(item)) fail(path, 'not supported: associative list with lists as elements');
  if (item === null) fail(path, "associative list without keys has an element that's an explicit null");
  return { kind: 'value', value: item };
}

/** the paths a value sets: leaves, atomic values, list items, and empty or null members */
export function toFieldSet(
  types: Types,
  value: JsonValue,
  schema: Schema | undefined,
  allowDuplicates = true,
): FieldSet {
  const set = new FieldSet();
  walkFieldSet(types, value, types.atom(schema), [], set, allowDuplicates);
  return set;
}

function walkFieldSet(
  types: Types,
  v: JsonValue,
  atom: Atom,
  path: PathElement[],
  set: FieldSet,
  allowDup: boolean,
): void {
  const shape = shapeOf(atom, v);
  if (shape === 'scalar' || shape === 'leaf') {
    set.insert(path);
    return;
  }
  if (shape === 'list') {
    const list = atom.list!;
    if (list.atomic) {
      set.insert(path);
      return;
    }
    if (!Array.isArray(v)) return;
    const seen = new Set<string>();
    const dups = new Set<string>();
    const pes = v.map((item) => listItemElement(types, list, item, path));
    for (const pe of pes) {
      const k = serializePathElement(pe);
      if (seen.has(k)) {
        if (!allowDup) fail(path, `duplicate entries for key ${pathString([pe])}`);
        if (!dups.has(k)) {
          dups.add(k);
          set.insert([...path, pe]);
        }
      } else seen.add(k);
    }
    const elem = types.atom(list.element);
    v.forEach((item, i) => {
      if (dups.has(serializePathElement(pes[i]))) return;
      const p = [...path, pes[i]];
      walkFieldSet(types, item, elem, p, set, allowDup);
      set.insert(p);
    });
    return;
  }
  const m = atom.map!;
  if (m.atomic) {
    set.insert(path);
    return;
  }
  if (!isObject(v)) return;
  for (const [k, x] of Object.entries(v)) {
    const p = [...path, field(k)];
    walkFieldSet(types, x, types.atom(types.memberSchema(m, k)), p, set, allowDup);
    if (x === null || (isObject(x) && Object.keys(x).length === 0) || !types.isDeclared(m, k)) set.insert(p);
  }
}

export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

/**
 * what changed from `lhs` to `rhs`: added, modified and removed paths. Paths in `ignored`, or below one of its
 * members, are left out. `added` and `modified` may be one set when only their union matters.
 */
export function compare(
  types: Types,
  lhs: JsonValue,
  rhs: JsonValue,
  schema: Schema | undefined,
  ignored?: FieldSet,
  c?: Comparison,
): Comparison {
  c ??= { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
  walkCompare(types, lhs, rhs, types.atom(schema), PathCursor.ROOT, ignored, c);
  return c;
}

function isEmptyContainer(v: JsonValue | undefined): boolean {
  return (
    v === undefined ||
    v === null ||
    (Array.isArray(v) && v.length === 0) ||
    (isObject(v) && Object.keys(v).length === 0)
  );
}

/** `ign`: the ignored paths below `at` (undefined: none) */
function walkCompare(
  types: Types,
  lhs: JsonValue | undefined,
  rhs: JsonValue | undefined,
  atom: Atom,
  at: PathCursor,
  ign: FieldSet | undefined,
  c: Comparison,
): void {
  const ls = lhs === undefined ? undefined : shapeOf(atom, lhs);
  const rs = rhs === undefined ? undefined : shapeOf(atom, rhs);
  const shape = ls !== undefined && rs !== undefined && ls !== rs ? 'leaf' : (rs ?? ls)!;
  let leaf = false;
  if (shape === 'scalar' || shape === 'leaf') leaf = true;
  else if (shape === 'list') {
    const list = atom.list!;
    if (list.atomic || (isEmptyContainer(lhs) && isEmptyContainer(rhs))) leaf = true;
    else compareListItems(types, list, Array.isArray(lhs) ? lhs : [], Array.isArray(rhs) ? rhs : [], at, ign, c);
  } else {
    const m = atom.map!;
    if (m.atomic || (isEmptyContainer(lhs) && isEmptyContainer(rhs))) leaf = true;
    else {
      const l = isObject(lhs) ? lhs : undefined;
      const r = isObject(rhs) ? rhs : undefined;
      // the members of both sides: those of rhs, then those only lhs has
      if (r)
        for (const k in r) compareMember(types, m, k, l && Object.hasOwn(l, k) ? l[k] : undefined, r[k], at, ign, c);
      if (l) for (const k in l) if (!r || !Object.hasOwn(r, k)) compareMember(types, m, k, l[k], undefined, at, ign, c);
    }
  }
  if (leaf) {
    if (lhs === undefined) c.added.insertAt(at);
    else if (rhs === undefined) c.removed.insertAt(at);
    else if (!deepEqual(lhs, rhs)) c.modified.insertAt(at);
    return;
  }
  if (lhs === undefined) c.added.insertAt(at);
  else if (rhs === undefined) c.removed.insertAt(at);
}

function compareMember(
  types: Types,
  m: MapType,
  k: string,
  lv: JsonValue | undefined,
  rv: JsonValue | undefined,
  at: PathCursor,
  ign: FieldSet | undefined,
  c: Comparison,
): void {
  const p = at.field(k);
  if (ign?.members.has(p.key)) return;
  walkCompare(types, lv, rv, types.atom(types.memberSchema(m, k)), p, ign?.children.get(p.key)?.set, c);
}

function groupItems(
  types: Types,
  list: ListType,
  items: JsonValue[],
  at: PathCursor,
  order: Map<string, PathElement>,
): Map<string, JsonValue[]> {
  const groups = new Map<string, JsonValue[]>();
  for (const item of items) {
    const pe = listItemElement(types, list, item, at);
    const k = serializePathElement(pe);
    const g = groups.get(k);
    if (g) g.push(item);
    else {
      groups.set(k, [item]);
      if (!order.has(k)) order.set(k, pe);
    }
  }
  return groups;
}

function compareListItems(
  types: Types,
  list: ListType,
  lhs: JsonValue[],
  rhs: JsonValue[],
  at: PathCursor,
  ign: FieldSet | undefined,
  c: Comparison,
): void {
  const order = new Map<string, PathElement>();
  const l = groupItems(types, list, lhs, at, order);
  const r = groupItems(types, list, rhs, at, order);
  const elem = types.atom(list.element);
  for (const [k, pe] of order) {
    const ll = l.get(k) ?? [];
    const rl = r.get(k) ?? [];
    if (ign?.members.has(k)) continue;
    const p = at.child(pe, k);
    const below = ign?.children.get(k)?.set;
    if (ll.length <= 1 && rl.length <= 1) walkCompare(types, ll[0], rl[0], elem, p, below, c);
    else if (ll.length >= 2 && rl.length >= 2) {
      if (!deepEqual(ll, rl)) c.modified.insertAt(p);
    } else if (ll.length >= 2) {
      if (rl.length) walkCompare(types, undefined, rl[0], elem, p, below, c);
      c.removed.insertAt(p);
    } else {
      if (ll.length) walkCompare(types, ll[0], undefined, elem, p, below, c);
      c.added.insertAt(p);
    }
  }
}

/**
 * the value a freshly created object of the type starts from, for comparing a new object against it: every
 * object-typed field present in `v` is an empty object, every required list is null, so that only maps, lists
 * and leaves set by the request are recorded as added (as Kubernetes records a create against the zero value
 * of its Go type)
 */
export function zeroLike(types: Types, v: JsonValue, schema: Schema | undefined): JsonValue | undefined {
  return zeroWalk(types, v, types.atom(schema));
}

function zeroWalk(types: Types, v: JsonValue, atom: Atom): JsonValue | undefined {
  const m = atom.map;
  if (!m || !m.fields || m.atomic || !isObject(v)) return undefined;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) {
    const schema = m.fields.get(k);
    if (!schema) continue;
    const a = types.atom(schema);
    if (a.map?.fields && !a.map.atomic && isObject(x)) out[k] = zeroWalk(types, x, a) ?? {};
    else if (a.list && Array.isArray(x) && types.isRequired(m, k)) out[k] = null;
  }
  return out;
}

/** merges `rhs` (an applied configuration) into `lhs`: rhs wins for leaves and atomic values */
export function merge(
  types: Types,
  lhs: JsonValue | undefined,
  rhs: JsonValue | undefined,
  schema: Schema | undefined,
): JsonValue | undefined {
  return walkMerge(types, lhs, rhs, types.atom(schema), []);
}

function walkMerge(
  types: Types,
  lhs: JsonValue | undefined,
  rhs: JsonValue | undefined,
  atom: Atom,
  path: PathElement[],
): JsonValue | undefined {
  const ls = lhs === undefined ? undefined : shapeOf(atom, lhs);
  const rs = rhs === undefined ? undefined : shapeOf(atom, rhs);
  const shape = ls !== undefined && rs !== undefined && ls !== rs ? 'leaf' : (rs ?? ls)!;
  const leaf = () => (rhs !== undefined ? rhs : lhs);
  if (shape === 'scalar' || shape === 'leaf') return leaf();
  if (shape === 'list') {
    const list = atom.list!;
    if (list.atomic || (isEmptyContainer(lhs) && isEmptyContainer(rhs))) return leaf();
    if (rhs === null) return leaf();
    return mergeListItems(types, list, Array.isArray(lhs) ? lhs : [], Array.isArray(rhs) ? rhs : [], path);
  }
  const m = atom.map!;
  if (m.atomic || (isEmptyContainer(lhs) && isEmptyContainer(rhs))) return leaf();
  if (rhs === null) return leaf();
  const l = isObject(lhs) ? lhs : {};
  const r = isObject(rhs) ? rhs : {};
  const out: JsonObject = {};
  for (const k of new Set([...Object.keys(l), ...Object.keys(r)])) {
    const v = walkMerge(
      types,
      Object.hasOwn(l, k) ? l[k] : undefined,
      Object.hasOwn(r, k) ? r[k] : undefined,
      types.atom(types.memberSchema(m, k)),
      [...path, field(k)],
    );
    if (v !== undefined) out[k] = v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

interface Indexed {
  pes: PathElement[];
  keys: string[];
  observed: Map<string, JsonValue | undefined>;
}

function indexList(
  types: Types,
  list: ListType,
  items: JsonValue[],
  path: PathElement[],
  allowDuplicates: boolean,
): Indexed {
  const out: Indexed = { pes: [], keys: [], observed: new Map() };
  for (const item of items) {
    const pe = listItemElement(types, list, item, path);
    const k = serializePathElement(pe);
    if (out.observed.has(k)) {
      if (!allowDuplicates) fail(path, `duplicate entries for key ${pathString([pe])}`);
      out.observed.set(k, undefined); // duplicated: merged as absent
    } else out.observed.set(k, item);
    out.pes.push(pe);
    out.keys.push(k);
  }
  return out;
}

/**
 * merges two associative lists: items of both are merged; the result keeps the applied order for the applied
 * items and places live-only items where they were relative to them
 */
function mergeListItems(
  types: Types,
  list: ListType,
  lhs: JsonValue[],
  rhs: JsonValue[],
  path: PathElement[],
): JsonValue[] | undefined {
  const R = indexList(types, list, rhs, path, false);
  const L = indexList(types, list, lhs, path, true);
  const elem = types.atom(list.element);
  const out: JsonValue[] = [];
  const sharedOrder = R.keys.filter((k) => L.observed.has(k));
  let sharedAt = 0;
  let nextShared: string | undefined = sharedOrder[sharedAt++];
  const mergedRHS = new Set<string>();
  const push = (k: string, pe: PathElement, lv: JsonValue | undefined, rv: JsonValue | undefined) => {
    const v = walkMerge(types, lv, rv, elem, [...path, pe]);
    if (v !== undefined) out.push(v);
    void k;
  };
  let li = 0;
  let ri = 0;
  while (li < L.keys.length || ri < R.keys.length) {
    if (li < L.keys.length && ri < R.keys.length) {
      const lk = L.keys[li];
      if (lk === R.keys[ri]) {
        mergedRHS.add(lk);
        push(lk, L.pes[li], L.observed.get(lk), R.observed.get(lk));
        li++;
        ri++;
        nextShared = sharedOrder[sharedAt++];
        continue;
      }
      if (R.observed.has(lk) && nextShared !== undefined && nextShared !== lk) {
        li++;
        continue;
      }
    }
    if (li < L.keys.length) {
      const lk = L.keys[li];
      if (!R.observed.has(lk)) {
        push(lk, L.pes[li], lhs[li], undefined);
        li++;
        continue;
      } else if (mergedRHS.has(lk)) li++;
    }
    if (ri < R.keys.length) {
      const rk = R.keys[ri];
      mergedRHS.add(rk);
      push(rk, R.pes[ri], L.observed.get(rk), R.observed.get(rk));
      ri++;
      if (nextShared !== undefined && nextShared === rk) nextShared = sharedOrder[sharedAt++];
    }
  }
  return out.length > 0 ? out : undefined;
}

/** `value` without the paths of `set`; undefined when nothing is left */
export function removeItems(
  types: Types,
  value: JsonValue | undefined,
  set: FieldSet,
  schema: Schema | undefined,
): JsonValue | undefined {
  if (value === undefined) return undefined;
  return walkRemove(types, value, set, types.atom(schema), []);
}

function walkRemove(types: Types, v: JsonValue, set: FieldSet, atom: Atom, path: PathElement[]): JsonValue | undefined {
  const shape = shapeOf(atom, v);
  if (shape === 'scalar' || shape === 'leaf') return v;
  if (shape === 'list') {
    const list = atom.list!;
    if (!Array.isArray(v) || v.length === 0 || list.atomic) return v;
    const elem = types.atom(list.element);
    const out: JsonValue[] = [];
    for (const item of v) {
      const pe = listItemElement(types, list, item, path);
      if (set.members.has(serializePathElement(pe))) continue;
      const sub = set.withPrefix(pe);
      const kept = sub.isEmpty() ? item : walkRemove(types, item, sub, elem, [...path, pe]);
      if (kept !== undefined) out.push(kept);
    }
    return out.length > 0 ? out : undefined;
  }
  const m = atom.map!;
  if (!isObject(v) || Object.keys(v).length === 0 || m.atomic) return v;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) {
    const pe = field(k);
    if (set.members.has(serializePathElement(pe))) continue;
    const sub = set.withPrefix(pe);
    const kept = sub.isEmpty() ? x : walkRemove(types, x, sub, types.atom(types.memberSchema(m, k)), [...path, pe]);
    if (kept !== undefined) out[k] = kept;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** the set with every declared field that has children also made a member (so removing it removes the field) */
export function ensureNamedFieldsAreMembers(types: Types, set: FieldSet, schema: Schema | undefined): FieldSet {
  return ensureWalk(types, set, types.atom(schema));
}

function ensureWalk(types: Types, set: FieldSet, atom: Atom): FieldSet {
  const out = new FieldSet();
  for (const [k, pe] of set.members) out.members.set(k, pe);
  for (const [k, c] of set.children) {
    let childAtom: Atom;
    if (c.pe.kind === 'field') {
      if (atom.map && types.isDeclared(atom.map, c.pe.name)) out.members.set(k, c.pe);
      childAtom = atom.map ? types.atom(types.memberSchema(atom.map, c.pe.name)) : DEDUCED;
    } else childAtom = atom.list ? types.atom(atom.list.element) : DEDUCED;
    out.children.set(k, { pe: c.pe, set: ensureWalk(types, c.set, childAtom) });
  }
  return out;
}

/** runs `fn`, turning type errors (e.g. a list item without its keys) into the API server's error */
export function typed<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ApplyTypeError) throw unclassified(`${what}: ${e.message}`);
    throw e;
  }
}
