/**
 * The end of the filter chain: resource requests go to the resource handler, every other path to the non-resource
 * routes. An error is answered here as its Status; the request counts as answered once its response has ended (or,
 * long-running, once it streams).
 */
import type { ServerResponse } from 'node:http';
import type { Handler } from './filters/chain.ts';
import type { NonResourceRoutes } from './non-resource.ts';
import type { ResourceHandler } from './rest/handler.ts';
import { isLongRunning } from './rest/request.ts';
import { sendError } from './rest/responses.ts';
import { ApiError } from './rest/status.ts';

export interface RouteDeps {
  resources: ResourceHandler;
  nonResource: NonResourceRoutes;
  log: (message: string) => void;
}

function finished(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    res.once('finish', resolve);
    res.once('close', resolve);
  });
}

export function routes(deps: RouteDeps): Handler {
  return async (ctx) => {
    try {
      const info = ctx.info;
      if (info.isResourceRequest || info.error !== undefined) await deps.resources.handle(ctx);
      else await deps.nonResource.serve(ctx);
    } catch (err) {
      if (!(err instanceof ApiError))
        deps.log(`internal error on ${ctx.req.method} ${ctx.url.pathname}: ${(err as Error)?.stack ?? err}`);
      sendError(ctx.res, err);
    }
    // a request counts as in flight until its whole answer is written (as Kubernetes counts until the handler
    // returns), not until the connection has flushed it; 'close' also comes when the client goes away first
    if (!ctx.res.writableEnded && !isLongRunning(ctx.info)) await finished(ctx.res);
    return ctx;
  };
}
