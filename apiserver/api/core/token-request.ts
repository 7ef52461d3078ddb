/**
 * The serviceaccounts/token subresource: POST an authentication.k8s.io/v1 TokenRequest, get it back with
 * status.token (a signed, audience- and time-bound JWT) and status.expirationTimestamp, as Kubernetes' TokenREST
 * answers. spec.audiences defaults to the API audiences, spec.expirationSeconds to 3600 (at least 600, at most 2^32);
 * spec.boundObjectRef may name a Pod (whose serviceAccountName must be this ServiceAccount; the token then also
 * carries the pod's node), a Secret or a Node of the same namespace, and its uid must match the live object.
 * Also: the check of a bound token's objects when it is presented (`boundTokenStillValid`).
 */
import type { ServiceAccountClaims, ServiceAccountTokenRequest } from '../../auth/service-account.ts';
import { badRequest, conflict, invalidObject, notFound } from '../../rest/status.ts';
import type { FieldError } from '../field-error.ts';
import { invalid } from '../validation/errors.ts';
import { rfc3339 } from '../../../lib/time.ts';

export const TOKEN_REQUEST_API_VERSION = 'authentication.k8s.io/v1';
export const DEFAULT_TOKEN_REQUEST_SECONDS = 3600;
export const MIN_TOKEN_REQUEST_SECONDS = 600;
export const MAX_TOKEN_REQUEST_SECONDS = 2 ** 32;
/** a token bound to an object being deleted stays valid this long after its deletionTimestamp, as in Kubernetes */
export const BOUND_OBJECT_DELETION_GRACE_SECONDS = 60;

export interface TokenRequestDeps {
  serviceAccount(namespace: string, name: string): Promise<any | undefined>;
  pod(namespace: string, name: string): Promise<any | undefined>;
  secret(namespace: string, name: string): Promise<any | undefined>;
  node(name: string): Promise<any | undefined>;
  sign(req: ServiceAccountTokenRequest): string;
  /** the API audiences (default for spec.audiences) */
  audiences: string[];
  /** milliseconds since the epoch; default Date.now */
  now?: () => number;
}

const invalidTokenRequest = (name: string, errs: FieldError[]) =>
  invalidObject('TokenRequest', name, errs, 'authentication.k8s.io');

/** ValidateTokenRequest: the lifetime bounds */
export function validateTokenRequest(tr: any): FieldError[] {
  const errs: FieldError[] = [];
  const secs = tr?.spec?.expirationSeconds;
  if (typeof secs !== 'number' || !Number.isInteger(secs)) {
    errs.push(invalid('spec.expirationSeconds', secs, 'must be an integer'));
    return errs;
  }
  if (secs < MIN_TOKEN_REQUEST_SECONDS)
    errs.push(invalid('spec.expirationSeconds', secs, 'may not specify a duration less than 10 minutes'));
  if (secs > MAX_TOKEN_REQUEST_SECONDS)
    errs.push(invalid('spec.expirationSeconds', secs, 'may not specify a duration larger than 2^32 seconds'));
  return errs;
}

