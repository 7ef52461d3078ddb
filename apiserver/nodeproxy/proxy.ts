/**
 * pods/log, pods/exec, pods/attach and pods/portforward: the API server finds the pod's node and forwards the request
 * to that node's agent (status.addresses InternalIP, status.daemonEndpoints.kubeletEndpoint.Port) over HTTPS with its
 * own client certificate, as kube-apiserver does with the kubelet. Logs stream through; upgrade requests (exec, attach,
 * port-forward over WebSocket or SPDY) are spliced byte for byte: the API server need not speak the protocols.
 */
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { ApiError, badRequest, notFound } from '../rest/status.ts';
import { startStream } from '../http.ts';

export interface NodeProxyOptions {
  /** the pod and node objects, from the API server's own cache */
  getPod(namespace: string, name: string): any | undefined;
  getNode(name: string): any | undefined;
  /** client certificate the API server presents to agents */
  clientCertPem: string;
  clientKeyPem: string;
}

export interface AgentLocation {
  host: string;
  port: number;
  /** path and query on the agent */
  path: string;
}

/** A failed connection to an agent, worded as Kubernetes reports one ("dial tcp 10.0.0.5:10250: connect: connection refused"). */
export function dialError(loc: { host: string; port: number }, e: Error & { code?: string }): string {
  const dial = `dial tcp ${loc.host.includes(':') ? `[${loc.host}]` : loc.host}:${loc.port}`;
  switch (e.code) {
    case 'ECONNREFUSED':
      return `${dial}: connect: connection refused`;
    case 'EHOSTUNREACH':
      return `${dial}: connect: no route to host`;
    case 'ENETUNREACH':
      return `${dial}: connect: network is unreachable`;
    case 'ETIMEDOUT':
      return `${dial}: i/o timeout`;
    case 'ECONNRESET':
      return `${dial}: connection reset by peer`;
    default:
      return `${dial}: ${e.message}`;
  }
}

export class NodeProxy {
  constructor(private readonly o: NodeProxyOptions) {}

  /**
   * The container a request is for: the one named (any of the pod's containers, init and ephemeral ones included), else
   * the kubectl.kubernetes.io/default-container annotation's, else the only one; with several, an error naming them all.
   */
  private container(pod: any, asked: string | null, sub: string): string | undefined {
    const spec = pod.spec ?? {};
    const names: string[] = (spec.containers ?? []).map((c: any) => c.name);
    const all: string[] = [
      ...(spec.initContainers ?? []),
      ...(spec.containers ?? []),
      ...(spec.ephemeralContainers ?? []),
    ].map((c: any) => c.name);
    if (asked) {
      if (!all.includes(asked)) throw badRequest(`container ${asked} is not valid for pod ${pod.metadata.name}`);
      return asked;
    }
    if (sub === 'portforward') return undefined;
    const def = pod.metadata.annotations?.['kubectl.kubernetes.io/default-container'];
    if (def && names.includes(def)) return def;
    if (names.length === 1) return names[0];
    if (names.length === 0) throw badRequest(`a container name must be specified for pod ${pod.metadata.name}`);
    throw badRequest(
      `a container name must be specified for pod ${pod.metadata.name}, choose one of: [${all.join(' ')}]`,
    );
  }

  /**
   * The agent URL for a pod subresource request; undefined for the log of a pod not scheduled yet (Kubernetes answers
   * that with an empty log), a BadRequest for the other subresources of such a pod.
   */
  location(namespace: string, name: string, sub: string, query: URLSearchParams): AgentLocation | undefined {
    const pod = this.o.getPod(namespace, name);
    if (!pod) throw notFound('', 'pods', name);
    const container = this.container(pod, query.get('container'), sub);
    const nodeName = pod.spec?.nodeName;
    if (!nodeName) {
      if (sub === 'log') return undefined;
      throw badRequest(`pod ${name} does not have a host assigned`);
    }
    const node = this.o.getNode(nodeName);
    if (!node) throw notFound('', 'nodes', nodeName);
    const addrs: any[] = node.status?.addresses ?? [];
    const host = (
      addrs.find((a) => a.type === 'InternalIP') ??
      addrs.find((a) => a.type === 'ExternalIP') ??
      addrs.find((a) => a.type === 'Hostname')
    )?.address;
    const port = Number(node.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 0);
    if (!host || !port)
      throw new ApiError(
        503,
        'ServiceUnavailable',
        `node ${nodeName} does not report an address and port for its agent`,
      );
    const q = new URLSearchParams(query);
    q.delete('container');
    const enc = encodeURIComponent;
    const base = sub === 'log' ? 'containerLogs' : sub === 'portforward' ? 'portForward' : sub;
    const path = `/${base}/${enc(namespace)}/${enc(name)}${container ? `/${enc(container)}` : ''}`;
    return { host, port, path: `${path}${q.size ? `?${q}` : ''}` };
  }

