/**
 * events.k8s.io/v1 Events. They are stored with core/v1 Events, in core/v1's form (eventsV1View converts), so that
 * either API sees the Events written through the other. Field selectors use the core/v1 field names
 * (involvedObject.*, source, ...), which map onto regarding, reportingController and deprecatedSource.
 */
import type { FieldError } from '../field-error.ts';
import type { StorageView } from '../strategy.ts';
import { makeStrategy } from '../common.ts';
import { invalid, required } from '../validation/errors.ts';
import { isDns1123Subdomain, isQualifiedName } from '../validation/names.ts';

const TYPES = ['Normal', 'Warning'];

function validateEvent(ev: any): FieldError[] {
  const errs: FieldError[] = [];
  const ns = String(ev?.metadata?.namespace ?? '');
  const regNs = String(ev?.regarding?.namespace ?? '');
  if (!regNs) {
    if (ns !== 'default' && ns !== 'kube-system' && ns !== '') errs.push(invalid('regarding.namespace', regNs, 'does not match event.namespace'));
  } else if (ns !== regNs) errs.push(invalid('regarding.namespace', regNs, 'does not match event.namespace'));
  if (!ev?.eventTime) errs.push(required('eventTime'));
  if (ev?.type !== undefined && !TYPES.includes(ev.type)) errs.push(invalid('type', '', `has invalid value: ${ev.type}`));
  if (!ev?.reportingController) errs.push(required('reportingController'));
  else for (const m of isQualifiedName(String(ev.reportingController))) errs.push(invalid('reportingController', ev.reportingController, m));
  if (!ev?.reportingInstance) errs.push(required('reportingInstance'));
  else if (String(ev.reportingInstance).length > 128) errs.push(invalid('reportingInstance', '', 'can have at most 128 characters'));
  if (!ev?.action) errs.push(required('action'));
  else if (String(ev.action).length > 128) errs.push(invalid('action', '', 'can have at most 128 characters'));
  if (!ev?.reason) errs.push(required('reason'));
  else if (String(ev.reason).length > 128) errs.push(invalid('reason', '', 'can have at most 128 characters'));
  if (String(ev?.note ?? '').length > 1024) errs.push(invalid('note', '', 'can have at most 1024 characters'));
  for (const m of isDns1123Subdomain(ns)) errs.push(invalid('namespace', ns, m));
  return errs;
}

export const eventsV1Strategy = makeStrategy({
  namespaced: true,
  validate: validateEvent,
  fields(ev) {
    const r = ev?.regarding ?? {};
    return {
      'involvedObject.kind': String(r.kind ?? ''),
      'involvedObject.namespace': String(r.namespace ?? ''),
      'involvedObject.name': String(r.name ?? ''),
      'involvedObject.uid': String(r.uid ?? ''),
      'involvedObject.apiVersion': String(r.apiVersion ?? ''),
      'involvedObject.resourceVersion': String(r.resourceVersion ?? ''),
      'involvedObject.fieldPath': String(r.fieldPath ?? ''),
      reason: String(ev?.reason ?? ''),
      reportingComponent: String(ev?.reportingController ?? ''),
      source: String(ev?.deprecatedSource?.component || ev?.reportingController || ''),
      type: String(ev?.type ?? ''),
    };
  },
});

/** events.k8s.io/v1 field -> core/v1 field; the others have the same names in both */
const RENAMED: ReadonlyArray<readonly [string, string]> = [
  ['regarding', 'involvedObject'],
  ['note', 'message'],
  ['reportingController', 'reportingComponent'],
  ['deprecatedSource', 'source'],
  ['deprecatedFirstTimestamp', 'firstTimestamp'],
  ['deprecatedLastTimestamp', 'lastTimestamp'],
  ['deprecatedCount', 'count'],
];

function renamed(obj: any, from: 0 | 1): any {
  const to = from === 0 ? 1 : 0;
  const out: any = {};
  for (const k of Object.keys(obj)) {
    const pair = RENAMED.find((p) => p[from] === k);
    out[pair ? pair[to] : k] = obj[k];
  }
  return out;
}

function typed(apiVersion: string, obj: any): any {
  const { apiVersion: _a, kind: _k, ...rest } = obj;
  return { apiVersion, kind: 'Event', ...rest };
}

export const eventsV1View: StorageView = {
  toStorage: (ev) => typed('v1', renamed(ev, 0)),
  fromStorage: (ev) => typed('events.k8s.io/v1', renamed(ev, 1)),
};
