/**
 * Authorization, as k8s.io/apiserver's authorizer package: an Authorizer decides on the Attributes of one request
 * (who, which verb, on which resource or path). The first authorizer of the list with an opinion decides; a request
 * no authorizer allows is forbidden. skiff allows every authenticated request (alwaysAllow); an RBAC authorizer is
 * one more implementation of the interface, put in the list of `authorizers` in server.ts.
 */
import type { UserInfo } from '../auth/user.ts';
import type { RequestInfo } from '../rest/request.ts';
import { forbidden, type ApiError } from '../rest/status.ts';

/** what is asked of an authorizer: one user, one verb, one resource (or a non-resource path) */
export interface Attributes {
  user: UserInfo;
  /** get, list, watch, create, update, patch, delete, deletecollection, impersonate, ...; a non-resource one: get, post, ... */
  verb: string;
  isResourceRequest: boolean;
  /** the path of a non-resource request */
  path: string;
  apiGroup: string;
  apiVersion: string;
  /** '' for a cluster-scoped resource; for a Namespace, the namespace itself */
  namespace: string;
  resource: string;
  subresource: string;
  /** '' for a collection */
  name: string;
}

export type Decision = 'allow' | 'deny' | 'no-opinion';

export interface Authorization {
  decision: Decision;
  /** why, for the client (appended to the 403's message) and the log */
  reason: string;
}

export interface Authorizer {
  /** synchronous: decisions come from what the server holds (RBAC's rules are read from its caches) */
  authorize(attributes: Attributes): Authorization;
}

const ALLOWED: Authorization = Object.freeze({ decision: 'allow', reason: '' });
const NO_OPINION: Authorization = Object.freeze({ decision: 'no-opinion', reason: '' });

/** every request is allowed (Kubernetes' AlwaysAllow mode) */
export const alwaysAllow: Authorizer = { authorize: () => ALLOWED };

/** the authorizers in order: the first that allows or denies decides (Kubernetes' union authorizer) */
export function firstOpinion(authorizers: readonly Authorizer[]): Authorizer {
  if (authorizers.length === 1) return authorizers[0];
  return {
    authorize(a) {
      const reasons: string[] = [];
      for (const z of authorizers) {
        const d = z.authorize(a);
        if (d.decision !== 'no-opinion') return d;
        if (d.reason) reasons.push(d.reason);
      }
      return reasons.length === 0 ? NO_OPINION : { decision: 'no-opinion', reason: reasons.join('\n') };
    },
  };
}

/** the Attributes of a request as its RequestInfo describes it */
export function requestAttributes(user: UserInfo, info: RequestInfo): Attributes {
  return {
    user,
    verb: info.verb,
    isResourceRequest: info.isResourceRequest,
    path: info.path,
    apiGroup: info.apiGroup,
    apiVersion: info.apiVersion,
    namespace: info.namespace,
    resource: info.resource,
    subresource: info.subresource,
    name: info.name,
  };
}

/** Kubernetes' wording of a refusal: `User "x" cannot create resource "pods" in API group "" in the namespace "y"` */
export function forbiddenMessage(a: Attributes): string {
  const who = `User ${JSON.stringify(a.user.name)}`;
  if (!a.isResourceRequest) return `${who} cannot ${a.verb} path ${JSON.stringify(a.path)}`;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const what = `${who} cannot ${a.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(a.apiGroup)}`;
  return a.namespace ? `${what} in the namespace ${JSON.stringify(a.namespace)}` : `${what} at the cluster scope`;
}

/** the 403 Forbidden a refused request answers */
export function forbiddenError(a: Attributes, reason: string): ApiError {
  const why = reason ? `${forbiddenMessage(a)}: ${reason}` : forbiddenMessage(a);
  return forbidden(a.isResourceRequest ? a.apiGroup : '', a.isResourceRequest ? a.resource : '', a.name, why);
}
