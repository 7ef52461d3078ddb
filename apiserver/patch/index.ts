/** PATCH support: JSON patch, merge patch, strategic merge patch, and server-side apply with managedFields. */
export { PatchError, type PatchErrorReason, type PatchStatusCause } from './errors.ts';
export {
  applyJsonPatch,
  parseJsonPatch,
  decodePointerToken,
  encodePointerToken,
  MAX_JSON_PATCH_OPERATIONS,
  type JsonPatchOperation,
} from './json-patch.ts';
export { applyMergePatch } from './merge-patch.ts';
export { strategicMergePatch } from './strategic-merge-patch.ts';
export { type TypeResolver, type Schema, modelResolver } from './schema.ts';
export type { JsonValue, JsonObject } from './json-value.ts';
export {
  apply,
  trackUpdate,
  type ApplyOptions,
  type ApplyResult,
  type FieldManagerOptions,
} from './apply/field-manager.ts';
export { validateApplyConfiguration, type ApplyTarget } from './apply/validate.ts';
export {
  type Conflict,
  conflictMessage,
  conflictCauses,
  applyConflictError,
  describeManager,
} from './apply/conflicts.ts';
export {
  FieldSet,
  type Path,
  type PathElement,
  pathString,
  serializePathElement,
  parsePathElement,
} from './apply/fieldpath.ts';
export {
  type ManagedFieldsEntry,
  type ManagerId,
  type Operation,
  decodeManagedFields,
  encodeManagedFields,
  MAX_UPDATE_MANAGERS,
} from './apply/managed-fields.ts';
