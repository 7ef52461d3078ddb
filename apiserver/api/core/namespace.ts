/**
 * Namespaces: DNS-1123 label names, the "kubernetes" finalizer and Active phase on creation, the
 * kubernetes.io/metadata.name label, and the phase rules of status writes.
 */
import type { FieldError } from '../field-error.ts';
import { isBeingCreated, list, makeStrategy } from '../common.ts';
import { invalid } from '../validation/errors.ts';
import { validateKubeFinalizerName } from '../validation/meta.ts';
import { nameIsDnsLabel } from '../validation/names.ts';

export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

export const namespaceStrategy = makeStrategy({
  namespaced: false,
  nameCheck: nameIsDnsLabel,
  defaults(ns) {
    const spec = (ns.spec ??= {});
    if (isBeingCreated(ns)) {
      const fins: string[] = Array.isArray(spec.finalizers) ? spec.finalizers : [];
      if (!fins.includes('kubernetes')) fins.push('kubernetes');
      spec.finalizers = fins;
    }
    ns.status ??= {};
    if (!ns.status.phase) ns.status.phase = 'Active';
    const name = ns.metadata?.name;
    if (name) (ns.metadata.labels ??= {})[NAMESPACE_NAME_LABEL] = name;
  },
  validate(ns) {
    const errs: FieldError[] = [];
    for (const f of list(ns?.spec?.finalizers)) errs.push(...validateKubeFinalizerName(String(f), 'spec.finalizers'));
    return errs;
  },
  validateStatusUpdate(ns) {
    const phase = ns?.status?.phase;
    if (!ns?.metadata?.deletionTimestamp) {
      if (phase !== 'Active')
        return [invalid('status.Phase', phase ?? '', "may only be 'Active' if `deletionTimestamp` is empty")];
    } else if (phase !== 'Terminating') {
      return [invalid('status.Phase', phase ?? '', "may only be 'Terminating' if `deletionTimestamp` is not empty")];
    }
    return [];
  },
  fields: (ns) => ({ 'status.phase': String(ns?.status?.phase ?? ''), name: String(ns?.metadata?.name ?? '') }),
});
