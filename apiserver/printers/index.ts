/**
 * Server-side printing: list and get results as meta.k8s.io/v1 Tables, the form kubectl asks for
 * (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`). Every column is returned, wide ones with priority 1;
 * kubectl shows those only with `-o wide`. Resources without a printer get the default table (Name, Created At).
 */
import { RESOURCES } from '../api/registry.ts';
import { hpaPrinter } from './autoscaling.ts';
import {
  controllerRevisionPrinter,
  daemonSetPrinter,
  deploymentPrinter,
  replicaSetPrinter,
  replicationControllerPrinter,
  statefulSetPrinter,
} from './apps.ts';
import { cronJobPrinter, jobPrinter } from './batch.ts';
import { leasePrinter } from './coordination.ts';
import {
  configMapPrinter,
  endpointsPrinter,
  namespacePrinter,
  nodePrinter,
  podTemplatePrinter,
  secretPrinter,
  serviceAccountPrinter,
  servicePrinter,
} from './core.ts';
import { endpointSlicePrinter } from './discovery.ts';
import { rfc3339 } from './duration.ts';
import { coreEventPrinter, eventsV1Printer } from './events.ts';
import { podPrinter } from './pod.ts';
import { column, type ColumnDefinition, type PrintContext, type Printer, type RowCondition } from './table.ts';

export type { ColumnDefinition, Printer, RowCondition } from './table.ts';
export { humanDuration } from './duration.ts';

export interface TableOptions {
  /** what each row carries in `object`: the full object, its PartialObjectMetadata (default), or nothing */
  includeObject?: 'None' | 'Metadata' | 'Object';
  /** the moment ages are measured against (default: now) */
  now?: Date;
  /** leave the column definitions out (`columnDefinitions: null`), as in every watch event after the first */
  noHeaders?: boolean;
  /** apiVersion and kind of a resource the built-in list does not have (a custom resource) */
  typeMeta?: { apiVersion: string; kind: string };
}

export interface ListMeta {
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface TableRow {
  cells: unknown[];
  conditions?: RowCondition[];
  object?: unknown;
}

export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: ListMeta;
  columnDefinitions: ColumnDefinition[] | null;
  rows: TableRow[];
}

/** printers by `<group>/<resource>` ('' group for core) */
export const PRINTERS: ReadonlyMap<string, Printer> = new Map<string, Printer>([
  ['/pods', podPrinter],
  ['/nodes', nodePrinter],
  ['/services', servicePrinter],
  ['/endpoints', endpointsPrinter],
  ['/namespaces', namespacePrinter],
  ['/configmaps', configMapPrinter],
  ['/secrets', secretPrinter],
  ['/serviceaccounts', serviceAccountPrinter],
  ['/events', coreEventPrinter],
  ['/podtemplates', podTemplatePrinter],
  ['/replicationcontrollers', replicationControllerPrinter],
  ['events.k8s.io/events', eventsV1Printer],
  ['apps/deployments', deploymentPrinter],
  ['apps/replicasets', replicaSetPrinter],
  ['apps/daemonsets', daemonSetPrinter],
  ['apps/statefulsets', statefulSetPrinter],
  ['apps/controllerrevisions', controllerRevisionPrinter],
  ['coordination.k8s.io/leases', leasePrinter],
  ['discovery.k8s.io/endpointslices', endpointSlicePrinter],
  ['autoscaling/horizontalpodautoscalers', hpaPrinter],
  ['batch/jobs', jobPrinter],
  ['batch/cronjobs', cronJobPrinter],
]);

/** the table of a resource without its own printer: name and creation time (RFC 3339, UTC) */
export const DEFAULT_PRINTER: Printer = {
  columns: [
    column('Name', 'string', 'The name of the object, unique within its namespace and kind.', { format: 'name' }),
    column('Created At', 'date', 'When the object was created (RFC 3339, UTC).'),
  ],
  row: (o) => ({ cells: [o?.metadata?.name ?? '', rfc3339(o?.metadata?.creationTimestamp)] }),
};

/** apiVersion and kind of each served resource, to complete embedded objects that lack them */
const TYPE_META = new Map<string, { apiVersion: string; kind: string }>(
  RESOURCES.map((r) => [
    `${r.group}/${r.resource}`,
    { apiVersion: r.group ? `${r.group}/${r.version}` : r.version, kind: r.kind },
  ]),
);

export function printerFor(group: string, resource: string): Printer {
  return PRINTERS.get(`${group}/${resource}`) ?? DEFAULT_PRINTER;
}

function rowObject(
  obj: any,
  includeObject: 'Metadata' | 'Object',
  typeMeta: { apiVersion: string; kind: string } | undefined,
): unknown {
  if (includeObject === 'Metadata')
    return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj?.metadata ?? {} };
  if (!typeMeta || (obj?.apiVersion && obj?.kind)) return obj;
  return { apiVersion: obj?.apiVersion ?? typeMeta.apiVersion, kind: obj?.kind ?? typeMeta.kind, ...obj };
}

/** only the list metadata fields that are set, as Kubernetes omits empty ones */
function cleanListMeta(m: ListMeta | undefined): ListMeta {
  const out: ListMeta = {};
  if (m?.resourceVersion) out.resourceVersion = m.resourceVersion;
  if (m?.continue) out.continue = m.continue;
  if (typeof m?.remainingItemCount === 'number') out.remainingItemCount = m.remainingItemCount;
  return out;
}

/**
 * A meta.k8s.io/v1 Table of objects of one resource (group '' for core, plural resource name).
 * `object` of each row is a PartialObjectMetadata by default, the full object with includeObject 'Object', and
 * null with 'None' (Kubernetes serializes the empty embedded object as null).
 */
export function toTable(
  group: string,
  resource: string,
  objects: any[],
  listMeta: ListMeta,
  opts: TableOptions = {},
): Table {
  const printer = printerFor(group, resource);
  const ctx: PrintContext = { now: (opts.now ?? new Date()).getTime() };
  const include = opts.includeObject ?? 'Metadata';
  const typeMeta = TYPE_META.get(`${group}/${resource}`) ?? opts.typeMeta;
  const rows: TableRow[] = new Array(objects.length);
  for (let i = 0; i < objects.length; i++) {
    const obj = objects[i];
    const printed = printer.row(obj, ctx);
    const row: TableRow = { cells: printed.cells };
    if (printed.conditions) row.conditions = printed.conditions;
    row.object = include === 'None' ? null : rowObject(obj, include, typeMeta);
    rows[i] = row;
  }
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: cleanListMeta(listMeta),
    columnDefinitions: opts.noHeaders ? null : printer.columns.map((c) => ({ ...c })),
    rows,
  };
}

/**
 * The Table of one watch event's object. Kubernetes sends column definitions only in the first event of a watch
 * (`first`), later events carry `columnDefinitions: null` and a single row.
 */
export function toWatchEventTable(
  group: string,
  resource: string,
  obj: any,
  first: boolean,
  opts: Omit<TableOptions, 'noHeaders'> = {},
): Table {
  return toTable(
    group,
    resource,
    [obj],
    { resourceVersion: obj?.metadata?.resourceVersion },
    { ...opts, noHeaders: !first },
  );
}
