/**
 * Turns a Kubernetes protobuf request body ("k8s\0" + runtime.Unknown envelope) into the plain object that
 * the Kubernetes JSON encoding of the same object would give: field names from the JSON tags, Go's
 * omitempty/omitzero rules, zero values for absent non-pointer fields, and the special JSON forms of
 * timestamps, quantities, int-or-string values and raw extensions.
 */
import {
  isSpecial,
  messageDescriptor,
  messageForKind,
  type CompiledMessage,
  type FieldDescriptor,
  type TypeName,
} from './descriptors.ts';
import { ProtobufDecodeError } from './errors.ts';
import { decodeSpecial, zeroSpecial, type SpecialValue } from './special-types.ts';
import { WIRE_BYTES, WIRE_FIXED32, WIRE_FIXED64, WIRE_VARINT, WireReader } from './wire-reader.ts';

export { ProtobufDecodeError } from './errors.ts';

export const KUBERNETES_PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from('k8s\0', 'latin1');
/** raw extensions may embed protobuf objects; deeper nesting than this is refused */
const MAX_NESTING = 8;

export interface DecodedKubernetesObject {
  apiVersion: string;
  kind: string;
  object: Record<string, unknown>;
}

/** true when a Content-Type header names the Kubernetes protobuf media type (parameters ignored) */
export function isKubernetesProtobuf(contentType: string | undefined | null): boolean {
  if (!contentType) return false;
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase() === KUBERNETES_PROTOBUF_MEDIA_TYPE;
}

/** decodes a whole protobuf request body; throws ProtobufDecodeError (httpStatus 400 or 415) when it cannot */
export function decodeKubernetesProtobuf(body: Buffer): DecodedKubernetesObject {
  return decodeEnvelope(body, 0);
}

interface Envelope {
  apiVersion: string;
  kind: string;
  raw: Buffer;
  contentEncoding: string;
  contentType: string;
}

