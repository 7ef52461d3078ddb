/**
 * Building blocks shared by the type strategies: the metadata part of validation, selectable metadata fields, and
 * a constructor for the common shape (metadata + type-specific checks).
 */
import type { FieldError } from './field-error.ts';
import type { Strategy } from './strategy.ts';
import { validateObjectMeta, validateObjectMetaUpdate } from './validation/meta.ts';
import { nameIsDnsSubdomain, type NameCheck } from './validation/names.ts';

/** metadata.name (and metadata.namespace for namespaced types), the fields every type can be selected by */
export function metaFields(obj: any, namespaced: boolean): Record<string, string> {
  const f: Record<string, string> = { 'metadata.name': String(obj?.metadata?.name ?? '') };
  if (namespaced) f['metadata.namespace'] = String(obj?.metadata?.namespace ?? '');
  return f;
}

/** true while the object is being created (the store clears resourceVersion before defaulting a new object) */
export function isBeingCreated(obj: any): boolean {
  return !obj?.metadata?.resourceVersion;
}

export interface StrategySpec {
  namespaced: boolean;
  nameCheck?: NameCheck;
  defaults?(obj: any): void;
  /** type-specific checks of a new or updated object (metadata is handled) */
  validate?(obj: any): FieldError[];
  /** type-specific checks only for updates: immutable fields and transitions */
  validateUpdate?(obj: any, old: any): FieldError[];
  validateStatusUpdate?(obj: any, old: any): FieldError[];
  /** fields beyond metadata.name/namespace */
  fields?(obj: any): Record<string, string>;
  scaleSelector?(obj: any): unknown;
}

export function makeStrategy(spec: StrategySpec): Strategy {
  const nameCheck = spec.nameCheck ?? nameIsDnsSubdomain;
  const strategy: Strategy = {
    defaults(obj) {
      spec.defaults?.(obj);
    },
    validate(obj) {
      return [...validateObjectMeta(obj?.metadata, spec.namespaced, nameCheck), ...(spec.validate?.(obj) ?? [])];
    },
    validateUpdate(obj, old) {
      return [
        ...validateObjectMetaUpdate(obj?.metadata, old?.metadata),
        ...(spec.validateUpdate?.(obj, old) ?? []),
        ...(spec.validate?.(obj) ?? []),
      ];
    },
    selectableFields(obj) {
      // the type's fresh record gets the metadata fields (no copy of both into a third: this runs for every write)
      const f = spec.fields?.(obj);
      if (!f) return metaFields(obj, spec.namespaced);
      f['metadata.name'] = String(obj?.metadata?.name ?? '');
      if (spec.namespaced) f['metadata.namespace'] = String(obj?.metadata?.namespace ?? '');
      return f;
    },
  };
  if (spec.scaleSelector) strategy.scaleSelector = spec.scaleSelector;
  if (spec.validateStatusUpdate) {
    const vs = spec.validateStatusUpdate;
    strategy.validateStatusUpdate = (obj, old) => [
      ...validateObjectMetaUpdate(obj?.metadata, old?.metadata),
      ...vs(obj, old),
    ];
  }
  return strategy;
}

export const list = (v: unknown): any[] => (Array.isArray(v) ? v : []);
export const isObj = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);
