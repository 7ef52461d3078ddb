/** Matching rules shared by plugins: tolerations against taints, node selector terms, pod label selectors. */
import type {
  Node,
  NodeSelectorRequirement as NodeSelectorRequirementObject,
  NodeSelectorTerm,
  Pod,
} from '../../lib/kube/types/core-v1.ts';
import type { LabelSelector as LabelSelectorObject } from '../../lib/kube/types/meta.ts';
import { labelSelectorFromObject, type LabelSelector } from '../../lib/selectors.ts';

export { tolerated, tolerates, type Taint, type Toleration } from '../../lib/kube/taints.ts';
import type { Taint } from '../../lib/kube/taints.ts';

/** "{key: value}" as kube-scheduler prints a taint */
export function formatTaint(t: Taint): string {
  return `{${t.key}: ${t.value ?? ''}}`;
}

/** one matchExpressions/matchFields entry of a NodeSelectorTerm */
export interface NodeSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt';
  values?: string[];
}

export function requirementMatches(r: NodeSelectorRequirementObject, value: string | undefined): boolean {
  switch (r.operator) {
    case 'In':
      return value !== undefined && (r.values ?? []).includes(value);
    case 'NotIn':
      return value === undefined || !(r.values ?? []).includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      if (value === undefined || !/^-?\d+$/.test(value)) return false;
      const want = Number(r.values?.[0]);
      return r.operator === 'Gt' ? Number(value) > want : Number(value) < want;
    }
    default:
      return false;
  }
}

/** a NodeSelectorTerm: all its expressions and fields must match; an empty term matches nothing */
export function nodeSelectorTermMatches(term: NodeSelectorTerm | undefined, node: Node): boolean {
  const exprs = term?.matchExpressions ?? [];
  const fields = term?.matchFields ?? [];
  if (!exprs.length && !fields.length) return false;
  const labels = node.metadata.labels ?? {};
  for (const r of exprs) if (!requirementMatches(r, labels[r.key])) return false;
  for (const r of fields) {
    const v = r.key === 'metadata.name' ? node.metadata.name : undefined;
    if (!requirementMatches(r, v)) return false;
  }
  return true;
}

/** the pod's nodeSelector and required node affinity both hold for the node */
export function podMatchesNodeSelectorAndAffinity(pod: Pod, node: Node): boolean {
  const sel = pod.spec?.nodeSelector;
  if (sel) {
    const labels = node.metadata.labels ?? {};
    for (const [k, v] of Object.entries(sel)) if (labels[k] !== v) return false;
  }
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms && terms.length) return terms.some((t) => nodeSelectorTermMatches(t, node));
  return true;
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
