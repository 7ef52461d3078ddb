/**
 * Server-side apply and field ownership tracking, in the shape of Kubernetes' field manager:
 * - apply(): merges an applied configuration into the live object, removes what the manager applied before and
 *   no longer applies (unless another manager owns it), reports conflicts with other managers, and records the
 *   manager's fields under an 'Apply' entry of metadata.managedFields;
 * - trackUpdate(): records, for create/update/patch writes, the fields a manager changed under its 'Update'
 *   entry and takes them from the other managers.
 * Managers' entries hold the fields they own; apiVersion, kind, metadata.name and the other server-set
 * metadata are never tracked.
 */
import { unclassified } from '../errors.ts';
import { type JsonObject, type JsonValue, deepCopy, deepEqual, goJsonSorted, isObject } from '../json-value.ts';
import type { Schema, TypeResolver } from '../schema.ts';
import { type Conflict, makeConflict } from './conflicts.ts';
import { FieldSet, type PathElement, field } from './fieldpath.ts';
import {
  Managed,
  type ManagerId,
  capUpdateManagers,
  decodeManagedFields,
  encodeManagedFields,
  isResetManagedFields,
  managerKey,
} from './managed-fields.ts';
import {
  Types,
  compare,
  ensureNamedFieldsAreMembers,
  merge,
  removeItems,
  toFieldSet,
  typed,
  zeroLike,
} from './typed.ts';
import { validateApplyConfiguration } from './validate.ts';

const STRIPPED: PathElement[][] = [
  [field('apiVersion')],
  [field('kind')],
  [field('metadata')],
  ...[
    'name',
    'namespace',
    'creationTimestamp',
    'selfLink',
    'uid',
    'clusterName',
    'generation',
    'managedFields',
    'resourceVersion',
  ].map((f) => [field('metadata'), field(f)]),
];
const STRIP_SET = FieldSet.of(...STRIPPED);
const BEFORE_FIRST_APPLY = 'before-first-apply';
const CURRENT_OPERATION = '\u0000current-operation';

const typesCache = new WeakMap<TypeResolver, Types>();

function typesFor(resolver: TypeResolver): Types {
  let t = typesCache.get(resolver);
  if (!t) typesCache.set(resolver, (t = new Types(resolver)));
  return t;
}

export interface FieldManagerOptions {
  /**
   * field paths not tracked for this endpoint (with everything below them), e.g. [['status']] on a main
   * resource whose status is written through /status, or [['spec'], ['metadata']] on /status
   */
  resetFields?: readonly (readonly string[])[];
}

export interface ApplyOptions extends FieldManagerOptions {
  manager: string;
  force: boolean;
  /** definition name of the object, e.g. io.k8s.api.apps.v1.Deployment */
  typeName: string;
  resolver: TypeResolver;
  /** RFC 3339 time recorded in the manager's entry, e.g. 2024-05-01T10:00:00Z */
  now: string;
  subresource?: string;
}

export interface ApplyResult {
  /** the new object with its managedFields; with conflicts, the live object unchanged */
  object: Record<string, unknown>;
  conflicts?: Conflict[];
}

interface Ctx {
  types: Types;
  schema: Schema;
  ignored?: FieldSet;
}

function makeCtx(typeName: string, resolver: TypeResolver, opts: FieldManagerOptions): Ctx {
  const ignored = opts.resetFields?.length ? FieldSet.of(...opts.resetFields.map((p) => p.map(field))) : undefined;
  return { types: typesFor(resolver), schema: { ref: typeName }, ignored };
}

function withoutIgnored(ctx: Ctx, s: FieldSet): FieldSet {
  return ctx.ignored ? s.recursiveDifference(ctx.ignored) : s;
}

/** the object without metadata.managedFields (a copy) */
function withoutManagedFields(obj: unknown): JsonObject {
  const copy = isObject(obj) ? (deepCopy(obj) as JsonObject) : {};
  if (isObject(copy.metadata)) delete copy.metadata.managedFields;
  return copy;
}

/** the object without metadata.managedFields, sharing everything else with it: a copy of its top and its metadata */
function viewWithoutManagedFields(obj: unknown): JsonObject {
  if (!isObject(obj)) return {};
  const view: JsonObject = { ...obj };
  if (isObject(view.metadata)) {
    const { managedFields: _, ...meta } = view.metadata;
    view.metadata = meta;
  }
  return view;
}

