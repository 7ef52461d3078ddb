/**
 * apps/v1: Deployments, ReplicaSets, DaemonSets, StatefulSets and ControllerRevisions.
 */
import type { FieldError } from '../field-error.ts';
import { isObj, list, makeStrategy } from '../common.ts';
import {
  forbidden,
  goQuote,
  GoValue,
  immutable,
  invalid,
  nonNegative,
  notSupported,
  required,
} from '../validation/errors.ts';
import { defaultPodTemplate } from '../core/pod-defaults.ts';
import {
  intOrPercentValue,
  notMoreThan100Percent,
  renderIntOrString,
  selectorImmutable,
  validateIntOrPercent,
  validateReplicaStatus,
  validateReplicatedTemplate,
  validateTemplateMatches,
  validateWorkloadSelector,
} from './workload.ts';
import { validatePodTemplateSpec } from '../core/pod-validation.ts';
import { validateObjectMeta } from '../validation/meta.ts';
import { nameIsDnsSubdomain } from '../validation/names.ts';
import { canonicalQuantity } from '../../../lib/kube/quantity.ts';

// ---------- ReplicaSet ----------

function validateReplicaSetSpec(rs: any): FieldError[] {
  const spec = rs?.spec ?? {};
  const errs = [
    ...nonNegative('spec.replicas', spec.replicas),
    ...nonNegative('spec.minReadySeconds', spec.minReadySeconds),
  ];
  const sel = validateWorkloadSelector(spec.selector, 'deployment');
  errs.push(...sel.errs);
  if (spec.selector && !sel.usable)
    errs.push(invalid('spec.selector', renderSelectorValue(spec.selector), 'invalid label selector'));
  else if (spec.selector) errs.push(...validateReplicatedTemplate(spec.selector, spec.template, 'ReplicaSet'));
  return errs;
}

function renderSelectorValue(sel: any): GoValue {
  return new GoValue(JSON.stringify(sel));
}

export const replicaSetStrategy = makeStrategy({
  namespaced: true,
  defaults(rs) {
    const spec = (rs.spec ??= {});
    if (spec.replicas === undefined || spec.replicas === null) spec.replicas = 1;
    defaultPodTemplate(spec.template);
  },
  validate: validateReplicaSetSpec,
  validateUpdate: selectorImmutable,
  validateStatusUpdate: (rs) =>
    validateReplicaStatus(rs?.status, {
      bounded: ['fullyLabeledReplicas', 'readyReplicas', 'availableReplicas'],
      availableBoundedByReady: true,
    }),
  fields: (rs) => ({ 'status.replicas': String(rs?.status?.replicas ?? 0) }),
});

// ---------- Deployment ----------

function renderDeploymentStrategy(s: any): GoValue {
  const ru = s?.rollingUpdate ? '&apps.RollingUpdateDeployment{...}' : '(*apps.RollingUpdateDeployment)(nil)';
  return new GoValue(`apps.DeploymentStrategy{Type:${goQuote(String(s?.type ?? ''))}, RollingUpdate:${ru}}`);
}

function validateDeploymentStrategy(s: any): FieldError[] {
  const errs: FieldError[] = [];
  switch (s?.type) {
    case 'Recreate':
      if (s.rollingUpdate)
        errs.push(forbidden('spec.strategy.rollingUpdate', "may not be specified when strategy `type` is 'Recreate'"));
      break;
    case 'RollingUpdate': {
      const ru = s.rollingUpdate;
      if (!isObj(ru)) {
        errs.push(required('spec.strategy.rollingUpdate', 'this should be defaulted and never be nil'));
        break;
      }
      errs.push(...validateIntOrPercent(ru.maxUnavailable, 'spec.strategy.rollingUpdate.maxUnavailable'));
      errs.push(...validateIntOrPercent(ru.maxSurge, 'spec.strategy.rollingUpdate.maxSurge'));
      if (intOrPercentValue(ru.maxUnavailable) === 0 && intOrPercentValue(ru.maxSurge) === 0) {
        errs.push(
          invalid(
            'spec.strategy.rollingUpdate.maxUnavailable',
            renderIntOrString(ru.maxUnavailable),
            'may not be 0 when `maxSurge` is 0',
          ),
        );
      }
      errs.push(...notMoreThan100Percent(ru.maxUnavailable, 'spec.strategy.rollingUpdate.maxUnavailable'));
      break;
    }
    default:
      errs.push(notSupported('spec.strategy', renderDeploymentStrategy(s), ['Recreate', 'RollingUpdate']));
  }
  return errs;
}

