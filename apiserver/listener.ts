/**
 * The listener: HTTPS serving HTTP/2 (negotiated by ALPN, as kubectl and client-go prefer: many watches share one
 * connection) and HTTP/1.1 (other clients, and the upgrades of exec, attach, port-forward and WebSocket watches), or
 * plain HTTP without credentials for tests of the HTTP layer. Every connection is tracked to end them all on close.
 */
import http from 'node:http';
import http2 from 'node:http2';
import type https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { AnyRequest, AnyResponse } from './http.ts';

/** streams one HTTP/2 connection may carry at once, as Kubernetes (a client with more watches opens more connections) */
const HTTP2_MAX_STREAMS = 100;

export interface ListenerOptions {
  port: number;
  bindAddress: string;
  /** TLS options; none: plain HTTP */
  tls?: https.ServerOptions;
  onRequest(req: AnyRequest, res: AnyResponse): void;
  onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
}

export interface Listener {
  port: number;
  close(): Promise<void>;
}

export async function listen(opts: ListenerOptions): Promise<Listener> {
  const server = opts.tls
    ? http2.createSecureServer(
        { ...opts.tls, allowHTTP1: true, settings: { maxConcurrentStreams: HTTP2_MAX_STREAMS } },
        opts.onRequest,
      )
    : http.createServer(opts.onRequest);
  const timeouts = server as { keepAliveTimeout: number; headersTimeout: number; requestTimeout: number };
  timeouts.keepAliveTimeout = 65_000; // HTTP/1.1 connections
  timeouts.headersTimeout = 66_000;
  timeouts.requestTimeout = 0; // watches are long
  // every connection, to end them all on close (HTTP/2 sessions, HTTP/1.1 keep-alive and upgraded connections)
  const connections = new Set<Socket>();
  server.on(opts.tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });
  server.on('upgrade', opts.onUpgrade);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.bindAddress, () => resolve());
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(
        `port ${opts.port} on ${opts.bindAddress} is already in use: stop the program using it, or choose another port with --port or SKIFF_API_PORT`,
        { cause: e },
      );
    }
    throw e;
  }
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of connections) socket.destroy();
      }),
  };
}
