/**
 * The REST behaviour of one resource, as Kubernetes' registry strategies (pkg/registry/core/pod/strategy.go): what a
 * create and an update prepare (the status reset), the type's defaults and validation (from apiserver/api), graceful
 * deletion, what holds a deletion, the Table conversion, and hooks around storage (allocations). The REST store asks
 * these and knows no resource by name; registry/ holds the implementations.
 */
import type { FieldError } from '../api/field-error.ts';
import type { ListMeta, Table } from '../printers/index.ts';
import type { ApiObject } from './meta.ts';

/** what deleting dependents means when a deletion names no propagation policy (Unsupported: policies are ignored) */
export type Propagation = 'Unsupported' | 'Orphan' | 'Background';

/** undoes what a hook reserved, when the write does not happen */
export type Release = () => Promise<void>;

/** what a resource declares rather than does */
export interface Traits {
  /** metadata.generation is maintained (bumped on spec changes) */
  generation: boolean;
  /** PUT on a missing object creates it */
  createOnUpdate: boolean;
  /** DELETE answers with the object rather than a Status */
  returnDeletedObject: boolean;
  /**
   * metadata fields a status write keeps as they were (besides spec, which it never changes): Kubernetes' status
   * strategies reset a Deployment's labels and a Pod's owner references
   */
  statusKeepsMetadata: readonly string[];
  defaultPropagation: Propagation;
  /** a field the watch cache indexes its objects by (a pod's spec.nodeName) */
  indexField?: string;
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface RestStrategy extends Readonly<Traits> {
  /** the resource serves a status subresource: status and the rest are written apart */
  readonly hasStatus: boolean;
  /** Kubernetes' defaulting of the type, in place */
  defaults(obj: ApiObject): void;
  /** the status a new object starts with (after its metadata is set, before defaults) */
  prepareForCreate(obj: ApiObject): void;
  /** an update's object made from what was sent and what is stored: spec kept on status writes, status on the others */
  prepareForUpdate(next: ApiObject, cur: ApiObject, subresource: string | undefined): void;
  validate(obj: ApiObject): FieldError[];
  validateUpdate(obj: ApiObject, old: ApiObject, subresource: string | undefined): FieldError[];
  /** seconds a deletion waits for (0: deleted now, unless finalizers hold it); requested: the client's */
  gracePeriod(obj: ApiObject, requested: number | undefined): number;
  /** whether something beyond a grace period holds the object once marked for deletion */
  hasFinalizers(obj: ApiObject): boolean;
  /** what marking an object for deletion changes besides its metadata */
  prepareForDeletion(obj: ApiObject): void;
  /** the fields a field selector may use, with their values for obj */
  selectableFields(obj: ApiObject): Record<string, string>;
  /** the label selector the scale subresource reports */
  scaleSelector(obj: ApiObject): unknown;
  /** a Table of objects, for kubectl */
  convertToTable(objects: ApiObject[], listMeta: ListMeta, includeObject: IncludeObject): Table;
  /** before a create is stored (after validation): reserve what it needs */
  beginCreate?(obj: ApiObject, dryRun: boolean): Promise<Release>;
  /** before an update is stored (after validation) */
  beginUpdate?(obj: ApiObject, old: ApiObject, dryRun: boolean): Promise<Release>;
  /** after a deletion: free what the object held */
  afterDelete?(obj: ApiObject): Promise<void>;
}
