/**
 * Field paths and field sets, and their managedFields encoding (FieldsV1):
 * `f:<field>` a field of an object, `k:{"name":"x"}` an item of an associative list by its key fields (sorted by
 * name), `v:<json>` an item of a set by its value, `i:<n>` an item by index (read only), and `.` the node itself
 * when its children are listed too.
 */
import { type JsonValue, goJson, isObject } from '../json-value.ts';

export type PathElement =
  | { kind: 'field'; name: string }
  | { kind: 'key'; fields: Array<[string, JsonValue]> }
  | { kind: 'value'; value: JsonValue }
  | { kind: 'index'; index: number };

export type Path = readonly PathElement[];

export function field(name: string): PathElement {
  return { kind: 'field', name };
}

/** an associative list item's element; fields are sorted by name */
export function keyElement(fields: Array<[string, JsonValue]>): PathElement {
  return { kind: 'key', fields: [...fields].sort((a, b) => compareStrings(a[0], b[0])) };
}

/** the FieldsV1 spelling of a path element (also its identity) */
export function serializePathElement(pe: PathElement): string {
  switch (pe.kind) {
    case 'field':
      return `f:${pe.name}`;
    case 'key':
      return `k:{${pe.fields.map(([k, v]) => `${goJson(k)}:${goJson(v)}`).join(',')}}`;
    case 'value':
      return `v:${goJson(pe.value)}`;
    case 'index':
      return `i:${pe.index}`;
  }
}

export function parsePathElement(s: string): PathElement | undefined {
  if (s.length < 2 || s[1] !== ':')
    throw new Error(`invalid managed fields key ${JSON.stringify(s)}: expected a prefix like "f:"`);
  const rest = s.slice(2);
  switch (s[0]) {
    case 'f':
      return { kind: 'field', name: rest };
    case 'v':
      return { kind: 'value', value: JSON.parse(rest) as JsonValue };
    case 'k': {
      const obj = JSON.parse(rest) as unknown;
      if (!isObject(obj))
        throw new Error(`invalid managed fields key ${JSON.stringify(s)}: k: must hold a JSON object`);
      return keyElement(Object.entries(obj));
    }
    case 'i': {
      if (!/^-?\d+$/.test(rest))
        throw new Error(`invalid managed fields key ${JSON.stringify(s)}: i: must hold an integer`);
      return { kind: 'index', index: Number(rest) };
    }
    default:
      return undefined; // unknown element kinds are skipped, as Kubernetes does
  }
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const KIND_ORDER = { field: 0, key: 1, value: 2, index: 3 } as const;

function valueRank(v: JsonValue): number {
  if (typeof v === 'number') return 0;
  if (typeof v === 'string') return 1;
  if (typeof v === 'boolean') return 2;
  if (Array.isArray(v)) return 3;
  if (isObject(v)) return 4;
  return 5;
}

export function compareValues(a: JsonValue, b: JsonValue): number {
  const ra = valueRank(a);
  const rb = valueRank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === 'number') return a - (b as number);
  if (typeof a === 'string') return compareStrings(a, b as string);
  if (typeof a === 'boolean') return Number(a) - Number(b);
  if (Array.isArray(a)) {
    const bb = b as JsonValue[];
    for (let i = 0; i < Math.min(a.length, bb.length); i++) {
      const c = compareValues(a[i], bb[i]);
      if (c !== 0) return c;
    }
    return a.length - bb.length;
  }
  if (isObject(a)) return compareStrings(goJson(a), goJson(b));
  return 0;
}

/** the total order of path elements that FieldsV1 lists them in */
export function comparePathElements(a: PathElement, b: PathElement): number {
  if (a.kind !== b.kind) return KIND_ORDER[a.kind] - KIND_ORDER[b.kind];
  switch (a.kind) {
    case 'field':
      return compareStrings(a.name, (b as typeof a).name);
    case 'key': {
      const bf = (b as typeof a).fields;
      for (let i = 0; ; i++) {
        if (i >= a.fields.length && i >= bf.length) return 0;
        if (i >= a.fields.length) return -1;
        if (i >= bf.length) return 1;
        const c = compareStrings(a.fields[i][0], bf[i][0]) || compareValues(a.fields[i][1], bf[i][1]);
        if (c !== 0) return c;
      }
    }
    case 'value':
      return compareValues(a.value, (b as typeof a).value);
    case 'index':
      return a.index - (b as typeof a).index;
  }
}

