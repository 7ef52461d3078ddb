/**
 * Errors raised while applying a patch. Each carries the HTTP status and metav1.Status reason the API server
 * answers with, so the HTTP layer can turn it into a Status without knowing which patch failed.
 */

/** one entry of a Status' details.causes (the JSON field of the cause type is `reason`) */
export interface PatchStatusCause {
  reason: string;
  message: string;
  field?: string;
}

/** '' is metav1.StatusReasonUnknown: what Kubernetes answers (with code 500) for errors it did not classify */
export type PatchErrorReason = 'BadRequest' | 'Invalid' | 'Conflict' | 'RequestEntityTooLarge' | '';

export class PatchError extends Error {
  /**
   * @param status HTTP status: 400 malformed patch, 409 apply conflict, 413 too many operations,
   *   422 a JSON patch that cannot be applied to the object, 500 a patch the merge machinery could not process
   * @param reason the metav1.Status reason
   * @param message the Status message (what the client shows)
   * @param detail the precise cause when the Status message is generic (kept for logs and tests)
   * @param causes the Status details.causes
   */
  constructor(
    readonly status: number,
    readonly reason: PatchErrorReason,
    message: string,
    readonly detail?: string,
    readonly causes?: PatchStatusCause[],
  ) {
    super(message);
    this.name = 'PatchError';
  }
}

export function badRequest(message: string): PatchError {
  return new PatchError(400, 'BadRequest', message);
}

/** a patch the merge machinery cannot apply: Kubernetes answers these unclassified, as 500 with the bare message */
export function unclassified(message: string): PatchError {
  return new PatchError(500, '', message);
}

/** the generic 422 Kubernetes answers for patches that are well-formed but cannot be applied */
export function unprocessable(detail: string): PatchError {
  return new PatchError(422, 'Invalid', 'the server rejected our request due to an error in our request', detail);
}