function validateDeploymentSpec(d: any): FieldError[] {
  const spec = d?.spec ?? {};
  const errs = nonNegative('spec.replicas', spec.replicas);
  const sel = validateWorkloadSelector(spec.selector, 'deployment');
  errs.push(...sel.errs);
  if (spec.selector && !sel.usable)
    errs.push(invalid('spec.selector', renderSelectorValue(spec.selector), 'invalid label selector'));
  else if (spec.selector) errs.push(...validateReplicatedTemplate(spec.selector, spec.template, 'ReplicaSet'));
  errs.push(...validateDeploymentStrategy(spec.strategy));
  errs.push(...nonNegative('spec.minReadySeconds', spec.minReadySeconds));
  if (spec.revisionHistoryLimit !== undefined && spec.revisionHistoryLimit !== null)
    errs.push(...nonNegative('spec.revisionHistoryLimit', spec.revisionHistoryLimit));
  if (spec.progressDeadlineSeconds !== undefined && spec.progressDeadlineSeconds !== null) {
    errs.push(...nonNegative('spec.progressDeadlineSeconds', spec.progressDeadlineSeconds));
    if (spec.progressDeadlineSeconds <= (spec.minReadySeconds ?? 0)) {
      errs.push(
        invalid('spec.progressDeadlineSeconds', spec.progressDeadlineSeconds, 'must be greater than minReadySeconds'),
      );
    }
  }
  return errs;
}

export function defaultDeployment(d: any): void {
  const spec = (d.spec ??= {});
  if (spec.replicas === undefined || spec.replicas === null) spec.replicas = 1;
  const st = (spec.strategy ??= {});
  if (!st.type) st.type = 'RollingUpdate';
  if (st.type === 'RollingUpdate') {
    st.rollingUpdate ??= {};
    if (st.rollingUpdate.maxUnavailable === undefined || st.rollingUpdate.maxUnavailable === null)
      st.rollingUpdate.maxUnavailable = '25%';
    if (st.rollingUpdate.maxSurge === undefined || st.rollingUpdate.maxSurge === null)
      st.rollingUpdate.maxSurge = '25%';
  }
  if (spec.revisionHistoryLimit === undefined || spec.revisionHistoryLimit === null) spec.revisionHistoryLimit = 10;
  if (spec.progressDeadlineSeconds === undefined || spec.progressDeadlineSeconds === null)
    spec.progressDeadlineSeconds = 600;
  defaultPodTemplate(spec.template);
}

export const deploymentStrategy = makeStrategy({
  namespaced: true,
  defaults: defaultDeployment,
  validate: validateDeploymentSpec,
  validateUpdate: selectorImmutable,
  validateStatusUpdate(d) {
    const errs = validateReplicaStatus(d?.status, {
      bounded: ['updatedReplicas', 'readyReplicas', 'availableReplicas'],
      availableBoundedByReady: true,
    });
    errs.push(...nonNegative('status.unavailableReplicas', d?.status?.unavailableReplicas));
    errs.push(...nonNegative('status.collisionCount', d?.status?.collisionCount));
    return errs;
  },
});

// ---------- DaemonSet ----------

