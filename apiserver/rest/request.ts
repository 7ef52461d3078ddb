/**
 * Parsing a resource request path into its parts, Kubernetes' way:
 *   /api/v1/{resource}[/{name}[/{subresource}]]
 *   /api/v1/namespaces/{namespace}/{resource}[/{name}[/{subresource}]]
 *   /apis/{group}/{version}/...   (same shapes)
 * The path is taken as the client sent it (requestPath): URL parsing would remove dot segments, so that
 * pods/%2e%2e would address the namespace holding them (and a DELETE delete it); Kubernetes takes ".." as a name and
 * refuses it.
 */
import { badRequest } from './status.ts';

export interface ResourcePath {
  group: string;
  version: string;
  namespace?: string;
  resource: string;
  name?: string;
  subresource?: string;
}

/** the path of a request target as sent, without its query: no dot segments removed, escapes left as they are */
export function requestPath(target: string | undefined): string {
  if (!target) return '/';
  if (!target.startsWith('/')) return new URL(target, 'https://localhost').pathname; // absolute-form
  const end = target.search(/[?#]/);
  return end < 0 ? target : target.slice(0, end);
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    const bad = /%(?![0-9a-fA-F]{2}).{0,2}/.exec(s)?.[0] ?? s;
    throw badRequest(`invalid URL escape ${JSON.stringify(bad)}`);
  }
}

/** why a name cannot be a path segment (Kubernetes' IsValidPathSegmentName), or an empty list */
export function pathSegmentNameErrors(name: string): string[] {
  if (name === '.' || name === '..') return [`may not be '${name}'`];
  const errs: string[] = [];
  if (name.includes('/')) errs.push(`may not contain '/'`);
  if (name.includes('%')) errs.push(`may not contain '%'`);
  return errs;
}

export function parseResourcePath(pathname: string): ResourcePath | undefined {
  const segs = pathname.split('/').filter((s) => s !== '');
  let group = '';
  let version: string;
  let rest: string[];
  if (segs[0] === 'api') {
    if (segs.length < 3) return undefined;
    version = segs[1];
    rest = segs.slice(2);
  } else if (segs[0] === 'apis') {
    if (segs.length < 4) return undefined;
    group = segs[1];
    version = segs[2];
    rest = segs.slice(3);
  } else return undefined;
  rest = rest.map(decodeSegment);
  // namespaces/{name}[/status|/finalize] addresses the Namespace object itself
  if (
    rest[0] === 'namespaces' &&
    group === '' &&
    (rest.length <= 2 || (rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize')))
  ) {
    return { group, version, resource: 'namespaces', name: rest[1], subresource: rest[2] };
  }
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    if (rest.length > 5) return undefined;
    return { group, version, namespace: rest[1], resource: rest[2], name: rest[3], subresource: rest[4] };
  }
  if (rest.length > 3) return undefined;
  return { group, version, resource: rest[0], name: rest[1], subresource: rest[2] };
}

/** Accept header negotiation: which representation the client wants */
export interface Representation {
  as: 'Object' | 'Table' | 'PartialObjectMetadata' | 'PartialObjectMetadataList';
  yaml: boolean;
  includeObject?: 'None' | 'Metadata' | 'Object';
}

export function negotiate(accept: string | undefined, includeObject?: string): Representation | undefined {
  if (!accept) return { as: 'Object', yaml: false };
  let fallback: Representation | undefined;
  for (const part of accept.split(',')) {
    const [typeRaw, ...params] = part.split(';').map((s) => s.trim());
    const type = typeRaw.toLowerCase();
    const p: Record<string, string> = {};
    for (const kv of params) {
      const i = kv.indexOf('=');
      if (i > 0) p[kv.slice(0, i).trim()] = kv.slice(i + 1).trim();
    }
    const isJson = type === 'application/json' || type === '*/*' || type === 'application/*';
    const isYaml = type === 'application/yaml';
    if (!isJson && !isYaml) continue;
    if (p.as) {
      if (p.g !== 'meta.k8s.io' || (p.v !== 'v1' && p.v !== 'v1beta1')) continue;
      if (p.as === 'Table') return { as: 'Table', yaml: isYaml, includeObject: (includeObject as any) ?? 'Metadata' };
      if (p.as === 'PartialObjectMetadata' || p.as === 'PartialObjectMetadataList') return { as: p.as, yaml: isYaml };
      continue;
    }
    fallback ??= { as: 'Object', yaml: isYaml };
  }
  return fallback;
}
