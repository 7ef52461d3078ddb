/**
 * Serving the OpenAPI documents over HTTP: /openapi/v2 (JSON or the protobuf kubectl 1.27/1.28 insist on) and
 * /openapi/v3 with content-hashed, immutable per-group/version documents, ETags and 304s.
 */
import { reply, TEXT, type AnyRequest, type AnyResponse } from './http.ts';
import type { ResourceInfo } from './api/resource-info.ts';
import { documentsFor, V2_PROTOBUF_ACCEPT, type OpenApiDocuments, type ServedDocument } from './openapi/index.ts';
import { versionInfo } from './discovery.ts';

export class OpenApiEndpoints {
  private docs: OpenApiDocuments;

  constructor(resources: readonly ResourceInfo[]) {
    this.docs = documentsFor(resources, { version: versionInfo().gitVersion });
    this.docs.warm();
  }

  /** what is served now: the documents are built again on their next request */
  update(resources: readonly ResourceInfo[]): void {
    this.docs = documentsFor(resources, { version: versionInfo().gitVersion });
  }

  private send(req: AnyRequest, res: AnyResponse, doc: ServedDocument, immutable = false): void {
    const headers: Record<string, string> = { Vary: 'Accept', ETag: doc.etag };
    if (immutable) {
      headers['Cache-Control'] = 'public, immutable';
      headers.Expires = new Date(Date.now() + 365 * 24 * 3600 * 1000).toUTCString();
    }
    if (req.headers['if-none-match'] === doc.etag) {
      reply(res, 304, undefined, '', headers);
      return;
    }
    reply(res, 200, doc.contentType, doc.body, headers);
  }

  serve(req: AnyRequest, res: AnyResponse, url: URL): void {
    const p = url.pathname.replace(/\/+$/, '');
    if (p === '/openapi/v2') {
      const accept = req.headers.accept ?? '';
      if (V2_PROTOBUF_ACCEPT.some((t) => accept.includes(t))) return this.send(req, res, this.docs.v2Protobuf());
      if (!accept || /application\/json|\*\/\*|application\/\*/.test(accept))
        return this.send(req, res, this.docs.v2Json());
      reply(
        res,
        406,
        'application/json',
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: `only application/json and ${V2_PROTOBUF_ACCEPT[0]} are served`,
          reason: 'NotAcceptable',
          code: 406,
        }),
      );
      return;
    }
    if (p === '/openapi/v3') return this.send(req, res, this.docs.v3Discovery());
    if (p.startsWith('/openapi/v3/')) {
      const name = p.slice('/openapi/v3/'.length);
      const doc = this.docs.v3(name);
      if (!doc) {
        reply(res, 404, TEXT, '404 page not found\n');
        return;
      }
      const hash = url.searchParams.get('hash') ?? undefined;
      if (hash !== undefined && hash !== doc.hash) {
        const location = `/openapi/v3/${name}?hash=${doc.hash}`;
        reply(res, 301, 'text/html; charset=utf-8', `<a href="${location}">Moved Permanently</a>.\n\n`, {
          Location: location,
        });
        return;
      }
      return this.send(req, res, doc, hash !== undefined);
    }
    reply(res, 404, TEXT, '404 page not found\n');
  }
}
