/**
 * The reference for the watch benchmark's memory per watcher: a bare node server of the same kind as the API
 * server's listener (node:http2 over TLS, HTTP/1.1 allowed; the same runtime, TLS library and certificate) that
 * answers every request with its headers and one line and keeps the answer open, as a watch does. Run as a child
 * process under --expose-gc; over IPC it reports its memory figures after a full collection. argv: the serving certificate and
 * key files.
 */
import http2 from 'node:http2';
import { readFileSync } from 'node:fs';

const [certFile, keyFile] = process.argv.slice(2);
const server = http2.createSecureServer(
  { cert: readFileSync(certFile), key: readFileSync(keyFile), allowHTTP1: true, settings: { maxConcurrentStreams: 100 } },
  (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write('{"type":"BOOKMARK","object":{}}\n');
  },
);
const timeouts = server as unknown as { keepAliveTimeout: number; requestTimeout: number };
timeouts.keepAliveTimeout = 0;
timeouts.requestTimeout = 0;
server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as { port: number }).port }));
process.on('message', () => {
  (globalThis as { gc?: () => void }).gc?.();
  setTimeout(() => process.send!({ memory: process.memoryUsage() }), 1000);
});
process.on('disconnect', () => process.exit(0));
