/**
 * core/v1 ReplicationControllers: the ReplicaSet's predecessor, selecting its pods by an equality-only label map.
 * Defaults as Kubernetes: an empty selector and empty labels are taken from the template's labels, replicas is 1.
 * Unlike a ReplicaSet's, the selector may change. The controller (controllers/replicaset) runs both kinds.
 */
import { isObj, makeStrategy } from '../common.ts';
import { nonNegative, required } from '../validation/errors.ts';
import { validateReplicaStatus, validateReplicatedTemplate } from '../apps/workload.ts';
import { defaultPodTemplate } from './pod-defaults.ts';

const nonEmpty = (m: unknown): m is Record<string, string> => isObj(m) && Object.keys(m).length > 0;

export const replicationControllerStrategy = makeStrategy({
  namespaced: true,
  defaults(rc) {
    const spec = (rc.spec ??= {});
    const labels = spec.template?.metadata?.labels;
    if (isObj(labels)) {
      if (!nonEmpty(spec.selector)) spec.selector = { ...labels };
      if (!nonEmpty(rc.metadata?.labels)) (rc.metadata ??= {}).labels = { ...labels };
    }
    if (spec.replicas === undefined || spec.replicas === null) spec.replicas = 1;
    defaultPodTemplate(spec.template);
  },
  validate(rc) {
    const spec = rc?.spec ?? {};
    const errs = nonNegative('spec.minReadySeconds', spec.minReadySeconds);
    const selector = nonEmpty(spec.selector) ? spec.selector : undefined;
    if (!selector) errs.push(required('spec.selector'));
    errs.push(...nonNegative('spec.replicas', spec.replicas));
    errs.push(
      ...validateReplicatedTemplate(
        selector ? { matchLabels: selector } : undefined,
        spec.template,
        'ReplicationController',
      ),
    );
    return errs;
  },
  validateStatusUpdate: (rc) =>
    validateReplicaStatus(rc?.status, {
      bounded: ['fullyLabeledReplicas', 'readyReplicas', 'availableReplicas'],
      availableBoundedByReady: true,
    }),
  fields: (rc) => ({ 'status.replicas': String(rc?.status?.replicas ?? 0) }),
  // the label map as the selector it stands for
  scaleSelector: (rc) => (isObj(rc?.spec?.selector) ? { matchLabels: rc.spec.selector } : undefined),
});
