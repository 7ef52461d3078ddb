/**
 * What Kubernetes' decoding into its Go types refuses: a value of the wrong JSON kind for its field (a number where a
 * string goes, an object where a list goes, ...), an integer out of its range or with a fraction, a quantity, time,
 * int-or-string or base64 value that does not parse. Kubernetes answers these 400 BadRequest before anything else
 * looks at the object, in Go's words:
 *   ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal number into Go struct field
 *   ConfigMap.data of type string
 * Go reports the first such error in document order; so does typeError(). JSON null is taken as the zero value, as Go
 * does. Values without a type in the model (free-form, RawExtension, preserved unknown fields) are not looked into.
 * typeError() also leaves the object as a trip through the Go types leaves it: optional fields that are null, empty
 * lists or empty maps are dropped (omitempty), so that removing the last label leaves no `labels: {}` behind, and so
 * are the zero values ("", 0, false) of the omitempty fields Go holds as values rather than pointers (paused: false,
 * readyReplicas: 0, phase: ""; omit-zero.json, generated from the Go types by scripts/gen-omit-zero.mjs).
 */
import type { Schema } from '../openapi/model.ts';
import { tryParseQuantity, QUANTITY_REGEX_MSG } from '../../lib/kube/quantity.ts';
import type { SchemaResolver } from './field-validation.ts';
import { depthExceededMessage, MAX_NESTING_DEPTH, nestingDeeperThan } from './body.ts';
import { readFileSync } from 'node:fs';

/** per definition, the fields whose zero value Go's encoding leaves out */
const OMIT_ZERO: ReadonlyMap<string, ReadonlySet<string>> = new Map(
  Object.entries(
    JSON.parse(readFileSync(new URL('../openapi/omit-zero.json', import.meta.url), 'utf8')) as Record<string, string[]>,
  ).map(([d, f]) => [d, new Set(f)]),
);

const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
const TIME_LAYOUT = '2006-01-02T15:04:05Z07:00';
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
/** integer ranges, upper bound excluded (2^63 - 1 is not a double) */
const INT_RANGE: Record<string, [number, number]> = { int32: [-(2 ** 31), 2 ** 31], int64: [-(2 ** 63), 2 ** 63] };

/** the JSON kind as Go names it in "cannot unmarshal <kind>" */
function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  return typeof v === 'object' ? 'object' : typeof v;
}

/** Go's name of a definition's type: io.k8s.api.core.v1.PodSpec -> v1.PodSpec */
function goNamed(ref: string): string {
  const parts = ref.split('.');
  return parts.slice(-2).join('.');
}

class TypeCheck {
  constructor(private readonly resolve: SchemaResolver) {}

  private deref(s: Schema): Schema | undefined {
    let cur: Schema | undefined = s;
    for (let i = 0; cur?.ref && i < 16; i++) cur = this.resolve(cur.ref);
    return cur;
  }

  /** Go's name of the type a schema stands for, as reflect.Type.String() prints it */
  goType(s: Schema | undefined): string {
    if (!s) return 'interface {}';
    if (s.ref) {
      if (s.ref === QUANTITY) return 'resource.Quantity';
      return goNamed(s.ref);
    }
    switch (s.type) {
      case 'string':
        return s.format === 'byte' ? '[]uint8' : 'string';
      case 'integer':
        return s.format === 'int32' ? 'int32' : 'int64';
      case 'number':
        return 'float64';
      case 'boolean':
        return 'bool';
      case 'array':
        return `[]${this.goType(s.items)}`;
      case 'object':
        return `map[string]${s.additionalProperties ? this.goType(s.additionalProperties) : 'interface {}'}`;
      default:
        return 'interface {}';
    }
  }

  /**
   * whether an optional field's value is one Go's encoding leaves out (omitempty): null, an empty list, an empty map.
   * Times are structs that encode their zero value as null, and empty structs stay ({}), as Go keeps them.
   */
  private omitted(v: unknown, s: Schema): boolean {
    if (v === null) {
      const t = this.deref(s);
      return !(
        t?.format === 'date-time' ||
        t?.format === 'date-time-micro' ||
        s.ref?.endsWith('.Time') ||
        s.ref?.endsWith('.MicroTime')
      );
    }
    if (typeof v !== 'object') return false;
    if (Array.isArray(v)) return v.length === 0 && this.deref(s)?.type === 'array';
    for (const _ in v) return false;
    const t = this.deref(s);
    return !!t && !!t.additionalProperties && !t.properties;
  }

  private freeForm(v: unknown, depth: number): string | undefined {
    return nestingDeeperThan(v, MAX_NESTING_DEPTH - depth) ? `json: ${depthExceededMessage()}` : undefined;
  }

