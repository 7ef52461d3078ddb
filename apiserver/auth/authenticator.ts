/**
 * Request authentication, in Kubernetes' order: a client certificate verified against the cluster CA, then a bearer
 * token (the static token file first, then further token authenticators such as service account tokens).
 * The certificate's user is computed once per TLS connection; a token lookup is one map access or one signature check.
 */
import type http from 'node:http';
import type https from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { Pki } from './pki.ts';
import type { TokenStore } from './tokens.ts';
import { AUTHENTICATED_GROUP, withAuthenticatedGroup, type UserInfo } from './user.ts';
import {
  serviceAccountUser,
  verifyServiceAccountToken,
  type ServiceAccountClaims,
  type VerifyOptions,
} from './service-account.ts';

/** resolves a bearer token to its user, or undefined if this authenticator does not know the token */
export type TokenAuthenticator = (token: string) => UserInfo | undefined;
/** the user a request comes from, or undefined when it carries no valid credentials */
export type Authenticator = (req: http.IncomingMessage) => UserInfo | undefined;

export interface AuthenticatorOptions {
  /** tried in order after the static token file */
  tokenAuthenticators?: TokenAuthenticator[];
}

const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';

/** a bearer token's user: the static token file first, then the further token authenticators (TokenReview asks too) */
export function makeTokenAuthenticator(tokens: TokenStore, opts: AuthenticatorOptions = {}): TokenAuthenticator {
  // a token file user is one object for all its requests: its authenticated form is made once
  const authenticated = new WeakMap<UserInfo, UserInfo>();
  const more = opts.tokenAuthenticators ?? [];
  return (token) => {
    const fromFile = tokens.lookup(token);
    if (fromFile) {
      let out = authenticated.get(fromFile);
      if (!out) authenticated.set(fromFile, (out = withAuthenticatedGroup(fromFile)));
      return out;
    }
    for (const auth of more) {
      const u = auth(token);
      if (u) return withAuthenticatedGroup(u);
    }
    return undefined;
  };
}

/** a bearer token checked for some audiences: its user and the audiences it holds among them, or why not */
export type TokenCheck = (
  token: string,
  audiences: string[] | undefined,
) => { user: UserInfo; audiences: string[] } | { error: string };

/**
 * TokenReview's check: a service account token holds the audiences in its aud claim, a token of the token file the
 * API server's own; a review that names none asks for the API server's
 */
export function makeTokenCheck(
  tokens: TokenStore,
  pki: Pki,
  opts: { apiAudiences: string[]; validate?: (claims: ServiceAccountClaims) => boolean },
): TokenCheck {
  const staticTokens = makeTokenAuthenticator(tokens);
  const api = opts.apiAudiences;
  return (token, audiences) => {
    const wanted = audiences ?? api;
    const fromFile = staticTokens(token);
    if (fromFile) {
      const held = wanted.filter((a) => api.includes(a));
      return held.length > 0
        ? { user: fromFile, audiences: held }
        : {
            error: `token audiences ${JSON.stringify(api)} is invalid for the target audiences ${JSON.stringify(wanted)}`,
          };
    }
    if (token.split('.').length !== 3) return { error: 'invalid bearer token' };
    try {
      const claims = verifyServiceAccountToken(pki, token, { audiences: wanted });
      if (opts.validate && !opts.validate(claims)) return { error: 'service account token has been invalidated' };
      return {
        user: withAuthenticatedGroup(serviceAccountUser(claims)),
        audiences: claims.aud.filter((a) => wanted.includes(a)),
      };
    } catch (e) {
      return { error: (e as Error).message };
    }
  };
}

export function makeAuthenticator(tokens: TokenStore, opts: AuthenticatorOptions = {}): Authenticator {
  const byCertificate = new WeakMap<TLSSocket, UserInfo | null>();
  const byToken = makeTokenAuthenticator(tokens, opts);

  return (req) => {
    // the connection's socket: on HTTP/2, req.socket is a new proxy of it for every stream, the session's is one object
    const socket = ((req as { stream?: { session?: { socket?: TLSSocket } } }).stream?.session?.socket ??
      req.socket) as TLSSocket;
    if (socket.encrypted) {
      let user = byCertificate.get(socket);
      if (user === undefined) {
        user = certificateUser(socket) ?? null;
        byCertificate.set(socket, user);
      }
      if (user) return user;
    }
    const token = bearerToken(req.headers.authorization);
    return token === undefined ? undefined : byToken(token);
  };
}

/** tokens whose signature was verified, at most this many (the oldest verified is forgotten first) */
const VERIFIED_TOKENS = 4096;

/**
 * service account JWTs signed by the cluster's sa.key; `validate` may reject tokens whose objects are gone. The
 * signature of a token is checked once: pods send the same token with every request, so its claims are kept (the expiry
 * and `validate` are still checked on every request).
 */
export function serviceAccountTokenAuthenticator(
  pki: Pki,
  opts: VerifyOptions & { validate?: (claims: ServiceAccountClaims) => boolean } = {},
): TokenAuthenticator {
  const verified = new Map<string, ServiceAccountClaims>();
  return (token) => {
    if (token.split('.').length !== 3) return undefined;
    let claims = verified.get(token);
    const now = opts.now ?? Math.floor(Date.now() / 1000);
    if (claims && now >= claims.exp) {
      verified.delete(token);
      return undefined;
    }
    if (!claims) {
      try {
        claims = verifyServiceAccountToken(pki, token, opts);
      } catch {
        return undefined;
      }
      if (verified.size >= VERIFIED_TOKENS) verified.delete(verified.keys().next().value!);
      verified.set(token, claims);
    }
    if (opts.validate && !opts.validate(claims)) return undefined;
    return serviceAccountUser(claims);
  };
}

/** TLS options for the API server: the serving certificate, and client certificates requested (not required) from the cluster CA */
export function tlsServerOptions(pki: Pki): https.ServerOptions {
  return {
    cert: pki.servingCertPem,
    key: pki.servingKeyPem,
    ca: pki.caCertPem,
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
  };
}

/** the user of a client certificate that chains to the CA and allows client authentication: CN = name, O = groups */
function certificateUser(socket: TLSSocket): UserInfo | undefined {
  if (!socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  if (!cert || !cert.subject) return undefined;
  const eku = cert.ext_key_usage;
  if (eku && !eku.includes(CLIENT_AUTH_OID)) return undefined;
  const name = single(cert.subject.CN);
  if (!name) return undefined;
  const o = cert.subject.O as string | string[] | undefined;
  const groups = o === undefined ? [] : Array.isArray(o) ? [...o] : [o];
  if (!groups.includes(AUTHENTICATED_GROUP)) groups.push(AUTHENTICATED_GROUP);
  return { name, groups };
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** the token of an `Authorization: Bearer <token>` header (scheme case-insensitive, as Kubernetes accepts) */
function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : undefined;
}
