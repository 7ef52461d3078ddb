/** The pods watch shared by the Endpoints and EndpointSlice controllers, whose keys are Services. */
import { endpointRelevantState, serviceKeysForPod } from '../lib/kube/endpoints/service-pods.ts';
import type { Informer } from '../lib/kube/informer.ts';
import { Pods } from '../lib/kube/resources.ts';
import type { Mapped, Reconciler } from './controller.ts';

/**
 * A pod change concerns the services of its namespace that select it (before and after a label change); an update
 * that changes nothing endpoints are made of concerns none.
 */
export function podsOfServicesWatch<R extends Reconciler & { readonly services: Informer }>(): Mapped<R> {
  return {
    resource: Pods,
    map: (pod, r) => serviceKeysForPod(pod, r.services),
    update: (old, pod) => endpointRelevantState(old) !== endpointRelevantState(pod),
  };
}
