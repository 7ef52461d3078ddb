/** Reading and decoding request bodies: size limit, JSON or YAML, Kubernetes' errors for each failure. */
import type { IncomingMessage } from 'node:http';
import yaml from 'js-yaml';
import { badRequest, tooLarge, unsupportedMediaType } from './status.ts';
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

/** decode a create/update body (JSON or YAML) into an object */
export function decodeObject(buf: Buffer, type: string): any {
  if (type === '' || type === 'application/json' || type === '*/*') return parseJson(buf);
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

export function parseJson(buf: Buffer): any {
  const text = buf.toString('utf8');
  if (!text.trim()) throw badRequest('the body of the request is empty: expected a JSON object');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(`the body of the request was not valid JSON: ${(e as Error).message}`);
  }
}

export function parseYaml(buf: Buffer): any {
  try {
    const docs = yaml.loadAll(buf.toString('utf8')).filter((d) => d !== null && d !== undefined);
    if (docs.length !== 1) throw new Error(`expected exactly one YAML document, found ${docs.length}`);
    return docs[0];
  } catch (e) {
    throw badRequest(`the body of the request was not valid YAML: ${(e as Error).message}`);
  }
}
