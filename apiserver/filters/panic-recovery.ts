/**
 * Panic recovery, outermost: an error no handler answered (a fault in a filter or handler) is logged and answered
 * with a 500 Status instead of leaving the request open or ending the process.
 */
import type { RequestContext } from '../rest/context.ts';
import { sendError } from '../rest/responses.ts';
import { internalError } from '../rest/status.ts';
import type { Filter } from './chain.ts';

export function withPanicRecovery(log: (message: string) => void): Filter {
  const recover = (ctx: RequestContext, err: unknown): RequestContext => {
    log(`internal error on ${ctx.req.method} ${ctx.url.pathname}: ${(err as Error)?.stack ?? err}`);
    sendError(ctx.res, internalError(err));
    return ctx;
  };
  return (next) => (ctx) => {
    try {
      return next(ctx).catch((err: unknown) => recover(ctx, err));
    } catch (err) {
      return Promise.resolve(recover(ctx, err));
    }
  };
}
