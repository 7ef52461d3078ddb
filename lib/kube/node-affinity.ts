/**
 * Node selectors and node affinity, matched as Kubernetes matches them (component-helpers
 * scheduling/corev1/nodeaffinity): the one implementation behind the scheduler's NodeAffinity and
 * PodTopologySpread plugins and the DaemonSet controller's placement.
 *
 * A term's matchExpressions are label requirements (labels.NewRequirement's checks, then its Matches; Gt and Lt
 * compare 64-bit integers and a value that is not one matches nothing); its matchFields take In and NotIn with one
 * value each, on the node's metadata.name. A term that does not parse matches no node, an empty term neither; the
 * terms of a selector are OR-ed, the requirements of a term AND-ed.
 */
import { labelRequirementMatches, newLabelRequirement, type LabelOp, type LabelRequirement } from '../selectors.ts';

export type NodeSelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt';

export interface NodeSelectorRequirement {
  key: string;
  /** a NodeSelectorOperator; any other text (as it may come over the wire) matches nothing */
  operator: string;
  values?: string[];
}

export interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[];
  matchFields?: NodeSelectorRequirement[];
}

export interface NodeSelector {
  nodeSelectorTerms?: NodeSelectorTerm[];
}

export interface PreferredSchedulingTerm {
  weight?: number;
  preference?: NodeSelectorTerm;
}

/** the parts of a pod spec (or a pod template's) that pick nodes */
export interface NodePlacementSpec {
  nodeSelector?: Record<string, string>;
  affinity?: {
    nodeAffinity?: {
      requiredDuringSchedulingIgnoredDuringExecution?: NodeSelector;
      preferredDuringSchedulingIgnoredDuringExecution?: PreferredSchedulingTerm[];
    };
  };
}

/** what node affinity looks at in a node */
export interface NodeLike {
  metadata: { name?: string; labels?: Record<string, string> };
}

export const NODE_NAME_FIELD = 'metadata.name';

const LABEL_OPS: Readonly<Record<string, LabelOp>> = {
  In: 'in',
  NotIn: 'notin',
  Exists: 'exists',
  DoesNotExist: '!',
  Gt: 'gt',
  Lt: 'lt',
};

interface FieldTerm {
  key: string;
  value: string;
  equal: boolean;
}

/** a term once parsed: undefined requirements when it does not parse */
interface ParsedTerm {
  labels?: LabelRequirement[];
  fields?: FieldTerm[];
  valid: boolean;
}

/** the label requirement a match expression makes, or undefined when Kubernetes would refuse it */
export function labelRequirementOf(r: NodeSelectorRequirement): LabelRequirement | undefined {
  const op = Object.hasOwn(LABEL_OPS, r?.operator) ? LABEL_OPS[r.operator] : undefined;
  if (!op || typeof r.key !== 'string') return undefined;
  try {
    return newLabelRequirement(r.key, op, [...(r.values ?? [])]);
  } catch {
    return undefined;
  }
}

/** a matchFields requirement: In or NotIn with exactly one value, or undefined */
function fieldTermOf(r: NodeSelectorRequirement): FieldTerm | undefined {
  if ((r?.operator !== 'In' && r?.operator !== 'NotIn') || r.values?.length !== 1) return undefined;
  return { key: r.key, value: r.values[0], equal: r.operator === 'In' };
}

function parseTerm(term: NodeSelectorTerm): ParsedTerm {
  const exprs = term.matchExpressions ?? [];
  const fieldReqs = term.matchFields ?? [];
  const labels = exprs.map(labelRequirementOf);
  const fields = fieldReqs.map(fieldTermOf);
  if (labels.includes(undefined) || fields.includes(undefined)) return { valid: false };
  return { labels: labels as LabelRequirement[], fields: fields as FieldTerm[], valid: true };
}

/** terms come from cached objects that are replaced, never changed: each is parsed once */
const parsedTerms = new WeakMap<object, ParsedTerm>();

function parsed(term: NodeSelectorTerm): ParsedTerm {
  let p = parsedTerms.get(term);
  if (!p) {
    p = parseTerm(term);
    parsedTerms.set(term, p);
  }
  return p;
}

/** the node's fields a term can name: metadata.name, when the node has one */
function fieldValue(node: NodeLike, key: string): string {
  return key === NODE_NAME_FIELD ? (node.metadata.name ?? '') : '';
}

/** one match expression holds for the node's labels (false when it does not parse) */
export function matchExpressionMatches(
  r: NodeSelectorRequirement,
  labels: Record<string, string> | undefined,
): boolean {
  const req = labelRequirementOf(r);
  return !!req && labelRequirementMatches(req, labels);
}

/** one matchFields requirement holds for the node (false when it does not parse) */
export function matchFieldMatches(r: NodeSelectorRequirement, node: NodeLike): boolean {
  const f = fieldTermOf(r);
  if (!f) return false;
  if (!node.metadata.name) return true;
  return (fieldValue(node, f.key) === f.value) === f.equal;
}

function isEmptyTerm(term: NodeSelectorTerm | null | undefined): boolean {
  return !term || (!term.matchExpressions?.length && !term.matchFields?.length);
}

/** the term matches the node: every expression and field holds; empty terms and terms that do not parse match none */
export function nodeSelectorTermMatches(term: NodeSelectorTerm | null | undefined, node: NodeLike): boolean {
  if (!term || isEmptyTerm(term)) return false;
  const p = parsed(term);
  if (!p.valid) return false;
  const labels = node.metadata.labels;
  for (const r of p.labels!) if (!labelRequirementMatches(r, labels)) return false;
  // a node without a name has no fields to match (Kubernetes checks fields only when there are some)
  if (node.metadata.name) {
    for (const f of p.fields!) if ((fieldValue(node, f.key) === f.value) !== f.equal) return false;
  }
  return true;
}

/** some term of the selector matches the node (MatchNodeSelectorTerms); no terms match nothing */
export function nodeSelectorMatches(selector: NodeSelector | null | undefined, node: NodeLike): boolean {
  for (const term of selector?.nodeSelectorTerms ?? []) if (nodeSelectorTermMatches(term, node)) return true;
  return false;
}

/** the node's labels hold every label of a nodeSelector map */
export function nodeSelectorMapMatches(selector: Record<string, string> | undefined, node: NodeLike): boolean {
  if (!selector) return true;
  const labels = node.metadata.labels ?? {};
  for (const k of Object.keys(selector)) {
    if (!Object.hasOwn(labels, k) || labels[k] !== selector[k]) return false;
  }
  return true;
}

/**
 * The pod spec's nodeSelector and its required node affinity both hold for the node (RequiredNodeAffinity.Match):
 * a required node affinity without terms matches no node.
 */
export function requiredNodeAffinityMatches(spec: NodePlacementSpec | null | undefined, node: NodeLike): boolean {
  if (!nodeSelectorMapMatches(spec?.nodeSelector ?? undefined, node)) return false;
  const required = spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  return required ? nodeSelectorMatches(required, node) : true;
}

/** the sum of the weights of the preferred terms the node matches (terms of weight 0 count for nothing) */
export function preferredSchedulingScore(
  terms: readonly PreferredSchedulingTerm[] | undefined,
  node: NodeLike,
): number {
  let score = 0;
  for (const t of terms ?? []) {
    if (t?.weight && nodeSelectorTermMatches(t.preference, node)) score += t.weight;
  }
  return score;
}
