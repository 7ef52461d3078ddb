/**
 * Constructors for FieldErrors, one per Kubernetes error type, with Kubernetes' detail texts.
 * Paths are plain strings in Kubernetes' notation: spec.containers[0].image, metadata.labels, data[key].
 */
import type { FieldError } from '../field-error.ts';

/**
 * A value already rendered the way Kubernetes prints it (Go syntax of an internal type, e.g.
 * `intstr.IntOrString{Type:1, IntVal:0, StrVal:"5%"}`); used where the offending value is a structure.
 */
export class GoValue {
  constructor(readonly text: string) {}
  toJSON(): string {
    return this.text;
  }
}

export function required(field: string, detail = ''): FieldError {
  return detail ? { type: 'FieldValueRequired', field, detail } : { type: 'FieldValueRequired', field };
}

export function invalid(field: string, value: unknown, detail: string): FieldError {
  return { type: 'FieldValueInvalid', field, value, detail };
}

export function notSupported(field: string, value: unknown, supported: readonly string[]): FieldError {
  const detail = supported.length > 0 ? 'supported values: ' + supported.map((v) => goQuote(v)).join(', ') : '';
  return { type: 'FieldValueNotSupported', field, value, detail };
}

export function forbidden(field: string, detail: string): FieldError {
  return { type: 'FieldValueForbidden', field, detail };
}

export function duplicate(field: string, value: unknown, detail?: string): FieldError {
  return detail ? { type: 'FieldValueDuplicate', field, value, detail } : { type: 'FieldValueDuplicate', field, value };
}

export function notFound(field: string, value: unknown): FieldError {
  return { type: 'FieldValueNotFound', field, value };
}

export function tooLong(field: string, maxBytes: number): FieldError {
  const detail =
    maxBytes >= 0 ? `may not be more than ${maxBytes} ${maxBytes === 1 ? 'byte' : 'bytes'}` : 'value is too long';
  return { type: 'FieldValueTooLong', field, detail };
}

export function tooMany(field: string, actual: number, max: number): FieldError {
  return {
    type: 'FieldValueTooMany',
    field,
    value: actual,
    detail: max >= 0 ? `must have at most ${max} items` : 'has too many items',
  };
}

/** the "field is immutable" error when a and b differ (deep comparison of JSON values) */
export function immutable(field: string, value: unknown, old: unknown, rendered?: unknown): FieldError[] {
  return jsonEqual(value, old) ? [] : [invalid(field, rendered ?? value, FIELD_IMMUTABLE)];
}

export const FIELD_IMMUTABLE = 'field is immutable';

/** ValidateNonnegativeField */
export function nonNegative(field: string, value: unknown): FieldError[] {
  return typeof value === 'number' && value < 0 ? [invalid(field, value, 'must be greater than or equal to 0')] : [];
}

export function inclusiveRangeError(lo: number, hi: number): string {
  return `must be between ${lo} and ${hi}, inclusive`;
}

/** Go's strconv.Quote: double quotes, backslash escapes, \x/\u for control characters */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (c === 7) out += '\\a';
    else if (c === 8) out += '\\b';
    else if (c === 12) out += '\\f';
    else if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 9) out += '\\t';
    else if (c === 11) out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else if (c >= 0x80 && c < 0xa0) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

/** deep equality of JSON-shaped values (key order ignored) */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    if (a.length !== bb.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], bb[i])) return false;
    return true;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  if (ak.length !== bk.length) return false;
  for (const k of ak) if (!jsonEqual(ao[k], bo[k])) return false;
  return true;
}
