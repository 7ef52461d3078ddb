/** Options of requests that come in bodies as well as queries. */
import { notSupported } from '../api/validation/errors.ts';
import { badRequest, invalidObject } from './status.ts';

/** DeleteOptions.dryRun (a list whose only allowed value is "All"): whether the deletion is a dry run */
export function dryRunOf(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (!Array.isArray(v))
    throw badRequest('json: cannot unmarshal value into Go struct field DeleteOptions.dryRun of type []string');
  for (const x of v)
    if (x !== 'All') throw invalidObject('DeleteOptions', '', [notSupported('dryRun', x, ['All'])], 'meta.k8s.io');
  return v.length > 0;
}
