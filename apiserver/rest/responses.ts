/** Writing answers: an object as JSON or YAML, an error as its Status (rest/status.ts builds every one). */
import type { ServerResponse } from 'node:http';
import yaml from 'js-yaml';
import type { Representation } from './request.ts';
import { ApiError, internalError } from './status.ts';

export function sendJson(res: ServerResponse, code: number, body: unknown, rep?: Representation): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  if (rep?.yaml) {
    const text = yaml.dump(body, { noRefs: true, lineWidth: -1 });
    res.writeHead(code, { 'Content-Type': 'application/yaml', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** the error's Status (any other error is a 500); returns the code sent */
export function sendError(res: ServerResponse, err: unknown): number {
  const e = err instanceof ApiError ? err : internalError(err);
  if (e.code === 429 || e.code === 503) res.setHeader('Retry-After', '1');
  sendJson(res, e.code, e.toStatus());
  return e.code;
}
