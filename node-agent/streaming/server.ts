/**
 * The agent's own HTTPS port (kubelet's 10250): container logs, exec and attach, for the API server only. Clients must
 * present a certificate of the cluster CA with the group system:masters (the API server's kubelet-client
 * certificate); anything else is refused in the TLS handshake or with 403.
 *   GET /containerLogs/{ns}/{pod}/{container}?follow&tailLines&sinceSeconds&sinceTime&timestamps&previous&limitBytes
 *   /exec/{ns}/{pod}/{container}?command=...&stdin&stdout&stderr&tty   (WebSocket: v5/v4.channel.k8s.io;
 *                                                              SPDY/3.1: v4/v3/v2.channel.k8s.io, kubectl < 1.30)
 *   /attach/{ns}/{pod}/{container}?stdin&stdout&stderr&tty     (the same)
 *   /portForward/{ns}/{pod}                                    (SPDY/3.1, plain or tunnelled in a WebSocket)
 * Exec and attach are bridged to the runtime's streaming server (CRI Exec/Attach give its URL) over SPDY/3.1, where
 * the end of kubectl's stdin (v5's close of channel 0, or the FIN of its SPDY stdin stream) can be passed on as the end
 * of the stdin stream. Port-forward goes through the runtime too (CRI PortForward), stream for stream.
 */
import https from 'node:https';
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer, type WebSocket } from 'ws';
import type { CriClient } from '../cri/client.ts';
import type { Pod } from '../objects.ts';
import type { ContainerStatus } from '../cri/types.ts';
import type { RuntimeCache } from '../pods/runtime-cache.ts';
import { streamLog } from './logs.ts';
import { dialPortForward, PORTFORWARD_PROTOCOL, relayPortForward } from './portforward.ts';
import {
  bridge,
  bridgeSpdy,
  dialRuntime,
  negotiateSpdy,
  SPDY_PROTOCOLS,
  type RuntimeStreams,
  type StreamOptions,
} from './remotecommand.ts';
import { socketTransport, wsTransport } from './transport.ts';
import { closeSpdyClient, type SpdyClient } from './spdy.ts';
import { selfSignedServingCert } from '../../lib/pki/serving-cert.ts';

export interface AgentServerOptions {
  cri: CriClient;
  runtime: RuntimeCache;
  /** the pod of namespace/name bound to this node, from the agent's watch */
  pod(namespace: string, name: string): Pod | undefined;
  clusterCaPem: string;
  nodeName: string;
  nodeIP: string;
  port: number;
  host?: string;
  log?: (msg: string) => void;
}

const CHANNEL_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
/** kubectl 1.31+ tunnels port-forward's SPDY in a WebSocket with this subprotocol */
const PORTFORWARD_TUNNEL = 'SPDY/3.1+portforward.k8s.io';

