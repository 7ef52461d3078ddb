/**
 * Impersonation (kubectl --as, --as-group, --as-uid): the request acts as the user its Impersonate-* headers name
 * (auth/impersonation.ts), once the authorizer allows the authenticated user to impersonate each of them: verb
 * impersonate on users (or the serviceaccount), groups, uids and userextras/<key>, as Kubernetes checks it.
 */
import type { IncomingMessage } from 'node:http';
import { headerValues, ImpersonationError, impersonated } from '../auth/impersonation.ts';
import type { UserInfo } from '../auth/user.ts';
import { forbiddenError, type Attributes, type Authorizer } from '../authorization/authorizer.ts';
import { ApiError, badRequest } from '../rest/status.ts';
import { refuse, type Filter } from './chain.ts';

const SERVICE_ACCOUNT = /^system:serviceaccount:([^:]+):([^:]+)$/;

function impersonateAttributes(user: UserInfo, apiGroup: string, resource: string, name: string): Attributes {
  return {
    user,
    verb: 'impersonate',
    isResourceRequest: true,
    path: '',
    apiGroup,
    apiVersion: '',
    namespace: '',
    resource,
    subresource: '',
    name,
  };
}

/** what impersonating `as` asks of the authorizer, one Attributes per user, group, uid and extra value named */
function asked(req: IncomingMessage, user: UserInfo, as: UserInfo): Attributes[] {
  const out: Attributes[] = [];
  const sa = SERVICE_ACCOUNT.exec(as.name);
  if (sa) out.push({ ...impersonateAttributes(user, '', 'serviceaccounts', sa[2]), namespace: sa[1] });
  else out.push(impersonateAttributes(user, '', 'users', as.name));
  for (const g of headerValues(req, 'impersonate-group')) out.push(impersonateAttributes(user, '', 'groups', g));
  if (as.uid) out.push(impersonateAttributes(user, 'authentication.k8s.io', 'uids', as.uid));
  for (const [key, values] of Object.entries(as.extra ?? {}))
    for (const v of values)
      out.push({ ...impersonateAttributes(user, 'authentication.k8s.io', 'userextras', v), subresource: key });
  return out;
}

/** the refusal of the first impersonation the authorizer does not allow, if any */
function refusal(authorizer: Authorizer, attributes: Attributes[]): ApiError | undefined {
  for (const a of attributes) {
    const d = authorizer.authorize(a);
    if (d.decision !== 'allow') return forbiddenError(a, d.reason);
  }
  return undefined;
}

/** the user a request acts as (its impersonated user, once allowed), or the error it is answered with */
export function actingUser(req: IncomingMessage, user: UserInfo, authorizer: Authorizer): UserInfo | ApiError {
  let as: UserInfo;
  try {
    as = impersonated(req, user);
  } catch (e) {
    if (!(e instanceof ImpersonationError)) throw e;
    return badRequest(e.message);
  }
  if (as === user) return user;
  return refusal(authorizer, asked(req, user, as)) ?? as;
}

export function withImpersonation(authorizer: Authorizer): Filter {
  return (next) => (ctx) => {
    const user = ctx.user;
    if (!user) return next(ctx);
    const as = actingUser(ctx.req, user, authorizer);
    if (as instanceof ApiError) return refuse(ctx, as);
    ctx.user = as;
    return next(ctx);
  };
}
