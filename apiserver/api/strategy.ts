/**
 * The type-specific behaviour of one resource: defaulting, validation of creates, updates and status writes, and
 * the fields a field selector may use. The REST store calls these; STRATEGIES (strategies.ts) holds one per resource.
 */
import type { FieldError } from './field-error.ts';

export interface Strategy {
  /** Kubernetes' defaulting for the versioned type, in place (spec defaults, pod template defaults, ...) */
  defaults(obj: any): void;
  /** full validation of a new object including metadata; [] when valid */
  validate(obj: any): FieldError[];
  /** validation of an update: the object's own validity plus the fields that may not change */
  validateUpdate(obj: any, old: any): FieldError[];
  /** validation for writes to the status subresource */
  validateStatusUpdate?(obj: any, old: any): FieldError[];
  /** the fields usable in field selectors for this type, with their values for obj (every key always present) */
  selectableFields(obj: any): Record<string, string>;
  /** the label selector (a metav1.LabelSelector) the scale subresource reports; spec.selector when not given */
  scaleSelector?(obj: any): unknown;
}

/**
 * A resource stored as another one (Kubernetes' cohabiting resources): events.k8s.io/v1 Events live with core/v1
 * Events, in core/v1's form. The REST store converts on the way in and out, so both APIs see the same objects.
 */
export interface StorageView {
  /** the stored form (the other resource's) of an object of this resource */
  toStorage(obj: any): any;
  /** this resource's form of a stored object: a new object (the stored one may be shared by the watch cache) */
  fromStorage(obj: any): any;
}
