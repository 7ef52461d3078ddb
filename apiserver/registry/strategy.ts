/**
 * GenericStrategy: the REST behaviour every resource has (rest/strategy.ts), from its ResourceInfo, its type strategy
 * (apiserver/api) and the traits it declares. A resource with more extends it in its own file (core/pod.ts) and is
 * named in index.ts.
 */
import type { FieldError } from '../api/field-error.ts';
import type { ResourceInfo } from '../api/resource-info.ts';
import { toTable, type ListMeta, type Table } from '../printers/index.ts';
import { clone, isObject, type ApiObject } from '../rest/meta.ts';
import { apiVersionOf, type TypeStrategy } from '../rest/resource.ts';
import type { IncludeObject, Propagation, RestStrategy, Traits } from '../rest/strategy.ts';

export type { Release, RestStrategy, Traits } from '../rest/strategy.ts';

const TOP_LEVEL_OF_STATUS = new Set(['metadata', 'status', 'apiVersion', 'kind']);

export class GenericStrategy implements RestStrategy {
  readonly generation: boolean;
  readonly createOnUpdate: boolean;
  readonly returnDeletedObject: boolean;
  readonly statusKeepsMetadata: readonly string[];
  readonly defaultPropagation: Propagation;
  readonly indexField: string | undefined;
  readonly hasStatus: boolean;
  private readonly typeMeta: { apiVersion: string; kind: string };

  constructor(
    readonly info: ResourceInfo,
    protected readonly type: TypeStrategy,
    traits: Partial<Traits> = {},
  ) {
    this.generation = traits.generation ?? false;
    this.createOnUpdate = traits.createOnUpdate ?? false;
    this.returnDeletedObject = traits.returnDeletedObject ?? false;
    this.statusKeepsMetadata = traits.statusKeepsMetadata ?? [];
    this.defaultPropagation = traits.defaultPropagation ?? 'Background';
    this.indexField = traits.indexField;
    this.hasStatus = info.subresources.includes('status');
    this.typeMeta = { apiVersion: apiVersionOf(info), kind: info.kind };
  }

  defaults(obj: ApiObject): void {
    this.type.defaults(obj);
  }

  /** the status of a new object; Kubernetes' strategies reset what was sent */
  protected initialStatus(_obj: ApiObject): unknown {
    return {};
  }

  prepareForCreate(obj: ApiObject): void {
    if (this.hasStatus) obj.status = this.initialStatus(obj);
  }

  prepareForUpdate(next: ApiObject, cur: ApiObject, subresource: string | undefined): void {
    if (subresource === 'status') {
      // a status write changes status and metadata (annotations, finalizers, its managedFields entry), never the rest
      for (const k of Object.keys(next)) if (!TOP_LEVEL_OF_STATUS.has(k)) delete next[k];
      for (const k of Object.keys(cur)) if (!TOP_LEVEL_OF_STATUS.has(k)) next[k] = clone(cur[k]);
      const md = (next.metadata ??= {});
      for (const f of this.statusKeepsMetadata) {
        if (cur.metadata?.[f] !== undefined) md[f] = clone(cur.metadata[f]);
        else delete md[f];
      }
    } else if (this.hasStatus) {
      if (cur.status !== undefined) next.status = clone(cur.status);
      else delete next.status;
    }
  }

  validate(obj: ApiObject): FieldError[] {
    return this.type.validate(obj);
  }

  validateUpdate(obj: ApiObject, old: ApiObject, subresource: string | undefined): FieldError[] {
    return subresource === 'status' && this.type.validateStatusUpdate
      ? this.type.validateStatusUpdate(obj, old)
      : this.type.validateUpdate(obj, old);
  }

  gracePeriod(_obj: ApiObject, _requested: number | undefined): number {
    return 0;
  }

  hasFinalizers(obj: ApiObject): boolean {
    const f = obj.metadata?.finalizers;
    return Array.isArray(f) && f.length > 0;
  }

  prepareForDeletion(_obj: ApiObject): void {}

  selectableFields(obj: ApiObject): Record<string, string> {
    return this.type.selectableFields(obj);
  }

  scaleSelector(obj: ApiObject): unknown {
    if (this.type.scaleSelector) return this.type.scaleSelector(obj);
    return isObject(obj.spec) ? obj.spec.selector : undefined;
  }

  convertToTable(objects: ApiObject[], listMeta: ListMeta, includeObject: IncludeObject): Table {
    return toTable(this.info.group, this.info.resource, objects, listMeta, { includeObject, typeMeta: this.typeMeta });
  }
}
