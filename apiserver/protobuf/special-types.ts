/**
 * The Kubernetes types whose protobuf message and JSON form differ: timestamps, durations, quantities,
 * int-or-string values and embedded raw JSON. Each decodes to its JSON value plus whether it is the zero value
 * (what `omitzero` tests).
 */
import type { SpecialType } from './descriptors.ts';
import { ProtobufDecodeError } from './errors.ts';
import { WIRE_BYTES, WIRE_VARINT, WireReader } from './wire-reader.ts';

export interface SpecialValue {
  readonly special: true;
  readonly json: unknown;
  readonly zero: boolean;
}

/** decodes an embedded Kubernetes protobuf object found inside a raw extension */
export type NestedDecoder = (raw: Buffer) => unknown;

/** seconds of 0001-01-01T00:00:00Z, the zero time */
const ZERO_TIME_SECONDS = -62135596800;
const MAX_TIME_SECONDS = 253402300799; // 9999-12-31T23:59:59Z

function special(json: unknown, zero: boolean): SpecialValue {
  return { special: true, json, zero };
}

const ZERO: Record<SpecialType, SpecialValue> = {
  '@Time': special(null, true),
  '@MicroTime': special(null, true),
  '@Duration': special('0s', true),
  '@Quantity': special('0', true),
  '@IntOrString': special(0, true),
  '@RawExtension': special(null, true),
  '@FieldsV1': special(null, true),
};

export function zeroSpecial(type: SpecialType): SpecialValue {
  return ZERO[type];
}

export function decodeSpecial(type: SpecialType, payload: Buffer, path: string, nested: NestedDecoder): SpecialValue {
  switch (type) {
    case '@Time':
    case '@MicroTime':
      return decodeTimestamp(payload, type === '@MicroTime', path);
    case '@Duration': {
      let ns = 0n;
      eachField(payload, path, (r, num, wt) => {
        if (num === 1 && wt === WIRE_VARINT) ns = r.int64Exact();
        else r.skip(wt, num);
      });
      return special(formatGoDuration(ns), ns === 0n);
    }
    case '@Quantity': {
      let text = '';
      eachField(payload, path, (r, num, wt) => {
        if (num === 1 && wt === WIRE_BYTES) text = r.bytes().toString('utf8');
        else r.skip(wt, num);
      });
      if (text === '') return ZERO['@Quantity'];
      return special(text, /^[+-]?0*\.?0*(?:[eE][+-]?\d+|[a-zA-Z]*)$/.test(text));
    }
    case '@IntOrString': {
      let kind = 0;
      let intVal = 0;
      let strVal = '';
      eachField(payload, path, (r, num, wt) => {
        if (num === 1 && wt === WIRE_VARINT) kind = r.int64();
        else if (num === 2 && wt === WIRE_VARINT) intVal = r.int32();
        else if (num === 3 && wt === WIRE_BYTES) strVal = r.bytes().toString('utf8');
        else r.skip(wt, num);
      });
      const zero = kind === 0 && intVal === 0 && strVal === '';
      return special(kind === 1 ? strVal : intVal, zero);
    }
    case '@RawExtension':
    case '@FieldsV1': {
      let raw: Buffer | undefined;
      eachField(payload, path, (r, num, wt) => {
        if (num === 1 && wt === WIRE_BYTES) raw = r.bytes();
        else r.skip(wt, num);
      });
      if (raw === undefined || raw.length === 0) return special(null, raw === undefined);
      return special(parseEmbedded(raw, path, nested), false);
    }
  }
}

function eachField(
  payload: Buffer,
  path: string,
  onField: (r: WireReader, num: number, wireType: number) => void,
): void {
  const r = new WireReader(payload);
  try {
    while (!r.done) {
      const key = r.uint();
      onField(r, Math.floor(key / 8), key & 7);
    }
  } catch (err) {
    if (err instanceof ProtobufDecodeError) throw new ProtobufDecodeError(`${path}: ${err.message}`);
    throw err;
  }
}

const MAGIC = Buffer.from('k8s\0', 'latin1');

function parseEmbedded(raw: Buffer, path: string, nested: NestedDecoder): unknown {
  if (raw.length >= 4 && raw.subarray(0, 4).equals(MAGIC)) return nested(raw);
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new ProtobufDecodeError(`${path}: embedded raw object is neither JSON nor Kubernetes protobuf`);
  }
}

function decodeTimestamp(payload: Buffer, micro: boolean, path: string): SpecialValue {
  if (payload.length === 0) return ZERO['@Time'];
  let seconds = 0;
  let nanos = 0;
  eachField(payload, path, (r, num, wt) => {
    if (num === 1 && wt === WIRE_VARINT) seconds = r.int64();
    else if (num === 2 && wt === WIRE_VARINT) nanos = r.int32();
    else r.skip(wt, num);
  });
  const keptNanos = micro ? nanos - (nanos % 1000) : nanos;
  if (seconds === ZERO_TIME_SECONDS && keptNanos === 0) return ZERO['@Time'];
  if (seconds < ZERO_TIME_SECONDS || seconds > MAX_TIME_SECONDS || nanos < 0 || nanos >= 1e9) {
    throw new ProtobufDecodeError(`${path}: timestamp ${seconds}s ${nanos}ns is outside years 0001-9999`);
  }
  const base = new Date(seconds * 1000).toISOString().slice(0, 19); // YYYY-MM-DDTHH:MM:SS
  if (!micro) return special(`${base}Z`, false);
  return special(`${base}.${String(keptNanos / 1000).padStart(6, '0')}Z`, false);
}

/** a nanosecond count written the way Go prints a time.Duration, e.g. "1h0m0s", "1.5s", "300ms" */
export function formatGoDuration(ns: bigint): string {
  if (ns === 0n) return '0s';
  const neg = ns < 0n;
  let u = neg ? -ns : ns;
  let out: string;
  if (u < 1_000_000_000n) {
    if (u < 1000n) out = `${u}ns`;
    else if (u < 1_000_000n) out = `${fraction(u, 3)}µs`;
    else out = `${fraction(u, 6)}ms`;
  } else {
    out = `${fraction(u % 60_000_000_000n, 9)}s`;
    u /= 60_000_000_000n;
    if (u > 0n) {
      out = `${u % 60n}m${out}`;
      u /= 60n;
      if (u > 0n) out = `${u}h${out}`;
    }
  }
  return neg ? `-${out}` : out;
}

/** v / 10^digits with the fraction's trailing zeros (and a bare point) dropped */
function fraction(v: bigint, digits: number): string {
  const scale = 10n ** BigInt(digits);
  const whole = v / scale;
  const frac = (v % scale).toString().padStart(digits, '0').replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : `${whole}`;
}
