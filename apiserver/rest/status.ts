/**
 * API errors in Kubernetes' shape: every failure leaves the server as a metav1.Status with code, reason, message
 * and, where a field is at fault, causes naming it.
 */

import type { FieldError } from '../api/field-error.ts';
import { invalidStatus } from '../api/status-errors.ts';

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toStatus(): Status {
    const s: Status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) s.details = this.details;
    return s;
  }
}

/** the resource name used in messages: "pods", "deployments.apps" */
export function qualifiedResource(group: string, resource: string): string {
  return group ? `${resource}.${group}` : resource;
}

export function notFound(group: string, resource: string, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualifiedResource(group, resource)} "${name}" not found`, {
    name,
    group: group || undefined,
    kind: resource,
  });
}

/** a path that names no resource or other endpoint the server serves */
export function pathNotFound(details?: StatusDetails): ApiError {
  return new ApiError(404, 'NotFound', 'the server could not find the requested resource', details);
}

export function alreadyExists(group: string, resource: string, name: string): ApiError {
  return new ApiError(409, 'AlreadyExists', `${qualifiedResource(group, resource)} "${name}" already exists`, {
    name,
    group: group || undefined,
    kind: resource,
  });
}

export function conflict(group: string, resource: string, name: string, why: string): ApiError {
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(group, resource)} "${name}": ${why}`,
    { name, group: group || undefined, kind: resource },
  );
}

export const MODIFIED_CONFLICT =
  'the object has been modified; please apply your changes to the latest version and try again';

export function badRequest(message: string, causes?: StatusCause[]): ApiError {
  return new ApiError(400, 'BadRequest', message, causes ? { causes } : undefined);
}

export function forbidden(
  group: string,
  resource: string,
  name: string,
  why: string,
  causes?: StatusCause[],
): ApiError {
  // a request for no resource (a non-resource path) is just "forbidden"
  if (!resource) return new ApiError(403, 'Forbidden', `forbidden: ${why}`, { causes });
  const what = name ? `${qualifiedResource(group, resource)} "${name}"` : qualifiedResource(group, resource);
  return new ApiError(403, 'Forbidden', `${what} is forbidden: ${why}`, {
    name: name || undefined,
    group: group || undefined,
    kind: resource,
    causes,
  });
}

export function methodNotSupported(group: string, resource: string, verb: string): ApiError {
  return new ApiError(
    405,
    'MethodNotAllowed',
    `${verb} is not supported on resources of kind "${qualifiedResource(group, resource)}"`,
    {
      group: group || undefined,
      kind: resource,
    },
  );
}

export function gone(message: string): ApiError {
  return new ApiError(410, 'Expired', message);
}

export function tooLarge(limitBytes: number): ApiError {
  return new ApiError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limitBytes}`);
}

export function unsupportedMediaType(contentType: string, supported: string[]): ApiError {
  return new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${supported.join(', ')}`,
    { causes: [{ reason: 'UnsupportedMediaType', message: contentType }] },
  );
}

/** a body of a media type the endpoint does not take, saying why */
export function unsupportedMedia(message: string): ApiError {
  return new ApiError(415, 'UnsupportedMediaType', message);
}

/** a patch of a type the server does not apply */
export function unsupportedPatchType(supported: readonly string[]): ApiError {
  return unsupportedMedia(
    `the body of the request was in an unknown format - accepted media types include: ${supported.join(', ')}`,
  );
}

export function notAcceptable(supported: string[]): ApiError {
  return new ApiError(406, 'NotAcceptable', `only the following media types are accepted: ${supported.join(', ')}`);
}

export function tooManyRequests(): ApiError {
  return new ApiError(429, 'TooManyRequests', 'Too many requests, please try again later.', { retryAfterSeconds: 1 });
}

export function unauthorized(): ApiError {
  return new ApiError(401, 'Unauthorized', 'Unauthorized');
}

export function serviceUnavailable(message: string): ApiError {
  return new ApiError(503, 'ServiceUnavailable', message);
}

export function internalError(err: unknown): ApiError {
  const msg = err instanceof Error ? err.message : String(err);
  return new ApiError(500, 'InternalError', `Internal error occurred: ${msg}`, { causes: [{ message: msg }] });
}

export function timeout(message: string): ApiError {
  return new ApiError(504, 'Timeout', message);
}

/**
 * a read at a resourceVersion the server has not reached (after waiting for it): Kubernetes' timeout error with the
 * cause client-go looks for (IsTooLargeResourceVersion) and a retry after 1 s
 */
export function tooLargeResourceVersion(want: number, current: number): ApiError {
  return new ApiError(504, 'Timeout', `Timeout: Too large resource version: ${want}, current: ${current}`, {
    causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
    retryAfterSeconds: 1,
  });
}

/** 422 Invalid naming the object and every offending field */
export function invalidObject(kind: string, name: string, errs: readonly FieldError[], group = ''): ApiError {
  const st = invalidStatus(kind, name, errs, group);
  return new ApiError(st.code, st.reason, st.message, st.details);
}
