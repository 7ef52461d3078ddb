/**
 * Authentication: the user of the request's client certificate or bearer token (auth/authenticator.ts), else 401.
 * The health paths are open to all and carry no user.
 */
import type { Authenticator } from '../auth/authenticator.ts';
import { http2Stream } from '../http.ts';
import { unauthorized } from '../rest/status.ts';
import { refuse, type Filter } from './chain.ts';

const HEALTH_PATHS = new Set(['/healthz', '/livez', '/readyz']);

/** the paths anyone may read: /healthz, /livez, /readyz and their single checks */
export function isPublicPath(path: string): boolean {
  return (
    HEALTH_PATHS.has(path) || path.startsWith('/healthz/') || path.startsWith('/readyz/') || path.startsWith('/livez/')
  );
}

export function withAuthentication(authenticate: Authenticator): Filter {
  return (next) => (ctx) => {
    if (isPublicPath(ctx.url.pathname)) return next(ctx);
    const user = authenticate(ctx.req);
    if (!user) {
      const done = refuse(ctx, unauthorized());
      // as Kubernetes: a client that is not authenticated does not keep an HTTP/2 connection open
      http2Stream(ctx.res)?.session?.close();
      return done;
    }
    ctx.user = user;
    return next(ctx);
  };
}
