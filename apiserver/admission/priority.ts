/**
 * Priority: a new pod without a priority class gets priority 0, and every new pod a preemptionPolicy
 * (PreemptLowerPriority), as Kubernetes' Priority plugin gives them when no PriorityClass is the default.
 */
import { isObject, podOf, type Attributes, type MutatingPlugin, type Operation } from './admission.ts';

export class Priority implements MutatingPlugin {
  readonly name = 'Priority';

  handles(op: Operation): boolean {
    return op === 'CREATE';
  }

  admit(a: Attributes): void {
    const spec = podOf(a)?.spec;
    if (!isObject(spec)) return;
    if (spec.priority === undefined && !spec.priorityClassName) spec.priority = 0;
    if (spec.preemptionPolicy === undefined) spec.preemptionPolicy = 'PreemptLowerPriority';
  }
}
