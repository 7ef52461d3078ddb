/**
 * Nodes: podCIDR/podCIDRs kept in step, allocatable defaulting to capacity, taints, and the update rules
 * (podCIDRs and providerID only go from unset to set).
 */
import type { FieldError } from '../field-error.ts';
import { isObj, list, makeStrategy } from '../common.ts';
import { duplicate, forbidden, goQuote, GoValue, invalid } from '../validation/errors.ts';
import { validateLabelName } from '../validation/meta.ts';
import { isValidLabelValue } from '../validation/names.ts';
import { CIDR_MSG, isValidCidr, validateIp } from '../validation/network.ts';
import { canonicalQuantity, QUANTITY_REGEX_MSG, tryParseQuantity } from '../../../lib/kube/quantity.ts';
import { validateTaintEffect } from './pod-validation.ts';

function canonicalMap(m: unknown): void {
  if (!isObj(m)) return;
  for (const k of Object.keys(m)) m[k] = canonicalQuantity(m[k]);
}

export function defaultNode(node: any): void {
  const spec = (node.spec ??= {});
  if (spec.podCIDR && list(spec.podCIDRs).length === 0) spec.podCIDRs = [spec.podCIDR];
  if (!spec.podCIDR && list(spec.podCIDRs).length > 0) spec.podCIDR = spec.podCIDRs[0];
  const st = node.status;
  if (isObj(st)) {
    canonicalMap(st.capacity);
    canonicalMap(st.allocatable);
    if (st.allocatable === undefined && isObj(st.capacity)) st.allocatable = { ...st.capacity };
  }
}

function renderTaint(t: any): GoValue {
  return new GoValue(
    `core.Taint{Key:${goQuote(String(t.key ?? ''))}, Value:${goQuote(String(t.value ?? ''))}, Effect:${goQuote(String(t.effect ?? ''))}, TimeAdded:(*v1.Time)(nil)}`,
  );
}

export function validateTaints(taints: unknown, field: string): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  list(taints).forEach((taint, i) => {
    const p = `${field}[${i}]`;
    const t = taint ?? {};
    errs.push(...validateLabelName(String(t.key ?? ''), `${p}.key`));
    const msgs = isValidLabelValue(String(t.value ?? ''));
    if (msgs.length > 0) errs.push(invalid(`${p}.value`, t.value ?? '', msgs.join(';')));
    errs.push(...validateTaintEffect(t.effect, false, `${p}.effect`));
    const key = `${t.effect}\u0000${t.key}`;
    if (seen.has(key)) errs.push(duplicate(p, renderTaint(t), 'taints must be unique by key and effect pair'));
    seen.add(key);
  });
  return errs;
}

function validateResourceList(m: unknown, field: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!isObj(m)) return errs;
  for (const [k, v] of Object.entries(m)) {
    const q = tryParseQuantity(v);
    if (!q) errs.push(invalid(`${field}[${k}]`, v ?? null, QUANTITY_REGEX_MSG));
    else if (q.nanos < 0n) errs.push(invalid(`${field}[${k}]`, String(v), 'must be greater than or equal to 0'));
  }
  return errs;
}

function validateNode(node: any): FieldError[] {
  const spec = node?.spec ?? {};
  const errs: FieldError[] = [];
  errs.push(...validateTaints(spec.taints, 'spec.taints'));
  const cidrs = list(spec.podCIDRs).map(String);
  cidrs.forEach((c, i) => {
    if (!isValidCidr(c)) errs.push(invalid(`spec.podCIDRs[${i}]`, c, CIDR_MSG));
  });
  if (cidrs.length > 1) {
    const fams = cidrs.map((c) => (c.includes(':') ? 6 : 4));
    if (cidrs.length > 2 || fams[0] === fams[1])
      errs.push(invalid('spec.podCIDRs', cidrs, 'may specify no more than one CIDR for each IP family'));
  }
  errs.push(...validateResourceList(node?.status?.capacity, 'status.capacity'));
  errs.push(...validateResourceList(node?.status?.allocatable, 'status.allocatable'));
  list(node?.status?.addresses).forEach((a, i) => {
    if (a?.type === 'InternalIP' || a?.type === 'ExternalIP')
      errs.push(...validateIp(`status.addresses[${i}].address`, String(a.address ?? '')));
  });
  return errs;
}

function validateNodeUpdate(node: any, old: any): FieldError[] {
  const errs: FieldError[] = [];
  const oldCidrs = list(old?.spec?.podCIDRs);
  const cidrs = list(node?.spec?.podCIDRs);
  if (oldCidrs.length > 0) {
    const msg = 'node updates may not change podCIDR except from "" to valid';
    if (oldCidrs.length !== cidrs.length) errs.push(forbidden('spec.podCIDRs', msg));
    else oldCidrs.forEach((c, i) => c !== cidrs[i] && errs.push(forbidden('spec.podCIDRs', msg)));
  }
  const oldPid = old?.spec?.providerID;
  if (oldPid && oldPid !== node?.spec?.providerID)
    errs.push(forbidden('spec.providerID', 'node updates may not change providerID except from "" to valid'));
  return errs;
}

export const nodeStrategy = makeStrategy({
  namespaced: false,
  defaults: defaultNode,
  validate: validateNode,
  validateUpdate: validateNodeUpdate,
  validateStatusUpdate: (node, old) => [...validateNode(node), ...validateNodeUpdate(node, old)],
  fields: (node) => ({ 'spec.unschedulable': String(node?.spec?.unschedulable === true) }),
});
