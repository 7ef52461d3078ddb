/**
 * metadata.managedFields: decoding into per-manager field sets and encoding back, in Kubernetes' order
 * (Apply before Update, then by time, manager, apiVersion and subresource).
 * A manager is identified by name, operation and subresource, and for Update also by apiVersion.
 */
import { isObject } from '../json-value.ts';
import { FieldSet } from './fieldpath.ts';

export type Operation = 'Apply' | 'Update';

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: Operation;
  apiVersion?: string;
  time?: string;
  fieldsType?: 'FieldsV1';
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
}

export interface ManagerId {
  manager: string;
  operation: Operation;
  /** part of the identity of Update managers only */
  apiVersion: string;
  subresource: string;
}

export interface ManagedEntry {
  id: ManagerId;
  apiVersion: string;
  set: FieldSet;
  time?: string;
}

export function managerKey(id: ManagerId): string {
  return JSON.stringify([id.manager, id.operation, id.operation === 'Apply' ? '' : id.apiVersion, id.subresource]);
}

export class Managed {
  readonly entries = new Map<string, ManagedEntry>();

  isEmpty(): boolean {
    return this.entries.size === 0;
  }
}

/** decodes managedFields; throws an Error naming the faulty entry */
export function decodeManagedFields(list: unknown): Managed {
  const managed = new Managed();
  if (list === undefined || list === null) return managed;
  if (!Array.isArray(list)) throw new Error('metadata.managedFields must be a list');
  list.forEach((raw: unknown, i) => {
    if (!isObject(raw)) throw new Error(`managed fields entry ${i} must be an object`);
    const e = raw as ManagedFieldsEntry;
    if (e.operation !== 'Apply' && e.operation !== 'Update') throw new Error('operation must be `Apply` or `Update`');
    if (!e.apiVersion) throw new Error('apiVersion must not be empty');
    if (!e.fieldsType) throw new Error(`missing fieldsType in managed fields entry ${i}`);
    if (e.fieldsType !== 'FieldsV1')
      throw new Error(`invalid fieldsType ${JSON.stringify(e.fieldsType)} in managed fields entry ${i}`);
    const id: ManagerId = {
      manager: e.manager ?? '',
      operation: e.operation,
      apiVersion: e.apiVersion,
      subresource: e.subresource ?? '',
    };
    let set: FieldSet;
    try {
      set = FieldSet.fromFieldsV1(e.fieldsV1);
    } catch (err) {
      throw new Error(`error decoding versioned set of managed fields entry ${i}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    managed.entries.set(managerKey(id), { id, apiVersion: e.apiVersion, set, time: e.time ?? undefined });
  });
  return managed;
}

function seconds(time: string | undefined): number {
  if (!time) return 0;
  const t = Date.parse(time);
  return Number.isNaN(t) ? 0 : Math.floor(t / 1000);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** the managedFields list; undefined when no manager is left */
export function encodeManagedFields(managed: Managed): ManagedFieldsEntry[] | undefined {
  if (managed.isEmpty()) return undefined;
  const out: ManagedFieldsEntry[] = [];
  for (const e of managed.entries.values()) {
    const entry: ManagedFieldsEntry = { manager: e.id.manager, operation: e.id.operation, apiVersion: e.apiVersion };
    if (e.time) entry.time = e.time;
    entry.fieldsType = 'FieldsV1';
    entry.fieldsV1 = e.set.toFieldsV1();
    if (e.id.subresource) entry.subresource = e.id.subresource;
    out.push(entry);
  }
  out.sort(
    (p, q) =>
      cmp(p.operation!, q.operation!) ||
      seconds(p.time) - seconds(q.time) ||
      cmp(p.manager!, q.manager!) ||
      cmp(p.apiVersion!, q.apiVersion!) ||
      cmp(p.subresource ?? '', q.subresource ?? ''),
  );
  return out;
}

/** a managedFields value that asks to clear the tracking: [] or [{}] */
export function isResetManagedFields(list: unknown): boolean {
  if (!Array.isArray(list)) return false;
  if (list.length === 0) return true;
  return list.length === 1 && isObject(list[0]) && Object.keys(list[0]).length === 0;
}

export const MAX_UPDATE_MANAGERS = 10;
const ANCIENT_CHANGES = 'ancient-changes';

/** keeps at most `max` Update managers: the oldest are merged into one 'ancient-changes' entry per apiVersion */
export function capUpdateManagers(managed: Managed, max = MAX_UPDATE_MANAGERS): void {
  const updaters = [...managed.entries.entries()].filter(([, e]) => e.id.operation === 'Update');
  if (updaters.length <= max) return;
  updaters.sort(([ka, a], [kb, b]) => seconds(a.time) - seconds(b.time) || cmp(ka, kb));
  const firstByVersion = new Map<string, string>();
  let length = updaters.length;
  for (let i = 0; i < updaters.length && length > max; i++) {
    const [key, e] = updaters[i];
    const bucketId: ManagerId = {
      manager: ANCIENT_CHANGES,
      operation: 'Update',
      apiVersion: e.apiVersion,
      subresource: '',
    };
    const bucketKey = managerKey(bucketId);
    const first = firstByVersion.get(e.apiVersion);
    if (first === undefined) {
      firstByVersion.set(e.apiVersion, key);
      continue;
    }
    let bucket = managed.entries.get(bucketKey);
    if (!bucket) {
      const firstEntry = managed.entries.get(first)!;
      managed.entries.delete(first);
      bucket = { id: bucketId, apiVersion: e.apiVersion, set: firstEntry.set, time: firstEntry.time };
      managed.entries.set(bucketKey, bucket);
    }
    bucket.set = e.set.union(bucket.set);
    bucket.time = e.time;
    managed.entries.delete(key);
    length--;
  }
}
