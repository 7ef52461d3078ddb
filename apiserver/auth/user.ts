/** Who a request comes from, as Kubernetes' authenticators describe it. */
export interface UserInfo {
  name: string;
  uid?: string;
  groups: string[];
  /** more facts about the credential, e.g. authentication.kubernetes.io/pod-name for service account tokens */
  extra?: Record<string, string[]>;
}

/** added to every authenticated user's groups */
export const AUTHENTICATED_GROUP = 'system:authenticated';
