/**
 * Serving the OpenAPI documents over HTTP: /openapi/v2 (JSON or the protobuf kubectl 1.27/1.28 insist on) and
 * /openapi/v3 with content-hashed, immutable per-group/version documents, ETags and 304s.
 */
import type { Request, Response } from 'express';
import type { ResourceInfo } from './api/resource-info.ts';
import { documentsFor, V2_PROTOBUF_ACCEPT, type ServedDocument } from './openapi/index.ts';
import { versionInfo } from './discovery.ts';

export class OpenApiEndpoints {
  private readonly docs;

  constructor(resources: readonly ResourceInfo[]) {
    this.docs = documentsFor(resources, { version: versionInfo().gitVersion });
    this.docs.warm();
  }

  private send(req: Request, res: Response, doc: ServedDocument, immutable = false): void {
    res.setHeader('Vary', 'Accept');
    res.setHeader('ETag', doc.etag);
    if (immutable) {
      res.setHeader('Cache-Control', 'public, immutable');
      res.setHeader('Expires', new Date(Date.now() + 365 * 24 * 3600 * 1000).toUTCString());
    }
    if (req.headers['if-none-match'] === doc.etag) {
      res.status(304).end();
      return;
    }
    res.status(200).type(doc.contentType).send(doc.body);
  }

  serve(req: Request, res: Response): void {
    const p = req.path.replace(/\/+$/, '');
    if (p === '/openapi/v2') {
      const accept = req.headers.accept ?? '';
      if (V2_PROTOBUF_ACCEPT.some((t) => accept.includes(t))) return this.send(req, res, this.docs.v2Protobuf());
      if (!accept || /application\/json|\*\/\*|application\/\*/.test(accept)) return this.send(req, res, this.docs.v2Json());
      res.status(406).type('application/json').send(
        JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `only application/json and ${V2_PROTOBUF_ACCEPT[0]} are served`, reason: 'NotAcceptable', code: 406 }),
      );
      return;
    }
    if (p === '/openapi/v3') return this.send(req, res, this.docs.v3Discovery());
    if (p.startsWith('/openapi/v3/')) {
      const name = p.slice('/openapi/v3/'.length);
      const doc = this.docs.v3(name);
      if (!doc) {
        res.status(404).type('text/plain').send('404 page not found\n');
        return;
      }
      const hash = typeof req.query.hash === 'string' ? req.query.hash : undefined;
      if (hash !== undefined && hash !== doc.hash) {
        res.redirect(301, `/openapi/v3/${name}?hash=${doc.hash}`);
        return;
      }
      return this.send(req, res, doc, hash !== undefined);
    }
    res.status(404).type('text/plain').send('404 page not found\n');
  }
}
