/** The meta.k8s.io/v1 Table shapes and what a per-resource printer provides. */

export interface ColumnDefinition {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format: string;
  description: string;
  priority: number;
}

export interface RowCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
}

/** the cells of one row, plus row conditions (pods that ran to completion carry one) */
export interface PrintedRow {
  cells: unknown[];
  conditions?: RowCondition[];
}

/** what printers need besides the object: the moment ages are measured against */
export interface PrintContext {
  /** milliseconds since the epoch */
  now: number;
}

export interface Printer {
  /** every column, wide ones (priority > 0) included: the server always prints wide, kubectl hides them */
  columns: readonly ColumnDefinition[];
  row(obj: any, ctx: PrintContext): PrintedRow;
}

/** a column definition; `format` '' and `priority` 0 unless given */
export function column(
  name: string,
  type: ColumnDefinition['type'],
  description: string,
  opts: { format?: string; priority?: number } = {},
): ColumnDefinition {
  return { name, type, format: opts.format ?? '', description, priority: opts.priority ?? 0 };
}

export const NAME_COLUMN = column('Name', 'string', 'The name of the object, unique within its namespace and kind.', {
  format: 'name',
});
export const AGE_COLUMN = column('Age', 'string', 'Time since the object was created.');
export const CONTAINERS_COLUMN = column('Containers', 'string', 'Container names of the pod template.', {
  priority: 1,
});
export const IMAGES_COLUMN = column('Images', 'string', 'Container images of the pod template.', { priority: 1 });
export const SELECTOR_COLUMN = column('Selector', 'string', 'Label selector of the pods this object manages.', {
  priority: 1,
});

/** an array field of a plain JSON object, [] when absent or not an array */
export function arr(v: unknown): any[] {
  return Array.isArray(v) ? v : [];
}

/** the number of keys of a map field, 0 when absent */
export function keyCount(v: unknown): number {
  return v && typeof v === 'object' ? Object.keys(v).length : 0;
}

/** an integer field, 0 when absent (Kubernetes' zero value) */
export function int(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

/** container names and images of a pod template, comma separated, in spec order */
export function containerCells(podSpec: any): [string, string] {
  const cs = arr(podSpec?.containers);
  return [cs.map((c) => c?.name ?? '').join(','), cs.map((c) => c?.image ?? '').join(',')];
}
