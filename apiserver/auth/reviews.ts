/**
 * The review kinds: objects a client creates to ask a question, answered in their status and never stored.
 *   authentication.k8s.io/v1 SelfSubjectReview   who am I (kubectl auth whoami)
 *   authentication.k8s.io/v1 TokenReview         whose token is this, for which audiences (components that
 *                                                authenticate their callers with the cluster's tokens)
 *   authorization.k8s.io/v1  SelfSubjectAccessReview, SubjectAccessReview, LocalSubjectAccessReview,
 *                            SelfSubjectRulesReview (kubectl auth can-i [--list])
 * skiff authorizes every authenticated request (Kubernetes' AlwaysAllow mode), so every access review is allowed
 * and the rules are "everything"; the answers say so rather than guess at roles nobody enforces.
 */
import type { FieldError } from '../api/field-error.ts';
import { isObj } from '../api/common.ts';
import type { UserInfo } from './user.ts';
import type { TokenCheck } from './authenticator.ts';

/** a review answered: the object to send back (201), or the field errors of a 422 */
export type ReviewAnswer = { object: any } | { invalid: FieldError[] };

export interface ReviewRequest {
  /** who asks */
  user: UserInfo;
  /** the decoded body */
  body: any;
  /** the namespace of the path (LocalSubjectAccessReview) */
  namespace?: string;
}

export type Review = (req: ReviewRequest) => ReviewAnswer;

/** the user as Kubernetes writes a UserInfo: extra only when there is some */
function userInfo(u: UserInfo): Record<string, unknown> {
  const out: Record<string, unknown> = { username: u.name };
  if (u.uid) out.uid = u.uid;
  out.groups = [...u.groups];
  if (u.extra && Object.keys(u.extra).length > 0) out.extra = u.extra;
  return out;
}

/** the body sent back with its status filled in (type meta first, no creationTimestamp, as Kubernetes answers) */
function answer(apiVersion: string, kind: string, body: any, status: unknown): ReviewAnswer {
  const { apiVersion: _a, kind: _k, metadata, status: _s, ...rest } = isObj(body) ? body : {};
  return {
    object: {
      apiVersion,
      kind,
      metadata: { ...(isObj(metadata) ? metadata : {}), creationTimestamp: null },
      ...rest,
      status,
    },
  };
}

/** Kubernetes' ValidateSelfSubjectAccessReviewSpec and friends: exactly one of the two kinds of attributes */
function attributesErrors(spec: any): FieldError[] {
  const hasResource = isObj(spec?.resourceAttributes);
  const hasNonResource = isObj(spec?.nonResourceAttributes);
  if (hasResource === hasNonResource) {
    return [
      {
        type: 'FieldValueInvalid',
        field: 'spec.resourceAttributes',
        value: spec?.resourceAttributes ?? null,
        detail: 'exactly one of nonResourceAttributes or resourceAttributes must be specified',
      },
    ];
  }
  return [];
}

/** a review about someone else: the attributes, and who (a user, groups or a uid) */
function subjectErrors(spec: any): FieldError[] {
  const errs = attributesErrors(spec);
  if (!spec?.user && !(Array.isArray(spec?.groups) && spec.groups.length > 0) && !spec?.uid) {
    errs.push({
      type: 'FieldValueInvalid',
      field: 'spec.user',
      value: spec?.user ?? '',
      detail: 'at least one of user or group must be specified',
    });
  }
  return errs;
}

const ALLOWED = { allowed: true };

export function makeReviews(checkToken: TokenCheck): Map<string, Review> {
  const AUTHN = 'authentication.k8s.io/v1';
  const AUTHZ = 'authorization.k8s.io/v1';
  return new Map<string, Review>([
    [
      'authentication.k8s.io/selfsubjectreviews',
      ({ user, body }) => answer(AUTHN, 'SelfSubjectReview', body, { userInfo: userInfo(user) }),
    ],
    [
      'authentication.k8s.io/tokenreviews',
      ({ body }) => {
        const token = body?.spec?.token;
        if (typeof token !== 'string' || token === '')
          return { invalid: [{ type: 'FieldValueRequired', field: 'spec.token' }] };
        const asked =
          Array.isArray(body?.spec?.audiences) && body.spec.audiences.length > 0
            ? body.spec.audiences.map(String)
            : undefined;
        const res = checkToken(token, asked);
        const status =
          'error' in res
            ? { user: {}, error: res.error }
            : { authenticated: true, user: userInfo(res.user), audiences: res.audiences };
        return answer(AUTHN, 'TokenReview', body, status);
      },
    ],
    [
      'authorization.k8s.io/selfsubjectaccessreviews',
      ({ body }) => {
        const errs = attributesErrors(body?.spec);
        return errs.length > 0 ? { invalid: errs } : answer(AUTHZ, 'SelfSubjectAccessReview', body, ALLOWED);
      },
    ],
    [
      'authorization.k8s.io/subjectaccessreviews',
      ({ body }) => {
        const errs = subjectErrors(body?.spec);
        return errs.length > 0 ? { invalid: errs } : answer(AUTHZ, 'SubjectAccessReview', body, ALLOWED);
      },
    ],
    [
      'authorization.k8s.io/localsubjectaccessreviews',
      ({ body, namespace }) => {
        const spec = body?.spec;
        const errs = subjectErrors(spec);
        const ns = spec?.resourceAttributes?.namespace;
        if (isObj(spec?.resourceAttributes) && ns !== namespace) {
          errs.push({
            type: 'FieldValueInvalid',
            field: 'spec.resourceAttributes.namespace',
            value: ns ?? '',
            detail: 'must match metadata.namespace',
          });
        }
        const body2 = isObj(body)
          ? { ...body, metadata: { ...(isObj(body.metadata) ? body.metadata : {}), namespace } }
          : body;
        return errs.length > 0 ? { invalid: errs } : answer(AUTHZ, 'LocalSubjectAccessReview', body2, ALLOWED);
      },
    ],
    [
      'authorization.k8s.io/selfsubjectrulesreviews',
      ({ body }) =>
        answer(AUTHZ, 'SelfSubjectRulesReview', body, {
          resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }],
          nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
          incomplete: false,
        }),
    ],
  ]);
}
