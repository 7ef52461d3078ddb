/** pods/eviction: a POST of an Eviction deletes the pod with the Eviction's DeleteOptions (a disruption budget's check is to come). */
import { decodeObject, mediaType, readBody } from '../../../rest/body.ts';
import { isObject } from '../../../rest/meta.ts';
import { dryRunOf } from '../../../rest/options.ts';
import { sendJson } from '../../../rest/responses.ts';
import { methodNotSupported } from '../../../rest/status.ts';
import type { DeleteOptions } from '../../../rest/store.ts';
import type { Subresource } from '../../../rest/subresource.ts';

const CREATED = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };

export const evictionSubresource: Subresource = {
  async serve(s, ops) {
    const r = s.resource;
    if (s.method !== 'POST')
      throw methodNotSupported(r.info.group, `${r.info.resource}/eviction`, s.method.toLowerCase());
    const eviction = decodeObject(await readBody(s.ctx.req), mediaType(s.ctx.req), 'Eviction');
    const given = isObject(eviction?.deleteOptions) ? eviction.deleteOptions : {};
    const opts: DeleteOptions = { ...given, dryRun: s.dryRun || dryRunOf(given.dryRun), user: s.ctx.user };
    await ops.admit(s, eviction);
    await ops.store.delete(r, s.namespace, s.name, opts);
    sendJson(s.ctx.res, 201, CREATED);
  },
};
