/**
 * DefaultTolerationSeconds: a new pod tolerates the not-ready and unreachable taints for 300 s unless it has its own
 * toleration of them (NoExecute or any effect, by key or by an Exists toleration without key), as Kubernetes' plugin.
 */
import { isObject, podOf, type Attributes, type MutatingPlugin, type Operation } from './admission.ts';

const DEFAULT_TOLERATION_KEYS = ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'];
export const DEFAULT_TOLERATION_SECONDS = 300;

function tolerates(t: unknown, key: string): boolean {
  if (!isObject(t)) return false;
  return (t.key === key || (!t.key && t.operator === 'Exists')) && (!t.effect || t.effect === 'NoExecute');
}

export class DefaultTolerationSeconds implements MutatingPlugin {
  readonly name = 'DefaultTolerationSeconds';

  handles(op: Operation): boolean {
    return op === 'CREATE';
  }

  admit(a: Attributes): void {
    const spec = podOf(a)?.spec;
    if (!isObject(spec)) return;
    const tolerations: unknown[] = Array.isArray(spec.tolerations) ? spec.tolerations : [];
    for (const key of DEFAULT_TOLERATION_KEYS) {
      if (tolerations.some((t) => tolerates(t, key))) continue;
      tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: DEFAULT_TOLERATION_SECONDS });
    }
    spec.tolerations = tolerations;
  }
}
