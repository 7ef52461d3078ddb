/**
 * What the API server's handlers need to know about the connection a request came on: HTTP/1.1 (node:http's
 * request and response) or HTTP/2 (node:http2's compatibility request and response, which have the same shape for
 * everything the handlers use). HTTP/2 differs in three ways that matter here: connection-specific headers
 * (Transfer-Encoding, Connection, Keep-Alive) are not allowed, a response body is not chunk-framed, and a response
 * writes to its own stream rather than to the connection's socket.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse, ServerHttp2Stream } from 'node:http2';

export type AnyRequest = IncomingMessage | Http2ServerRequest;
export type AnyResponse = ServerResponse | Http2ServerResponse;

/** the HTTP/2 stream a response is written to, or undefined for an HTTP/1.1 response */
export function http2Stream(res: AnyResponse): ServerHttp2Stream | undefined {
  return 'stream' in res ? (res as Http2ServerResponse).stream : undefined;
}

/**
 * Starts a streamed answer (a watch, a log): status 200 and the headers sent at once, chunked on HTTP/1.1 (no length
 * is known), plain DATA frames on HTTP/2.
 */
export function startStream(res: AnyResponse, headers: Record<string, string>): void {
  const h: Record<string, string> = { ...headers };
  if (!http2Stream(res)) h['Transfer-Encoding'] = 'chunked';
  const r = res as ServerResponse; // both kinds have writeHead and flushHeaders
  r.writeHead(200, h);
  r.flushHeaders();
}

/** a plain answer with a known body (the non-resource paths: health, metrics, version, discovery, OpenAPI) */
export function reply(
  res: AnyResponse,
  code: number,
  contentType: string | undefined,
  body: string | Buffer,
  headers?: Record<string, string>,
): void {
  const h: Record<string, string | number> = { ...headers, 'Content-Length': Buffer.byteLength(body) };
  if (contentType) h['Content-Type'] = contentType;
  (res as ServerResponse).writeHead(code, h);
  res.end(body);
}

export const TEXT = 'text/plain; charset=utf-8';
export const JSON_TYPE = 'application/json';