function setManagedFields(obj: JsonObject, managed: Managed): void {
  const encoded = encodeManagedFields(managed);
  if (encoded) {
    if (!isObject(obj.metadata)) obj.metadata = {};
    (obj.metadata as JsonObject).managedFields = encoded as unknown as JsonValue;
  } else if (isObject(obj.metadata)) delete obj.metadata.managedFields;
}

function decodeOrEmpty(list: unknown): Managed {
  try {
    return decodeManagedFields(list);
  } catch {
    return new Managed();
  }
}

/** removes null members (a null in an applied configuration means the field is unset) */
function dropNulls(v: JsonValue | undefined): JsonValue | undefined {
  if (Array.isArray(v)) return v.map((x) => dropNulls(x)).filter((x): x is JsonValue => x !== undefined && x !== null);
  if (isObject(v)) {
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) {
      if (x === null) continue;
      const y = dropNulls(x);
      if (y !== undefined) out[k] = y;
    }
    return out;
  }
  return v;
}

/**
 * compares live and new, takes the changed (added or modified) fields from every manager but `workflow` (or reports
 * them as conflicts when not forced), and drops the fields removed from the object from every manager
 */
function updateOwnership(
  ctx: Ctx,
  live: JsonObject,
  next: JsonObject,
  managed: Managed,
  workflow: string,
  force: boolean,
): { conflicts?: Conflict[]; changed: FieldSet; removed: FieldSet } {
  const changed = new FieldSet();
  const removed = new FieldSet();
  compare(ctx.types, live, next, ctx.schema, ctx.ignored, { added: changed, modified: changed, removed });
  const conflicts: Conflict[] = [];
  const taken = new Map<string, FieldSet>();
  for (const [key, e] of managed.entries) {
    if (key === workflow) continue;
    const c = e.set.intersection(changed);
    if (!c.isEmpty()) {
      taken.set(key, c);
      for (const p of c.paths()) conflicts.push(makeConflict(e.id, p));
    }
  }
  if (!force && conflicts.length > 0) return { conflicts, changed, removed };
  for (const [key, e] of managed.entries) {
    if (key === workflow) continue;
    const c = taken.get(key);
    if (c) e.set = e.set.difference(c);
    if (!removed.isEmpty()) e.set = e.set.difference(removed);
  }
  for (const [key, e] of managed.entries) if (e.set.isEmpty()) managed.entries.delete(key);
  return { changed, removed };
}

/** the starting point of a created object (see zeroLike) */
function zeroOf(ctx: Ctx, obj: JsonObject): JsonObject {
  return (zeroLike(ctx.types, obj, ctx.schema) ?? {}) as JsonObject;
}

function stripMeta(managed: Managed, key: string): void {
  const e = managed.entries.get(key);
  if (!e) return;
  e.set = e.set.difference(STRIP_SET);
  if (e.set.isEmpty()) managed.entries.delete(key);
}

/** records the fields changed from live to next as owned by `id` (an Update manager) */
function recordUpdate(
  ctx: Ctx,
  live: JsonObject,
  next: JsonObject,
  managed: Managed,
  id: ManagerId,
  now: string,
): void {
  const set = updateOwnership(ctx, live, next, managed, CURRENT_OPERATION, true).changed;
  const key = managerKey(id);
  if (!set.isEmpty()) {
    const prev = managed.entries.get(key);
    managed.entries.set(key, { id, apiVersion: id.apiVersion, set: prev ? set.union(prev.set) : set, time: now });
  }
  stripMeta(managed, key);
}

function prune(ctx: Ctx, merged: JsonObject, managed: Managed, lastSet: FieldSet | undefined): JsonObject {
  if (!lastSet || lastSet.isEmpty()) return merged;
  const { types, schema } = ctx;
  const ens = (s: FieldSet) => ensureNamedFieldsAreMembers(types, s, schema);
  const fieldsOf = (v: JsonValue | undefined) => (v === undefined ? new FieldSet() : toFieldSet(types, v, schema));
  let pruned = removeItems(types, merged, ens(lastSet), schema);
  // add back what any manager (the applier included) owns
  let owned = new FieldSet();
  for (const e of managed.entries.values()) owned = owned.union(e.set);
  const mergedSet = ens(fieldsOf(merged));
  pruned = removeItems(types, merged, mergedSet.difference(ens(fieldsOf(pruned)).union(ens(owned))), schema);
  // add back what was removed without having been applied by this manager
  const lost = mergedSet.difference(ens(fieldsOf(pruned))).intersection(ens(lastSet));
  return (removeItems(types, merged, lost, schema) ?? {}) as JsonObject;
}

