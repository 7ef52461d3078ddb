/**
 * Service account tokens: ES256 JWTs signed with the cluster's sa.key, carrying the claims Kubernetes puts in its
 * bound tokens (iss, sub, aud, exp, iat, nbf, jti and the kubernetes.io claim).
 */
import crypto from 'node:crypto';
import type { Pki } from './pki.ts';
import type { UserInfo } from './user.ts';

/** Kubernetes' default issuer and API audience */
export const DEFAULT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
export const DEFAULT_TOKEN_SECONDS = 3600;
const SA_PREFIX = 'system:serviceaccount:';

export interface ServiceAccountTokenRequest {
  namespace: string;
  name: string;
  uid?: string;
  /** the pod (and its node) the token is bound to */
  pod?: { name: string; uid: string };
  node?: { name: string; uid: string };
  /** the Secret the token is bound to, instead of a pod */
  secret?: { name: string; uid: string };
  audiences?: string[];
  /** lifetime; default one hour */
  expirationSeconds?: number;
  issuer?: string;
  /** for tests: the issue time in seconds since the epoch */
  now?: number;
}

export interface ServiceAccountClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  jti: string;
  'kubernetes.io': {
    namespace: string;
    serviceaccount: { name: string; uid: string };
    pod?: { name: string; uid: string };
    node?: { name: string; uid: string };
    secret?: { name: string; uid: string };
  };
}

export interface VerifyOptions {
  /** accepted audiences (any one must be in the token's aud); default [issuer] */
  audiences?: string[];
  issuer?: string;
  /** seconds since the epoch; default now */
  now?: number;
}

interface Keys {
  privateKey: crypto.KeyObject;
  publicKey: crypto.KeyObject;
  kid: string;
}
const keyCache = new WeakMap<Pki, Keys>();

function keysOf(pki: Pki): Keys {
  let keys = keyCache.get(pki);
  if (!keys) {
    const privateKey = crypto.createPrivateKey(pki.saKeyPem);
    const publicKey = crypto.createPublicKey(pki.saPubPem);
    // key id: hash of the public key's DER, as Kubernetes derives it
    const kid = crypto
      .createHash('sha256')
      .update(publicKey.export({ type: 'spki', format: 'der' }))
      .digest('base64url');
    keys = { privateKey, publicKey, kid };
    keyCache.set(pki, keys);
  }
  return keys;
}

export function signServiceAccountToken(pki: Pki, req: ServiceAccountTokenRequest): string {
  if (!req.namespace || !req.name)
    throw new Error('a service account token needs the namespace and name of its service account');
  const now = req.now ?? Math.floor(Date.now() / 1000);
  const seconds = req.expirationSeconds ?? DEFAULT_TOKEN_SECONDS;
  if (!(seconds > 0)) throw new Error(`expirationSeconds must be positive, got ${seconds}`);
  const iss = req.issuer ?? DEFAULT_ISSUER;
  const claims: ServiceAccountClaims = {
    aud: req.audiences?.length ? req.audiences : [iss],
    exp: now + seconds,
    iat: now,
    iss,
    jti: crypto.randomUUID(),
    'kubernetes.io': {
      namespace: req.namespace,
      ...(req.node ? { node: req.node } : {}),
      ...(req.pod ? { pod: req.pod } : {}),
      ...(req.secret ? { secret: req.secret } : {}),
      serviceaccount: { name: req.name, uid: req.uid ?? '' },
    },
    nbf: now,
    sub: `${SA_PREFIX}${req.namespace}:${req.name}`,
  };
  const keys = keysOf(pki);
  const header = b64json({ alg: 'ES256', kid: keys.kid });
  const body = `${header}.${b64json(claims)}`;
  const sig = crypto.sign('sha256', Buffer.from(body), { key: keys.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${body}.${sig.toString('base64url')}`;
}

/** the token's claims if its signature, issuer, audience and times are valid; otherwise throws saying why */
export function verifyServiceAccountToken(pki: Pki, token: string, opts: VerifyOptions = {}): ServiceAccountClaims {
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error('not a JWT (expected three dot-separated parts)');
  const [h, p, s] = parts as [string, string, string];
  const header = parseJson(h, 'header') as { alg?: unknown };
  if (header.alg !== 'ES256')
    throw new Error(`unsupported signing algorithm ${JSON.stringify(header.alg)} (expected ES256)`);
  const ok = crypto.verify(
    'sha256',
    Buffer.from(`${h}.${p}`),
    { key: keysOf(pki).publicKey, dsaEncoding: 'ieee-p1363' },
    Buffer.from(s, 'base64url'),
  );
  if (!ok) throw new Error('invalid signature');
  const c = parseJson(p, 'payload') as Partial<ServiceAccountClaims>;
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  const issuer = opts.issuer ?? DEFAULT_ISSUER;
  if (c.iss !== issuer) throw new Error(`issuer ${JSON.stringify(c.iss)} is not ${issuer}`);
  const aud = typeof c.aud === 'string' ? [c.aud] : Array.isArray(c.aud) ? c.aud : [];
  const accepted = opts.audiences ?? [issuer];
  if (!aud.some((a) => accepted.includes(a)))
    throw new Error(`token audiences ${JSON.stringify(aud)} include none of ${JSON.stringify(accepted)}`);
  if (typeof c.exp !== 'number' || now >= c.exp)
    throw new Error(
      `token expired at ${typeof c.exp === 'number' ? new Date(c.exp * 1000).toISOString() : '(no exp claim)'}`,
    );
  if (typeof c.nbf === 'number' && now < c.nbf)
    throw new Error(`token not valid before ${new Date(c.nbf * 1000).toISOString()}`);
  const k = c['kubernetes.io'];
  const ns = k?.namespace;
  const name = k?.serviceaccount?.name;
  if (!ns || !name || c.sub !== `${SA_PREFIX}${ns}:${name}`)
    throw new Error('token lacks a consistent service account subject');
  return c as ServiceAccountClaims;
}

/** the user a verified token stands for: system:serviceaccount:<ns>:<name> in system:serviceaccounts[:<ns>] */
export function serviceAccountUser(claims: ServiceAccountClaims): UserInfo {
  const k = claims['kubernetes.io'];
  const extra: Record<string, string[]> = { 'authentication.kubernetes.io/credential-id': [`JTI=${claims.jti}`] };
  if (k.pod) {
    extra['authentication.kubernetes.io/pod-name'] = [k.pod.name];
    extra['authentication.kubernetes.io/pod-uid'] = [k.pod.uid];
  }
  if (k.node) {
    extra['authentication.kubernetes.io/node-name'] = [k.node.name];
    extra['authentication.kubernetes.io/node-uid'] = [k.node.uid];
  }
  return {
    name: claims.sub,
    uid: k.serviceaccount.uid || undefined,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${k.namespace}`],
    extra,
  };
}

function b64json(v: unknown): string {
  return Buffer.from(JSON.stringify(v)).toString('base64url');
}

function parseJson(part: string, what: string): Record<string, unknown> {
  try {
    const v = JSON.parse(Buffer.from(part, 'base64url').toString());
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new Error(`JWT ${what} is not a base64url-encoded JSON object`);
}
