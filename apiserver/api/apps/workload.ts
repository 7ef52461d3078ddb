/**
 * Pieces shared by the workload types (ReplicaSet, Deployment, DaemonSet, StatefulSet, Job): selector checks,
 * template-vs-selector matching, int-or-percent values, replica counts in status.
 */
import type { FieldError } from '../field-error.ts';
import {
  forbidden,
  goQuote,
  GoValue,
  immutable,
  invalid,
  nonNegative,
  notSupported,
  required,
} from '../validation/errors.ts';
import { isValidPercent } from '../validation/names.ts';
import {
  isEmptySelector,
  renderLabelSelector,
  selectorMatches,
  validateLabelSelector,
} from '../validation/selector.ts';
import { validatePodTemplateSpec } from '../core/pod-validation.ts';

/** spec.selector: required, valid, not empty (kindName completes "empty selector is invalid for <kindName>") */
export function validateWorkloadSelector(
  sel: any,
  kindName: string,
  field = 'spec.selector',
): { errs: FieldError[]; usable: boolean } {
  if (sel === undefined || sel === null) return { errs: [required(field)], usable: false };
  const errs = validateLabelSelector(sel, field);
  const usable = errs.length === 0;
  if (isEmptySelector(sel))
    errs.push(invalid(field, renderLabelSelector(sel), `empty selector is invalid for ${kindName}`));
  return { errs, usable };
}

/** the template's labels must be selected by the selector */
export function validateTemplateMatches(sel: any, template: any, field = 'spec.template'): FieldError[] {
  if (!sel || isEmptySelector(sel)) return [];
  const labels = template?.metadata?.labels ?? {};
  return selectorMatches(sel, labels)
    ? []
    : [invalid(`${field}.metadata.labels`, labels, '`selector` does not match template `labels`')];
}

/**
 * ValidatePodTemplateSpecForReplicaSet: selector match, the template itself, restartPolicy Always and no
 * activeDeadlineSeconds (kind names the type in that message).
 */
export function validateReplicatedTemplate(
  sel: any,
  template: any,
  kind: string,
  field = 'spec.template',
): FieldError[] {
  if (template === undefined || template === null) return [required(field)];
  const errs = validateTemplateMatches(sel, template, field);
  errs.push(...validatePodTemplateSpec(template, field));
  const rp = template.spec?.restartPolicy;
  if (rp !== 'Always') errs.push(notSupported(`${field}.spec.restartPolicy`, rp ?? '', ['Always']));
  if (template.spec?.activeDeadlineSeconds !== undefined && template.spec?.activeDeadlineSeconds !== null) {
    errs.push(forbidden(`${field}.spec.activeDeadlineSeconds`, `activeDeadlineSeconds in ${kind} is not Supported`));
  }
  return errs;
}

export function selectorImmutable(obj: any, old: any): FieldError[] {
  const sel = obj?.spec?.selector;
  return immutable('spec.selector', sel ?? null, old?.spec?.selector ?? null, renderLabelSelector(sel));
}

/** an int-or-string value as Kubernetes prints it in messages */
export function renderIntOrString(v: unknown): GoValue {
  if (typeof v === 'number') return new GoValue(`intstr.IntOrString{Type:0, IntVal:${v}, StrVal:""}`);
  return new GoValue(`intstr.IntOrString{Type:1, IntVal:0, StrVal:${goQuote(String(v ?? ''))}}`);
}

/** ValidatePositiveIntOrPercent */
export function validateIntOrPercent(v: unknown, field: string): FieldError[] {
  if (typeof v === 'string') return isValidPercent(v).map((m) => invalid(field, renderIntOrString(v), m));
  if (typeof v === 'number') return nonNegative(field, v);
  return [];
}

/** the numeric part of an int or percent ("25%" -> 25) */
export function intOrPercentValue(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^\d+%$/.test(v)) return Number(v.slice(0, -1));
  return 0;
}

export function notMoreThan100Percent(v: unknown, field: string): FieldError[] {
  return typeof v === 'string' && /^\d+%$/.test(v) && intOrPercentValue(v) > 100
    ? [invalid(field, renderIntOrString(v), 'must not be greater than 100%')]
    : [];
}

/** status replica counters: non-negative, and ready/available bounded the way Kubernetes requires */
export function validateReplicaStatus(
  st: any,
  fields: { bounded: string[]; availableBoundedByReady: boolean },
): FieldError[] {
  const s = st ?? {};
  const errs: FieldError[] = [];
  for (const k of [
    'replicas',
    'fullyLabeledReplicas',
    'readyReplicas',
    'availableReplicas',
    'updatedReplicas',
    'currentReplicas',
    'observedGeneration',
    'terminatingReplicas',
  ]) {
    errs.push(...nonNegative(`status.${k}`, s[k]));
  }
  const replicas = typeof s.replicas === 'number' ? s.replicas : 0;
  for (const k of fields.bounded) {
    if (typeof s[k] === 'number' && s[k] > replicas)
      errs.push(invalid(`status.${k}`, s[k], 'cannot be greater than status.replicas'));
  }
  if (
    fields.availableBoundedByReady &&
    typeof s.availableReplicas === 'number' &&
    s.availableReplicas > (s.readyReplicas ?? 0)
  ) {
    errs.push(invalid('status.availableReplicas', s.availableReplicas, 'cannot be greater than readyReplicas'));
  }
  return errs;
}