/**
 * server-side apply of `config` by `opts.manager` onto `live` (undefined: the object does not exist yet).
 * The configuration is validated (apiVersion, kind, metadata.name, no managedFields).
 * @returns the new object with managedFields, or the conflicts (then `object` is the live object unchanged)
 * @throws PatchError 400 for an invalid configuration, 500 for values that do not fit their type
 *   (e.g. a list map item without its keys)
 */
export function apply(live: object | undefined, config: object, opts: ApplyOptions): ApplyResult {
  validateApplyConfiguration(config);
  const ctx = makeCtx(opts.typeName, opts.resolver, opts);
  const cfg = config as JsonObject;
  const gv = cfg.apiVersion as string;
  const liveObj = withoutManagedFields(live);
  const decodeLive = (): Managed => {
    try {
      return decodeManagedFields(isObject(live) && isObject(live.metadata) ? live.metadata.managedFields : undefined);
    } catch (e) {
      throw unclassified(`failed to decode managed fields: ${(e as Error).message}`);
    }
  };
  const managed = decodeLive();

  return typed('failed to apply the configuration', () => {
    let r = applyOnce(ctx, live, liveObj, cfg, managed, opts, opts.force);
    if (r.conflicts && opts.manager === KUBECTL) {
      // kubectl's own server-side apply may take the fields its client-side apply set (as the last-applied
      // annotation records them, unchanged since) without forcing: moving an object from one to the other
      const allowed = allowedByLastApplied(ctx, liveObj, gv);
      if (allowed) {
        const left = r.conflicts.filter((c) => !allowed.has(c.path));
        r =
          left.length === 0 ? applyOnce(ctx, live, liveObj, cfg, decodeLive(), opts, true) : { ...r, conflicts: left };
      }
    }
    if (r.conflicts) return r;
    if (opts.manager === KUBECTL) syncLastApplied(r.object, cfg);
    return r;
  });
}

/** the field manager kubectl's server-side apply uses by default */
const KUBECTL = 'kubectl';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
/** Kubernetes' limit on the total size of an object's annotations (keys and values) */
const ANNOTATIONS_MAX_BYTES = 256 * 1024;

function lastAppliedOf(obj: JsonObject): string | undefined {
  const a =
    isObject(obj.metadata) && isObject(obj.metadata.annotations) ? obj.metadata.annotations[LAST_APPLIED] : undefined;
  return typeof a === 'string' && a !== '' ? a : undefined;
}

/**
 * the fields the last-applied annotation of `live` holds with the values `live` still has, or undefined when there
 * is no usable annotation (none, not JSON, another apiVersion, values that do not fit the type)
 */
function allowedByLastApplied(ctx: Ctx, live: JsonObject, gv: string): FieldSet | undefined {
  const text = lastAppliedOf(live);
  if (text === undefined) return undefined;
  try {
    const last = JSON.parse(text) as JsonValue;
    if (!isObject(last) || last.apiVersion !== gv) return undefined;
    const c = compare(ctx.types, last, live, ctx.schema);
    return toFieldSet(ctx.types, last, ctx.schema).difference(c.modified).difference(c.added).difference(c.removed);
  } catch {
    return undefined;
  }
}

/**
 * keeps kubectl's last-applied annotation, where the object has one, equal to what kubectl applied last (now by
 * server-side apply), so that a later client-side apply computes its changes from it; dropped when the annotations
 * would exceed their size limit
 */
function syncLastApplied(object: Record<string, unknown>, cfg: JsonObject): void {
  if (lastAppliedOf(object as JsonObject) === undefined) return;
  const applied: JsonObject = { ...cfg };
  if (isObject(cfg.metadata)) {
    const meta: JsonObject = { ...cfg.metadata };
    if (isObject(meta.annotations)) {
      const { [LAST_APPLIED]: _, ...rest } = meta.annotations;
      meta.annotations = rest;
    }
    applied.metadata = meta;
  }
  const annotations = (object.metadata as JsonObject).annotations as JsonObject;
  annotations[LAST_APPLIED] = `${goJsonSorted(applied)}\n`;
  let size = 0;
  for (const [k, v] of Object.entries(annotations))
    size += k.length + (typeof v === 'string' ? Buffer.byteLength(v) : 0);
  if (size > ANNOTATIONS_MAX_BYTES) delete annotations[LAST_APPLIED];
}

