/**
 * FieldErrors as Kubernetes prints them, and the 422 Invalid Status built from a list of them.
 */
import type { FieldError, FieldErrorType } from './field-error.ts';
import { GoValue, goQuote } from './validation/errors.ts';

const TYPE_TEXT: Record<FieldErrorType, string> = {
  FieldValueNotFound: 'Not found',
  FieldValueRequired: 'Required value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  InternalError: 'Internal error',
  FieldValueTypeInvalid: 'Invalid value',
};

/** types whose text never shows the offending value */
const VALUELESS = new Set<FieldErrorType>([
  'FieldValueRequired',
  'FieldValueForbidden',
  'FieldValueTooLong',
  'InternalError',
]);

/** a value the way Kubernetes' messages show it: "x" for strings, 5 for numbers, map[string]string{"a":"b"} for maps */
export function renderValue(v: unknown): string {
  if (v === undefined || v === null) return 'null';
  if (v instanceof GoValue) return v.text;
  if (typeof v === 'string') return goQuote(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string')) return `[]string{${v.map((x) => goQuote(x)).join(', ')}}`;
    return JSON.stringify(v);
  }
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.every(([, x]) => typeof x === 'string')) {
      entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `map[string]string{${entries.map(([k, x]) => `${goQuote(k)}:${goQuote(x as string)}`).join(', ')}}`;
    }
    return JSON.stringify(v);
  }
  return String(v);
}

/** the error's text without its field: "Required value", "Invalid value: \"X\": detail", ... */
export function fieldErrorText(e: FieldError): string {
  let s = TYPE_TEXT[e.type] ?? 'Invalid value';
  if (!VALUELESS.has(e.type) && !(e.type === 'FieldValueTooMany' && e.value === undefined))
    s += `: ${renderValue(e.value)}`;
  if (e.detail) s += `: ${e.detail}`;
  return s;
}

/** "field: text", or just the text for errors about the whole object */
export function fieldErrorString(e: FieldError): string {
  return e.field ? `${e.field}: ${fieldErrorText(e)}` : fieldErrorText(e);
}

/** the errors joined as Kubernetes aggregates them: one message as is, several as [a, b] (duplicates dropped) */
export function aggregateMessage(errors: readonly FieldError[]): string {
  const seen = new Set<string>();
  const parts: string[] = [];
  for (const e of errors) {
    const m = fieldErrorString(e);
    if (seen.has(m)) continue;
    seen.add(m);
    parts.push(m);
  }
  return parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
}

export interface InvalidStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: 'Invalid';
  details: {
    name?: string;
    group?: string;
    kind: string;
    causes: { reason: string; message: string; field: string }[];
  };
  code: 422;
}

/** the 422 Status for an invalid object: `Deployment.apps "web" is invalid: <errors>` */
export function invalidStatus(kind: string, name: string, errors: readonly FieldError[], group = ''): InvalidStatus {
  const qualified = group ? `${kind}.${group}` : kind;
  const message =
    errors.length === 0
      ? `${qualified} ${goQuote(name)} is invalid`
      : `${qualified} ${goQuote(name)} is invalid: ${aggregateMessage(errors)}`;
  // key order as Kubernetes serializes StatusDetails: name, group, kind, causes
  const details = {
    ...(name ? { name } : {}),
    ...(group ? { group } : {}),
    kind,
    causes: errors.map((e) => ({ reason: e.type, message: fieldErrorText(e), field: e.field })),
  };
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason: 'Invalid',
    details,
    code: 422,
  };
}