/** handles POST .../namespaces/<ns>/serviceaccounts/<name>/token; returns the TokenRequest to answer with (201) */
export async function createTokenRequest(
  deps: TokenRequestDeps,
  namespace: string,
  name: string,
  body: any,
): Promise<any> {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw badRequest('the body of the request must be a JSON object of kind TokenRequest');
  if (body.kind && body.kind !== 'TokenRequest')
    throw badRequest(`the kind in the data (${body.kind}) does not match the expected kind (TokenRequest)`);
  if (body.apiVersion && body.apiVersion !== TOKEN_REQUEST_API_VERSION) {
    throw badRequest(
      `the API version in the data (${body.apiVersion}) does not match the expected API version (${TOKEN_REQUEST_API_VERSION})`,
    );
  }
  const req = structuredClone(body);
  const md = (req.metadata ??= {});
  if (md.name && md.name !== name)
    throw invalidTokenRequest(name, [
      invalid('metadata.name', md.name, 'must match the service account name if specified'),
    ]);
  if (md.namespace && md.namespace !== namespace) {
    throw invalidTokenRequest(name, [
      invalid('metadata.namespace', md.namespace, 'must match the service account namespace if specified'),
    ]);
  }
  const spec = (req.spec ??= {});
  if (spec.expirationSeconds === undefined || spec.expirationSeconds === null)
    spec.expirationSeconds = DEFAULT_TOKEN_REQUEST_SECONDS;

  const sa = await deps.serviceAccount(namespace, name);
  if (!sa) throw notFound('', 'serviceaccounts', name);
  if (!Array.isArray(spec.audiences) || spec.audiences.length === 0) spec.audiences = [...deps.audiences];
  const nowMs = (deps.now ?? Date.now)();
  const errs = validateTokenRequest(req);
  if (errs.length > 0) throw invalidTokenRequest('', errs);

  const bound: Pick<ServiceAccountTokenRequest, 'pod' | 'node'> & { secret?: { name: string; uid: string } } = {};
  const ref = spec.boundObjectRef;
  if (ref) {
    const apiVersion = String(ref.apiVersion ?? '');
    const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
    const kind = String(ref.kind ?? '');
    const refName = String(ref.name ?? '');
    let uid: string;
    if (group === '' && kind === 'Pod') {
      const pod = await deps.pod(namespace, refName);
      if (!pod) throw notFound('', 'pods', refName);
      const podSa = pod.spec?.serviceAccountName ?? '';
      if (podSa !== name)
        throw badRequest(
          `cannot bind token for serviceaccount "${name}" to pod running with different serviceaccount name.`,
        );
      uid = pod.metadata?.uid ?? '';
      bound.pod = { name: pod.metadata.name, uid };
      const nodeName = pod.spec?.nodeName;
      if (nodeName) {
        const node = await deps.node(nodeName);
        bound.node = { name: nodeName, uid: node?.metadata?.uid ?? '' };
      }
    } else if (group === '' && kind === 'Secret') {
      const secret = await deps.secret(namespace, refName);
      if (!secret) throw notFound('', 'secrets', refName);
      uid = secret.metadata?.uid ?? '';
      bound.secret = { name: secret.metadata.name, uid };
    } else if (group === '' && kind === 'Node') {
      const node = await deps.node(refName);
      if (!node) throw notFound('', 'nodes', refName);
      uid = node.metadata?.uid ?? '';
      bound.node = { name: node.metadata.name, uid };
    } else {
      throw badRequest(`cannot bind token to object of type ${gvkString(apiVersion, kind)}`);
    }
    if (ref.uid && ref.uid !== uid) {
      throw conflict(
        '',
        kind,
        refName,
        `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`,
      );
    }
  }

  const now = Math.floor(nowMs / 1000);
  const token = deps.sign({
    namespace,
    name,
    uid: sa.metadata?.uid ?? '',
    pod: bound.pod,
    node: bound.node,
    secret: bound.secret,
    audiences: spec.audiences,
    expirationSeconds: spec.expirationSeconds,
    now,
  });
  return {
    kind: 'TokenRequest',
    apiVersion: TOKEN_REQUEST_API_VERSION,
    metadata: { name, namespace, creationTimestamp: rfc3339(new Date(nowMs)) },
    spec: { audiences: spec.audiences, expirationSeconds: spec.expirationSeconds, boundObjectRef: ref ?? null },
    status: { token, expirationTimestamp: rfc3339(new Date((now + spec.expirationSeconds) * 1000)) },
  };
}

function gvkString(apiVersion: string, kind: string): string {
  const [g, v] = apiVersion.includes('/') ? apiVersion.split('/', 2) : ['', apiVersion];
  return `${g}/${v}, Kind=${kind}`;
}

/** what a bound token's check needs of a live object */
export interface ObjectIdentity {
  uid?: string;
  deletionTimestamp?: string;
}

/** what the authenticator can read of the live objects (the API server's caches) */
export interface BoundObjectLookup {
  serviceAccount(namespace: string, name: string): ObjectIdentity | undefined;
  pod(namespace: string, name: string): ObjectIdentity | undefined;
  secret(namespace: string, name: string): ObjectIdentity | undefined;
}

/**
 * Whether a verified token's objects still stand, as Kubernetes' service account validator checks them: the
 * ServiceAccount (same uid, not being deleted), and the Pod / Secret / Node it is bound to (same uid; a pod or
 * secret being deleted for more than a minute ends it). Tokens bound to a node only are not checked against it.
 */
export function boundTokenStillValid(
  claims: ServiceAccountClaims,
  live: BoundObjectLookup,
  nowSeconds = Math.floor(Date.now() / 1000),
): boolean {
  const k = claims['kubernetes.io'];
  const sa = live.serviceAccount(k.namespace, k.serviceaccount.name);
  if (!sa || sa.deletionTimestamp) return false;
  if (k.serviceaccount.uid && sa.uid !== k.serviceaccount.uid) return false;
  const deletedTooLongAgo = (o: ObjectIdentity) =>
    !!o.deletionTimestamp && Date.parse(o.deletionTimestamp) / 1000 < nowSeconds - BOUND_OBJECT_DELETION_GRACE_SECONDS;
  if (k.pod) {
    const pod = live.pod(k.namespace, k.pod.name);
    if (!pod || pod.uid !== k.pod.uid || deletedTooLongAgo(pod)) return false;
  }
  const secret = (k as { secret?: { name: string; uid: string } }).secret;
  if (secret) {
    const s = live.secret(k.namespace, secret.name);
    if (!s || s.uid !== secret.uid || deletedTooLongAgo(s)) return false;
  }
  return true;
}
