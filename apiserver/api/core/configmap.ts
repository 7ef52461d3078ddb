/**
 * ConfigMaps and Secrets: data keys, the 1 MiB size limit, Secret types and their required keys, stringData folded
 * into data, and immutability once `immutable: true` is set.
 */
import type { FieldError } from '../field-error.ts';
import { goJsonSyntaxError } from '../../rest/go-json.ts';
import { isObj, makeStrategy } from '../common.ts';
import { forbidden, immutable, invalid, required, tooLong, jsonEqual } from '../validation/errors.ts';
import { isConfigMapKey } from '../validation/names.ts';

export const MAX_DATA_SIZE = 1024 * 1024;

function validateKeys(
  map: unknown,
  path: string,
  other: unknown,
  otherName: string,
): { errs: FieldError[]; size: number } {
  const errs: FieldError[] = [];
  let size = 0;
  if (!isObj(map)) return { errs, size };
  for (const [k, v] of Object.entries(map)) {
    for (const m of isConfigMapKey(k)) errs.push(invalid(`${path}[${k}]`, k, m));
    if (isObj(other) && k in other) errs.push(invalid(`${path}[${k}]`, k, `duplicate of key present in ${otherName}`));
    size += path === 'binaryData' ? base64Length(String(v ?? '')) : Buffer.byteLength(String(v ?? ''));
  }
  return { errs, size };
}

function base64Length(s: string): number {
  return Buffer.from(s, 'base64').length;
}

function immutabilityErrors(obj: any, old: any, fields: string[]): FieldError[] {
  if (old?.immutable !== true) return [];
  const errs: FieldError[] = [];
  if (obj?.immutable !== true) errs.push(forbidden('immutable', 'field is immutable when `immutable` is set'));
  for (const f of fields)
    if (!jsonEqual(obj?.[f] ?? {}, old?.[f] ?? {}))
      errs.push(forbidden(f, 'field is immutable when `immutable` is set'));
  return errs;
}

export const configMapStrategy = makeStrategy({
  namespaced: true,
  validate(cm) {
    const a = validateKeys(cm?.data, 'data', cm?.binaryData, 'binaryData');
    const b = validateKeys(cm?.binaryData, 'binaryData', cm?.data, 'data');
    const errs = [...a.errs, ...b.errs];
    if (a.size + b.size > MAX_DATA_SIZE) errs.push(tooLong('', MAX_DATA_SIZE));
    return errs;
  },
  validateUpdate: (cm, old) => immutabilityErrors(cm, old, ['data', 'binaryData']),
});

const SECRET_REQUIRED: Record<string, string[]> = {
  'kubernetes.io/dockercfg': ['.dockercfg'],
  'kubernetes.io/dockerconfigjson': ['.dockerconfigjson'],
  'kubernetes.io/ssh-auth': ['ssh-privatekey'],
  'kubernetes.io/tls': ['tls.crt', 'tls.key'],
};

function decode(v: unknown): Buffer | undefined {
  if (typeof v !== 'string') return undefined;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 === 1) return undefined;
  return Buffer.from(v, 'base64');
}

export function defaultSecret(secret: any): void {
  if (!secret.type) secret.type = 'Opaque';
  // stringData is write-only: folded into data (base64) as the API stores it
  if (isObj(secret.stringData)) {
    secret.data ??= {};
    for (const [k, v] of Object.entries(secret.stringData))
      secret.data[k] = Buffer.from(String(v ?? '')).toString('base64');
  }
  delete secret.stringData;
}

/** Go's error for valid JSON that is not an object, decoded into a map[string]interface{} */
function notAnObject(bytes: Buffer): string | undefined {
  const v: unknown = JSON.parse(bytes.toString('utf8'));
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) return undefined;
  const kind = v === null ? undefined : Array.isArray(v) ? 'array' : typeof v === 'boolean' ? 'bool' : typeof v;
  return kind && `json: cannot unmarshal ${kind} into Go value of type map[string]interface {}`;
}

export function validateSecret(secret: any): FieldError[] {
  const errs: FieldError[] = [];
  const data = isObj(secret?.data) ? secret.data : {};
  let size = 0;
  for (const [k, v] of Object.entries(data)) {
    for (const m of isConfigMapKey(k)) errs.push(invalid(`data[${k}]`, k, m));
    const bytes = decode(v);
    if (!bytes) errs.push(invalid(`data[${k}]`, '<secret contents redacted>', 'must be base64-encoded data'));
    else size += bytes.length;
  }
  if (size > MAX_DATA_SIZE) errs.push(tooLong('data', MAX_DATA_SIZE));
  const type = secret?.type ?? 'Opaque';
  switch (type) {
    case 'kubernetes.io/service-account-token':
      if (!secret?.metadata?.annotations?.['kubernetes.io/service-account.name']) {
        errs.push(required('metadata.annotations[kubernetes.io/service-account.name]'));
      }
      break;
    case 'kubernetes.io/basic-auth':
      if (!('username' in data) && !('password' in data))
        errs.push(required('data[username]'), required('data[password]'));
      break;
    case 'kubernetes.io/dockercfg':
    case 'kubernetes.io/dockerconfigjson': {
      const key = SECRET_REQUIRED[type][0];
      if (!(key in data)) {
        errs.push(required(`data[${key}]`));
        break;
      }
      // Go's decoding error, which names a character and never the contents (the parser's own message quotes them)
      const bytes = decode(data[key]) ?? Buffer.alloc(0);
      const why = goJsonSyntaxError(bytes) ?? notAnObject(bytes);
      if (why) errs.push(invalid(`data[${key}]`, '<secret contents redacted>', why));
      break;
    }
    case 'kubernetes.io/ssh-auth':
      if (!decode(data['ssh-privatekey'])?.length) errs.push(required('data[ssh-privatekey]'));
      break;
    case 'kubernetes.io/tls':
      for (const k of SECRET_REQUIRED[type]) if (!(k in data)) errs.push(required(`data[${k}]`));
      break;
    default:
      break;
  }
  return errs;
}

export const secretStrategy = makeStrategy({
  namespaced: true,
  defaults: defaultSecret,
  validate: validateSecret,
  validateUpdate: (s, old) => [
    ...immutable('type', s?.type ?? '', old?.type ?? ''),
    ...immutabilityErrors(s, old, ['data']),
  ],
  fields: (s) => ({ type: String(s?.type ?? '') }),
});
