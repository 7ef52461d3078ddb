/**
 * The HTTP operations skiff serves for each registered resource, described once and rendered by the v2 and v3
 * document builders: paths, methods, operation ids, Kubernetes actions, parameters, bodies and responses, with the
 * names and shapes Kubernetes publishes for the same endpoints.
 */
import type { ResourceInfo } from '../api/resource-info.ts';
import type { GVK } from './model.ts';

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';
export const STATUS_DEF = `${META}Status`;
export const DELETE_OPTIONS_DEF = `${META}DeleteOptions`;
export const WATCH_EVENT_DEF = `${META}WatchEvent`;
export const PATCH_DEF = `${META}Patch`;
export const SCALE_DEF = 'io.k8s.api.autoscaling.v1.Scale';
export const BINDING_DEF = 'io.k8s.api.core.v1.Binding';
export const EVICTION_DEF = 'io.k8s.api.policy.v1.Eviction';

export type ParamType = 'string' | 'boolean' | 'integer';

export interface Param {
  name: string;
  in: 'path' | 'query';
  type: ParamType;
  required?: boolean;
}

export interface Body {
  /** definition name of the body */
  ref: string;
  required: boolean;
}

export interface Response {
  code: string;
  /** definition name, or undefined for a plain string body */
  ref?: string;
}

export type Method = 'get' | 'put' | 'post' | 'patch' | 'delete';

export interface Operation {
  method: Method;
  operationId: string;
  /** x-kubernetes-action: get, list, watch, watchlist, post, put, patch, delete, deletecollection, connect */
  action?: string;
  gvk?: GVK;
  params: Param[];
  body?: Body;
  consumes: string[];
  produces: string[];
  responses: Response[];
}

export interface PathEntry {
  path: string;
  /** parameters shared by every operation of the path */
  params: Param[];
  operations: Operation[];
  /** the /openapi/v3 document the path belongs to: 'api/v1', 'apis/apps/v1', 'api', 'apis', 'apis/apps' */
  document: string;
  /** the tag of its operations, e.g. core_v1 */
  tag: string;
}

export const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
];
const ANY = ['*/*'];
const OBJECT_TYPES = ['application/json', 'application/yaml'];
const LIST_TYPES = [...OBJECT_TYPES, 'application/json;stream=watch'];
const DISCOVERY_TYPES = ['application/json'];

/** kinds whose DELETE answers with the object rather than a Status (graceful deletion or finalizers) */
const DELETE_RETURNS_OBJECT = new Set(['/v1/Pod', '/v1/Service', '/v1/ServiceAccount']);

const q = (name: string, type: ParamType = 'string'): Param => ({ name, in: 'query', type });
const PRETTY = q('pretty');
const NAME: Param = { name: 'name', in: 'path', type: 'string', required: true };
const NAMESPACE: Param = { name: 'namespace', in: 'path', type: 'string', required: true };
const WRITE_PARAMS = [q('dryRun'), q('fieldManager'), q('fieldValidation')];
const PATCH_PARAMS = [...WRITE_PARAMS, q('force', 'boolean')];
const LIST_PARAMS = [
  q('allowWatchBookmarks', 'boolean'),
  q('continue'),
  q('fieldSelector'),
  q('labelSelector'),
  q('limit', 'integer'),
  q('resourceVersion'),
  q('resourceVersionMatch'),
  q('sendInitialEvents', 'boolean'),
  q('timeoutSeconds', 'integer'),
  q('watch', 'boolean'),
];
const DELETE_PARAMS = [
  q('dryRun'),
  q('gracePeriodSeconds', 'integer'),
  q('ignoreStoreReadErrorWithClusterBreakingPotential', 'boolean'),
  q('orphanDependents', 'boolean'),
  q('propagationPolicy'),
];
const DELETECOLLECTION_PARAMS = [
  ...DELETE_PARAMS,
  ...LIST_PARAMS.filter((p) => p.name !== 'watch' && p.name !== 'allowWatchBookmarks'),
].sort((a, b) => a.name.localeCompare(b.name));
const LOG_PARAMS = [
  q('container'),
  q('follow', 'boolean'),
  q('insecureSkipTLSVerifyBackend', 'boolean'),
  q('limitBytes', 'integer'),
  q('previous', 'boolean'),
  q('sinceSeconds', 'integer'),
  q('stream'),
  q('tailLines', 'integer'),
  q('timestamps', 'boolean'),
];
const STREAM_PARAMS = [
  q('container'),
  q('stderr', 'boolean'),
  q('stdin', 'boolean'),
  q('stdout', 'boolean'),
  q('tty', 'boolean'),
];

