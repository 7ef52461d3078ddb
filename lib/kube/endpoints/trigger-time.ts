/**
 * The endpoints.kubernetes.io/last-change-trigger-time annotation of Endpoints and EndpointSlices: the time of the
 * earliest change (a pod's Ready transition, the service's creation) not yet published by the previous sync of the
 * same service. The first sync of a service after a start publishes the service's creation time. Kept per service
 * key; a key is reconciled by one worker at a time, so no locking is needed.
 */
import type { KubeObject } from '../object.ts';
import { podCondition } from '../pods.ts';

export const LAST_CHANGE_TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';

interface State {
  service: number;
  pods: Map<string, number>;
}

function ms(t: string | undefined): number {
  const v = t ? Date.parse(t) : NaN;
  return Number.isNaN(v) ? 0 : v;
}

/** a time as the annotation holds it: RFC 3339 in UTC, fractional seconds only when there are some */
export function formatTriggerTime(t: number): string {
  return new Date(t)
    .toISOString()
    .replace(/\.000Z$/, 'Z')
    .replace(/(\.\d*?)0+Z$/, '$1Z');
}

export class TriggerTimeTracker {
  private readonly states = new Map<string, State>();

  /** the trigger time to publish for this sync of the service (undefined: publish none), remembering what was seen */
  compute(key: string, svc: KubeObject, pods: KubeObject[]): string | undefined {
    const prev = this.states.get(key);
    let earliest = 0;
    const seen = (t: number) => {
      if (t > 0 && (earliest === 0 || t < earliest)) earliest = t;
    };
    const podTimes = new Map<string, number>();
    for (const pod of pods) {
      const t = ms(podCondition(pod, 'Ready')?.lastTransitionTime);
      if (t === 0) continue;
      podTimes.set(pod.metadata.name!, t);
      if (t > (prev?.pods.get(pod.metadata.name!) ?? 0)) seen(t);
    }
    const serviceTime = ms(svc.metadata.creationTimestamp);
    if (serviceTime > (prev?.service ?? 0)) seen(serviceTime);
    this.states.set(key, { service: serviceTime, pods: podTimes });
    if (!prev) return serviceTime ? formatTriggerTime(serviceTime) : undefined;
    return earliest ? formatTriggerTime(earliest) : undefined;
  }

  forget(key: string): void {
    this.states.delete(key);
  }
}