/** The protocols a SPDY client offers in X-Stream-Protocol-Version, in its order (a line each, or comma-separated). */
export function offeredStreamProtocols(req: http.IncomingMessage): string[] {
  return (req.headersDistinct['x-stream-protocol-version'] ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
}

/** The answer that switches an upgraded connection to SPDY/3.1 speaking `protocol`. */
export function spdyUpgradeResponse(protocol: string): string {
  return `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${protocol}\r\n\r\n`;
}

class HttpError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function bool(v: string | null): boolean {
  return v === 'true' || v === '1';
}

export class AgentServer {
  private server?: https.Server;
  private readonly wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => CHANNEL_PROTOCOLS.find((p) => protocols.has(p)) ?? false,
  });
  private readonly tunnels = new WebSocketServer({
    noServer: true,
    handleProtocols: (ps) => (ps.has(PORTFORWARD_TUNNEL) ? PORTFORWARD_TUNNEL : false),
  });
  port = 0;
  private readonly log: (msg: string) => void;

  constructor(private readonly o: AgentServerOptions) {
    this.log = o.log ?? (() => {});
  }

  async start(): Promise<number> {
    const { certPem, keyPem } = await selfSignedServingCert(this.o.nodeName, [this.o.nodeIP]);
    const server = https.createServer(
      { cert: certPem, key: keyPem, ca: [this.o.clusterCaPem], requestCert: true, rejectUnauthorized: true },
      (req, res) => void this.onRequest(req, res),
    );
    server.on('upgrade', (req, socket, head) => void this.onUpgrade(req, socket, head));
    server.on('tlsClientError', () => {});
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.port, this.o.host ?? '0.0.0.0', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as { port: number }).port;
    return this.port;
  }

  async stop(): Promise<void> {
    for (const c of [...this.wss.clients, ...this.tunnels.clients]) c.terminate();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server?.closeAllConnections?.();
  }

  /** only the API server's client certificate (group system:masters) may use this port */
  private authorized(req: http.IncomingMessage): boolean {
    const cert = (req.socket as TLSSocket).getPeerCertificate?.();
    if (!cert || !cert.subject) return false;
    const o = cert.subject.O;
    const groups = Array.isArray(o) ? o : o ? [o] : [];
    return groups.includes('system:masters');
  }

  private parse(url: URL): { kind: string; ns: string; pod: string; container: string } {
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const [kind, ns, pod, container] = parts;
    if (!kind || !ns || !pod) throw new HttpError(404, `no such path: ${url.pathname}`);
    return { kind, ns, pod, container: container ?? '' };
  }

  /** The pod's containers of `name` in the runtime, newest first. */
  private attempts(ns: string, podName: string, name: string): { pod: Pod; list: ContainerStatus[] } {
    const pod = this.o.pod(ns, podName);
    if (!pod) throw new HttpError(404, `pod "${podName}" not found on this node`);
    const list = this.o.runtime.get(pod.metadata.uid!).containers.filter((c) => c.metadata.name === name);
    return { pod, list };
  }

  /** kubelet's words for a container whose log or shell cannot be reached yet */
  private waitingMessage(pod: Pod, name: string): string | undefined {
    const st = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])].find(
      (s) => s.name === name,
    );
    const w = st?.state?.waiting;
    if (w && !st.lastState?.terminated) {
      const why =
        w.reason === 'ErrImagePull'
          ? "image can't be pulled"
          : w.reason === 'ImagePullBackOff'
            ? 'trying and failing to pull image'
            : (w.reason ?? 'ContainerCreating');
      return `container "${name}" in pod "${pod.metadata.name}" is waiting to start: ${why}`;
    }
    return undefined;
  }

  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://agent');
    try {
      if (!this.authorized(req)) throw new HttpError(403, 'Forbidden: only the API server may use this port');
      const p = this.parse(url);
      if (p.kind !== 'containerLogs' || req.method !== 'GET') throw new HttpError(404, `no such path: ${url.pathname}`);
      const previous = bool(url.searchParams.get('previous'));
      const { pod, list } = this.attempts(p.ns, p.pod, p.container);
      const target = previous ? list[1] : list[0];
      if (!target) {
        if (previous)
          throw new HttpError(400, `previous terminated container "${p.container}" in pod "${p.pod}" not found`);
        throw new HttpError(
          400,
          this.waitingMessage(pod, p.container) ??
            `container "${p.container}" in pod "${p.pod}" is waiting to start: ContainerCreating`,
        );
      }
      const q = url.searchParams;
      const sinceTime = q.get('sinceTime');
      const sinceSeconds = q.get('sinceSeconds');
      const tail = q.get('tailLines');
      const limit = q.get('limitBytes');
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      let closed = false;
      res.on('close', () => (closed = true));
      const id = target.id;
      await streamLog(
        target.log_path,
        {
          follow: bool(q.get('follow')) && !previous,
          timestamps: bool(q.get('timestamps')),
          tailLines: tail !== null ? Number(tail) : undefined,
          sinceMs: sinceTime
            ? Date.parse(sinceTime)
            : sinceSeconds
              ? Date.now() - Number(sinceSeconds) * 1000
              : undefined,
          limitBytes: limit !== null ? Number(limit) : undefined,
        },
        { write: (s) => res.write(s), closed: () => closed },
        () => this.o.runtime.get(pod.metadata.uid!).containers.find((c) => c.id === id)?.state === 'CONTAINER_RUNNING',
      );
      res.end();
    } catch (e) {
      const code = e instanceof HttpError ? e.code : 500;
      if (!res.headersSent) res.writeHead(code, { 'Content-Type': 'text/plain' }).end((e as Error).message);
      else res.end();
    }
  }

  private reject(socket: Duplex, code: number, message: string): void {
    const reason =
      code === 403 ? 'Forbidden' : code === 404 ? 'Not Found' : code === 400 ? 'Bad Request' : 'Internal Server Error';
    socket.end(
      `HTTP/1.1 ${code} ${reason}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(message)}\r\n\r\n${message}`,
    );
  }

  /** the ready sandbox of a pod (the runtime cache, else the runtime asked again) */
  private async sandboxOf(pod: Pod): Promise<string> {
    const uid = pod.metadata.uid!;
    const ready = (sbs: { id: string; state: string }[]) => sbs.find((sb) => sb.state === 'SANDBOX_READY')?.id;
    const id = ready(this.o.runtime.get(uid).sandboxes) ?? ready((await this.o.runtime.refresh(uid)).sandboxes);
    if (!id) throw new HttpError(400, `pod ${pod.metadata.name} has no running sandbox`);
    return id;
  }

  /**
   * kubectl port-forward: its SPDY/3.1 session (plain, or inside a WebSocket) relayed stream by stream to the runtime's
   * port-forward connection (CRI PortForward), which reaches the ports on localhost in the pod's network namespace.
   */
  private async portForward(req: http.IncomingMessage, socket: Duplex, head: Buffer, pod: Pod): Promise<void> {
    const upgrade = (req.headers.upgrade ?? '').toLowerCase();
    if (upgrade !== 'websocket' && !upgrade.startsWith('spdy/3.1')) {
      throw new HttpError(
        400,
        `port-forward needs an upgrade to SPDY/3.1 or to a WebSocket with ${PORTFORWARD_TUNNEL}`,
      );
    }
    const sandbox = await this.sandboxOf(pod);
    const url = await this.o.cri.portForward(sandbox, []);
    const rt = await dialPortForward(url).catch((e: Error) => {
      throw new HttpError(500, `the runtime's port-forward stream failed: ${e.message}`);
    });
    if (upgrade === 'websocket') {
      handOver(this.tunnels, req, socket, head, rt, (ws) => relayPortForward(wsTransport(ws), Buffer.alloc(0), rt));
      return;
    }
    // kubectl may have given up while the runtime was reached
    if (socket.destroyed) {
      closeSpdyClient(rt, false);
      return;
    }
    socket.write(spdyUpgradeResponse(PORTFORWARD_PROTOCOL));
    relayPortForward(socketTransport(socket), head, rt);
  }

  private async onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://agent');
    let runtime: RuntimeStreams;
    let spdyProtocol: string | undefined;
    let streams: StreamOptions;
    try {
      if (!this.authorized(req)) throw new HttpError(403, 'Forbidden: only the API server may use this port');
      const p = this.parse(url);
      if (p.kind === 'portForward') {
        const pod = this.o.pod(p.ns, p.pod);
        if (!pod) throw new HttpError(404, `pod "${p.pod}" not found on this node`);
        await this.portForward(req, socket, head, pod);
        return;
      }
      if (p.kind !== 'exec' && p.kind !== 'attach')
        throw new HttpError(400, `${p.kind} is not supported by this node over an upgraded connection`);
      const upgrade = (req.headers.upgrade ?? '').toLowerCase();
      if (upgrade.startsWith('spdy/3.1')) {
        const offered = offeredStreamProtocols(req);
        spdyProtocol = negotiateSpdy(offered);
        if (!spdyProtocol)
          throw new HttpError(
            403,
            `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(' ')}], server supports [${SPDY_PROTOCOLS.join(' ')}]`,
          );
      } else if (upgrade !== 'websocket') {
        throw new HttpError(
          400,
          `exec and attach need an upgrade to a WebSocket (${CHANNEL_PROTOCOLS.join(', ')}) or to SPDY/3.1 (${SPDY_PROTOCOLS.join(', ')})`,
        );
      }
      const { pod, list } = this.attempts(p.ns, p.pod, p.container);
      const running = list.find((c) => c.state === 'CONTAINER_RUNNING');
      if (!running)
        throw new HttpError(400, this.waitingMessage(pod, p.container) ?? `container ${p.container} is not running`);
      const q = url.searchParams;
      const tty = bool(q.get('tty'));
      streams = {
        stdin: bool(q.get('stdin')),
        stdout: bool(q.get('stdout')),
        stderr: bool(q.get('stderr')) && !tty,
        tty,
      };
      const backendUrl =
        p.kind === 'exec'
          ? await this.o.cri.exec({ container_id: running.id, cmd: q.getAll('command'), ...streams })
          : await this.o.cri.attach({ container_id: running.id, ...streams });
      runtime = await dialRuntime(backendUrl, streams).catch((e: Error) => {
        throw new HttpError(500, `the runtime's stream failed: ${e.message}`);
      });
    } catch (e) {
      this.reject(socket, e instanceof HttpError ? e.code : 500, (e as Error).message);
      return;
    }
    if (!spdyProtocol) {
      handOver(this.wss, req, socket, head, runtime.conn, (client) => bridge(client, runtime));
      return;
    }
    // kubectl may have given up while the runtime was reached
    if (socket.destroyed) {
      closeSpdyClient(runtime.conn, false);
      return;
    }
    socket.write(spdyUpgradeResponse(spdyProtocol));
    bridgeSpdy(socketTransport(socket), head, spdyProtocol, runtime, streams);
  }
}

/**
 * Completes kubectl's WebSocket handshake and gives the socket to `onOpen`. The runtime connection dialed for it is
 * closed when the socket closes before that: kubectl gave up while the runtime was reached, or the handshake was
 * refused (ws answers 400 and never calls back), so no runtime stream (and no process it started) is left behind.
 */
export function handOver(
  wss: WebSocketServer,
  req: http.IncomingMessage,
  socket: Duplex,
  head: Buffer,
  rt: SpdyClient,
  onOpen: (ws: WebSocket) => void,
): void {
  if (socket.destroyed) {
    closeSpdyClient(rt, false);
    return;
  }
  let opened = false;
  const orphaned = () => opened || closeSpdyClient(rt, false);
  socket.once('close', orphaned);
  wss.handleUpgrade(req, socket, head, (ws) => {
    opened = true;
    socket.off('close', orphaned);
    onOpen(ws);
  });
}
