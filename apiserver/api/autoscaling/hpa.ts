/**
 * HorizontalPodAutoscalers (autoscaling/v1 and autoscaling/v2 shapes): minReplicas and (v2) metric/behavior
 * defaults, target reference and replica bounds.
 */
import type { FieldError } from '../field-error.ts';
import { isObj, list, makeStrategy } from '../common.ts';
import { invalid, notSupported, required } from '../validation/errors.ts';
import { isDns1123Subdomain } from '../validation/names.ts';

const unset = (v: unknown) => v === undefined || v === null;
const SELECT = ['Max', 'Min', 'Disabled'];

function defaultRules(rules: any, scaleUp: boolean): any {
  const r = isObj(rules) ? rules : {};
  if (unset(r.stabilizationWindowSeconds)) r.stabilizationWindowSeconds = scaleUp ? 0 : 300;
  if (!r.selectPolicy) r.selectPolicy = 'Max';
  if (list(r.policies).length === 0) {
    r.policies = scaleUp
      ? [
          { type: 'Pods', value: 4, periodSeconds: 15 },
          { type: 'Percent', value: 100, periodSeconds: 15 },
        ]
      : [{ type: 'Percent', value: 100, periodSeconds: 15 }];
  }
  return r;
}

export function defaultHpa(hpa: any): void {
  const spec = (hpa.spec ??= {});
  if (unset(spec.minReplicas)) spec.minReplicas = 1;
  if (String(hpa.apiVersion ?? '') === 'autoscaling/v1') return;
  if (list(spec.metrics).length === 0 && unset(spec.targetCPUUtilizationPercentage)) {
    spec.metrics = [
      { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } },
    ];
  }
  if (isObj(spec.behavior)) {
    spec.behavior.scaleUp = defaultRules(spec.behavior.scaleUp, true);
    spec.behavior.scaleDown = defaultRules(spec.behavior.scaleDown, false);
  }
}

export function validateHpa(hpa: any): FieldError[] {
  const spec = hpa?.spec ?? {};
  const errs: FieldError[] = [];
  const ref = spec.scaleTargetRef ?? {};
  if (!ref.kind) errs.push(required('spec.scaleTargetRef.kind'));
  else if (/[/%]/.test(ref.kind))
    errs.push(invalid('spec.scaleTargetRef.kind', ref.kind, "may not contain '/' or '%'"));
  if (!ref.name) errs.push(required('spec.scaleTargetRef.name'));
  else
    for (const m of isDns1123Subdomain(String(ref.name))) errs.push(invalid('spec.scaleTargetRef.name', ref.name, m));
  if (!unset(spec.minReplicas) && spec.minReplicas < 1)
    errs.push(invalid('spec.minReplicas', spec.minReplicas, 'must be greater than or equal to 1'));
  if (unset(spec.maxReplicas) || spec.maxReplicas < 1)
    errs.push(invalid('spec.maxReplicas', spec.maxReplicas ?? 0, 'must be greater than 0'));
  if (!unset(spec.minReplicas) && typeof spec.maxReplicas === 'number' && spec.maxReplicas < spec.minReplicas) {
    errs.push(invalid('spec.maxReplicas', spec.maxReplicas, 'must be greater than or equal to `minReplicas`'));
  }
  if (!unset(spec.targetCPUUtilizationPercentage) && spec.targetCPUUtilizationPercentage < 1) {
    errs.push(
      invalid('spec.targetCPUUtilizationPercentage', spec.targetCPUUtilizationPercentage, 'must be greater than 0'),
    );
  }
  const types = ['ContainerResource', 'External', 'Object', 'Pods', 'Resource'];
  list(spec.metrics).forEach((m, i) => {
    const p = `spec.metrics[${i}]`;
    if (!m?.type) errs.push(required(`${p}.type`, 'must specify a metric source type'));
    else if (!types.includes(m.type)) errs.push(notSupported(`${p}.type`, m.type, types));
  });
  for (const dir of ['scaleUp', 'scaleDown']) {
    const r = spec.behavior?.[dir];
    if (!isObj(r)) continue;
    if (r.selectPolicy && !SELECT.includes(r.selectPolicy))
      errs.push(notSupported(`spec.behavior.${dir}.selectPolicy`, r.selectPolicy, SELECT));
    const w = r.stabilizationWindowSeconds;
    if (typeof w === 'number' && (w < 0 || w > 3600))
      errs.push(invalid(`spec.behavior.${dir}.stabilizationWindowSeconds`, w, 'must be less than or equal to 3600'));
  }
  return errs;
}

export const hpaStrategy = makeStrategy({ namespaced: true, defaults: defaultHpa, validate: validateHpa });
