/**
 * The API server's filter chain, in the order a request runs through it (as k8s.io/apiserver's
 * DefaultBuildHandlerChain): a filter is added by writing its file and one line in this list.
 */
import type { Authenticator } from '../auth/authenticator.ts';
import type { Authorizer } from '../authorization/authorizer.ts';
import type { ApiMetrics } from '../metrics.ts';
import { withAuthentication } from './authentication.ts';
import { withAuthorization } from './authorization.ts';
import { chain, type Filter, type Handler } from './chain.ts';
import { withImpersonation } from './impersonation.ts';
import { withMaxInFlight, type InFlightLimits } from './max-in-flight.ts';
import { withMetrics } from './metrics.ts';
import { withPanicRecovery } from './panic-recovery.ts';
import { withRequestInfo } from './request-info.ts';

export type { Filter, Handler } from './chain.ts';

export interface ChainConfig {
  authenticate: Authenticator;
  authorizer: Authorizer;
  inFlight: InFlightLimits;
  metrics: ApiMetrics;
  log: (message: string) => void;
}

export function buildHandlerChain(apiHandler: Handler, c: ChainConfig): Handler {
  const filters: Filter[] = [
    withPanicRecovery(c.log),
    withRequestInfo(),
    withAuthentication(c.authenticate),
    withImpersonation(c.authorizer),
    withMaxInFlight(c.inFlight, c.metrics),
    withMetrics(c.metrics),
    withAuthorization(c.authorizer),
  ];
  return chain(filters, apiHandler);
}
