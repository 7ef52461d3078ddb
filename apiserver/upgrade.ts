/**
 * Upgrade requests (HTTP/1.1 Upgrade: exec, attach and port-forward to a pod's node, watches over WebSocket): the same
 * authentication, impersonation and authorization as every request, answered on the raw connection, then handed to
 * the resource handler: the subresource that takes the upgrade, or a watch over WebSocket.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Authenticator } from './auth/authenticator.ts';
import { forbiddenError, requestAttributes, type Authorizer } from './authorization/authorizer.ts';
import { actingUser } from './filters/impersonation.ts';
import type { ResourceHandler } from './rest/handler.ts';
import { resolveRequestInfo } from './rest/request.ts';
import { ApiError } from './rest/status.ts';

export interface UpgradeDeps {
  authenticate: Authenticator;
  authorizer: Authorizer;
  handler: ResourceHandler;
}

/** an error on a connection no HTTP response was written to: its status line, and its Status when there is one */
function fail(socket: Duplex, err: unknown, withStatus = false): void {
  const st = err instanceof ApiError ? err : undefined;
  const line = `HTTP/1.1 ${st?.code ?? 500} ${st?.reason ?? 'InternalError'}\r\n`;
  if (!withStatus || !st) {
    socket.end(`${line}Content-Length: 0\r\n\r\n`);
    return;
  }
  const body = JSON.stringify(st.toStatus());
  socket.end(`${line}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

export function upgradeHandler(deps: UpgradeDeps): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'https://localhost');
    const authenticated = deps.authenticate(req);
    if (!authenticated) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const user = actingUser(req, authenticated, deps.authorizer);
    if (user instanceof ApiError) return fail(socket, user, true);
    const info = resolveRequestInfo(req.method ?? 'GET', req.url, url);
    const attributes = requestAttributes(user, info);
    const decision = deps.authorizer.authorize(attributes);
    if (decision.decision !== 'allow') return fail(socket, forbiddenError(attributes, decision.reason), true);
    deps.handler.handleUpgrade(req, socket, head, url, info).then(
      (ok) => !ok && socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'),
      (err) => fail(socket, err),
    );
  };
}