  /** GET pods/log: the agent's answer streamed back (errors keep the agent's status code and message). */
  async log(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    namespace: string,
    name: string,
  ): Promise<void> {
    if (req.method !== 'GET')
      throw new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
    const loc = this.location(namespace, name, 'log', url.searchParams);
    if (!loc) {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end();
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const up = https.request(
        {
          host: loc.host,
          port: loc.port,
          path: loc.path,
          method: 'GET',
          cert: this.o.clientCertPem,
          key: this.o.clientKeyPem,
          rejectUnauthorized: false,
          timeout: 10_000,
        },
        (ur) => {
          up.setTimeout(0);
          if ((ur.statusCode ?? 500) >= 400) {
            let body = '';
            ur.on('data', (d) => (body += d));
            ur.on('end', () =>
              reject(
                new ApiError(
                  ur.statusCode === 404 ? 404 : 400,
                  ur.statusCode === 404 ? 'NotFound' : 'BadRequest',
                  body.trim() || `the node agent answered ${ur.statusCode}`,
                ),
              ),
            );
            return;
          }
          startStream(res, { 'Content-Type': 'text/plain' });
          ur.pipe(res);
          ur.on('end', resolve);
          ur.on('error', resolve);
          res.on('close', () => {
            up.destroy();
            resolve();
          });
        },
      );
      up.on('timeout', () => up.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
      up.on('error', (e) =>
        reject(new ApiError(500, '', `Get "https://${loc.host}:${loc.port}${loc.path}": ${dialError(loc, e)}`)),
      );
      up.end();
    });
  }

  /** exec, attach, portforward: forwards the upgrade request to the agent and splices the two connections. */
  upgrade(
    req: http.IncomingMessage,
    socket: Duplex,
    head: Buffer,
    url: URL,
    namespace: string,
    name: string,
    sub: string,
  ): void {
    let loc: AgentLocation;
    try {
      loc = this.location(namespace, name, sub, url.searchParams)!;
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError(500, 'InternalError', (e as Error).message);
      const body = JSON.stringify(err.toStatus());
      socket.end(
        `HTTP/1.1 ${err.code} ${err.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      return;
    }
    const up = tls.connect(
      {
        host: loc.host,
        port: loc.port,
        cert: this.o.clientCertPem,
        key: this.o.clientKeyPem,
        rejectUnauthorized: false,
        servername: undefined,
      },
      () => {
        const headers: string[] = [`${req.method} ${loc.path} HTTP/1.1`, `Host: ${loc.host}:${loc.port}`];
        for (let i = 0; i < req.rawHeaders.length; i += 2) {
          const k = req.rawHeaders[i].toLowerCase();
          if (k === 'host' || k === 'authorization') continue;
          headers.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
        }
        up.write(headers.join('\r\n') + '\r\n\r\n');
        if (head.length) up.write(head);
        up.pipe(socket);
        socket.pipe(up);
      },
    );
    up.on('error', (e) => {
      if (!socket.destroyed) {
        const msg = `error dialing backend: ${dialError(loc, e)}`;
        socket.end(
          `HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(msg)}\r\n\r\n${msg}`,
        );
      }
    });
    socket.on('error', () => up.destroy());
    socket.on('close', () => up.destroy());
    up.on('close', () => socket.destroy());
  }
}
