/** Plain JSON values as the patch code handles them, with deep copy and structural equality. */

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function deepCopy<T>(v: T): T {
  if (Array.isArray(v)) return v.map(deepCopy) as T;
  if (isObject(v)) {
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) out[k] = deepCopy(x);
    return out as T;
  }
  return v;
}

/** structural equality; key order of objects does not matter */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    for (const k of ka) if (!Object.hasOwn(b, k) || !deepEqual(a[k], b[k])) return false;
    return true;
  }
  return false;
}

/** JSON text the way the API server's Go encoder writes it (<, > and & escaped) */
export function goJson(v: unknown): string {
  return goEscape(JSON.stringify(v));
}

/** JSON text with the characters Go's encoder escapes and JSON.stringify does not escaped */
function goEscape(text: string): string {
  return text.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * a decoded JSON value as Go encodes a map[string]interface{}: keys in byte order (a JS object would put integer-like
 * keys first), <, > and & escaped
 */
export function goJsonSorted(v: unknown): string {
  const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
  const enc = (x: unknown): string => {
    if (Array.isArray(x)) return `[${x.map((e) => (e === undefined ? 'null' : enc(e))).join(',')}]`;
    if (!isObject(x)) return JSON.stringify(x);
    const keys = Object.keys(x).filter((k) => x[k] !== undefined);
    return `{${keys
      .sort(byBytes)
      .map((k) => `${JSON.stringify(k)}:${enc(x[k])}`)
      .join(',')}}`;
  };
  return goEscape(enc(v));
}

/** a float64 as Go's %v prints it (strconv 'g', shortest): 1, 1.5, 1e+06, 1e-05 */
function goFloat(n: number): string {
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : n < 0 ? '-Inf' : 'NaN';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const [mant, e] = n.toExponential().split('e');
  const exp = Number(e);
  if (exp < -4 || exp >= 6) return `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(n);
}

/** a decoded JSON value as Go's %v prints an interface{}: map[a:1 b:[x y]] (keys sorted), <nil> for null */
export function goFormat(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'number') return goFloat(v);
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(goFormat).join(' ')}]`;
  const o = v as Record<string, unknown>;
  return `map[${Object.keys(o)
    .sort()
    .map((k) => `${k}:${goFormat(o[k])}`)
    .join(' ')}]`;
}
