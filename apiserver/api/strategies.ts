/**
 * One Strategy per served resource, keyed '<group>/<resource>' ('' group for core: '/pods', 'apps/deployments'), or
 * '<group>/<version>/<resource>' for a version that differs from the others (autoscaling/v1 HPAs).
 */
import type { StorageView, Strategy } from './strategy.ts';
import { makeStrategy } from './common.ts';
import { podStrategy } from './core/pod.ts';
import { serviceStrategy } from './core/service.ts';
import { namespaceStrategy } from './core/namespace.ts';
import { nodeStrategy } from './core/node.ts';
import { configMapStrategy, secretStrategy } from './core/configmap.ts';
import { coreEventStrategy, endpointsStrategy, serviceAccountStrategy } from './core/misc.ts';
import { podTemplateStrategy } from './core/podtemplate.ts';
import { replicationControllerStrategy } from './core/replicationcontroller.ts';
import {
  controllerRevisionStrategy,
  daemonSetStrategy,
  deploymentStrategy,
  replicaSetStrategy,
  statefulSetStrategy,
} from './apps/apps.ts';
import { leaseStrategy } from './coordination/lease.ts';
import { endpointSliceStrategy } from './discovery/endpointslice.ts';
import { eventsV1Strategy, eventsV1View } from './events/event.ts';
import { hpaStrategy } from './autoscaling/hpa.ts';
import { hpaV1Strategy, hpaV1View } from './autoscaling/hpa-v1.ts';
import { nodeMetricsStrategy, podMetricsStrategy } from './metrics/metrics.ts';
import { cronJobStrategy, jobStrategy } from './batch/batch.ts';

/** the review kinds (apiserver/auth/reviews.ts) are answered, never stored: nothing to default; reviews check bodies */
const reviewStrategy = makeStrategy({ namespaced: false });
const namespacedReviewStrategy = makeStrategy({ namespaced: true });

export const STRATEGIES: Record<string, Strategy> = {
  '/namespaces': namespaceStrategy,
  '/pods': podStrategy,
  '/nodes': nodeStrategy,
  '/services': serviceStrategy,
  '/endpoints': endpointsStrategy,
  '/configmaps': configMapStrategy,
  '/secrets': secretStrategy,
  '/serviceaccounts': serviceAccountStrategy,
  '/events': coreEventStrategy,
  '/podtemplates': podTemplateStrategy,
  '/replicationcontrollers': replicationControllerStrategy,
  'authentication.k8s.io/selfsubjectreviews': reviewStrategy,
  'authentication.k8s.io/tokenreviews': reviewStrategy,
  'authorization.k8s.io/selfsubjectaccessreviews': reviewStrategy,
  'authorization.k8s.io/selfsubjectrulesreviews': reviewStrategy,
  'authorization.k8s.io/subjectaccessreviews': reviewStrategy,
  'authorization.k8s.io/localsubjectaccessreviews': namespacedReviewStrategy,
  'apps/deployments': deploymentStrategy,
  'apps/replicasets': replicaSetStrategy,
  'apps/daemonsets': daemonSetStrategy,
  'apps/statefulsets': statefulSetStrategy,
  'apps/controllerrevisions': controllerRevisionStrategy,
  'coordination.k8s.io/leases': leaseStrategy,
  'discovery.k8s.io/endpointslices': endpointSliceStrategy,
  'events.k8s.io/events': eventsV1Strategy,
  'autoscaling/horizontalpodautoscalers': hpaStrategy,
  'autoscaling/v1/horizontalpodautoscalers': hpaV1Strategy,
  'metrics.k8s.io/pods': podMetricsStrategy,
  'metrics.k8s.io/nodes': nodeMetricsStrategy,
  'batch/jobs': jobStrategy,
  'batch/cronjobs': cronJobStrategy,
};

/** resources stored as another one, with their conversion (see StorageView) */
export const STORAGE_VIEWS: Record<string, StorageView> = {
  'events.k8s.io/events': eventsV1View,
  'autoscaling/v1/horizontalpodautoscalers': hpaV1View,
};

/** a resource's entry in STRATEGIES or STORAGE_VIEWS: '<group>/<version>/<resource>' when a version has its own, else '<group>/<resource>' */
export function byResource<T>(
  table: Record<string, T>,
  group: string,
  version: string,
  resource: string,
): T | undefined {
  return table[`${group}/${version}/${resource}`] ?? table[`${group}/${resource}`];
}
