/**
 * Authorization: the authorizer decides on the request's attributes (its user and RequestInfo); a request it does
 * not allow is answered 403 Forbidden in Kubernetes' words. The open health paths carry no user and are not asked about.
 */
import { forbiddenError, requestAttributes, type Authorizer } from '../authorization/authorizer.ts';
import { refuse, type Filter } from './chain.ts';

export function withAuthorization(authorizer: Authorizer): Filter {
  return (next) => (ctx) => {
    const user = ctx.user;
    if (!user) return next(ctx);
    const attributes = requestAttributes(user, ctx.info);
    const d = authorizer.authorize(attributes);
    if (d.decision === 'allow') return next(ctx);
    return refuse(ctx, forbiddenError(attributes, d.reason));
  };
}
