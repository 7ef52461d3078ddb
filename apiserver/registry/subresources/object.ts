/**
 * The subresources that read and write the object itself, each resetting what it does not own: status (GET, PUT, PATCH
 * of the status, spec kept) and a Namespace's finalize (PUT of spec.finalizers). The strategy does the reset.
 */
import { methodNotSupported } from '../../rest/status.ts';
import type { Subresource } from '../../rest/subresource.ts';

export const objectSubresource: Subresource = {
  async serve(s, ops) {
    const r = s.resource.info;
    switch (s.method) {
      case 'GET':
        return ops.get(s);
      case 'PUT':
        return ops.update(s);
      case 'PATCH':
        return ops.patch(s);
      case 'DELETE':
        throw methodNotSupported(r.group, `${r.resource}/${s.subresource}`, 'delete');
      default:
        throw methodNotSupported(r.group, r.resource, s.method.toLowerCase());
    }
  },
};
