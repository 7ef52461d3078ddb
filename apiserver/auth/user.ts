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

/** the user with system:authenticated among its groups (the same object when it is there already) */
export function withAuthenticatedGroup(u: UserInfo): UserInfo {
  return u.groups.includes(AUTHENTICATED_GROUP) ? u : { ...u, groups: [...u.groups, AUTHENTICATED_GROUP] };
}
