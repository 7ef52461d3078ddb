/**
 * The reference for the watch benchmark's memory per watcher: a bare node server of the same kind as the API
 * server's listener (node:http2 over TLS, HTTP/1.1 allowed; the same runtime, TLS library and certificate) that
 * answers every request with its headers and one line and keeps the answer open, as a watch does. Run as a child
 * process under --expose-gc. Over IPC: `memory` reports its memory figures after a full collection; `{ events: { line,
 * count, rate } }` writes `line` to every open answer `count` times at `rate` per second (the fan-out's events, with
 * nothing of an API server behind them) and answers `delivered`. argv: the serving certificate and key files.
 */
import http2 from 'node:http2';
import { readFileSync } from 'node:fs';

const [certFile, keyFile] = process.argv.slice(2);
const open = new Set<http2.Http2ServerResponse>();
const server = http2.createSecureServer(
  { cert: readFileSync(certFile), key: readFileSync(keyFile), allowHTTP1: true, settings: { maxConcurrentStreams: 100 } },
  (_req, res) => {
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

async function events(line: string, count: number, rate: number): Promise<void> {
  const t0 = Date.now();
  for (let i = 0; i < count; i++) {
    const wait = t0 + (i * 1000) / rate - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    // one buffer for all answers, as the API server encodes an event once
    const data = Buffer.from(line);
    for (const res of open) res.write(data);
  }
}

process.on('message', (m: 'memory' | { events: { line: string; count: number; rate: number } }) => {
  if (m === 'memory') {
    (globalThis as { gc?: () => void }).gc?.();
    setTimeout(() => process.send!({ memory: process.memoryUsage() }), 1000);
    return;
  }
  void events(m.events.line, m.events.count, m.events.rate).then(() => process.send!({ delivered: true }));
});
process.on('disconnect', () => process.exit(0));
