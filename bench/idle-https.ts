/**
 * The reference for the watch benchmark's memory per watcher: a bare node:https server (the same runtime, TLS library
 * and certificate as the API server) that answers every request with the headers and one chunk of a chunked response
 * and keeps it open, as a watch does. Run as a child process under --expose-gc; over IPC it reports its RSS after a
 * full collection. argv: the serving certificate and key files.
 */
import https from 'node:https';
import { readFileSync } from 'node:fs';

const [certFile, keyFile] = process.argv.slice(2);
const server = https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (_req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
  res.write('{"type":"BOOKMARK","object":{}}\n');
});
server.keepAliveTimeout = 0;
server.requestTimeout = 0;
server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as { port: number }).port }));
process.on('message', () => {
  (globalThis as { gc?: () => void }).gc?.();
  setTimeout(() => process.send!({ rss: process.memoryUsage().rss }), 1000);
});
process.on('disconnect', () => process.exit(0));
