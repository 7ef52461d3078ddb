/**
 * coordination.k8s.io/v1 Leases.
 */
import type { FieldError } from '../field-error.ts';
import { makeStrategy } from '../common.ts';
import { invalid, nonNegative, notSupported } from '../validation/errors.ts';

export const leaseStrategy = makeStrategy({
  namespaced: true,
  validate(lease) {
    const spec = lease?.spec ?? {};
    const errs: FieldError[] = [];
    if (
      spec.leaseDurationSeconds !== undefined &&
      spec.leaseDurationSeconds !== null &&
      spec.leaseDurationSeconds <= 0
    ) {
      errs.push(invalid('spec.leaseDurationSeconds', spec.leaseDurationSeconds, 'must be greater than 0'));
    }
    errs.push(...nonNegative('spec.leaseTransitions', spec.leaseTransitions));
    const strategies = ['OldestEmulationVersion'];
    if (spec.strategy !== undefined && spec.strategy !== null && !strategies.includes(spec.strategy))
      errs.push(notSupported('spec.strategy', spec.strategy, strategies));
    return errs;
  },
});