function decodeEnvelope(body: Buffer, depth: number): DecodedKubernetesObject {
  if (depth > MAX_NESTING) throw new ProtobufDecodeError(`embedded objects nest deeper than ${MAX_NESTING} levels`);
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new ProtobufDecodeError(
      `body sent as ${KUBERNETES_PROTOBUF_MEDIA_TYPE} does not start with the 4-byte prefix "k8s\\0"; ` +
        'send a Kubernetes protobuf envelope or use Content-Type: application/json',
    );
  }
  const env = readEnvelope(body);
  if (!env.kind || !env.apiVersion) {
    throw new ProtobufDecodeError('protobuf envelope has no apiVersion or kind; set both in its type metadata');
  }
  if (env.contentEncoding) {
    throw new ProtobufDecodeError(
      `protobuf envelope content encoding "${env.contentEncoding}" is not supported; send it unencoded`,
      415,
    );
  }
  const where = `${env.kind} (${env.apiVersion})`;
  if (env.contentType && !isKubernetesProtobuf(env.contentType)) {
    if (!/^application\/json\b/i.test(env.contentType)) {
      throw new ProtobufDecodeError(
        `protobuf envelope of ${where} holds content type "${env.contentType}"; only protobuf or JSON can be decoded`,
        415,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(env.raw.toString('utf8'));
    } catch (err) {
      throw new ProtobufDecodeError(`protobuf envelope of ${where} holds invalid JSON: ${(err as Error).message}`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new ProtobufDecodeError(`protobuf envelope of ${where} holds JSON that is not an object`);
    }
    return {
      apiVersion: env.apiVersion,
      kind: env.kind,
      object: { apiVersion: env.apiVersion, kind: env.kind, ...parsed },
    };
  }
  const name = messageForKind(env.apiVersion, env.kind);
  const msg = name === undefined ? undefined : messageDescriptor(name);
  if (!msg) {
    throw new ProtobufDecodeError(
      `skiff cannot decode ${where} from protobuf; send it with Content-Type: application/json instead`,
      415,
    );
  }
  const ctx: DecodeContext = { depth };
  const struct = readStruct(msg, env.raw, env.kind, ctx);
  const object: Record<string, unknown> = { apiVersion: env.apiVersion, kind: env.kind };
  structToJson(struct, object);
  return { apiVersion: env.apiVersion, kind: env.kind, object };
}

function readEnvelope(body: Buffer): Envelope {
  const env: Envelope = { apiVersion: '', kind: '', raw: Buffer.alloc(0), contentEncoding: '', contentType: '' };
  const r = new WireReader(body, MAGIC.length);
  try {
    while (!r.done) {
      const key = r.uint();
      const num = Math.floor(key / 8);
      const wt = key & 7;
      if (wt !== WIRE_BYTES || num < 1 || num > 4) {
        r.skip(wt, num);
        continue;
      }
      const payload = r.bytes();
      if (num === 1) {
        const tm = new WireReader(payload);
        while (!tm.done) {
          const k = tm.uint();
          const n = Math.floor(k / 8);
          if ((k & 7) === WIRE_BYTES && n === 1) env.apiVersion = tm.bytes().toString('utf8');
          else if ((k & 7) === WIRE_BYTES && n === 2) env.kind = tm.bytes().toString('utf8');
          else tm.skip(k & 7, n);
        }
      } else if (num === 2) env.raw = payload;
      else if (num === 3) env.contentEncoding = payload.toString('utf8');
      else env.contentType = payload.toString('utf8');
    }
  } catch (err) {
    if (err instanceof ProtobufDecodeError)
      throw new ProtobufDecodeError(`malformed protobuf envelope: ${err.message}`);
    throw err;
  }
  return env;
}

interface DecodeContext {
  depth: number;
}

/** a decoded Go struct: values[i] is the value of msg.fields[i], or undefined when it was not on the wire */
class GoStruct {
  constructor(
    readonly msg: CompiledMessage,
    readonly values: GoValue[],
  ) {}
}

/** a Go value: nil pointers, slices and maps are null */
type GoValue =
  | undefined
  | null
  | string
  | number
  | boolean
  | Buffer
  | GoStruct
  | SpecialValue
  | GoValue[]
  | Map<string | number | boolean, GoValue>;

const WIRE_NAMES = ['varint', 'fixed64', 'length-delimited', 'group start', 'group end', 'fixed32'];

function wireOf(type: TypeName): number {
  switch (type) {
    case 'bool':
    case 'int32':
    case 'int64':
    case 'uint32':
    case 'uint64':
      return WIRE_VARINT;
    case 'float64':
      return WIRE_FIXED64;
    default:
      return WIRE_BYTES;
  }
}

function readStruct(msg: CompiledMessage, payload: Buffer, path: string, ctx: DecodeContext): GoStruct {
  const values: GoValue[] = new Array(msg.fields.length);
  const r = new WireReader(payload);
  while (!r.done) {
    let key: number;
    try {
      key = r.uint();
    } catch (err) {
      throw located(err, path);
    }
    const num = Math.floor(key / 8);
    const wt = key & 7;
    const index = msg.byNumber.get(num);
    if (index === undefined) {
      // fields newer than the descriptors are ignored, as Go ignores unknown fields
      try {
        r.skip(wt, num);
      } catch (err) {
        throw located(err, `${path} field ${num}`);
      }
      continue;
    }
    const field = msg.fields[index]!;
    readField(field, wt, r, values, index, `${path}.${field.json ?? field.go}`, ctx);
  }
  return new GoStruct(msg, values);
}

function located(err: unknown, path: string): unknown {
  if (err instanceof ProtobufDecodeError && !err.message.startsWith(path))
    return new ProtobufDecodeError(`${path}: ${err.message}`);
  return err;
}

function readField(
  field: FieldDescriptor,
  wt: number,
  r: WireReader,
  values: GoValue[],
  index: number,
  path: string,
  ctx: DecodeContext,
): void {
  try {
    if (field.map) {
      expectWire(wt, WIRE_BYTES, field);
      let map = values[index] as Map<string | number | boolean, GoValue> | undefined;
      if (!map) values[index] = map = new Map();
      readMapEntry(field.map.key, field.map.value, r.bytes(), map, path, ctx);
      return;
    }
    const type = field.type!;
    if (field.repeated) {
      let list = values[index] as GoValue[] | undefined;
      if (!list) values[index] = list = [];
      const elemWire = wireOf(type);
      if (wt === WIRE_BYTES && elemWire !== WIRE_BYTES) {
        // packed repeated scalars
        const packed = r.bytes();
        const pr = new WireReader(packed);
        while (!pr.done) list.push(readValue(type, elemWire, pr, `${path}[${list.length}]`, ctx));
        return;
      }
      expectWire(wt, elemWire, field);
      list.push(readValue(type, wt, r, `${path}[${list.length}]`, ctx));
      return;
    }
    expectWire(wt, wireOf(type), field);
    values[index] = readValue(type, wt, r, path, ctx);
  } catch (err) {
    throw located(err, path);
  }
}

function expectWire(actual: number, expected: number, field: FieldDescriptor): void {
  if (actual !== expected) {
    throw new ProtobufDecodeError(
      `field number ${field.num} arrived as ${WIRE_NAMES[actual] ?? `wire type ${actual}`}, expected ${WIRE_NAMES[expected]}`,
    );
  }
}

function readValue(type: TypeName, wt: number, r: WireReader, path: string, ctx: DecodeContext): GoValue {
  switch (type) {
    case 'string':
      return r.bytes().toString('utf8');
    case 'bytes':
      return Buffer.from(r.bytes());
    case 'bool':
      return r.bool();
    case 'int32':
      return r.int32();
    case 'uint32':
      return r.uint32();
    case 'int64':
      return r.int64();
    case 'uint64':
      return r.uint64();
    case 'float64':
      if (wt === WIRE_FIXED32) throw new ProtobufDecodeError('float64 arrived as fixed32');
      return r.double();
  }
  const payload = r.bytes();
  if (isSpecial(type)) {
    return decodeSpecial(type, payload, path, (raw) => decodeEnvelope(raw, ctx.depth + 1).object);
  }
  return readStruct(requireMessage(type), payload, path, ctx);
}

function requireMessage(name: string): CompiledMessage {
  const msg = messageDescriptor(name);
  if (!msg)
    throw new Error(`protobuf descriptors reference ${name} but do not describe it; regenerate descriptors.json`);
  return msg;
}

function readMapEntry(
  keyType: TypeName,
  valueType: TypeName,
  entry: Buffer,
  map: Map<string | number | boolean, GoValue>,
  path: string,
  ctx: DecodeContext,
): void {
  const r = new WireReader(entry);
  let key: GoValue;
  let value: GoValue;
  while (!r.done) {
    const tag = r.uint();
    const num = Math.floor(tag / 8);
    const wt = tag & 7;
    if (num === 1) {
      if (wt !== wireOf(keyType)) throw new ProtobufDecodeError(`map key arrived as ${WIRE_NAMES[wt] ?? wt}`);
      key = readValue(keyType, wt, r, path, ctx);
    } else if (num === 2) {
      if (wt !== wireOf(valueType)) throw new ProtobufDecodeError(`map value arrived as ${WIRE_NAMES[wt] ?? wt}`);
      value = readValue(valueType, wt, r, `${path}[${String(key ?? '')}]`, ctx);
    } else r.skip(wt, num);
  }
  const k = (key ?? zeroOfType(keyType)) as string | number | boolean;
  map.set(k, value === undefined ? zeroOfType(valueType) : value);
}

/** the Go zero value of a non-pointer, non-slice value of the given type */
function zeroOfType(type: TypeName): GoValue {
  switch (type) {
    case 'string':
      return '';
    case 'bool':
      return false;
    case 'bytes':
      return null;
    case 'int32':
    case 'int64':
    case 'uint32':
    case 'uint64':
    case 'float64':
      return 0;
  }
  if (isSpecial(type)) return zeroSpecial(type);
  const msg = requireMessage(type);
  return new GoStruct(msg, new Array(msg.fields.length));
}

function zeroOfField(field: FieldDescriptor): GoValue {
  if (field.pointer || field.repeated || field.map) return null;
  return zeroOfType(field.type!);
}

/** what encoding/json's omitempty treats as empty (structs are never empty) */
function isEmpty(field: FieldDescriptor, v: GoValue): boolean {
  if (v === null || v === undefined) return true;
  if (field.pointer) return false;
  if (typeof v === 'string') return v === '';
  if (typeof v === 'number') return v === 0;
  if (typeof v === 'boolean') return !v;
  if (Buffer.isBuffer(v)) return v.length === 0;
  if (Array.isArray(v)) return v.length === 0;
  if (v instanceof Map) return v.size === 0;
  return false;
}

/** what encoding/json's omitzero treats as zero (IsZero of times and quantities, else the Go zero value) */
function isZero(v: GoValue): boolean {
  if (v === null || v === undefined) return true;
  if (typeof v === 'string') return v === '';
  if (typeof v === 'number') return v === 0;
  if (typeof v === 'boolean') return !v;
  if (Buffer.isBuffer(v) || Array.isArray(v) || v instanceof Map) return false;
  if (v instanceof GoStruct)
    return v.values.every((x, i) => isZero(x === undefined ? zeroOfField(v.msg.fields[i]!) : x));
  return v.zero;
}

function structToJson(s: GoStruct, out: Record<string, unknown>): void {
  const fields = s.msg.fields;
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!;
    const v = s.values[i] === undefined ? zeroOfField(field) : s.values[i];
    if (field.json === null) {
      // embedded struct: its fields are promoted; the outer struct's own fields take precedence
      if (v instanceof GoStruct) {
        const inner: Record<string, unknown> = {};
        structToJson(v, inner);
        for (const k of Object.keys(inner)) if (!s.msg.jsonNames.has(k)) out[k] = inner[k];
      }
      continue;
    }
    if (field.omitempty && isEmpty(field, v)) continue;
    if (field.omitzero && isZero(v)) continue;
    out[field.json] = field.repeated || field.map ? containerToJson(v) : valueToJson(v);
  }
}

function containerToJson(v: GoValue): unknown {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) return v.map(valueToJson);
  if (v instanceof Map) {
    const keys = [...v.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const obj: Record<string, unknown> = {};
    for (const k of keys) obj[String(k)] = valueToJson(v.get(k));
    return obj;
  }
  return valueToJson(v);
}

function valueToJson(v: GoValue): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'object') return v;
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (v instanceof GoStruct) {
    if (v.msg.list) return containerToJson(v.values[0] ?? null);
    const obj: Record<string, unknown> = {};
    structToJson(v, obj);
    return obj;
  }
  if (Array.isArray(v) || v instanceof Map) return containerToJson(v);
  return v.json;
}
