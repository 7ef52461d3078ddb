/**
 * Request info: what the request asks for (verb, group, version, resource, subresource, namespace, name), resolved
 * once from its path, method and query for every filter and handler after it (see RequestInfo in rest/request.ts).
 */
import { resolveRequestInfo } from '../rest/request.ts';
import type { Filter } from './chain.ts';

export function withRequestInfo(): Filter {
  return (next) => (ctx) => {
    ctx.info = resolveRequestInfo(ctx.req.method ?? 'GET', ctx.req.url, ctx.url);
    return next(ctx);
  };
}
