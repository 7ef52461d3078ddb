/**
 * The server's credentials: the cluster PKI (serving certificate, CA, service account signing key), the static token
 * file, the authenticator built on them, the token check TokenReview answers with, and the client certificate the
 * server shows node agents. Without TLS (tests of the HTTP layer) every request is anonymous.
 */
import type https from 'node:https';
import path from 'node:path';
import {
  DEFAULT_ISSUER,
  ensurePki,
  makeAuthenticator,
  makeTokenCheck,
  serviceAccountTokenAuthenticator,
  TokenStore,
  tlsServerOptions,
  type Authenticator,
  type Pki,
  type TokenCheck,
} from './auth/index.ts';
import { issueClientCert } from './auth/pki.ts';
import { boundTokenStillValid } from './api/core/token-request.ts';
import type { ObjectLookup } from './lookup.ts';

export interface Credentials {
  pki?: Pki;
  tokens?: TokenStore;
  authenticate: Authenticator;
  /** a bearer token checked for audiences, for TokenReview */
  checkToken: TokenCheck;
  /** TLS options of the listener (none: plain HTTP) */
  tls?: https.ServerOptions;
  /** the client certificate for node agents (pods/log, exec, attach, portforward) */
  kubeletClient?: { certPem: string; keyPem: string };
}

export interface CredentialOptions {
  dataDir: string;
  insecure?: boolean;
  extraSans?: string[];
  serviceCidr?: string;
}

export async function loadCredentials(opts: CredentialOptions, objects: ObjectLookup): Promise<Credentials> {
  if (opts.insecure) {
    return {
      authenticate: () => ({ name: 'anonymous', groups: [] }),
      checkToken: () => ({ error: 'the server authenticates no tokens' }),
    };
  }
  const pki = await ensurePki(path.join(opts.dataDir, 'pki'), {
    extraSans: opts.extraSans,
    serviceCidr: opts.serviceCidr,
  });
  const tokens = await TokenStore.open(path.join(opts.dataDir, 'pki', 'tokens.csv'));
  // tokens stop working once their ServiceAccount, or the pod or secret they are bound to, is gone (the caches say)
  const validate = (claims: Parameters<typeof boundTokenStillValid>[0]) =>
    boundTokenStillValid(claims, {
      serviceAccount: (n, name) => objects.identity('/v1/serviceaccounts', n, name),
      pod: (n, name) => objects.identity('/v1/pods', n, name),
      secret: (n, name) => objects.identity('/v1/secrets', n, name),
    });
  return {
    pki,
    tokens,
    authenticate: makeAuthenticator(tokens, {
      tokenAuthenticators: [serviceAccountTokenAuthenticator(pki, { validate })],
    }),
    checkToken: makeTokenCheck(tokens, pki, { apiAudiences: [DEFAULT_ISSUER], validate }),
    tls: tlsServerOptions(pki),
    kubeletClient: await issueClientCert(pki, 'kube-apiserver-kubelet-client', ['system:masters']),
  };
}
