/**
 * One request as the filters and handlers see it: the request and its response, the parsed URL, what it asks for
 * (RequestInfo), who it comes from, and the resource it was routed to. One object per request, with the same shape
 * for every request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { UserInfo } from '../auth/user.ts';
import type { RequestInfo } from './request.ts';
import type { Resource } from './resource.ts';

export class RequestContext {
  /** set by the request info filter, the first after panic recovery */
  info!: RequestInfo;
  /** set by authentication (the impersonated user once impersonation ran); none on the open health paths */
  user: UserInfo | undefined = undefined;
  /** the served resource the request was routed to, once the resource handler found it */
  resource: Resource | undefined = undefined;
  /** when the request arrived (process.hrtime.bigint) */
  readonly start = process.hrtime.bigint();

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly url: URL,
  ) {}
}
