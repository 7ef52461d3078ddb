/**
 * Object metadata validation: names, namespace scope, labels, annotations, owner references, finalizers, and the
 * metadata fields an update may not change.
 */
import type { FieldError } from '../field-error.ts';
import { forbidden, immutable, invalid, nonNegative, required, tooLong, GoValue } from './errors.ts';
import { isDns1123Label, isQualifiedName, isValidLabelValue, nameIsDnsSubdomain, type NameCheck } from './names.ts';
import { goQuote } from './errors.ts';

export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

function isStringMap(v: unknown): v is Record<string, string> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function validateLabelName(key: string, field: string): FieldError[] {
  return isQualifiedName(key).map((m) => invalid(field, key, m));
}

/** label keys and values; errors name the whole map's path (metadata.labels), as Kubernetes reports them */
export function validateLabels(labels: unknown, field: string): FieldError[] {
  if (labels === undefined || labels === null) return [];
  if (!isStringMap(labels)) return [invalid(field, labels, 'must be a map of string keys to string values')];
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(labels)) {
    errs.push(...validateLabelName(k, field));
    const value = typeof v === 'string' ? v : String(v);
    for (const m of isValidLabelValue(value)) errs.push(invalid(field, value, m));
  }
  return errs;
}

export function annotationsSize(annotations: Record<string, unknown>): number {
  let n = 0;
  for (const [k, v] of Object.entries(annotations)) n += Buffer.byteLength(k) + Buffer.byteLength(String(v ?? ''));
  return n;
}

export function validateAnnotations(annotations: unknown, field: string): FieldError[] {
  if (annotations === undefined || annotations === null) return [];
  if (!isStringMap(annotations)) return [invalid(field, annotations, 'must be a map of string keys to string values')];
  const errs: FieldError[] = [];
  for (const k of Object.keys(annotations)) {
    // annotation keys are qualified names except that case does not matter
    for (const m of isQualifiedName(k.toLowerCase())) errs.push(invalid(field, k, m));
  }
  if (annotationsSize(annotations) > TOTAL_ANNOTATION_SIZE_LIMIT)
    errs.push(tooLong(field, TOTAL_ANNOTATION_SIZE_LIMIT));
  return errs;
}

export function validateOwnerReferences(refs: unknown, field: string): FieldError[] {
  if (refs === undefined || refs === null) return [];
  if (!Array.isArray(refs)) return [invalid(field, refs, 'must be a list of owner references')];
  const errs: FieldError[] = [];
  let firstController = '';
  for (const ref of refs) {
    const r = ref ?? {};
    const apiVersion = String(r.apiVersion ?? '');
    const version = apiVersion.includes('/') ? apiVersion.slice(apiVersion.indexOf('/') + 1) : apiVersion;
    if (!version) errs.push(invalid(`${field}.apiVersion`, apiVersion, 'version must not be empty'));
    if (!r.kind) errs.push(invalid(`${field}.kind`, String(r.kind ?? ''), 'kind must not be empty'));
    if (!r.name) errs.push(invalid(`${field}.name`, String(r.name ?? ''), 'name must not be empty'));
    if (!r.uid) errs.push(invalid(`${field}.uid`, String(r.uid ?? ''), 'uid must not be empty'));
    if (r.controller === true) {
      const cur = `${r.kind}/${r.name}`;
      if (firstController) {
        errs.push(
          invalid(
            field,
            new GoValue(renderOwnerReferences(refs)),
            `Only one reference can have Controller set to true. Found "true" in references for ${firstController} and ${cur}`,
          ),
        );
      } else firstController = cur;
    }
  }
  return errs;
}

function renderOwnerReferences(refs: any[]): string {
  const ptr = (v: unknown, t: string) => (v === undefined || v === null ? `(*${t})(nil)` : `(*${t})(${String(v)})`);
  return `[]v1.OwnerReference{${refs
    .map(
      (r) =>
        `v1.OwnerReference{APIVersion:${goQuote(String(r?.apiVersion ?? ''))}, Kind:${goQuote(String(r?.kind ?? ''))}, Name:${goQuote(String(r?.name ?? ''))}, UID:${goQuote(String(r?.uid ?? ''))}, Controller:${ptr(r?.controller, 'bool')}, BlockOwnerDeletion:${ptr(r?.blockOwnerDeletion, 'bool')}}`,
    )
    .join(', ')}}`;
}

export const STANDARD_FINALIZERS = new Set(['kubernetes', 'orphan', 'foregroundDeletion']);

