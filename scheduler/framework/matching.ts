/**
 * Matching helpers of the scheduler's own: a taint as kube-scheduler prints it and pod label selectors parsed once.
 * Taints, tolerations and node affinity are Kubernetes' rules shared with the controllers: lib/kube/taints.ts and
 * lib/kube/node-affinity.ts.
 */
import type { LabelSelector as LabelSelectorObject } from '../../lib/kube/types/meta.ts';
import type { Taint } from '../../lib/kube/taints.ts';
import { labelSelectorFromObject, type LabelSelector } from '../../lib/selectors.ts';

/** "{key: value}" as kube-scheduler prints a taint */
export function formatTaint(t: Taint): string {
  return `{${t.key}: ${t.value ?? ''}}`;
}

const selectorCache = new WeakMap<object, LabelSelector>();

/** a metav1.LabelSelector object, parsed once per object */
export function selectorOf(sel: LabelSelectorObject | null | undefined): LabelSelector {
  if (!sel || typeof sel !== 'object') return labelSelectorFromObject(sel);
  let s = selectorCache.get(sel);
  if (!s) {
    s = labelSelectorFromObject(sel);
    selectorCache.set(sel, s);
  }
  return s;
}
