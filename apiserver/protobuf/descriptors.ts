/**
 * The message descriptors generated into descriptors.json (see scripts/gen-protobuf-descriptors.mjs),
 * loaded once and indexed by field number for decoding.
 */
import fs from 'node:fs';

export type ScalarType = 'string' | 'bool' | 'int32' | 'int64' | 'uint32' | 'uint64' | 'float64' | 'bytes';
export type SpecialType =
  '@Time' | '@MicroTime' | '@Duration' | '@Quantity' | '@IntOrString' | '@RawExtension' | '@FieldsV1';
/** a scalar, a special type, or a message name such as "core/v1.PodSpec" */
export type TypeName = ScalarType | SpecialType | string;

export interface FieldDescriptor {
  /** Go field name */
  go: string;
  num: number;
  /** JSON key; null for an embedded struct whose fields are promoted into the parent */
  json: string | null;
  wire: 'varint' | 'fixed64' | 'fixed32' | 'bytes';
  omitempty?: boolean;
  omitzero?: boolean;
  pointer?: boolean;
  repeated?: boolean;
  type?: TypeName;
  map?: { key: TypeName; value: TypeName };
}

export interface MessageDescriptor {
  fields: FieldDescriptor[];
  /** a named list type: its JSON form is the `items` list itself */
  list?: boolean;
}

interface DescriptorFile {
  sources: Record<string, string>;
  kinds: Record<string, string>;
  messages: Record<string, MessageDescriptor>;
}

export interface CompiledMessage {
  name: string;
  fields: FieldDescriptor[];
  list: boolean;
  /** field number → index into fields */
  byNumber: Map<number, number>;
  /** the JSON keys of the message's own (not promoted) fields */
  jsonNames: Set<string>;
}

const file = JSON.parse(fs.readFileSync(new URL('./descriptors.json', import.meta.url), 'utf8')) as DescriptorFile;
const compiled = new Map<string, CompiledMessage>();

export function isSpecial(type: TypeName): type is SpecialType {
  return type.startsWith('@');
}

/** the compiled descriptor of a message, or undefined when it is not described */
export function messageDescriptor(name: string): CompiledMessage | undefined {
  let msg = compiled.get(name);
  if (msg) return msg;
  const raw = file.messages[name];
  if (!raw) return undefined;
  const byNumber = new Map<number, number>();
  raw.fields.forEach((f, i) => byNumber.set(f.num, i));
  const jsonNames = new Set<string>();
  for (const f of raw.fields) if (f.json !== null) jsonNames.add(f.json);
  msg = { name, fields: raw.fields, list: raw.list === true, byNumber, jsonNames };
  compiled.set(name, msg);
  return msg;
}

/** the message of a kind sent as apiVersion + kind, e.g. ("apps/v1", "Deployment") → "apps/v1.Deployment" */
export function messageForKind(apiVersion: string, kind: string): string | undefined {
  return file.kinds[`${apiVersion}/${kind}`] ?? file.kinds[`*/${kind}`];
}

/** every "apiVersion/Kind" that can be decoded (meta kinds as "*\/Kind") */
export function decodableKinds(): string[] {
  return Object.keys(file.kinds);
}
