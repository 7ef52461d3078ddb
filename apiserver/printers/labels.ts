/** Label maps and label selectors rendered as text, the way kubectl shows them ("app=web,tier in (a,b)"). */

/** "k1=v1,k2=v2" sorted by key; "<none>" for an empty or absent map */
export function formatLabels(m: unknown): string {
  if (!m || typeof m !== 'object') return '<none>';
  const keys = Object.keys(m).sort();
  if (keys.length === 0) return '<none>';
  return keys.map((k) => `${k}=${(m as Record<string, unknown>)[k]}`).join(',');
}

/**
 * A metav1.LabelSelector as selector text: requirements sorted by key, set values sorted, `!key` for DoesNotExist.
 * An absent or empty selector gives ''. Returns undefined when the selector cannot be turned into requirements
 * (unknown operator, In/NotIn without values, Exists/DoesNotExist with values).
 */
export function selectorString(sel: unknown): string | undefined {
  if (!sel || typeof sel !== 'object') return '';
  const s = sel as { matchLabels?: Record<string, unknown>; matchExpressions?: unknown };
  const reqs: { key: string; text: string }[] = [];
  for (const [k, v] of Object.entries(s.matchLabels ?? {})) reqs.push({ key: k, text: `${k}=${v}` });
  for (const e of Array.isArray(s.matchExpressions) ? s.matchExpressions : []) {
    const key = String(e?.key ?? '');
    const values: string[] = Array.isArray(e?.values) ? e.values.map(String) : [];
    const sorted = [...values].sort();
    switch (e?.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) return undefined;
        reqs.push({ key, text: `${key} ${e.operator === 'In' ? 'in' : 'notin'} (${sorted.join(',')})` });
        break;
      case 'Exists':
        if (values.length > 0) return undefined;
        reqs.push({ key, text: key });
        break;
      case 'DoesNotExist':
        if (values.length > 0) return undefined;
        reqs.push({ key, text: `!${key}` });
        break;
      default:
        return undefined;
    }
  }
  reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return reqs.map((r) => r.text).join(',');
}

/** selector text for table cells: "<none>" when it selects nothing in particular, "<error>" when malformed */
export function formatLabelSelector(sel: unknown): string {
  const s = selectorString(sel);
  if (s === undefined) return '<error>';
  return s === '' ? '<none>' : s;
}
