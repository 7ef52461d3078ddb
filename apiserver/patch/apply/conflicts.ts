/** Apply conflicts: the message and Status causes Kubernetes answers a conflicting apply with (409 Conflict). */
import { PatchError, type PatchStatusCause } from '../errors.ts';
import { type Path, pathString } from './fieldpath.ts';
import type { ManagerId } from './managed-fields.ts';

export interface Conflict {
  /** the manager owning the field */
  manager: ManagerId;
  path: Path;
  /** the path in the form conflict messages use, e.g. .spec.replicas */
  field: string;
}

/** "name" (with subresource "s") (using apps/v1 for Update managers) */
export function describeManager(id: ManagerId): string {
  let s = JSON.stringify(id.manager);
  if (id.subresource) s += ` with subresource ${JSON.stringify(id.subresource)}`;
  if (id.operation === 'Update') s += ` using ${id.apiVersion}`;
  return s;
}

export function makeConflict(manager: ManagerId, path: Path): Conflict {
  return { manager, path, field: pathString(path) };
}

/** Apply failed with 1 conflict: conflict with "m" using v1: .spec.replicas (and the plural form) */
export function conflictMessage(conflicts: readonly Conflict[]): string {
  if (conflicts.length === 1) {
    return `Apply failed with 1 conflict: conflict with ${describeManager(conflicts[0].manager)}: ${conflicts[0].field}`;
  }
  const byManager = new Map<string, Conflict[]>();
  for (const c of conflicts) {
    const k = describeManager(c.manager);
    const list = byManager.get(k);
    if (list) list.push(c);
    else byManager.set(k, [c]);
  }
  const lines: string[] = [];
  const names = [...byManager.keys()].sort((a, b) => {
    const ma = byManager.get(a)![0].manager.manager;
    const mb = byManager.get(b)![0].manager.manager;
    return ma < mb ? -1 : ma > mb ? 1 : a < b ? -1 : a > b ? 1 : 0;
  });
  for (const name of names) {
    lines.push(`conflicts with ${name}:`);
    for (const c of byManager.get(name)!) lines.push(`- ${c.field}`);
  }
  return `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
}

/** the Status details.causes: one FieldManagerConflict per conflicting field */
export function conflictCauses(conflicts: readonly Conflict[]): PatchStatusCause[] {
  return conflicts.map((c) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with ${describeManager(c.manager)}`,
    field: c.field,
  }));
}

/** the 409 Conflict error of a failed apply */
export function applyConflictError(conflicts: readonly Conflict[]): PatchError {
  return new PatchError(409, 'Conflict', conflictMessage(conflicts), undefined, conflictCauses(conflicts));
}
