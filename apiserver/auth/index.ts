/** Certificates, authentication and kubeconfig files for skiff's API server. */
export { ensurePki, issueClientCert, clientCertProblem, PKI_FILES, type Pki, type PkiOptions } from './pki.ts';
export { servingNames, firstServiceIp, DEFAULT_SERVICE_CIDR } from './serving-names.ts';
export {
  kubeconfigYaml,
  writeAdminKubeconfig,
  ADMIN_USER,
  ADMIN_GROUPS,
  CLUSTER_NAME,
  type KubeconfigOptions,
} from './kubeconfig.ts';
export { TokenStore } from './tokens.ts';
export { AUTHENTICATED_GROUP, type UserInfo } from './user.ts';
export {
  makeAuthenticator,
  makeTokenAuthenticator,
  makeTokenCheck,
  type TokenCheck,
  serviceAccountTokenAuthenticator,
  tlsServerOptions,
  type Authenticator,
  type AuthenticatorOptions,
  type TokenAuthenticator,
} from './authenticator.ts';
export {
  signServiceAccountToken,
  verifyServiceAccountToken,
  serviceAccountUser,
  DEFAULT_ISSUER,
  type ServiceAccountClaims,
  type ServiceAccountTokenRequest,
  type VerifyOptions,
} from './service-account.ts';