/** metadata.finalizers: qualified names, and not both orphan and foregroundDeletion */
export function validateFinalizers(finalizers: unknown, field: string): FieldError[] {
  if (finalizers === undefined || finalizers === null) return [];
  if (!Array.isArray(finalizers)) return [invalid(field, finalizers, 'must be a list of strings')];
  const errs: FieldError[] = [];
  for (const f of finalizers) for (const m of isQualifiedName(String(f))) errs.push(invalid(field, String(f), m));
  if (finalizers.includes('orphan') && finalizers.includes('foregroundDeletion')) {
    errs.push(invalid(field, finalizers.map(String), 'finalizer orphan and foregroundDeletion cannot be both set'));
  }
  return errs;
}

/** finalizer names in a Namespace's spec: standard names or fully qualified ones */
export function validateKubeFinalizerName(name: string, field: string): FieldError[] {
  const errs = isQualifiedName(name).map((m) => invalid(field, name, m));
  if (!name.includes('/') && !STANDARD_FINALIZERS.has(name)) {
    errs.push(invalid(field, name, 'name is neither a standard finalizer name nor is it fully qualified'));
  }
  return errs;
}

export function validateNamespaceName(ns: string): string[] {
  return isDns1123Label(ns);
}

/**
 * ObjectMeta of a new object. namespaced: the type lives in namespaces (namespace required) or is cluster-scoped
 * (namespace forbidden). nameCheck: the type's name rule (DNS-1123 subdomain unless told otherwise).
 */
export function validateObjectMeta(
  meta: any,
  namespaced: boolean,
  nameCheck: NameCheck = nameIsDnsSubdomain,
  path = 'metadata',
): FieldError[] {
  const md = meta ?? {};
  const errs: FieldError[] = [];
  if (md.generateName) {
    for (const m of nameCheck(String(md.generateName), true))
      errs.push(invalid(`${path}.generateName`, md.generateName, m));
  }
  if (!md.name) errs.push(required(`${path}.name`, 'name or generateName is required'));
  else for (const m of nameCheck(String(md.name), false)) errs.push(invalid(`${path}.name`, md.name, m));
  if (namespaced) {
    if (!md.namespace) errs.push(required(`${path}.namespace`));
    else
      for (const m of validateNamespaceName(String(md.namespace)))
        errs.push(invalid(`${path}.namespace`, md.namespace, m));
  } else if (md.namespace) {
    errs.push(forbidden(`${path}.namespace`, 'not allowed on this type'));
  }
  errs.push(...nonNegative(`${path}.generation`, md.generation));
  errs.push(...validateLabels(md.labels, `${path}.labels`));
  errs.push(...validateAnnotations(md.annotations, `${path}.annotations`));
  errs.push(...validateOwnerReferences(md.ownerReferences, `${path}.ownerReferences`));
  errs.push(...validateFinalizers(md.finalizers, `${path}.finalizers`));
  return errs;
}

/** ObjectMeta of an update: what validateObjectMeta checks on the maps, plus the identity fields that may not change */
export function validateObjectMetaUpdate(meta: any, oldMeta: any, path = 'metadata'): FieldError[] {
  const md = meta ?? {};
  const old = oldMeta ?? {};
  const errs: FieldError[] = [];
  if (typeof md.generation === 'number' && typeof old.generation === 'number' && md.generation < old.generation) {
    errs.push(invalid(`${path}.generation`, md.generation, 'must not be decremented'));
  }
  errs.push(...immutable(`${path}.name`, md.name ?? '', old.name ?? ''));
  errs.push(...immutable(`${path}.namespace`, md.namespace ?? '', old.namespace ?? ''));
  errs.push(...immutable(`${path}.uid`, md.uid ?? '', old.uid ?? ''));
  errs.push(...immutable(`${path}.creationTimestamp`, md.creationTimestamp ?? null, old.creationTimestamp ?? null));
  errs.push(...immutable(`${path}.deletionTimestamp`, md.deletionTimestamp ?? null, old.deletionTimestamp ?? null));
  errs.push(
    ...immutable(
      `${path}.deletionGracePeriodSeconds`,
      md.deletionGracePeriodSeconds ?? null,
      old.deletionGracePeriodSeconds ?? null,
    ),
  );
  errs.push(...validateLabels(md.labels, `${path}.labels`));
  errs.push(...validateAnnotations(md.annotations, `${path}.annotations`));
  errs.push(...validateOwnerReferences(md.ownerReferences, `${path}.ownerReferences`));
  errs.push(...validateFinalizers(md.finalizers, `${path}.finalizers`));
  return errs;
}
