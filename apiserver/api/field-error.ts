/**
 * Field errors in Kubernetes' shape (k8s.io/apimachinery/pkg/util/validation/field).
 * A list of FieldErrors becomes a 422 Invalid Status whose causes name each offending field.
 */

export type FieldErrorType =
  | 'FieldValueNotFound'
  | 'FieldValueRequired'
  | 'FieldValueDuplicate'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'InternalError'
  | 'FieldValueTypeInvalid';

export interface FieldError {
  type: FieldErrorType;
  /** field path as Kubernetes prints it: spec.containers[0].image, metadata.labels[app] */
  field: string;
  /** the offending value (omitted for Required/Forbidden) */
  value?: unknown;
  /** extra detail (for NotSupported: the supported values are rendered by the helper) */
  detail?: string;
}
