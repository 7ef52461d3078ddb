/**
 * The benchmarks' floor: a bare node server of the same kind as the API server's listener (node:http2 over TLS with
 * HTTP/1.1 allowed, client certificates asked for; the same runtime, TLS library, allocator and certificate) with
 * nothing of an API server behind it. Run as a child process under --expose-gc (see startBare).
 * - POST: reads the JSON body, parses it, gives it a uid, resourceVersion and creationTimestamp, answers it with 201
 *   (what every create costs before any API server work: the floor under create throughput).
 * - any other request: answers its headers and one line and keeps the answer open, as a watch does.
 * Over IPC: `memory` reports its memory figures after a full collection; `{ events: { line, count, rate, mark } }`
 * writes `line` to every open answer `count` times at `rate` per second, with the time of each write after `mark`
 * (as the fan-out's pods carry the time their create was sent), and answers `delivered`.
 */
import http2 from 'node:http2';
import { fork, type Serializable } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { allocator } from '../lib/allocator.ts';

interface Events {
  line: string;
  count: number;
  rate: number;
  mark: string;
}

function serve(certFile: string, keyFile: string, caFile: string): void {
  const open = new Set<http2.Http2ServerResponse>();
  let rv = 1;
  const server = http2.createSecureServer(
    {
      cert: readFileSync(certFile),
      key: readFileSync(keyFile),
      ca: readFileSync(caFile),
      requestCert: true,
      rejectUnauthorized: false,
      allowHTTP1: true,
      settings: { maxConcurrentStreams: 100 },
    },
    (req, res) => {
      if (req.method === 'POST') {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const o = JSON.parse(Buffer.concat(chunks).toString());
          o.metadata = {
            ...o.metadata,
            uid: randomUUID(),
            resourceVersion: String(++rv),
            creationTimestamp: new Date().toISOString(),
          };
          const body = JSON.stringify(o);
          res.writeHead(201, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
          res.end(body);
        });
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"type":"BOOKMARK","object":{}}\n');
      open.add(res);
      res.on('close', () => open.delete(res));
    },
  );
  const timeouts = server as unknown as { keepAliveTimeout: number; requestTimeout: number };
  timeouts.keepAliveTimeout = 0;
  timeouts.requestTimeout = 0;
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as { port: number }).port }));

  async function events(e: Events): Promise<void> {
    const at = e.line.indexOf(e.mark) + e.mark.length;
    const head = e.line.slice(0, at);
    const tail = e.line.slice(e.line.indexOf('"', at));
    const t0 = Date.now();
    for (let i = 0; i < e.count; i++) {
      const wait = t0 + (i * 1000) / e.rate - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      // one buffer for all answers, as the API server encodes an event once
      const data = Buffer.from(head + String(performance.timeOrigin + performance.now()) + tail);
      for (const res of open) res.write(data);
    }
  }

  process.on('message', (m: 'memory' | { events: Events }) => {
    if (m === 'memory') {
      (globalThis as { gc?: () => void }).gc?.();
      setTimeout(() => process.send!({ memory: process.memoryUsage() }), 1000);
      return;
    }
    void events(m.events).then(() => process.send!({ delivered: true }));
  });
  process.on('disconnect', () => process.exit(0));
}

export interface BareServer {
  port: number;
  pid: number;
  /** the next message the server sends */
  next(): Promise<any>;
  send(m: Serializable): void;
  stop(): void;
}

/** starts the bare server with the certificates of a skiff data folder's pki/ */
export async function startBare(pki: string): Promise<BareServer> {
  const child = fork(
    import.meta.filename,
    ['serve', path.join(pki, 'apiserver.crt'), path.join(pki, 'apiserver.key'), path.join(pki, 'ca.crt')],
    {
      execArgv: ['--expose-gc', '--import', 'tsx'],
      // the allocator the API server runs with (bin/with-allocator), for a like-for-like floor
      env: allocator ? { ...process.env, LD_PRELOAD: allocator } : process.env,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const next = () => new Promise<any>((resolve) => child.once('message', resolve));
  const { port } = await next();
  return { port, pid: child.pid!, next, send: (m) => child.send(m), stop: () => child.disconnect() };
}

if (process.argv[2] === 'serve') serve(process.argv[3], process.argv[4], process.argv[5]);