function camel(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** the group as Kubernetes spells it in operation ids: '' → Core, coordination.k8s.io → Coordination */
function groupWord(group: string): string {
  if (!group) return 'Core';
  return group
    .replace(/\.k8s\.io$/, '')
    .split('.')
    .map(camel)
    .join('');
}

/** the tag Kubernetes gives a group/version: core_v1, apps_v1, rbacAuthorization_v1 */
function tagOf(group: string, version: string): string {
  const word = groupWord(group);
  return `${word.charAt(0).toLowerCase()}${word.slice(1)}_${version}`;
}

export function documentOf(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

function ok(ref: string | undefined, ...codes: string[]): Response[] {
  return codes.map((code) => ({ code, ref }));
}

/** the paths and operations of one resource, following its verbs and subresources */
function resourcePaths(r: ResourceInfo): PathEntry[] {
  const gv = `${groupWord(r.group)}${camel(r.version)}`;
  const prefix = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  const document = documentOf(r.group, r.version);
  const tag = tagOf(r.group, r.version);
  const gvk: GVK = { group: r.group, version: r.version, kind: r.kind };
  const listDef = r.definition.replace(/[^.]+$/, r.listKind);
  const verbs = new Set(r.verbs);
  const scope = r.namespaced ? 'Namespaced' : '';
  const collection = r.namespaced ? `${prefix}/namespaces/{namespace}/${r.resource}` : `${prefix}/${r.resource}`;
  const scopeParams = r.namespaced ? [NAMESPACE] : [];
  const entries: PathEntry[] = [];
  const entry = (path: string, params: Param[], operations: Operation[]) => {
    if (operations.length > 0) entries.push({ path, params, operations, document, tag });
  };
  const op = (
    o: Omit<Operation, 'consumes' | 'produces'> & Partial<Pick<Operation, 'consumes' | 'produces'>>,
  ): Operation => ({
    consumes: ANY,
    produces: OBJECT_TYPES,
    ...o,
  });

  // the collection
  const collectionOps: Operation[] = [];
  if (verbs.has('list')) {
    collectionOps.push(
      op({
        method: 'get',
        operationId: `list${gv}${scope}${r.kind}`,
        action: 'list',
        gvk,
        params: LIST_PARAMS,
        produces: LIST_TYPES,
        responses: ok(listDef, '200'),
      }),
    );
  }
  if (verbs.has('create')) {
    collectionOps.push(
      op({
        method: 'post',
        operationId: `create${gv}${scope}${r.kind}`,
        action: 'post',
        gvk,
        params: WRITE_PARAMS,
        body: { ref: r.definition, required: true },
        responses: ok(r.definition, '200', '201', '202'),
      }),
    );
  }
  if (verbs.has('deletecollection')) {
    collectionOps.push(
      op({
        method: 'delete',
        operationId: `delete${gv}Collection${scope}${r.kind}`,
        action: 'deletecollection',
        gvk,
        params: DELETECOLLECTION_PARAMS,
        body: { ref: DELETE_OPTIONS_DEF, required: false },
        responses: ok(STATUS_DEF, '200'),
      }),
    );
  }
  entry(collection, [...scopeParams, PRETTY], collectionOps);

  // one object
  const item = `${collection}/{name}`;
  const itemParams = [NAME, ...scopeParams, PRETTY];
  const itemOps: Operation[] = [];
  if (verbs.has('get'))
    itemOps.push(
      op({
        method: 'get',
        operationId: `read${gv}${scope}${r.kind}`,
        action: 'get',
        gvk,
        params: [],
        responses: ok(r.definition, '200'),
      }),
    );
  if (verbs.has('update')) {
    itemOps.push(
      op({
        method: 'put',
        operationId: `replace${gv}${scope}${r.kind}`,
        action: 'put',
        gvk,
        params: WRITE_PARAMS,
        body: { ref: r.definition, required: true },
        responses: ok(r.definition, '200', '201'),
      }),
    );
  }
  if (verbs.has('patch')) {
    itemOps.push(
      op({
        method: 'patch',
        operationId: `patch${gv}${scope}${r.kind}`,
        action: 'patch',
        gvk,
        params: PATCH_PARAMS,
        body: { ref: PATCH_DEF, required: true },
        consumes: PATCH_TYPES,
        responses: ok(r.definition, '200', '201'),
      }),
    );
  }
  if (verbs.has('delete')) {
    const returned = DELETE_RETURNS_OBJECT.has(`${r.group}/${r.version}/${r.kind}`) ? r.definition : STATUS_DEF;
    itemOps.push(
      op({
        method: 'delete',
        operationId: `delete${gv}${scope}${r.kind}`,
        action: 'delete',
        gvk,
        params: DELETE_PARAMS,
        body: { ref: DELETE_OPTIONS_DEF, required: false },
        responses: ok(returned, '200', '202'),
      }),
    );
  }
  entry(item, itemParams, itemOps);

  // across all namespaces
  if (r.namespaced && verbs.has('list')) {
    entry(`${prefix}/${r.resource}`, [...LIST_PARAMS, PRETTY].sort(byName), [
      op({
        method: 'get',
        operationId: `list${gv}${r.kind}ForAllNamespaces`,
        action: 'list',
        gvk,
        params: [],
        produces: LIST_TYPES,
        responses: ok(listDef, '200'),
      }),
    ]);
  }

  // the legacy watch paths
  if (verbs.has('watch')) {
    const watchParams = (extra: Param[]) => [...LIST_PARAMS, ...extra, PRETTY].sort(byName);
    const watchPrefix = r.namespaced
      ? `${prefix}/watch/namespaces/{namespace}/${r.resource}`
      : `${prefix}/watch/${r.resource}`;
    const watchOp = (operationId: string, action: string) =>
      op({
        method: 'get',
        operationId,
        action,
        gvk,
        params: [],
        produces: LIST_TYPES,
        responses: ok(WATCH_EVENT_DEF, '200'),
      });
    if (verbs.has('list'))
      entry(watchPrefix, watchParams(scopeParams), [watchOp(`watch${gv}${scope}${r.kind}List`, 'watchlist')]);
    entry(`${watchPrefix}/{name}`, watchParams([NAME, ...scopeParams]), [
      watchOp(`watch${gv}${scope}${r.kind}`, 'watch'),
    ]);
    if (r.namespaced && verbs.has('list')) {
      entry(`${prefix}/watch/${r.resource}`, watchParams([]), [
        watchOp(`watch${gv}${r.kind}ListForAllNamespaces`, 'watchlist'),
      ]);
    }
  }

  for (const sub of r.subresources) {
    const path = `${item}/${sub}`;
    const Sub = camel(sub);
    switch (sub) {
      case 'status':
      case 'scale': {
        const def = sub === 'scale' ? SCALE_DEF : r.definition;
        const subGvk = sub === 'scale' ? { group: 'autoscaling', version: 'v1', kind: 'Scale' } : gvk;
        entry(path, itemParams, [
          op({
            method: 'get',
            operationId: `read${gv}${scope}${r.kind}${Sub}`,
            action: 'get',
            gvk: subGvk,
            params: [],
            responses: ok(def, '200'),
          }),
          op({
            method: 'put',
            operationId: `replace${gv}${scope}${r.kind}${Sub}`,
            action: 'put',
            gvk: subGvk,
            params: WRITE_PARAMS,
            body: { ref: def, required: true },
            responses: ok(def, '200', '201'),
          }),
          op({
            method: 'patch',
            operationId: `patch${gv}${scope}${r.kind}${Sub}`,
            action: 'patch',
            gvk: subGvk,
            params: PATCH_PARAMS,
            body: { ref: PATCH_DEF, required: true },
            consumes: PATCH_TYPES,
            responses: ok(def, '200', '201'),
          }),
        ]);
        break;
      }
      case 'binding':
      case 'eviction': {
        const def = sub === 'binding' ? BINDING_DEF : EVICTION_DEF;
        const subGvk =
          sub === 'binding'
            ? { group: '', version: 'v1', kind: 'Binding' }
            : { group: 'policy', version: 'v1', kind: 'Eviction' };
        entry(path, [...WRITE_PARAMS, ...itemParams].sort(byName), [
          op({
            method: 'post',
            operationId: `create${gv}${scope}${r.kind}${Sub}`,
            action: 'post',
            gvk: subGvk,
            params: [],
            body: { ref: def, required: true },
            responses: ok(def, '200', '201', '202'),
          }),
        ]);
        break;
      }
      case 'finalize':
        entry(path, [...WRITE_PARAMS, ...itemParams].sort(byName), [
          op({
            method: 'put',
            operationId: `replace${gv}${scope}${r.kind}${Sub}`,
            action: 'put',
            gvk,
            params: [],
            body: { ref: r.definition, required: true },
            responses: ok(r.definition, '200', '201'),
          }),
        ]);
        break;
      case 'log':
        entry(path, [...LOG_PARAMS, ...itemParams].sort(byName), [
          op({
            method: 'get',
            operationId: `read${gv}${scope}${r.kind}${Sub}`,
            action: 'get',
            gvk,
            params: [],
            produces: ['text/plain', ...OBJECT_TYPES],
            responses: ok(undefined, '200'),
          }),
        ]);
        break;
      case 'exec':
      case 'attach':
      case 'portforward': {
        const optionsKind = {
          exec: 'PodExecOptions',
          attach: 'PodAttachOptions',
          portforward: 'PodPortForwardOptions',
        }[sub];
        const params =
          sub === 'exec'
            ? [q('command'), ...STREAM_PARAMS]
            : sub === 'attach'
              ? STREAM_PARAMS
              : [q('ports', 'integer')];
        const connectGvk = { group: r.group, version: r.version, kind: optionsKind };
        const connect = (method: 'get' | 'post') =>
          op({
            method,
            operationId: `connect${gv}${camel(method)}${scope}${r.kind}${Sub}`,
            action: 'connect',
            gvk: connectGvk,
            params: [],
            produces: ANY,
            responses: ok(undefined, '200'),
          });
        entry(path, [...params, NAME, ...scopeParams].sort(byName), [connect('get'), connect('post')]);
        break;
      }
      default:
        // a subresource without a published shape is served but not described
        break;
    }
  }
  return entries;
}

function byName(a: Param, b: Param): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** the discovery endpoints: /api/, /api/v1/, /apis/, /apis/<group>/, /apis/<group>/<version>/ */
function discoveryPaths(resources: readonly ResourceInfo[]): PathEntry[] {
  const entries: PathEntry[] = [];
  const get = (operationId: string, ref: string): Operation => ({
    method: 'get',
    operationId,
    params: [],
    consumes: DISCOVERY_TYPES,
    produces: DISCOVERY_TYPES,
    responses: ok(ref, '200'),
  });
  const groups = new Map<string, Set<string>>();
  for (const r of resources) {
    const versions = groups.get(r.group) ?? new Set<string>();
    versions.add(r.version);
    groups.set(r.group, versions);
  }
  entries.push({
    path: '/api/',
    params: [],
    operations: [get('getCoreAPIVersions', `${META}APIVersions`)],
    document: 'api',
    tag: 'core',
  });
  entries.push({
    path: '/apis/',
    params: [],
    operations: [get('getAPIVersions', `${META}APIGroupList`)],
    document: 'apis',
    tag: 'apis',
  });
  for (const [group, versions] of groups) {
    const word = groupWord(group);
    const tagWord = `${word.charAt(0).toLowerCase()}${word.slice(1)}`;
    if (group) {
      entries.push({
        path: `/apis/${group}/`,
        params: [],
        operations: [get(`get${word}APIGroup`, `${META}APIGroup`)],
        document: `apis/${group}`,
        tag: tagWord,
      });
    }
    for (const version of versions) {
      entries.push({
        path: group ? `/apis/${group}/${version}/` : `/api/${version}/`,
        params: [],
        operations: [get(`get${word}${camel(version)}APIResources`, `${META}APIResourceList`)],
        document: documentOf(group, version),
        tag: tagOf(group, version),
      });
    }
  }
  return entries;
}

/** every path skiff describes, discovery first, then each resource in registry order */
export function allPaths(resources: readonly ResourceInfo[]): PathEntry[] {
  const entries = discoveryPaths(resources);
  for (const r of resources) entries.push(...resourcePaths(r));
  return entries;
}

/** the definitions an operation mentions */
export function operationRefs(o: Operation): string[] {
  const refs: string[] = [];
  if (o.body) refs.push(o.body.ref);
  for (const r of o.responses) if (r.ref) refs.push(r.ref);
  return refs;
}