function validateDaemonSetSpec(ds: any): FieldError[] {
  const spec = ds?.spec ?? {};
  const errs: FieldError[] = [];
  const sel = validateWorkloadSelector(spec.selector, 'daemonset');
  errs.push(...sel.errs);
  if (sel.usable) errs.push(...validateTemplateMatches(spec.selector, spec.template));
  errs.push(...validatePodTemplateSpec(spec.template, 'spec.template'));
  const rp = spec.template?.spec?.restartPolicy;
  if (rp !== 'Always') errs.push(notSupported('spec.template.spec.restartPolicy', rp ?? '', ['Always']));
  const ads = spec.template?.spec?.activeDeadlineSeconds;
  if (ads !== undefined && ads !== null)
    errs.push(
      invalid('spec.template.spec.activeDeadlineSeconds', ads, 'activeDeadlineSeconds in DaemonSet is not Supported'),
    );
  errs.push(...nonNegative('spec.minReadySeconds', spec.minReadySeconds));
  errs.push(...nonNegative('spec.templateGeneration', spec.templateGeneration));
  const us = spec.updateStrategy ?? {};
  switch (us.type) {
    case 'OnDelete':
      break;
    case 'RollingUpdate': {
      const ru = us.rollingUpdate;
      if (!isObj(ru)) {
        errs.push(required('spec.updateStrategy.rollingUpdate'));
        break;
      }
      const p = 'spec.updateStrategy.rollingUpdate';
      errs.push(...validateIntOrPercent(ru.maxUnavailable, `${p}.maxUnavailable`));
      errs.push(...validateIntOrPercent(ru.maxSurge, `${p}.maxSurge`));
      errs.push(...notMoreThan100Percent(ru.maxUnavailable, `${p}.maxUnavailable`));
      errs.push(...notMoreThan100Percent(ru.maxSurge, `${p}.maxSurge`));
      const hasU = intOrPercentValue(ru.maxUnavailable) !== 0;
      const hasS = intOrPercentValue(ru.maxSurge) !== 0;
      if (hasU && hasS)
        errs.push(
          invalid(`${p}.maxSurge`, renderIntOrString(ru.maxSurge), 'may not be set when maxUnavailable is non-zero'),
        );
      else if (!hasU && !hasS) errs.push(required(`${p}.maxUnavailable`, 'cannot be 0 when maxSurge is 0'));
      break;
    }
    default:
      errs.push(
        notSupported(
          'spec.updateStrategy',
          new GoValue(
            `apps.DaemonSetUpdateStrategy{Type:${goQuote(String(us.type ?? ''))}, RollingUpdate:(*apps.RollingUpdateDaemonSet)(nil)}`,
          ),
          ['RollingUpdate', 'OnDelete'],
        ),
      );
  }
  if (spec.revisionHistoryLimit !== undefined && spec.revisionHistoryLimit !== null)
    errs.push(...nonNegative('spec.revisionHistoryLimit', spec.revisionHistoryLimit));
  return errs;
}

export const daemonSetStrategy = makeStrategy({
  namespaced: true,
  defaults(ds) {
    const spec = (ds.spec ??= {});
    const us = (spec.updateStrategy ??= {});
    if (!us.type) us.type = 'RollingUpdate';
    if (us.type === 'RollingUpdate') {
      us.rollingUpdate ??= {};
      if (us.rollingUpdate.maxUnavailable === undefined || us.rollingUpdate.maxUnavailable === null)
        us.rollingUpdate.maxUnavailable = 1;
      if (us.rollingUpdate.maxSurge === undefined || us.rollingUpdate.maxSurge === null) us.rollingUpdate.maxSurge = 0;
    }
    if (spec.revisionHistoryLimit === undefined || spec.revisionHistoryLimit === null) spec.revisionHistoryLimit = 10;
    defaultPodTemplate(spec.template);
  },
  validate: validateDaemonSetSpec,
  validateUpdate: selectorImmutable,
  validateStatusUpdate(ds) {
    const st = ds?.status ?? {};
    const errs: FieldError[] = [];
    for (const k of [
      'currentNumberScheduled',
      'numberMisscheduled',
      'desiredNumberScheduled',
      'numberReady',
      'observedGeneration',
      'updatedNumberScheduled',
      'numberAvailable',
      'numberUnavailable',
      'collisionCount',
    ]) {
      errs.push(...nonNegative(`status.${k}`, st[k]));
    }
    return errs;
  },
});

