/** Rows of coordination.k8s.io/v1 leases. */
import { since } from './duration.ts';
import { AGE_COLUMN, NAME_COLUMN, column, type Printer } from './table.ts';

export const leasePrinter: Printer = {
  columns: [NAME_COLUMN, column('Holder', 'string', 'Identity of the current holder of the lease.'), AGE_COLUMN],
  row: (l, ctx) => ({
    cells: [l?.metadata?.name ?? '', l?.spec?.holderIdentity ?? '', since(l?.metadata?.creationTimestamp, ctx.now)],
  }),
};
