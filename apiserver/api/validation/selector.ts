/**
 * metav1.LabelSelector: validation (matchLabels, matchExpressions operators), matching against a label set, and the
 * Go rendering Kubernetes uses when a selector is the offending value of an error.
 */
import { labelSelectorFromObject, type LabelSelectorObject } from '../../../lib/selectors.ts';
import type { FieldError } from '../field-error.ts';
import { forbidden, goQuote, invalid, required, GoValue } from './errors.ts';
import { isValidLabelValue } from './names.ts';
import { validateLabelName, validateLabels } from './meta.ts';

export interface LabelSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export function validateLabelSelector(sel: unknown, field: string, allowInvalidLabelValue = false): FieldError[] {
  if (sel === undefined || sel === null) return [];
  const s = sel as LabelSelector;
  const errs = validateLabels(s.matchLabels, `${field}.matchLabels`);
  (Array.isArray(s.matchExpressions) ? s.matchExpressions : []).forEach((expr, i) => {
    const p = `${field}.matchExpressions[${i}]`;
    const values = Array.isArray(expr?.values) ? expr.values : [];
    switch (expr?.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0)
          errs.push(required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0)
          errs.push(forbidden(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
        break;
      default:
        errs.push(invalid(`${p}.operator`, expr?.operator ?? '', 'not a valid selector operator'));
    }
    errs.push(...validateLabelName(String(expr?.key ?? ''), `${p}.key`));
    if (!allowInvalidLabelValue) {
      values.forEach((v, j) => {
        for (const m of isValidLabelValue(String(v))) errs.push(invalid(`${p}.values[${j}]`, String(v), m));
      });
    }
  });
  return errs;
}

export function isEmptySelector(sel: LabelSelector | undefined | null): boolean {
  return !sel || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0);
}

/** does the selector select these labels (an empty selector selects everything, none selects nothing) */
export function selectorMatches(
  sel: LabelSelector | undefined | null,
  labels: Record<string, string> | undefined | null,
): boolean {
  return labelSelectorFromObject(sel as LabelSelectorObject | null | undefined).matches(labels ?? {});
}

function goStringMap(m: Record<string, string> | undefined): string {
  if (!m) return 'map[string]string(nil)';
  const keys = Object.keys(m).sort();
  return `map[string]string{${keys.map((k) => `${goQuote(k)}:${goQuote(String(m[k]))}`).join(', ')}}`;
}

/** v1.LabelSelector{MatchLabels:..., MatchExpressions:...} as Kubernetes prints a selector in messages */
export function renderLabelSelector(sel: LabelSelector | undefined | null): GoValue {
  if (!sel) return new GoValue('null');
  const exprs = sel.matchExpressions
    ? `[]v1.LabelSelectorRequirement{${sel.matchExpressions
        .map(
          (e) =>
            `v1.LabelSelectorRequirement{Key:${goQuote(String(e.key ?? ''))}, Operator:${goQuote(String(e.operator ?? ''))}, Values:${
              e.values ? `[]string{${e.values.map((v) => goQuote(String(v))).join(', ')}}` : '[]string(nil)'
            }}`,
        )
        .join(', ')}}`
    : '[]v1.LabelSelectorRequirement(nil)';
  return new GoValue(`v1.LabelSelector{MatchLabels:${goStringMap(sel.matchLabels)}, MatchExpressions:${exprs}}`);
}