// ---------- StatefulSet ----------

function defaultPvcTemplate(pvc: any): void {
  if (!isObj(pvc)) return;
  const spec = (pvc.spec ??= {});
  if (!spec.volumeMode) spec.volumeMode = 'Filesystem';
  const req = spec.resources?.requests;
  if (isObj(req)) for (const k of Object.keys(req)) req[k] = canonicalQuantity(req[k]);
  pvc.status ??= {};
  if (!pvc.status.phase) pvc.status.phase = 'Pending';
}

function validateStatefulSetSpec(sts: any): FieldError[] {
  const spec = sts?.spec ?? {};
  const errs: FieldError[] = [];
  const pmp = spec.podManagementPolicy;
  if (!pmp) errs.push(required('spec.podManagementPolicy'));
  else if (pmp !== 'OrderedReady' && pmp !== 'Parallel')
    errs.push(invalid('spec.podManagementPolicy', pmp, "must be 'OrderedReady' or 'Parallel'"));
  const us = spec.updateStrategy ?? {};
  switch (us.type ?? '') {
    case '':
      errs.push(required('spec.updateStrategy'));
      break;
    case 'OnDelete':
      if (us.rollingUpdate)
        errs.push(
          invalid(
            'spec.updateStrategy.rollingUpdate',
            us.rollingUpdate,
            "only allowed for updateStrategy 'RollingUpdate'",
          ),
        );
      break;
    case 'RollingUpdate':
      if (isObj(us.rollingUpdate)) {
        errs.push(...nonNegative('spec.updateStrategy.rollingUpdate.partition', us.rollingUpdate.partition));
        if (us.rollingUpdate.maxUnavailable !== undefined) {
          errs.push(
            ...validateIntOrPercent(
              us.rollingUpdate.maxUnavailable,
              'spec.updateStrategy.rollingUpdate.maxUnavailable',
            ),
          );
          if (intOrPercentValue(us.rollingUpdate.maxUnavailable) === 0) {
            errs.push(
              invalid(
                'spec.updateStrategy.rollingUpdate.maxUnavailable',
                renderIntOrString(us.rollingUpdate.maxUnavailable),
                'must be greater than 0',
              ),
            );
          }
          errs.push(
            ...notMoreThan100Percent(
              us.rollingUpdate.maxUnavailable,
              'spec.updateStrategy.rollingUpdate.maxUnavailable',
            ),
          );
        }
      }
      break;
    default:
      errs.push(
        invalid(
          'spec.updateStrategy',
          new GoValue(
            `apps.StatefulSetUpdateStrategy{Type:${goQuote(String(us.type))}, RollingUpdate:(*apps.RollingUpdateStatefulSetStrategy)(nil)}`,
          ),
          "must be 'RollingUpdate' or 'OnDelete'",
        ),
      );
  }
  if (spec.revisionHistoryLimit !== undefined && spec.revisionHistoryLimit !== null)
    errs.push(...nonNegative('spec.revisionHistoryLimit', spec.revisionHistoryLimit));
  errs.push(...nonNegative('spec.replicas', spec.replicas));
  errs.push(...nonNegative('spec.minReadySeconds', spec.minReadySeconds));
  if (isObj(spec.ordinals)) errs.push(...nonNegative('spec.ordinals.start', spec.ordinals.start));
  const policy = spec.persistentVolumeClaimRetentionPolicy;
  if (isObj(policy)) {
    for (const k of ['whenDeleted', 'whenScaled']) {
      const v = policy[k];
      if (v !== undefined && v !== 'Retain' && v !== 'Delete')
        errs.push(notSupported(`spec.persistentVolumeClaimRetentionPolicy.${k}`, v, ['Retain', 'Delete']));
    }
  }
  const sel = validateWorkloadSelector(spec.selector, 'statefulset');
  errs.push(...sel.errs);
  if (spec.selector && !sel.usable) errs.push(invalid('spec.selector', renderSelectorValue(spec.selector), ''));
  else if (spec.selector) {
    errs.push(...validateTemplateMatches(spec.selector, spec.template));
    errs.push(...validatePodTemplateSpec(spec.template, 'spec.template'));
  }
  const rp = spec.template?.spec?.restartPolicy;
  if (rp !== 'Always') errs.push(notSupported('spec.template.spec.restartPolicy', rp ?? '', ['Always']));
  const ads = spec.template?.spec?.activeDeadlineSeconds;
  if (ads !== undefined && ads !== null)
    errs.push(
      forbidden('spec.template.spec.activeDeadlineSeconds', 'activeDeadlineSeconds in StatefulSet is not Supported'),
    );
  list(spec.volumeClaimTemplates).forEach((pvc, i) => {
    errs.push(
      ...validateObjectMeta(
        { ...(pvc?.metadata ?? {}), namespace: undefined },
        false,
        nameIsDnsSubdomain,
        `spec.volumeClaimTemplates[${i}].metadata`,
      ),
    );
    if (list(pvc?.spec?.accessModes).length === 0)
      errs.push(required(`spec.volumeClaimTemplates[${i}].spec.accessModes`, 'at least 1 access mode is required'));
  });
  return errs;
}

