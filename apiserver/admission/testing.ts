/** Attributes for the plugins' tests: a write of core pods unless told otherwise. */
import { lookupResource } from '../api/registry.ts';
import type { ApiObject, Attributes } from './admission.ts';

export function attributes(over: Partial<Attributes> & { object?: ApiObject }): Attributes {
  return {
    operation: 'CREATE',
    resource: lookupResource('', 'v1', 'pods')!,
    subresource: '',
    namespace: 'ns',
    name: 'p',
    object: undefined,
    oldObject: undefined,
    userInfo: { name: 'alice', groups: ['system:authenticated'] },
    dryRun: false,
    ...over,
  };
}
