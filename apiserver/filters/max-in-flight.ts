/**
 * The in-flight limit: at most so many read-only and so many mutating requests below /api/ and /apis/ at once; one
 * over is answered 429 with Retry-After. Watches and streams from nodes are long-running and not counted, as in
 * Kubernetes' max-in-flight filter. apiserver_current_inflight_requests follows the counts.
 */
import type { ApiMetrics } from '../metrics.ts';
import type { RequestContext } from '../rest/context.ts';
import { isLongRunning } from '../rest/request.ts';
import { tooManyRequests } from '../rest/status.ts';
import { refuse, type Filter } from './chain.ts';

export interface InFlightLimits {
  maxReadOnly: number;
  maxMutating: number;
}

const READ_ONLY = { request_kind: 'readOnly' };
const MUTATING = { request_kind: 'mutating' };

function mutates(method: string | undefined): boolean {
  return method !== 'GET' && method !== 'HEAD';
}

export function withMaxInFlight(limits: InFlightLimits, metrics: ApiMetrics): Filter {
  let readOnly = 0;
  let mutating = 0;
  const gauge = (isMutating: boolean) =>
    isMutating ? metrics.inflight.set(MUTATING, mutating) : metrics.inflight.set(READ_ONLY, readOnly);
  const release = (ctx: RequestContext): RequestContext => {
    const m = mutates(ctx.req.method);
    if (m) mutating--;
    else readOnly--;
    gauge(m);
    return ctx;
  };
  return (next) => (ctx) => {
    if (!ctx.info.apiPrefix || isLongRunning(ctx.info)) return next(ctx);
    const m = mutates(ctx.req.method);
    if (m ? mutating >= limits.maxMutating : readOnly >= limits.maxReadOnly) return refuse(ctx, tooManyRequests());
    if (m) mutating++;
    else readOnly++;
    gauge(m);
    return next(ctx).then(release);
  };
}
