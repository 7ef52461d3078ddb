/** Table output for kubectl: the REST handler's TableRenderer over apiserver/printers. */
import { toTable } from './printers/index.ts';
import type { TableRenderer } from './rest/handler.ts';

export function makeTableRenderer(): TableRenderer {
  return (r, objects, listMeta, includeObject) =>
    toTable(r.info.group, r.info.resource, objects, listMeta as any, {
      includeObject: includeObject as 'None' | 'Metadata' | 'Object',
    });
}
