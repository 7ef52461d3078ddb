/**
 * serviceaccounts/token: a POST of a TokenRequest is answered with a signed, bound token (api/core/token-request.ts);
 * a server that signs no tokens serves none.
 */
import { decodeObject, mediaType, readBody } from '../../../rest/body.ts';
import type { ApiObject } from '../../../rest/meta.ts';
import { sendJson } from '../../../rest/responses.ts';
import { methodNotSupported, pathNotFound } from '../../../rest/status.ts';
import type { Subresource } from '../../../rest/subresource.ts';

/** answers a TokenRequest for the ServiceAccount namespace/name */
export type TokenRequester = (namespace: string, name: string, body: ApiObject) => Promise<ApiObject>;

export function tokenSubresource(request: TokenRequester | undefined): Subresource {
  return {
    async serve(s, ops) {
      if (s.method !== 'POST') throw methodNotSupported('', 'serviceaccounts/token', s.method.toLowerCase());
      if (!request) throw pathNotFound({ kind: 'serviceaccounts' });
      const body = decodeObject(await readBody(s.ctx.req), mediaType(s.ctx.req), 'TokenRequest');
      await ops.admit(s, body);
      sendJson(s.ctx.res, 201, await request(s.namespace, s.name, body), s.rep);
    },
  };
}
