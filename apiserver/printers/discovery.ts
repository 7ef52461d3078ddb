/** Rows of discovery.k8s.io/v1 endpoint slices. */
import { since } from './duration.ts';
import { AGE_COLUMN, NAME_COLUMN, arr, column, type Printer } from './table.ts';

const MAX = 3;

/** the first three entries joined by ",", then " + N more..."; "<unset>" when empty */
function listWithMore(all: string[]): string {
  if (all.length > MAX) return `${all.slice(0, MAX).join(',')} + ${all.length - MAX} more...`;
  return all.length === 0 ? '<unset>' : all.join(',');
}

/** port numbers, or the port name when no number is set, "*" when neither */
export function formatSlicePorts(ports: unknown): string {
  return listWithMore(
    arr(ports).map((p) => {
      if (typeof p?.port === 'number') return String(p.port);
      if (typeof p?.name === 'string') return p.name;
      return '*';
    }),
  );
}

export function formatSliceEndpoints(endpoints: unknown): string {
  const addrs: string[] = [];
  for (const ep of arr(endpoints)) for (const a of arr(ep?.addresses)) addrs.push(String(a));
  return listWithMore(addrs);
}

export const endpointSlicePrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('AddressType', 'string', 'Address family of the endpoints: IPv4, IPv6 or FQDN.'),
    column('Ports', 'string', 'Ports of the slice.'),
    column('Endpoints', 'string', 'Addresses of the endpoints in the slice.'),
    AGE_COLUMN,
  ],
  row: (s, ctx) => ({
    cells: [
      s?.metadata?.name ?? '',
      s?.addressType ?? '',
      formatSlicePorts(s?.ports),
      formatSliceEndpoints(s?.endpoints),
      since(s?.metadata?.creationTimestamp, ctx.now),
    ],
  }),
};
