/**
 * Namespaces: they start Active; deleting one marks it Terminating while its spec.finalizers (the namespace
 * controller's) remain, and those change only through the finalize subresource.
 */
import type { ResourceInfo } from '../../api/resource-info.ts';
import { isObject, type ApiObject } from '../../rest/meta.ts';
import type { TypeStrategy } from '../../rest/resource.ts';
import { GenericStrategy } from '../strategy.ts';

const finalizersOf = (obj: ApiObject): unknown => (isObject(obj.spec) ? obj.spec.finalizers : undefined);

export class NamespaceStrategy extends GenericStrategy {
  constructor(info: ResourceInfo, type: TypeStrategy) {
    super(info, type, { returnDeletedObject: true });
  }

  protected override initialStatus(): unknown {
    return { phase: 'Active' };
  }

  override prepareForUpdate(next: ApiObject, cur: ApiObject, subresource: string | undefined): void {
    super.prepareForUpdate(next, cur, subresource);
    const spec = isObject(next.spec) ? next.spec : {};
    const curSpec = isObject(cur.spec) ? cur.spec : {};
    // a namespace's spec.finalizers change only through its finalize subresource
    if (subresource === 'finalize') next.spec = { ...curSpec, finalizers: spec.finalizers ?? [] };
    else if (curSpec.finalizers !== undefined) next.spec = { ...spec, finalizers: curSpec.finalizers };
  }

  /** spec.finalizers hold a namespace too, until the namespace controller has emptied it */
  override hasFinalizers(ns: ApiObject): boolean {
    const f = finalizersOf(ns);
    return super.hasFinalizers(ns) || (Array.isArray(f) && f.length > 0);
  }

  override prepareForDeletion(ns: ApiObject): void {
    ns.status = { ...(isObject(ns.status) ? ns.status : {}), phase: 'Terminating' };
  }
}
