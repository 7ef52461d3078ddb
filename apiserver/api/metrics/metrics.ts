/**
 * metrics.k8s.io/v1beta1 PodMetrics and NodeMetrics: resource usage as the node agents report it, read by
 * `kubectl top` and the HorizontalPodAutoscaler. Usage values must be quantities.
 */
import type { FieldError } from '../field-error.ts';
import { makeStrategy } from '../common.ts';
import { invalid, required } from '../validation/errors.ts';
import { tryParseQuantity } from '../../../lib/kube/quantity.ts';

function validateUsage(usage: unknown, path: string): FieldError[] {
  if (usage === undefined || usage === null) return [required(path, '')];
  if (typeof usage !== 'object' || Array.isArray(usage))
    return [invalid(path, usage, 'must be a map of resource names to quantities')];
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(usage))
    if (!tryParseQuantity(v)) errs.push(invalid(`${path}[${k}]`, v, 'must be a quantity'));
  return errs;
}

export const podMetricsStrategy = makeStrategy({
  namespaced: true,
  validate(m) {
    const errs: FieldError[] = [];
    const cs = m?.containers;
    if (!Array.isArray(cs)) return [required('containers', '')];
    cs.forEach((c: any, i: number) => {
      if (!c?.name) errs.push(required(`containers[${i}].name`, ''));
      errs.push(...validateUsage(c?.usage, `containers[${i}].usage`));
    });
    return errs;
  },
});

export const nodeMetricsStrategy = makeStrategy({
  namespaced: false,
  validate: (m) => validateUsage(m?.usage, 'usage'),
});
