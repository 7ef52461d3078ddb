/**
 * Request metrics: apiserver_request_total by verb, group, version, resource, subresource and code, and
 * apiserver_request_duration_seconds (not for watches), for the requests below /api/ and /apis/. A request the
 * resource handler did not route to a resource counts under its method and no resource; streams from nodes (log,
 * exec, attach, port-forward) are not counted.
 */
import type { ApiMetrics } from '../metrics.ts';
import type { RequestContext } from '../rest/context.ts';
import { isConnect } from '../rest/request.ts';
import type { Filter } from './chain.ts';

/** the verb Kubernetes' metrics report for a GET */
const READ_VERBS: Record<string, string> = { get: 'GET', list: 'LIST', watch: 'WATCH' };

export function withMetrics(metrics: ApiMetrics): Filter {
  const record = (ctx: RequestContext): RequestContext => {
    const method = ctx.req.method ?? 'GET';
    const r = ctx.resource;
    const info = ctx.info;
    const labels = {
      verb: r && method === 'GET' ? (READ_VERBS[info.verb] ?? method) : method,
      group: r ? r.info.group : '',
      version: r ? r.info.version : '',
      resource: r ? r.info.resource : '',
      subresource: r ? info.subresource : '',
    };
    metrics.requests.inc({ ...labels, code: String(ctx.res.statusCode) });
    if (info.verb !== 'watch') metrics.duration.observe(labels, Number(process.hrtime.bigint() - ctx.start) / 1e9);
    return ctx;
  };
  return (next) => (ctx) => {
    if (!ctx.info.apiPrefix || isConnect(ctx.info)) return next(ctx);
    return next(ctx).then(record);
  };
}
