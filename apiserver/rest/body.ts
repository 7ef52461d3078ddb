/** Reading and decoding request bodies: size limit, JSON or YAML, Kubernetes' errors for each failure. */
import type { IncomingMessage } from 'node:http';
import yaml from 'js-yaml';
import { badRequest, tooLarge, unsupportedMediaType } from './status.ts';
import { goJsonSyntaxError, summarizeBody } from './go-json.ts';
import { decodeKubernetesProtobuf, KUBERNETES_PROTOBUF_MEDIA_TYPE, ProtobufDecodeError } from '../protobuf/decode.ts';

/** Kubernetes refuses request bodies over 3 MiB */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      req.resume();
      reject(tooLarge(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > limit) {
        failed = true;
        reject(tooLarge(limit));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => !failed && resolve(Buffer.concat(chunks)));
    req.on('error', (e) => !failed && reject(e));
  });
}

export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

const OBJECT_TYPES = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'];

/**
 * decode a create/update body (JSON or YAML) into an object; `kind`, the type the endpoint takes, words a JSON
 * syntax error as Kubernetes does
 */
export function decodeObject(buf: Buffer, type: string, kind?: string): any {
  if (type === '' || type === 'application/json' || type === '*/*') return parseJson(buf, kind);
  if (type === 'application/yaml' || type === 'application/x-yaml' || type === 'text/yaml') return parseYaml(buf);
  if (type === KUBERNETES_PROTOBUF_MEDIA_TYPE) {
    // typed clients (kubectl 1.32+) send built-in kinds in Kubernetes' protobuf encoding
    try {
      return decodeKubernetesProtobuf(buf).object;
    } catch (e) {
      if (e instanceof ProtobufDecodeError) {
        if (e.httpStatus === 415) throw unsupportedMediaType(type, ['application/json', 'application/yaml']);
        throw badRequest(`the body of the request could not be decoded as protobuf: ${e.message}`);
      }
      throw e;
    }
  }
  throw unsupportedMediaType(type, OBJECT_TYPES);
}

/**
 * a JSON body; one that is not JSON is a 400 in Kubernetes' words: Go's syntax error, and with the endpoint's kind,
 * "the object provided is unrecognized (must be of type Pod): couldn't get version/kind; json parse error: ..."
 */
export function parseJson(buf: Buffer, kind?: string): any {
  const text = buf.toString('utf8');
  let syntax: string | undefined;
  try {
    return parseJsonText(text);
  } catch (e) {
    syntax = goJsonSyntaxError(buf);
    if (syntax === undefined) throw badRequest(`the body of the request was not valid JSON: ${(e as Error).message}`);
  }
  const why = `couldn't get version/kind; json parse error: ${syntax}`;
  throw badRequest(
    kind ? `the object provided is unrecognized (must be of type ${kind}): ${why} (${summarizeBody(buf)})` : why,
  );
}

/**
 * How deeply arrays and objects may nest in what a client sends (the top-level object is depth 1). Go's decoder, and
 * so Kubernetes, stops at 10,000; skiff's recursive handling of objects (patches, field sets, copies, YAML) is kept
 * well inside Node's stack by a lower bound, far beyond what any real object needs. Deeper input is a 400, never a
 * stack overflow.
 */
export const MAX_NESTING_DEPTH = 1000;

export function depthExceededMessage(limit = MAX_NESTING_DEPTH): string {
  return `exceeded max depth: arrays and objects nest more than ${limit} deep`;
}

/** whether arrays and objects nest more than `limit` deep in a JSON value (counting the value itself as depth 1) */
export function nestingDeeperThan(value: unknown, limit: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (limit < 1) return true;
  const values: unknown[] = [value];
  const depths: number[] = [1];
  while (values.length > 0) {
    const v = values.pop() as Record<string, unknown> | unknown[];
    const d = depths.pop()!;
    const children = Array.isArray(v) ? v : Object.values(v);
    for (const c of children) {
      if (c === null || typeof c !== 'object') continue;
      if (d + 1 > limit) return true;
      values.push(c);
      depths.push(d + 1);
    }
  }
  return false;
}

/** whether `text` holds more than `limit` opening brackets ({ and [, strings included): a bound on its nesting */
function moreOpeningBrackets(text: string, limit: number): boolean {
  let n = 0;
  for (const c of ['{', '[']) {
    for (let i = text.indexOf(c); i >= 0; i = text.indexOf(c, i + 1)) if (++n > limit) return true;
  }
  return false;
}

/**
 * JSON.parse, refusing values nested more than MAX_NESTING_DEPTH deep (Error with Go's wording). Each level opens a
 * bracket, so a text with fewer (nearly every request: a Deployment has a hundred) is not walked.
 */
export function parseJsonText(text: string): any {
  const v = JSON.parse(text);
  if (
    text.length > 2 * MAX_NESTING_DEPTH &&
    moreOpeningBrackets(text, MAX_NESTING_DEPTH) &&
    nestingDeeperThan(v, MAX_NESTING_DEPTH)
  ) {
    throw new Error(depthExceededMessage());
  }
  return v;
}

/**
 * How large a YAML document may grow once its aliases are expanded, in bytes of the JSON it stands for: twice the
 * largest body (a document within the body limit cannot get there without aliases). A few hundred bytes of nested
 * aliases can stand for gigabytes ("billion laughs"); Kubernetes' YAML decoder refuses excessive aliasing too.
 */
const MAX_EXPANDED_BYTES = 2 * MAX_BODY_BYTES;

/** whether a loaded YAML value, its aliases expanded, stays within `limit` bytes of JSON (stops counting at the limit) */
export function withinExpandedSize(value: unknown, limit = MAX_EXPANDED_BYTES): boolean {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') size += v.length + 3;
    else if (Array.isArray(v)) {
      size += 2 + v.length;
      for (let i = v.length - 1; i >= 0; i--) stack.push(v[i]);
    } else if (v !== null && typeof v === 'object') {
      for (const k in v as Record<string, unknown>) {
        size += k.length + 4;
        stack.push((v as Record<string, unknown>)[k]);
      }
      size += 2;
    } else size += 8;
    if (size > limit) return false;
  }
  return true;
}

/** the YAML documents of a text, refused (Error) when its aliases expand beyond what a request may carry */
export function loadYamlDocuments(text: string): unknown[] {
  let loaded: unknown[];
  try {
    // the loader's own bound keeps its recursion in check; it counts nodes (scalars, and flow mapping keys, one level
    // more), so it is set a little above, and the exact limit is taken on what it loaded
    loaded = yaml.loadAll(text, undefined, { maxDepth: MAX_NESTING_DEPTH + 2 } as yaml.LoadOptions);
  } catch (e) {
    if ((e as Error).message.startsWith('nesting exceeded maxDepth'))
      throw new Error(depthExceededMessage(), { cause: e });
    throw e;
  }
  const docs = loaded.filter((d) => d !== null && d !== undefined);
  if (!withinExpandedSize(docs)) throw new Error('yaml: document contains excessive aliasing');
  // the exact limit; aliases also nest what they stand for where they appear, which the loader does not count
  if (docs.some((d) => nestingDeeperThan(d, MAX_NESTING_DEPTH))) throw new Error(depthExceededMessage());
  return docs;
}

export function parseYaml(buf: Buffer): any {
  try {
    const docs = loadYamlDocuments(buf.toString('utf8'));
    if (docs.length !== 1) throw new Error(`expected exactly one YAML document, found ${docs.length}`);
    return docs[0];
  } catch (e) {
    throw badRequest(`the body of the request was not valid YAML: ${(e as Error).message}`);
  }
}
