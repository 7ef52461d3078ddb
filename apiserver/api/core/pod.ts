/**
 * Pods: defaults (pod spec defaults, requests from limits; what admission gives new pods, priority and the
 * not-ready/unreachable tolerations, is in ../../admission), validation, the update rules (only images,
 * activeDeadlineSeconds, added tolerations and a few others may change) and the field selector fields.
 */
import type { FieldError } from '../field-error.ts';
import { isObj, list, makeStrategy } from '../common.ts';
import { forbidden, inclusiveRangeError, invalid, jsonEqual } from '../validation/errors.ts';
import { validateIp } from '../validation/network.ts';
import { defaultPodSpec, defaultRequestsFromLimits } from './pod-defaults.ts';
import { validateDns1123Subdomain, validatePodSpec, validateTolerations } from './pod-validation.ts';

const MAX_INT32 = 2147483647;

export const POD_UPDATABLE_FIELDS =
  '`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

export function defaultPod(pod: any): void {
  pod.spec ??= {};
  const spec = pod.spec;
  defaultPodSpec(spec);
  defaultRequestsFromLimits(spec);
}

/** the paths where two JSON values differ (at most `max`), for the pod update error */
function differences(a: unknown, b: unknown, path: string, out: string[], max: number): void {
  if (out.length >= max || jsonEqual(a, b)) return;
  if (isObj(a) && isObj(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) differences(a[k], b[k], `${path}.${k}`, out, max);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    a.forEach((x, i) => differences(x, b[i], `${path}[${i}]`, out, max));
    return;
  }
  out.push(`${path}: ${JSON.stringify(a) ?? 'null'} -> ${JSON.stringify(b) ?? 'null'}`);
}

function sameTolerationIgnoringSeconds(a: any, b: any): boolean {
  const strip = (t: any) => ({ ...(t ?? {}), tolerationSeconds: undefined });
  return jsonEqual(strip(a), strip(b));
}

export function validatePodUpdate(pod: any, old: any): FieldError[] {
  const errs: FieldError[] = [];
  const spec = pod.spec ?? {};
  const oldSpec = old.spec ?? {};
  const ctrs = list(spec.containers);
  const oldCtrs = list(oldSpec.containers);
  if (ctrs.length !== oldCtrs.length)
    return [forbidden('spec.containers', 'pod updates may not add or remove containers')];
  const inits = list(spec.initContainers);
  const oldInits = list(oldSpec.initContainers);
  if (inits.length !== oldInits.length)
    return [forbidden('spec.initContainers', 'pod updates may not add or remove containers')];
  // empty images are reported by the spec validation that runs alongside

  const ads = spec.activeDeadlineSeconds;
  const oldAds = oldSpec.activeDeadlineSeconds;
  if (ads !== undefined && ads !== null) {
    if (typeof ads !== 'number' || ads < 0 || ads > MAX_INT32)
      return [invalid('spec.activeDeadlineSeconds', ads, inclusiveRangeError(0, MAX_INT32))];
    if (typeof oldAds === 'number' && oldAds < ads)
      return [invalid('spec.activeDeadlineSeconds', ads, 'must be less than or equal to previous value')];
  } else if (oldAds !== undefined && oldAds !== null) {
    errs.push(invalid('spec.activeDeadlineSeconds', null, 'must not update from a positive integer to nil value'));
  }

  // tolerations: the existing ones must all remain (tolerationSeconds may change), new ones may be added
  const tols = list(spec.tolerations);
  for (const ot of list(oldSpec.tolerations)) {
    if (!tols.some((t) => sameTolerationIgnoringSeconds(ot, t))) {
      errs.push(forbidden('spec.tolerations', 'existing toleration can not be modified except its tolerationSeconds'));
      break;
    }
  }
  errs.push(...validateTolerations(spec.tolerations, 'spec.tolerations'));

  // everything else must be unchanged: compare with the updatable fields taken from the old spec
  const munged = structuredClone(spec);
  list(munged.containers).forEach((c, i) => (c.image = oldCtrs[i]?.image));
  list(munged.initContainers).forEach((c, i) => (c.image = oldInits[i]?.image));
  if (oldAds === undefined || oldAds === null) delete munged.activeDeadlineSeconds;
  else munged.activeDeadlineSeconds = oldAds;
  if (oldSpec.schedulingGates === undefined) delete munged.schedulingGates;
  else munged.schedulingGates = oldSpec.schedulingGates;
  if (oldSpec.tolerations === undefined) delete munged.tolerations;
  else munged.tolerations = oldSpec.tolerations;
  if (
    typeof oldSpec.terminationGracePeriodSeconds === 'number' &&
    oldSpec.terminationGracePeriodSeconds < 0 &&
    munged.terminationGracePeriodSeconds === 1
  ) {
    munged.terminationGracePeriodSeconds = oldSpec.terminationGracePeriodSeconds;
  }
  if (!jsonEqual(munged, oldSpec)) {
    const diff: string[] = [];
    differences(oldSpec, munged, 'spec', diff, 10);
    errs.push(
      forbidden(
        'spec',
        `pod updates may not change fields other than ${POD_UPDATABLE_FIELDS}\n${diff.map((d) => `  ${d}`).join('\n')}`,
      ),
    );
  }
  return errs;
}

function validatePodStatus(pod: any): FieldError[] {
  const st = pod.status ?? {};
  const errs: FieldError[] = [];
  if (st.nominatedNodeName)
    errs.push(...validateDns1123Subdomain('status.nominatedNodeName', String(st.nominatedNodeName)));
  list(st.podIPs).forEach((p, i) => errs.push(...validateIp(`status.podIPs[${i}].ip`, String(p?.ip ?? ''))));
  list(st.hostIPs).forEach((p, i) => errs.push(...validateIp(`status.hostIPs[${i}].ip`, String(p?.ip ?? ''))));
  const ips = list(st.podIPs).map((p) => p?.ip);
  if (new Set(ips).size !== ips.length) errs.push(invalid('status.podIPs', ips, 'may not contain duplicate addresses'));
  return errs;
}

export const podStrategy = makeStrategy({
  namespaced: true,
  defaults: defaultPod,
  validate: (pod) => validatePodSpec(pod?.spec, 'spec'),
  validateUpdate: validatePodUpdate,
  validateStatusUpdate: (pod) => validatePodStatus(pod),
  fields: (pod) => {
    const spec = pod?.spec ?? {};
    const st = pod?.status ?? {};
    return {
      'spec.nodeName': String(spec.nodeName ?? ''),
      'spec.restartPolicy': String(spec.restartPolicy ?? ''),
      'spec.schedulerName': String(spec.schedulerName ?? ''),
      'spec.serviceAccountName': String(spec.serviceAccountName ?? ''),
      'spec.hostNetwork': String(spec.hostNetwork === true),
      'status.phase': String(st.phase ?? ''),
      'status.podIP': String(st.podIPs?.[0]?.ip ?? st.podIP ?? ''),
      'status.nominatedNodeName': String(st.nominatedNodeName ?? ''),
    };
  },
});