const STS_UPDATABLE = [
  'replicas',
  'ordinals',
  'template',
  'updateStrategy',
  'revisionHistoryLimit',
  'persistentVolumeClaimRetentionPolicy',
  'minReadySeconds',
];

export const statefulSetStrategy = makeStrategy({
  namespaced: true,
  defaults(sts) {
    const spec = (sts.spec ??= {});
    if (!spec.podManagementPolicy) spec.podManagementPolicy = 'OrderedReady';
    const us = (spec.updateStrategy ??= {});
    if (!us.type) us.type = 'RollingUpdate';
    if (us.type === 'RollingUpdate') {
      us.rollingUpdate ??= {};
      if (us.rollingUpdate.partition === undefined || us.rollingUpdate.partition === null)
        us.rollingUpdate.partition = 0;
    }
    if (spec.replicas === undefined || spec.replicas === null) spec.replicas = 1;
    if (spec.revisionHistoryLimit === undefined || spec.revisionHistoryLimit === null) spec.revisionHistoryLimit = 10;
    const pol = (spec.persistentVolumeClaimRetentionPolicy ??= {});
    if (!pol.whenDeleted) pol.whenDeleted = 'Retain';
    if (!pol.whenScaled) pol.whenScaled = 'Retain';
    for (const pvc of list(spec.volumeClaimTemplates)) defaultPvcTemplate(pvc);
    defaultPodTemplate(spec.template);
  },
  validate: validateStatefulSetSpec,
  validateUpdate(sts, old) {
    const a = { ...(sts?.spec ?? {}) };
    const b = { ...(old?.spec ?? {}) };
    for (const k of STS_UPDATABLE) {
      delete a[k];
      delete b[k];
    }
    return immutable('spec', a, b).length > 0
      ? [
          forbidden(
            'spec',
            "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
          ),
        ]
      : [];
  },
  validateStatusUpdate: (sts) =>
    validateReplicaStatus(sts?.status, {
      bounded: ['readyReplicas', 'currentReplicas', 'updatedReplicas', 'availableReplicas'],
      availableBoundedByReady: true,
    }),
});

// ---------- ControllerRevision ----------

export const controllerRevisionStrategy = makeStrategy({
  namespaced: true,
  validate(cr) {
    const errs = nonNegative('revision', cr?.revision);
    if (cr?.data === undefined || cr?.data === null) errs.push(required('data', 'data is mandatory'));
    return errs;
  },
  validateUpdate: (cr, old) =>
    immutable('data', cr?.data ?? null, old?.data ?? null, new GoValue('runtime.RawExtension{...}')),
});
