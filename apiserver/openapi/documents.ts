/**
 * The OpenAPI documents of one resource list, built on first use and kept serialized with their content hash
 * (upper-case hex SHA-512 of the bytes, as Kubernetes computes it) so the HTTP layer can answer with ETag,
 * If-None-Match and the /openapi/v3 ?hash= scheme without rebuilding anything.
 */
import { createHash } from 'node:crypto';
import type { ResourceInfo } from '../api/resource-info.ts';
import { openapiV2 as buildV2, type SwaggerDocument } from './v2.ts';
import { buildV3Document, pathsByDocument, type OpenApiV3Document } from './v3.ts';
import { encodeV2Protobuf } from './v2-protobuf.ts';
import type { PathEntry } from './operations.ts';

export const JSON_TYPE = 'application/json';
/** the media type Kubernetes answers protobuf /openapi/v2 requests with */
export const V2_PROTOBUF_TYPE = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';
/** the media types clients ask protobuf /openapi/v2 with (the first is the one client-go sends) */
export const V2_PROTOBUF_ACCEPT = ['application/com.github.proto-openapi.spec.v2@v1.0+protobuf', V2_PROTOBUF_TYPE];

export interface ServedDocument {
  body: Buffer;
  contentType: string;
  /** upper-case hex SHA-512 of body */
  hash: string;
  /** the ETag header value: the hash in double quotes */
  etag: string;
}

export interface V3Discovery {
  paths: Record<string, { serverRelativeURL: string }>;
}

export interface DocumentOptions {
  /** the server version shown in info.version, e.g. v1.33.0 */
  version?: string;
}

function served(body: Buffer, contentType: string): ServedDocument {
  const hash = createHash('sha512').update(body).digest('hex').toUpperCase();
  return { body, contentType, hash, etag: `"${hash}"` };
}

export class OpenApiDocuments {
  private readonly version: string;
  private readonly v3Paths: Map<string, PathEntry[]>;
  private v2?: SwaggerDocument;
  private v2JsonDoc?: ServedDocument;
  private v2ProtoDoc?: ServedDocument;
  private readonly v3Objects = new Map<string, OpenApiV3Document>();
  private readonly v3Docs = new Map<string, ServedDocument>();
  private v3IndexObject?: V3Discovery;
  private v3IndexDoc?: ServedDocument;

  constructor(
    readonly resources: readonly ResourceInfo[],
    options: DocumentOptions = {},
  ) {
    this.version = options.version ?? 'unversioned';
    this.v3Paths = pathsByDocument(resources);
  }

  /** the Swagger 2.0 document as an object (shared: do not modify) */
  v2Object(): SwaggerDocument {
    return (this.v2 ??= buildV2(this.resources, this.version));
  }

  /** /openapi/v2 as JSON */
  v2Json(): ServedDocument {
    return (this.v2JsonDoc ??= served(Buffer.from(JSON.stringify(this.v2Object())), JSON_TYPE));
  }

  /** /openapi/v2 as openapi.v2.Document protocol buffers */
  v2Protobuf(): ServedDocument {
    return (this.v2ProtoDoc ??= served(encodeV2Protobuf(this.v2Object()), V2_PROTOBUF_TYPE));
  }

  /** the names of the /openapi/v3 documents: 'api', 'api/v1', 'apis', 'apis/apps', 'apis/apps/v1', ... */
  v3Names(): string[] {
    return [...this.v3Paths.keys()];
  }

  /** one /openapi/v3 document as an object (shared: do not modify), or undefined for an unknown name */
  v3Object(name: string): OpenApiV3Document | undefined {
    let doc = this.v3Objects.get(name);
    if (!doc) {
      const entries = this.v3Paths.get(name);
      if (!entries) return undefined;
      doc = buildV3Document(entries, this.version);
      this.v3Objects.set(name, doc);
    }
    return doc;
  }

  /** one /openapi/v3/<name> document serialized, or undefined for an unknown name */
  v3(name: string): ServedDocument | undefined {
    let doc = this.v3Docs.get(name);
    if (!doc) {
      const obj = this.v3Object(name);
      if (!obj) return undefined;
      doc = served(Buffer.from(JSON.stringify(obj)), JSON_TYPE);
      this.v3Docs.set(name, doc);
    }
    return doc;
  }

  /** the /openapi/v3 index: each document's URL carrying its content hash */
  v3DiscoveryObject(): V3Discovery {
    if (!this.v3IndexObject) {
      const paths: V3Discovery['paths'] = {};
      for (const name of [...this.v3Paths.keys()].sort()) {
        paths[name] = { serverRelativeURL: `/openapi/v3/${name}?hash=${this.v3(name)!.hash}` };
      }
      this.v3IndexObject = { paths };
    }
    return this.v3IndexObject;
  }

  /** /openapi/v3 serialized */
  v3Discovery(): ServedDocument {
    return (this.v3IndexDoc ??= served(Buffer.from(JSON.stringify(this.v3DiscoveryObject())), JSON_TYPE));
  }

  /** build and serialize every document now, so that no request pays for it */
  warm(): void {
    this.v2Json();
    this.v2Protobuf();
    this.v3Discovery();
  }
}
