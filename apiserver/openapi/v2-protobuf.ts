/**
 * The /openapi/v2 document in the protocol buffer form clients ask for with
 * Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf (openapi.v2.Document messages, see
 * openapiv2.proto). Extension values, defaults and enum values are carried as YAML text, as that format does;
 * skiff writes them as JSON, which is valid YAML.
 */
import fs from 'node:fs';
import protobuf from 'protobufjs';
import type { SwaggerDocument } from './v2.ts';

type Json = Record<string, unknown>;

let documentType: protobuf.Type | undefined;

function docType(): protobuf.Type {
  if (!documentType) {
    const source = fs.readFileSync(new URL('./openapiv2.proto', import.meta.url), 'utf8');
    const root = protobuf.parse(source, { keepCase: true }).root;
    documentType = root.lookupType('openapi.v2.Document');
  }
  return documentType;
}

function anyValue(value: unknown): Json {
  return { yaml: JSON.stringify(value) };
}

function extensions(obj: Json): Json[] {
  const out: Json[] = [];
  for (const [key, value] of Object.entries(obj))
    if (key.startsWith('x-')) out.push({ name: key, value: anyValue(value) });
  return out;
}

function schema(s: Json): Json {
  const out: Json = {};
  if (typeof s.$ref === 'string') out._ref = s.$ref;
  if (typeof s.format === 'string') out.format = s.format;
  if (typeof s.description === 'string') out.description = s.description;
  if (s.default !== undefined) out.default = anyValue(s.default);
  if (Array.isArray(s.required)) out.required = s.required;
  if (Array.isArray(s.enum)) out.enum = s.enum.map(anyValue);
  if (s.additionalProperties && typeof s.additionalProperties === 'object')
    out.additional_properties = { schema: schema(s.additionalProperties as Json) };
  if (typeof s.type === 'string') out.type = { value: [s.type] };
  if (s.items) out.items = { schema: [schema(s.items as Json)] };
  if (s.properties) {
    out.properties = {
      additional_properties: Object.entries(s.properties as Record<string, Json>).map(([name, p]) => ({
        name,
        value: schema(p),
      })),
    };
  }
  const ext = extensions(s);
  if (ext.length > 0) out.vendor_extension = ext;
  return out;
}

function parameter(p: Json): Json {
  if (p.in === 'body') {
    const body: Json = { name: p.name, in: p.in, schema: schema(p.schema as Json) };
    if (p.required === true) body.required = true;
    return { parameter: { body_parameter: body } };
  }
  const common: Json = { name: p.name, in: p.in, type: p.type };
  if (p.required === true) common.required = true;
  if (p.uniqueItems === true) common.unique_items = true;
  const sub = p.in === 'path' ? { path_parameter_sub_schema: common } : { query_parameter_sub_schema: common };
  return { parameter: { non_body_parameter: sub } };
}

function operation(o: Json): Json {
  const responses = Object.entries(o.responses as Record<string, Json>).map(([code, r]) => {
    const response: Json = { description: r.description ?? '' };
    if (r.schema) response.schema = { schema: schema(r.schema as Json) };
    return { name: code, value: { response } };
  });
  const out: Json = {
    tags: o.tags ?? [],
    operation_id: o.operationId,
    produces: o.produces ?? [],
    consumes: o.consumes ?? [],
    parameters: ((o.parameters as Json[] | undefined) ?? []).map(parameter),
    responses: { response_code: responses },
    schemes: o.schemes ?? [],
  };
  if (typeof o.description === 'string') out.description = o.description;
  const ext = extensions(o);
  if (ext.length > 0) out.vendor_extension = ext;
  return out;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'];

/** a Swagger 2.0 document as openapi.v2.Document protocol buffer bytes */
export function encodeV2Protobuf(doc: SwaggerDocument): Buffer {
  const paths = Object.entries(doc.paths).map(([name, item]) => {
    const value: Json = {};
    for (const m of METHODS) if (item[m]) value[m] = operation(item[m] as Json);
    if (Array.isArray(item.parameters)) value.parameters = (item.parameters as Json[]).map(parameter);
    return { name, value };
  });
  const message = {
    swagger: doc.swagger,
    info: { title: doc.info.title, version: doc.info.version },
    paths: { path: paths },
    definitions: {
      additional_properties: Object.entries(doc.definitions).map(([name, s]) => ({ name, value: schema(s) })),
    },
    security: doc.security.map((req) => ({
      additional_properties: Object.entries(req).map(([name, scopes]) => ({ name, value: { value: scopes } })),
    })),
    security_definitions: {
      additional_properties: Object.entries(doc.securityDefinitions).map(([name, d]) => ({
        name,
        value: { api_key_security: { type: d.type, name: d.name, in: d.in, description: d.description ?? '' } },
      })),
    },
  };
  const type = docType();
  const err = type.verify(message);
  if (err) throw new Error(`cannot encode the OpenAPI v2 document as protocol buffers: ${err}`);
  return Buffer.from(type.encode(type.fromObject(message)).finish());
}

/** decode openapi.v2.Document bytes back into a plain object (field names as in openapiv2.proto) */
export function decodeV2Protobuf(bytes: Uint8Array): Json {
  const type = docType();
  return type.toObject(type.decode(bytes), { defaults: false, arrays: false, oneofs: false }) as Json;
}