  /**
   * the first decoding error in v against schema s; `struct` is the Go struct the value's field belongs to and `field`
   * the path of struct fields from the top (Go leaves list indices and map keys out of it); `depth` counts the arrays
   * and objects v is in. Free-form values (untyped, so of any depth) are measured against MAX_NESTING_DEPTH: a patch
   * can nest them deeper than any body it was made of.
   */
  check(v: unknown, s: Schema, struct: string, field: string, depth = 0): string | undefined {
    if (v === null || v === undefined) return undefined;
    const at = () => `Go struct field ${struct}.${field} of type ${this.goType(s)}`;
    const mismatch = (what = jsonKind(v)) => `json: cannot unmarshal ${what} into ${at()}`;
    if (s.ref === QUANTITY) {
      if (typeof v === 'string' || typeof v === 'number')
        return tryParseQuantity(typeof v === 'string' ? v.trim() : v) ? undefined : QUANTITY_REGEX_MSG;
      return QUANTITY_REGEX_MSG;
    }
    if (s.ref === INT_OR_STRING) {
      if (typeof v === 'string') return undefined;
      if (typeof v === 'number')
        return Number.isInteger(v) && v >= INT_RANGE.int32[0] && v < INT_RANGE.int32[1]
          ? undefined
          : `json: cannot unmarshal number ${v} into Go value of type int32`;
      return `json: cannot unmarshal ${jsonKind(v)} into Go value of type int32`;
    }
    const t = this.deref(s);
    if (!t || t['x-kubernetes-preserve-unknown-fields']) return this.freeForm(v, depth);
    switch (t.type) {
      case 'string':
        if (typeof v !== 'string') return mismatch();
        if (t.format === 'date-time' && !RFC3339.test(v))
          return `parsing time ${JSON.stringify(v)} as "${TIME_LAYOUT}": cannot parse ${JSON.stringify(v)} as "2006"`;
        if (t.format === 'byte') return base64Error(v);
        return undefined;
      case 'integer': {
        if (typeof v !== 'number') return mismatch();
        const [lo, hi] = INT_RANGE[t.format === 'int32' ? 'int32' : 'int64'];
        return Number.isInteger(v) && v >= lo && v < hi ? undefined : mismatch(`number ${v}`);
      }
      case 'number':
        return typeof v === 'number' ? undefined : mismatch();
      case 'boolean':
        return typeof v === 'boolean' ? undefined : mismatch();
      case 'array': {
        if (!Array.isArray(v)) return mismatch();
        if (!t.items) return undefined;
        for (const item of v) {
          const e = this.check(item, t.items, struct, field, depth + 1);
          if (e) return e;
        }
        return undefined;
      }
      case 'object':
      case undefined: {
        if (!t.properties && !t.additionalProperties) return this.freeForm(v, depth);
        if (typeof v !== 'object' || Array.isArray(v)) return mismatch();
        const rec = v as Record<string, unknown>;
        if (t.properties) {
          // a struct: its fields are reported as fields of it
          const name = s.ref ? s.ref.slice(s.ref.lastIndexOf('.') + 1) : struct;
          const omitZero = s.ref ? OMIT_ZERO.get(s.ref) : undefined;
          for (const k in rec) {
            const p = t.properties[k];
            if (!p) continue;
            const x = rec[k];
            if (
              (this.omitted(x, p) && !t.required?.includes(k)) ||
              ((x === '' || x === 0 || x === false) && omitZero?.has(k))
            ) {
              delete rec[k];
              continue;
            }
            const e = this.check(rec[k], p, name, field ? `${field}.${k}` : k, depth + 1);
            if (e) return e;
          }
          return undefined;
        }
        for (const k in rec) {
          const e = this.check(rec[k], t.additionalProperties!, struct, field, depth + 1);
          if (e) return e;
        }
        return undefined;
      }
      default:
        return undefined;
    }
  }
}

function isBase64Char(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 /* + */ || c === 47; /* / */
}

const isNewline = (c: number) => c === 10 || c === 13;

/**
 * Go's standard base64 decoding (padding required, \r and \n skipped): the offset it reports for the first
 * offending byte, or undefined when the text decodes
 */
export function base64Error(src: string): string | undefined {
  const err = (at: number) => `illegal base64 data at input byte ${at}`;
  const n = src.length;
  let si = 0;
  for (;;) {
    // one quantum of four characters
    let j = 0;
    while (j < 4) {
      if (si === n) return j === 0 ? undefined : err(si - j);
      const c = src.charCodeAt(si++);
      if (isNewline(c)) continue;
      if (isBase64Char(c)) {
        j++;
        continue;
      }
      if (c !== 61 /* = */ || j < 2) return err(si - 1);
      if (j === 2) {
        // "==" is due: the first "=" is read
        while (si < n && isNewline(src.charCodeAt(si))) si++;
        if (si === n) return err(n);
        if (src.charCodeAt(si) !== 61) return err(si - 1);
        si++;
      }
      while (si < n && isNewline(src.charCodeAt(si))) si++;
      return si < n ? err(si) : undefined;
    }
  }
}

/**
 * the message Kubernetes gives for an object of `kind` in `version` that cannot be decoded into its type, or
 * undefined when it can
 */
export function typeError(
  obj: unknown,
  kind: string,
  version: string,
  typeName: string,
  resolve: SchemaResolver,
): string | undefined {
  const e = new TypeCheck(resolve).check(obj, { ref: typeName }, kind, '');
  return e && `${kind} in version "${version}" cannot be handled as a ${kind}: ${e}`;
}
