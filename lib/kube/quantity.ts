/**
 * Kubernetes resource quantities ("100m", "1Gi", "1e3", "0.5"): parsing into an exact value, comparison and the
 * canonical text form the API server stores. Values are kept as a bigint count of nano-units, so every quantity
 * Kubernetes can represent (precision 1n) is exact and nothing overflows.
 */

export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

export interface Quantity {
  /** the value times 10^9, rounded up (away from zero) below 1n */
  readonly nanos: bigint;
  /** the notation the value was written in; formatting keeps it */
  readonly format: QuantityFormat;
}

export const QUANTITY_REGEX_MSG =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

export class QuantityParseError extends Error {
  constructor(readonly input: string) {
    super(`invalid quantity ${JSON.stringify(input)}: ${QUANTITY_REGEX_MSG}`);
  }
}

const DECIMAL_SUFFIX: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIX: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const NUMBER_RE = /^([+-]?)(\d*)(?:\.(\d*))?(.*)$/;
const MAX_EXPONENT = 1000;

/** the powers of ten quantities use most (exponents of suffixes and nano-units), computed once */
const POW10: bigint[] = Array.from({ length: 64 }, (_, i) => 10n ** BigInt(i));

function pow10(n: number): bigint {
  return n >= 0 && n < POW10.length ? POW10[n] : 10n ** BigInt(n);
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

/**
 * The quantities parsed last, by their text: objects carry the same few ("100m", "128Mi") over and over, and every
 * write parses each one at least twice (defaulting to the canonical form, validation). Bounded: emptied when full.
 */
const parsed = new Map<string, Quantity>();
const PARSED_MAX = 4096;

/** parse a quantity; throws QuantityParseError on text Kubernetes would refuse */
export function parseQuantity(input: string | number): Quantity {
  const s = typeof input === 'number' ? String(input) : input;
  if (typeof s !== 'string' || s.length === 0) throw new QuantityParseError(String(input));
  let q = parsed.get(s);
  if (q) return q;
  q = Object.freeze(parseText(s));
  if (parsed.size >= PARSED_MAX) parsed.clear();
  parsed.set(s, q);
  return q;
}

function parseText(s: string): Quantity {
  const m = NUMBER_RE.exec(s);
  if (!m) throw new QuantityParseError(s);
  const [, sign, whole, frac = '', suffix] = m;
  if (whole.length === 0 && frac.length === 0) throw new QuantityParseError(s);
  let exp10 = 0;
  let exp2 = 0;
  let format: QuantityFormat;
  if (suffix in DECIMAL_SUFFIX) {
    exp10 = DECIMAL_SUFFIX[suffix];
    format = 'DecimalSI';
  } else if (suffix in BINARY_SUFFIX) {
    exp2 = BINARY_SUFFIX[suffix];
    format = 'BinarySI';
  } else if (/^[eE][+-]?\d+$/.test(suffix)) {
    exp10 = Number(suffix.slice(1));
    if (Math.abs(exp10) > MAX_EXPONENT) throw new QuantityParseError(s);
    format = 'DecimalExponent';
  } else {
    throw new QuantityParseError(s);
  }
  // value = digits * 10^(exp10 - frac.length) * 2^exp2; nanos = value * 10^9
  let num = BigInt(whole + frac || '0') * (1n << BigInt(exp2));
  let den = 1n;
  const shift = 9 + exp10 - frac.length;
  if (shift >= 0) num *= pow10(shift);
  else den = pow10(-shift);
  let nanos = ceilDiv(num, den);
  if (sign === '-') nanos = -nanos;
  return { nanos, format };
}

export function tryParseQuantity(input: unknown): Quantity | undefined {
  if (typeof input !== 'string' && typeof input !== 'number') return undefined;
  try {
    return parseQuantity(input);
  } catch {
    return undefined;
  }
}

function abs(n: bigint): bigint {
  return n < 0n ? -n : n;
}

const DECIMAL_BY_EXP: Record<number, string> = {
  [-9]: 'n',
  [-6]: 'u',
  [-3]: 'm',
  0: '',
  3: 'k',
  6: 'M',
  9: 'G',
  12: 'T',
  15: 'P',
  18: 'E',
};
const BINARY_BY_POWER = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];

/** the canonical text Kubernetes stores: "1500m", "1k", "512Mi", "1e3", "0" */
export function formatQuantity(q: Quantity): string {
  const n = q.nanos;
  if (n === 0n) return '0';
  const sign = n < 0n ? '-' : '';
  const a = abs(n);
  const NANO = 1_000_000_000n;
  if (q.format === 'BinarySI' && a % NANO === 0n && a / NANO >= 1024n) {
    const v = a / NANO;
    for (let k = 6; k >= 1; k--) {
      const unit = 1n << BigInt(10 * k);
      if (v % unit === 0n) return `${sign}${v / unit}${BINARY_BY_POWER[k]}`;
    }
    return `${sign}${v}`;
  }
  for (let e = 18; e >= -9; e -= 3) {
    const unit = pow10(e + 9);
    if (a % unit === 0n) {
      const mantissa = a / unit;
      const suffix = q.format === 'DecimalExponent' ? (e === 0 ? '' : `e${e}`) : DECIMAL_BY_EXP[e];
      return `${sign}${mantissa}${suffix}`;
    }
  }
  return `${sign}${a}n`;
}

/** the canonical form of a quantity's text, or the input unchanged when it does not parse */
export function canonicalQuantity(input: unknown): unknown {
  const q = tryParseQuantity(input);
  return q ? formatQuantity(q) : input;
}

export function compareQuantities(a: Quantity, b: Quantity): number {
  return a.nanos < b.nanos ? -1 : a.nanos > b.nanos ? 1 : 0;
}

/** value in milli-units, rounded up (Kubernetes' MilliValue): "100m" -> 100n, "1" -> 1000n */
export function milliValue(q: Quantity): bigint {
  return q.nanos >= 0n ? ceilDiv(q.nanos, 1_000_000n) : -ceilDiv(-q.nanos, 1_000_000n);
}

/** value in whole units, rounded up (Kubernetes' Value): "1Gi" -> 1073741824n, "100m" -> 1n */
export function wholeValue(q: Quantity): bigint {
  return q.nanos >= 0n ? ceilDiv(q.nanos, 1_000_000_000n) : -ceilDiv(-q.nanos, 1_000_000_000n);
}

export function isInteger(q: Quantity): boolean {
  return q.nanos % 1_000_000_000n === 0n;
}

/** a Quantity holding whole units in the given notation */
export function quantityFromUnits(units: bigint, format: QuantityFormat = 'DecimalSI'): Quantity {
  return { nanos: units * 1_000_000_000n, format };
}

/** a Quantity holding milli-units (CPU) */
export function quantityFromMilli(milli: bigint): Quantity {
  return { nanos: milli * 1_000_000n, format: 'DecimalSI' };
}
