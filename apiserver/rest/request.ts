/**
 * Parsing a resource request path into its parts, Kubernetes' way:
 *   /api/v1/{resource}[/{name}[/{subresource}]]
 *   /api/v1/namespaces/{namespace}/{resource}[/{name}[/{subresource}]]
 *   /apis/{group}/{version}/...   (same shapes)
 * The path is taken as the client sent it (requestPath): URL parsing would remove dot segments, so that
 * pods/%2e%2e would address the namespace holding them (and a DELETE delete it); Kubernetes takes ".." as a name and
 * refuses it.
 */
import { parseFieldSelector } from '../../lib/selectors.ts';
import { badRequest, methodNotSupported } from './status.ts';

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

/**
 * What a request asks for, as k8s.io/apiserver's RequestInfo: resolved once, before authentication, for every filter
 * and handler after it. The fields authorizers read (verb, apiGroup, apiVersion, namespace, resource, subresource,
 * name, path) carry Kubernetes' meanings: the verb of a resource request is get, list, watch, create, update, patch,
 * delete or deletecollection, of any other request the method in lower case; a Namespace's namespace is itself.
 */
export interface RequestInfo {
  /** a request for a resource or one object (/api/v1/pods, /apis/apps/v1/namespaces/a/deployments/b/scale) */
  isResourceRequest: boolean;
  /** the path, as routed (dot segments resolved); the resource path is parsed from the path as sent (target) */
  path: string;
  verb: string;
  /** 'api' or 'apis' for a path below /api/ or /apis/ (resources and their discovery), else '' */
  apiPrefix: string;
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
  /** the resource path the resource handler serves (isResourceRequest) */
  target: ResourcePath | undefined;
  /** why the path cannot be served (a bad escape, a method a watch path does not take): the resource handler answers */
  error: unknown;
}

/** subresources that connect to a pod's node (or proxy): long-running, as Kubernetes counts them */
const CONNECT_SUBRESOURCES = new Set(['log', 'exec', 'attach', 'portforward', 'proxy']);

/** a watch, or a stream from a node: not held to the in-flight limit, not timed */
export function isLongRunning(info: RequestInfo): boolean {
  return info.verb === 'watch' || (info.isResourceRequest && CONNECT_SUBRESOURCES.has(info.subresource));
}

/** a subresource that connects to a pod's node (log, exec, attach, port-forward) */
export function isConnect(info: RequestInfo): boolean {
  return info.isResourceRequest && CONNECT_SUBRESOURCES.has(info.subresource);
}

/**
 * a boolean query parameter as Kubernetes converts it: absent is false, and so are "0" and "false" (any case); any other
 * value, the empty one included (`?watch`), is true
 */
export function boolParam(v: string | null): boolean {
  return v !== null && v !== '0' && v.toLowerCase() !== 'false';
}

/**
 * the deprecated watch paths Kubernetes still serves (/api/v1/watch/namespaces/ns/pods[/name]): the request becomes the
 * watch it stands for (?watch=true; a name pins metadata.name), or undefined for any other path
 */
function legacyWatch(method: string, path: string, query: URLSearchParams): ResourcePath | undefined {
  if (!path.includes('/watch/')) return undefined;
  const m = /^(\/api\/v1|\/apis\/[^/]+\/[^/]+)\/watch(\/.+)$/.exec(path);
  if (!m) return undefined;
  const p = parseResourcePath(m[1] + m[2]);
  if (!p || !p.resource || p.subresource !== undefined) return p && { ...p, resource: '' };
  if (method !== 'GET') throw methodNotSupported(p.group, p.resource, method.toLowerCase());
  query.set('watch', 'true');
  if (p.name !== undefined) {
    const pin = `metadata.name=${p.name.replace(/[\\,=]/g, (c) => `\\${c}`)}`;
    const given = query.get('fieldSelector');
    query.set('fieldSelector', given ? `${given},${pin}` : pin);
  }
  return { ...p, name: undefined };
}

/** the verb of a resource request, from its method and whether it names an object */
function resourceVerb(method: string, named: boolean, query: URLSearchParams): string {
  switch (method) {
    case 'GET':
    case 'HEAD':
      if (named) return 'get';
      return boolParam(query.get('watch')) ? 'watch' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return named ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}

/** a list or watch pinned to one name by its field selector is about that object, as Kubernetes authorizes it */
function pinnedName(query: URLSearchParams): string {
  const fs = query.get('fieldSelector');
  if (!fs || !fs.includes('metadata.name')) return '';
  try {
    const name = parseFieldSelector(fs).equalityValue('metadata.name');
    return name !== undefined && pathSegmentNameErrors(name).length === 0 ? name : '';
  } catch {
    return ''; // the handler refuses the selector in its own words
  }
}

/**
 * The RequestInfo of a request: `target` is the request target as sent (its path is parsed as is), `url` the parsed
 * URL (its pathname routes). A deprecated watch path sets the query the watch stands for.
 */
export function resolveRequestInfo(method: string, target: string | undefined, url: URL): RequestInfo {
  const routed = url.pathname;
  const apiPrefix = routed.startsWith('/api/') ? 'api' : routed.startsWith('/apis/') ? 'apis' : '';
  const info: RequestInfo = {
    isResourceRequest: false,
    path: routed,
    verb: method.toLowerCase(),
    apiPrefix,
    apiGroup: '',
    apiVersion: '',
    namespace: '',
    resource: '',
    subresource: '',
    name: '',
    target: undefined,
    error: undefined,
  };
  if (!apiPrefix) return info;
  const path = requestPath(target);
  let p: ResourcePath | undefined;
  try {
    p = legacyWatch(method, path, url.searchParams) ?? parseResourcePath(path);
  } catch (e) {
    info.error = e;
    return info;
  }
  if (!p || !p.resource) return info;
  info.isResourceRequest = true;
  info.target = p;
  info.apiGroup = p.group;
  info.apiVersion = p.version;
  info.resource = p.resource;
  info.subresource = p.subresource ?? '';
  info.name = p.name ?? '';
  info.namespace = p.namespace ?? (p.group === '' && p.resource === 'namespaces' ? info.name : '');
  info.verb = resourceVerb(method, p.name !== undefined, url.searchParams);
  if (info.verb === 'list' || info.verb === 'watch') info.name = pinnedName(url.searchParams);
  return info;
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
      if (p.as === 'Table')
        return {
          as: 'Table',
          yaml: isYaml,
          includeObject: (includeObject as Representation['includeObject']) ?? 'Metadata',
        };
      if (p.as === 'PartialObjectMetadata' || p.as === 'PartialObjectMetadataList') return { as: p.as, yaml: isYaml };
      continue;
    }
    fallback ??= { as: 'Object', yaml: isYaml };
  }
  return fallback;
}