/** one attempt at applying `cfg` onto the live object with its decoded managedFields `managed` (which it changes) */
function applyOnce(
  ctx: Ctx,
  live: object | undefined,
  liveObj: JsonObject,
  cfg: JsonObject,
  managed: Managed,
  opts: ApplyOptions,
  force: boolean,
): ApplyResult {
  const gv = cfg.apiVersion as string;
  const subresource = opts.subresource ?? '';
  if (managed.isEmpty() && live !== undefined) {
    // fields set before any manager was tracked belong to one Update manager
    const before: ManagerId = { manager: BEFORE_FIRST_APPLY, operation: 'Update', apiVersion: gv, subresource };
    recordUpdate(ctx, zeroOf(ctx, liveObj), liveObj, managed, before, opts.now);
  }
  const id: ManagerId = { manager: opts.manager || 'unknown', operation: 'Apply', apiVersion: gv, subresource };
  const key = managerKey(id);
  const set = withoutIgnored(ctx, toFieldSet(ctx.types, cfg, ctx.schema, false));
  let merged = (merge(ctx.types, liveObj, cfg, ctx.schema) ?? {}) as JsonObject;
  const previous = managed.entries.get(key);
  managed.entries.set(key, { id, apiVersion: gv, set, time: previous?.time });
  merged = prune(ctx, merged, managed, previous?.set);
  merged = dropNulls(merged) as JsonObject;

  const r = updateOwnership(ctx, liveObj, merged, managed, key, force);
  if (r.conflicts) {
    r.conflicts.sort((a, b) =>
      a.manager.manager < b.manager.manager ? -1 : a.manager.manager > b.manager.manager ? 1 : 0,
    );
    return { object: (isObject(live) ? live : {}) as Record<string, unknown>, conflicts: r.conflicts };
  }
  const noop = live !== undefined && deepEqual(liveObj, merged);
  const entry = managed.entries.get(key);
  if (entry && !noop) entry.time = opts.now;
  stripMeta(managed, key);
  const object = noop ? liveObj : merged;
  setManagedFields(object, managed);
  return { object: object as Record<string, unknown> };
}

/**
 * records a create, update or non-apply patch by `manager`: the fields that changed from `oldObj` (undefined on
 * create) to `newObj` go to the manager's Update entry and are taken from the other managers.
 * On the main resource, a request may carry its own managedFields (kept when valid) or [] to clear them.
 * An existing object that has no managedFields is left untracked.
 * @returns newObj with its managedFields: a copy of its top level and metadata, sharing the rest with newObj
 */
export function trackUpdate(
  oldObj: object | undefined,
  newObj: object,
  manager: string,
  typeName: string,
  resolver: TypeResolver,
  now: string,
  subresource?: string,
  options: FieldManagerOptions = {},
): Record<string, unknown> {
  const ctx = makeCtx(typeName, resolver, options);
  const oldMeta = isObject(oldObj) && isObject(oldObj.metadata) ? oldObj.metadata : undefined;
  const newMeta = isObject(newObj) && isObject(newObj.metadata) ? newObj.metadata : undefined;
  let managed: Managed;
  if (subresource) managed = decodeOrEmpty(oldMeta?.managedFields);
  else if (isResetManagedFields(newMeta?.managedFields)) managed = new Managed();
  else {
    let fromNew: Managed | undefined;
    try {
      fromNew = decodeManagedFields(newMeta?.managedFields);
    } catch {
      fromNew = undefined;
    }
    managed = fromNew && !fromNew.isEmpty() ? fromNew : decodeOrEmpty(oldMeta?.managedFields);
  }
  const next = viewWithoutManagedFields(newObj);
  if (managed.isEmpty() && oldObj !== undefined && typeof oldMeta?.uid === 'string' && oldMeta.uid !== '') {
    return next as Record<string, unknown>;
  }
  const live = oldObj === undefined ? zeroOf(ctx, next) : viewWithoutManagedFields(oldObj);
  const apiVersion = typeof next.apiVersion === 'string' ? next.apiVersion : '';
  const id: ManagerId = {
    manager: manager || 'unknown',
    operation: 'Update',
    apiVersion,
    subresource: subresource ?? '',
  };
  try {
    typed('failed to update managed fields', () => recordUpdate(ctx, live, next, managed, id, now));
  } catch {
    // ownership could not be computed (values that do not fit their type): keep the previous managedFields,
    // as the write itself must not fail because of its bookkeeping
    if (oldMeta?.managedFields !== undefined) {
      if (!isObject(next.metadata)) next.metadata = {};
      (next.metadata as JsonObject).managedFields = deepCopy(oldMeta.managedFields) as JsonValue;
    }
    return next as Record<string, unknown>;
  }
  capUpdateManagers(managed);
  setManagedFields(next, managed);
  return next as Record<string, unknown>;
}
