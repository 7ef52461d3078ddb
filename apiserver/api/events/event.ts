/**
 * events.k8s.io/v1 Events. They are stored with core/v1 Events, in core/v1's form (eventsV1View converts), so that
 * either API sees the Events written through the other. Field selectors use the core/v1 field names
 * (involvedObject.*, source, ...), which map onto regarding, reportingController and deprecatedSource.
 */
import type { FieldError } from '../field-error.ts';
import type { StorageView } from '../strategy.ts';
import { makeStrategy } from '../common.ts';
import { coreEventFields } from '../core/misc.ts';
import type { Strategy } from '../strategy.ts';
import { validateObjectMetaUpdate } from '../validation/meta.ts';
import { immutable, invalid, jsonEqual, required } from '../validation/errors.ts';
import { isDns1123Subdomain, isQualifiedName } from '../validation/names.ts';

const TYPES = ['Normal', 'Warning'];
const REPORTING_INSTANCE_MAX = 128;
const ACTION_MAX = 128;
const REASON_MAX = 128;
const NOTE_MAX = 1024;

/**
 * The checks every Event passes, through either API (Kubernetes' legacy validation), on the stored (core/v1-named)
 * form: field paths are those names, as Kubernetes reports them for events.k8s.io requests too.
 */
function legacyErrors(e: any): FieldError[] {
  const errs: FieldError[] = [];
  const ns = String(e?.metadata?.namespace ?? '');
  const ioNs = String(e?.involvedObject?.namespace ?? '');
  const mismatch = () => errs.push(invalid('involvedObject.namespace', ioNs, 'does not match event.namespace'));
  if (!e?.eventTime) {
    // an old-style Event: its namespace and its object's agree ("default" may stand for none)
    if (!ioNs) {
      if (ns !== '' && ns !== 'default') mismatch();
    } else if (ns !== ioNs) mismatch();
  } else {
    if (!ioNs && ns !== 'default' && ns !== 'kube-system') mismatch();
    const controller = String(e.reportingComponent ?? '');
    if (!controller) errs.push(required('reportingController'));
    for (const m of isQualifiedName(controller)) errs.push(invalid('reportingController', controller, m));
    const limited = (field: string, value: unknown, max: number) => {
      const v = String(value ?? '');
      if (!v) errs.push(required(field));
      if (v.length > max) errs.push(invalid(field, '', `can have at most ${max} characters`));
    };
    limited('reportingInstance', e.reportingInstance, REPORTING_INSTANCE_MAX);
    limited('action', e.action, ACTION_MAX);
    limited('reason', e.reason, REASON_MAX);
    if (String(e.message ?? '').length > NOTE_MAX)
      errs.push(invalid('message', '', `can have at most ${NOTE_MAX} characters`));
  }
  for (const m of isDns1123Subdomain(ns)) errs.push(invalid('namespace', ns, m));
  return errs;
}

function seriesErrors(e: any): FieldError[] {
  const s = e?.series;
  if (s === undefined || s === null) return [];
  const errs: FieldError[] = [];
  if (!(typeof s.count === 'number' && s.count >= 2)) errs.push(invalid('series.count', '', 'should be at least 2'));
  if (!s.lastObservedTime) errs.push(required('series.lastObservedTime'));
  return errs;
}

/** creation through events.k8s.io/v1: the legacy checks, then the new API's stricter ones */
function validateCreate(ev: any): FieldError[] {
  const e = eventsV1View.toStorage(ev);
  const errs = [...legacyErrors(e), ...seriesErrors(e)];
  if (!e.eventTime) errs.push(required('eventTime'));
  if (!TYPES.includes(e.type)) errs.push(invalid('type', '', `has invalid value: ${e.type ?? ''}`));
  for (const f of ['firstTimestamp', 'lastTimestamp']) if (e[f]) errs.push(invalid(f, '', 'needs to be unset'));
  if (e.count) errs.push(invalid('count', '', 'needs to be unset'));
  if (e.source?.component || e.source?.host) errs.push(invalid('source', '', 'needs to be unset'));
  return errs;
}

/** what an update through events.k8s.io/v1 may not change (reason is checked twice, as Kubernetes does) */
const IMMUTABLE = [
  'involvedObject',
  'reason',
  'message',
  'source',
  'firstTimestamp',
  'lastTimestamp',
  'count',
  'reason',
  'type',
  'eventTime',
  'action',
  'related',
  'reportingComponent',
  'reportingInstance',
];

/** an update through events.k8s.io/v1: legacy checks, the series if it changed, and the fields that stay */
function validateUpdate(ev: any, old: any): FieldError[] {
  const e = eventsV1View.toStorage(ev);
  const o = eventsV1View.toStorage(old);
  const errs = legacyErrors(e);
  if (!jsonEqual(e.series, o.series)) errs.push(...seriesErrors(e));
  for (const f of IMMUTABLE)
    errs.push(...immutable(f === 'reportingComponent' ? 'reportingController' : f, e[f] ?? '', o[f] ?? ''));
  return errs;
}

const eventsV1Base = makeStrategy({
  namespaced: true,
  validate: validateCreate,
  // the same selectable fields as core/v1 Events, read from the stored form
  fields: (ev) => coreEventFields(eventsV1View.toStorage(ev)),
});

/** an update is not held to what creation requires (an Event written through core/v1 can be labelled here) */
export const eventsV1Strategy: Strategy = {
  ...eventsV1Base,
  validateUpdate: (ev, old) => [...validateObjectMetaUpdate(ev?.metadata, old?.metadata), ...validateUpdate(ev, old)],
};

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
