/**
 * The filter chain's shapes: a Handler serves one request, a Filter wraps the next handler into one that does its part
 * first (and may answer itself). Filters are applied once per server, so a request runs through plain function calls;
 * what a filter does after the request is answered runs as a callback of the promise the handler resolves with the
 * request's context, so it needs no closure per request.
 */
import type { RequestContext } from '../rest/context.ts';
import { sendError } from '../rest/responses.ts';

/**
 * serves one request; resolves (never rejects) with its context once the request is answered: its response ended,
 * or a long-running one (a watch, a log) started streaming
 */
export type Handler = (ctx: RequestContext) => Promise<RequestContext>;

/** one step of the chain: (next) => handler */
export type Filter = (next: Handler) => Handler;

/** the handler that runs `filters` in order, the first outermost, then `handler` */
export function chain(filters: readonly Filter[], handler: Handler): Handler {
  let h = handler;
  for (let i = filters.length - 1; i >= 0; i--) h = filters[i](h);
  return h;
}

/** what a filter that answers the request itself returns */
export function answered(ctx: RequestContext): Promise<RequestContext> {
  return Promise.resolve(ctx);
}

/** a filter's refusal: the error as a Status, and the request is answered */
export function refuse(ctx: RequestContext, err: unknown): Promise<RequestContext> {
  sendError(ctx.res, err);
  return answered(ctx);
}
