/**
 * The end of the filter chain: resource requests go to the resource handler (a pod's log to its node), every other
 * path to the non-resource routes. An error is answered here as its Status; the request counts as answered once its
 * response has ended (or, long-running, once it streams).
 */
import type { ServerResponse } from 'node:http';
import type { Handler } from './filters/chain.ts';
import type { NonResourceRoutes } from './non-resource.ts';
import type { NodeProxy } from './nodeproxy/proxy.ts';
import type { RequestContext } from './rest/context.ts';
import type { ResourceHandler } from './rest/handler.ts';
import { isLongRunning, pathSegmentNameErrors, type ResourcePath } from './rest/request.ts';
import { sendError } from './rest/responses.ts';
import { ApiError } from './rest/status.ts';

export interface RouteDeps {
  resources: ResourceHandler;
  nonResource: NonResourceRoutes;
  nodeProxy: NodeProxy;
  log: (message: string) => void;
}

function finished(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    res.once('finish', resolve);
    res.once('close', resolve);
  });
}

/** a pod's log streams from its node: an error once streaming has started ends the response */
async function podLog(d: RouteDeps, ctx: RequestContext, namespace: string, name: string): Promise<void> {
  try {
    await d.nodeProxy.log(ctx.req, ctx.res, ctx.url, namespace, name);
  } catch (err) {
    if (!ctx.res.headersSent) sendError(ctx.res, err);
    else ctx.res.destroy();
  }
}

/** /api/v1/namespaces/<ns>/pods/<name>/log, with a name that can be a pod's */
function isPodLog(t: ResourcePath | undefined): t is ResourcePath & { namespace: string; name: string } {
  return (
    t !== undefined &&
    t.subresource === 'log' &&
    t.resource === 'pods' &&
    t.group === '' &&
    t.version === 'v1' &&
    t.namespace !== undefined &&
    t.name !== undefined &&
    pathSegmentNameErrors(t.name).length === 0
  );
}

export function routes(d: RouteDeps): Handler {
  const serve = (ctx: RequestContext): Promise<void> => {
    const info = ctx.info;
    if (info.error !== undefined) return d.resources.handle(ctx);
    if (!info.isResourceRequest) return d.nonResource.serve(ctx);
    const t = info.target;
    if (isPodLog(t)) return podLog(d, ctx, t.namespace, t.name);
    return d.resources.handle(ctx);
  };
  return async (ctx) => {
    try {
      await serve(ctx);
    } catch (err) {
      if (!(err instanceof ApiError))
        d.log(`internal error on ${ctx.req.method} ${ctx.url.pathname}: ${(err as Error)?.stack ?? err}`);
      sendError(ctx.res, err);
    }
    // a request counts as in flight until its whole answer is written (as Kubernetes counts until the handler
    // returns), not until the connection has flushed it; 'close' also comes when the client goes away first
    if (!ctx.res.writableEnded && !isLongRunning(ctx.info)) await finished(ctx.res);
    return ctx;
  };
}
