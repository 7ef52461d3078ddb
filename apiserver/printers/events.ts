/**
 * Event rows, shared by core/v1 and events.k8s.io/v1 events (one stored kind, two shapes): events.k8s.io objects
 * are read through their core field names first.
 */
import { parseTime, since } from './duration.ts';
import { NAME_COLUMN, column, int, type PrintContext, type Printer } from './table.ts';

/** the core/v1 view of an events.k8s.io/v1 Event */
export function coreEventView(e: any): any {
  return {
    metadata: e?.metadata,
    involvedObject: e?.regarding,
    reason: e?.reason,
    message: e?.note,
    source: e?.deprecatedSource,
    firstTimestamp: e?.deprecatedFirstTimestamp,
    lastTimestamp: e?.deprecatedLastTimestamp,
    count: e?.deprecatedCount,
    type: e?.type,
    eventTime: e?.eventTime,
    series: e?.series,
    reportingComponent: e?.reportingController,
    reportingInstance: e?.reportingInstance,
  };
}

/** "component, host", falling back to the reporting controller and instance */
function eventSource(e: any): string {
  const component: string = e?.source?.component || e?.reportingComponent || '';
  const instance: string = e?.source?.host || e?.reportingInstance || '';
  return instance ? `${component}, ${instance}` : component;
}

function coreEventRow(e: any, ctx: PrintContext) {
  const first =
    parseTime(e?.firstTimestamp) !== undefined ? since(e.firstTimestamp, ctx.now) : since(e?.eventTime, ctx.now);
  let last = parseTime(e?.lastTimestamp) !== undefined ? since(e.lastTimestamp, ctx.now) : first;
  let count = int(e?.count);
  if (e?.series) {
    last = since(e.series.lastObservedTime, ctx.now);
    count = int(e.series.count);
  } else if (count === 0) {
    count = 1; // singleton events of the newer API carry no count
  }
  const kind = String(e?.involvedObject?.kind ?? '').toLowerCase();
  const objName: string = e?.involvedObject?.name ?? '';
  return {
    cells: [
      last,
      e?.type ?? '',
      e?.reason ?? '',
      objName ? `${kind}/${objName}` : kind,
      e?.involvedObject?.fieldPath ?? '',
      eventSource(e),
      String(e?.message ?? '').trim(),
      first,
      count,
      e?.metadata?.name ?? '',
    ],
  };
}

const EVENT_COLUMNS = [
  column('Last Seen', 'string', 'Time since the event was last observed.'),
  column('Type', 'string', 'Type of the event: Normal or Warning.'),
  column('Reason', 'string', 'Short machine-readable reason for the event.'),
  column('Object', 'string', 'The object the event is about, as kind/name.'),
  column('Subobject', 'string', 'The part of the object the event is about, e.g. a container.', { priority: 1 }),
  column('Source', 'string', 'The component (and host) that reported the event.', { priority: 1 }),
  column('Message', 'string', 'Human-readable description of the event.'),
  column('First Seen', 'string', 'Time since the event was first observed.', { priority: 1 }),
  column('Count', 'string', 'How many times the event was observed.', { priority: 1 }),
  { ...NAME_COLUMN, priority: 1 },
];

export const coreEventPrinter: Printer = { columns: EVENT_COLUMNS, row: coreEventRow };

export const eventsV1Printer: Printer = {
  columns: EVENT_COLUMNS,
  row: (e, ctx) => coreEventRow(coreEventView(e), ctx),
};
