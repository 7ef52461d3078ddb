/**
 * The lighter core types: ServiceAccounts, Events (core/v1) and Endpoints.
 */
import type { FieldError } from '../field-error.ts';
import { isObj, list, makeStrategy } from '../common.ts';
import { duplicate, invalid, notSupported, required } from '../validation/errors.ts';
import { isDns1123Subdomain, isQualifiedName, nameIsDnsSubdomain } from '../validation/names.ts';
import { validatePortNum, validateIp } from '../validation/network.ts';
import { validateDns1123Label, validateDns1123Subdomain } from './pod-validation.ts';

export const serviceAccountStrategy = makeStrategy({
  namespaced: true,
  validate(sa) {
    const errs: FieldError[] = [];
    list(sa?.secrets).forEach((s, i) => {
      if (s?.name) errs.push(...validateDns1123Subdomain(`secrets[${i}].name`, String(s.name)));
    });
    list(sa?.imagePullSecrets).forEach((s, i) => {
      if (!s?.name) errs.push(required(`imagePullSecrets[${i}].name`));
    });
    return errs;
  },
});

export function coreEventFields(ev: any): Record<string, string> {
  const io = ev?.involvedObject ?? {};
  const source = ev?.source?.component || ev?.reportingComponent || '';
  return {
    'involvedObject.kind': String(io.kind ?? ''),
    'involvedObject.namespace': String(io.namespace ?? ''),
    'involvedObject.name': String(io.name ?? ''),
    'involvedObject.uid': String(io.uid ?? ''),
    'involvedObject.apiVersion': String(io.apiVersion ?? ''),
    'involvedObject.resourceVersion': String(io.resourceVersion ?? ''),
    'involvedObject.fieldPath': String(io.fieldPath ?? ''),
    reason: String(ev?.reason ?? ''),
    reportingComponent: String(ev?.reportingComponent ?? ''),
    source: String(source),
    type: String(ev?.type ?? ''),
  };
}

function validateCoreEvent(ev: any): FieldError[] {
  const errs: FieldError[] = [];
  const ns = String(ev?.metadata?.namespace ?? '');
  const ioNs = String(ev?.involvedObject?.namespace ?? '');
  if (!ev?.eventTime) {
    if (!ioNs) {
      if (ns !== '' && ns !== 'default')
        errs.push(invalid('involvedObject.namespace', ioNs, 'does not match event.namespace'));
    } else if (ns !== ioNs) errs.push(invalid('involvedObject.namespace', ioNs, 'does not match event.namespace'));
  } else {
    if (!ioNs && ns !== 'default' && ns !== 'kube-system')
      errs.push(invalid('involvedObject.namespace', ioNs, 'does not match event.namespace'));
    if (!ev.reportingComponent) errs.push(required('reportingComponent'));
    for (const m of isQualifiedName(String(ev.reportingComponent ?? '')))
      errs.push(invalid('reportingComponent', ev.reportingComponent ?? '', m));
    if (!ev.reportingInstance) errs.push(required('reportingInstance'));
    if (String(ev.reportingInstance ?? '').length > 128)
      errs.push(invalid('reportingInstance', '', 'can have at most 128 characters'));
    if (!ev.action) errs.push(required('action'));
    if (String(ev.action ?? '').length > 128) errs.push(invalid('action', '', 'can have at most 128 characters'));
    if (!ev.reason) errs.push(required('reason'));
    if (String(ev.reason ?? '').length > 128) errs.push(invalid('reason', '', 'can have at most 128 characters'));
    if (String(ev.message ?? '').length > 1024) errs.push(invalid('message', '', 'can have at most 1024 characters'));
  }
  for (const m of isDns1123Subdomain(ns)) errs.push(invalid('namespace', ns, m));
  return errs;
}

export const coreEventStrategy = makeStrategy({
  namespaced: true,
  nameCheck: nameIsDnsSubdomain,
  defaults(ev) {
    ev.involvedObject ??= {};
    ev.source ??= {};
  },
  validate: validateCoreEvent,
  fields: coreEventFields,
});

function validateEndpoints(ep: any): FieldError[] {
  const errs: FieldError[] = [];
  list(ep?.subsets).forEach((ss, i) => {
    const p = `subsets[${i}]`;
    if (list(ss?.addresses).length === 0 && list(ss?.notReadyAddresses).length === 0) {
      errs.push(required(`${p}.addresses`, 'must specify `addresses` or `notReadyAddresses`'));
    }
    for (const kind of ['addresses', 'notReadyAddresses']) {
      list(ss?.[kind]).forEach((a, j) => {
        const ap = `${p}.${kind}[${j}]`;
        errs.push(...validateIp(`${ap}.ip`, String(a?.ip ?? '')));
        if (a?.hostname) errs.push(...validateDns1123Label(`${ap}.hostname`, String(a.hostname)));
        if (a?.nodeName) errs.push(...validateDns1123Subdomain(`${ap}.nodeName`, String(a.nodeName)));
      });
    }
    const ports = list(ss?.ports);
    const names = new Set<string>();
    ports.forEach((pt, j) => {
      const pp = `${p}.ports[${j}]`;
      if (ports.length > 1 && !pt?.name) errs.push(required(`${pp}.name`));
      else if (pt?.name) {
        errs.push(...validateDns1123Label(`${pp}.name`, String(pt.name)));
        if (names.has(pt.name)) errs.push(duplicate(`${pp}.name`, pt.name));
        names.add(pt.name);
      }
      errs.push(...validatePortNum(`${pp}.port`, pt?.port));
      if (!pt?.protocol) errs.push(required(`${pp}.protocol`));
      else if (!['SCTP', 'TCP', 'UDP'].includes(pt.protocol))
        errs.push(notSupported(`${pp}.protocol`, pt.protocol, ['SCTP', 'TCP', 'UDP']));
    });
  });
  return errs;
}

export const endpointsStrategy = makeStrategy({
  namespaced: true,
  defaults(ep) {
    for (const ss of list(ep?.subsets))
      for (const pt of list(ss?.ports)) if (isObj(pt) && !pt.protocol) pt.protocol = 'TCP';
  },
  validate: validateEndpoints,
});