function valueString(v: JsonValue): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(valueString).join(',')}]`;
  if (isObject(v))
    return `{${Object.entries(v)
      .map(([k, x]) => `${k}=${valueString(x)}`)
      .join(';')}}`;
  return String(v);
}

/** the human form used in conflict messages: .spec.containers[name="app"].image, .metadata.finalizers[="x"] */
export function pathElementString(pe: PathElement): string {
  switch (pe.kind) {
    case 'field':
      return `.${pe.name}`;
    case 'key':
      return `[${pe.fields.map(([k, v]) => `${k}=${valueString(v)}`).join(',')}]`;
    case 'value':
      return `[=${valueString(pe.value)}]`;
    case 'index':
      return `[${pe.index}]`;
  }
}

export function pathString(path: Path): string {
  return path.map(pathElementString).join('');
}

interface Child {
  pe: PathElement;
  set: FieldSet;
}

interface SortedNode {
  key: string;
  pe: PathElement;
  /** the path is in the set */
  member: boolean;
  /** paths below it, when there are any */
  set?: FieldSet;
}

/**
 * A path as a walk descends it: each element is serialized once, when the walk steps into it, so that inserting
 * the path into a FieldSet does not serialize its elements again (walks that insert many paths, such as comparing
 * two objects, use it instead of path arrays).
 */
export class PathCursor {
  static readonly ROOT = new PathCursor(undefined, undefined, '');
  /** the FieldSet node at this path in the set it was last looked up in (siblings share their parent's) */
  private cachedIn?: FieldSet;
  private cachedNode?: FieldSet;

  private constructor(
    readonly parent: PathCursor | undefined,
    readonly pe: PathElement | undefined,
    readonly key: string,
  ) {}

  child(pe: PathElement, key: string = serializePathElement(pe)): PathCursor {
    return new PathCursor(this, pe, key);
  }

  field(name: string): PathCursor {
    return new PathCursor(this, { kind: 'field', name }, `f:${name}`);
  }

  /** the subtree of `set` at this path, created as needed */
  nodeIn(set: FieldSet): FieldSet {
    if (!this.parent) return set;
    if (this.cachedIn === set) return this.cachedNode!;
    const node = this.parent.nodeIn(set).childAt(this.key, this.pe!);
    this.cachedIn = set;
    this.cachedNode = node;
    return node;
  }

  /** the path's elements from the root */
  path(): PathElement[] {
    const out: PathElement[] = [];
    for (let c: PathCursor | undefined = this; c?.pe; c = c.parent) out.push(c.pe);
    return out.reverse();
  }
}

/** a set of field paths, stored as a tree; nodes are keyed by their serialized path element */
export class FieldSet {
  readonly members = new Map<string, PathElement>();
  readonly children = new Map<string, Child>();

  static of(...paths: Path[]): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.insert(p);
    return s;
  }

  isEmpty(): boolean {
    if (this.members.size > 0) return false;
    for (const c of this.children.values()) if (!c.set.isEmpty()) return false;
    return true;
  }

  /** adds a path (its parents are not added); the empty path is ignored */
  insert(path: Path): void {
    if (path.length === 0) return;
    let cur: FieldSet = this;
    for (let i = 0; i < path.length - 1; i++) cur = cur.childFor(path[i]);
    const last = path[path.length - 1];
    cur.members.set(serializePathElement(last), last);
  }

  /** adds the path a cursor stands on (its parents are not added); the root is ignored */
  insertAt(cur: PathCursor): void {
    if (!cur.parent) return;
    cur.parent.nodeIn(this).members.set(cur.key, cur.pe!);
  }

  /** the subtree below the element serialized as `key`, created as needed */
  childAt(key: string, pe: PathElement): FieldSet {
    let c = this.children.get(key);
    if (!c) this.children.set(key, (c = { pe, set: new FieldSet() }));
    return c.set;
  }

  has(path: Path): boolean {
    if (path.length === 0) return false;
    let cur: FieldSet | undefined = this;
    for (let i = 0; i < path.length - 1 && cur; i++) cur = cur.children.get(serializePathElement(path[i]))?.set;
    return !!cur && cur.members.has(serializePathElement(path[path.length - 1]));
  }

  /** the subtree below one element (empty when absent) */
  withPrefix(pe: PathElement): FieldSet {
    return this.children.get(serializePathElement(pe))?.set ?? new FieldSet();
  }

  childFor(pe: PathElement): FieldSet {
    const key = serializePathElement(pe);
    let c = this.children.get(key);
    if (!c) this.children.set(key, (c = { pe, set: new FieldSet() }));
    return c.set;
  }

  clone(): FieldSet {
    const out = new FieldSet();
    for (const [k, pe] of this.members) out.members.set(k, pe);
    for (const [k, c] of this.children) out.children.set(k, { pe: c.pe, set: c.set.clone() });
    return out;
  }

  union(o: FieldSet): FieldSet {
    const out = this.clone();
    for (const [k, pe] of o.members) out.members.set(k, pe);
    for (const [k, c] of o.children) {
      const mine = out.children.get(k);
      out.children.set(k, { pe: c.pe, set: mine ? mine.set.union(c.set) : c.set.clone() });
    }
    return out;
  }

  /** the paths of this set that are not exactly in `o` (a member of `o` does not remove paths below it) */
  difference(o: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const [k, pe] of this.members) if (!o.members.has(k)) out.members.set(k, pe);
    for (const [k, c] of this.children) {
      const theirs = o.children.get(k);
      const d = theirs ? c.set.difference(theirs.set) : c.set.clone();
      if (!d.isEmpty()) out.children.set(k, { pe: c.pe, set: d });
    }
    return out;
  }

  /** the paths of this set that are neither in `o` nor below a member of `o` */
  recursiveDifference(o: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const [k, pe] of this.members) if (!o.members.has(k)) out.members.set(k, pe);
    for (const [k, c] of this.children) {
      if (o.members.has(k)) continue;
      const theirs = o.children.get(k);
      const d = theirs ? c.set.recursiveDifference(theirs.set) : c.set.clone();
      if (!d.isEmpty()) out.children.set(k, { pe: c.pe, set: d });
    }
    return out;
  }

  intersection(o: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const [k, pe] of this.members) if (o.members.has(k)) out.members.set(k, pe);
    for (const [k, c] of this.children) {
      const theirs = o.children.get(k);
      if (!theirs) continue;
      const i = c.set.intersection(theirs.set);
      if (!i.isEmpty()) out.children.set(k, { pe: c.pe, set: i });
    }
    return out;
  }

  equals(o: FieldSet): boolean {
    return this.difference(o).isEmpty() && o.difference(this).isEmpty();
  }

  /** every path of the set, in FieldsV1 order */
  paths(prefix: PathElement[] = []): PathElement[][] {
    const out: PathElement[][] = [];
    for (const { pe, member, set } of this.sortedNodes()) {
      const p = [...prefix, pe];
      if (member) out.push(p);
      if (set) out.push(...set.paths(p));
    }
    return out;
  }

  private sortedNodes(): SortedNode[] {
    const nodes: SortedNode[] = [];
    let fieldsOnly = true;
    for (const [key, pe] of this.members) {
      const c = this.children.get(key);
      nodes.push({ key, pe, member: true, set: c && !c.set.isEmpty() ? c.set : undefined });
      if (pe.kind !== 'field') fieldsOnly = false;
    }
    for (const [key, c] of this.children) {
      if (this.members.has(key) || c.set.isEmpty()) continue;
      nodes.push({ key, pe: c.pe, member: false, set: c.set });
      if (c.pe.kind !== 'field') fieldsOnly = false;
    }
    // fields sort by name, which is their key's order too (all keys start with "f:")
    return nodes.sort(fieldsOnly ? (a, b) => compareStrings(a.key, b.key) : (a, b) => comparePathElements(a.pe, b.pe));
  }

  /** the FieldsV1 object (what managedFields[].fieldsV1 holds) */
  toFieldsV1(): Record<string, unknown> {
    return this.emit(false) ?? {};
  }

  /** the FieldsV1 object of this subtree, "." first when `includeSelf`; undefined when it holds no path */
  private emit(includeSelf: boolean): Record<string, unknown> | undefined {
    const nodes: Array<{ key: string; pe: PathElement; value: Record<string, unknown> }> = [];
    let fieldsOnly = true;
    for (const [key, pe] of this.members) {
      nodes.push({ key, pe, value: this.children.get(key)?.set.emit(true) ?? {} });
      if (pe.kind !== 'field') fieldsOnly = false;
    }
    for (const [key, c] of this.children) {
      if (this.members.has(key)) continue;
      const value = c.set.emit(false);
      if (!value) continue;
      nodes.push({ key, pe: c.pe, value });
      if (c.pe.kind !== 'field') fieldsOnly = false;
    }
    if (nodes.length === 0) return undefined;
    nodes.sort(fieldsOnly ? (a, b) => compareStrings(a.key, b.key) : (a, b) => comparePathElements(a.pe, b.pe));
    const out: Record<string, unknown> = {};
    if (includeSelf) out['.'] = {};
    for (const n of nodes) out[n.key] = n.value;
    return out;
  }

  static fromFieldsV1(v: unknown): FieldSet {
    const s = new FieldSet();
    if (v === undefined || v === null) return s;
    if (!isObject(v)) throw new Error('fieldsV1 must be a JSON object');
    s.read(v);
    return s;
  }

  private read(obj: Record<string, unknown>): void {
    for (const [key, sub] of Object.entries(obj)) {
      if (key === '.') continue;
      const pe = parsePathElement(key);
      if (!pe) continue;
      if (!isObject(sub)) throw new Error(`fieldsV1 entry ${JSON.stringify(key)} must hold a JSON object`);
      const keys = Object.keys(sub);
      if (keys.length === 0) {
        this.members.set(serializePathElement(pe), pe);
        continue;
      }
      if (Object.hasOwn(sub, '.')) this.members.set(serializePathElement(pe), pe);
      const child = this.childFor(pe);
      child.read(sub);
    }
  }
}
