import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { dialPortForward, PORTFORWARD_PROTOCOL, relayPortForward } from './portforward.ts';
import { spdyUpgradeResponse } from './server.ts';
import { SpdySession, spdyConnect, type SpdyClient, type SpdyStream } from './spdy.ts';
import { socketTransport } from './transport.ts';
import { eventually } from '../../test/harness/eventually.ts';

/** Everything a stream sends until its end (FIN or reset), and whether it was reset. */
function collect(s: SpdyStream): Promise<{ text: string; reset: boolean }> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    s.onData((d) => parts.push(d));
    s.onEnd(() => resolve({ text: Buffer.concat(parts).toString(), reset: s.resetStatus !== undefined }));
  });
}

/**
 * A runtime's port-forward server as containerd's behaves: streams paired by requestID; port 1 echoes the data stream
 * upper-cased until its FIN, then ends it; on any other port nothing listens: the words go on the error stream, and
 * both streams end.
 */
class FakeRuntime {
  private readonly server = http.createServer((_req, res) => res.writeHead(404).end());
  private readonly sockets = new Set<Duplex>();
  port = 0;
  /** per connection: the headers of the streams in the order they came */
  readonly seen: Record<string, string>[][] = [];
  closed = 0;
  /** requestIDs of data streams the agent reset */
  readonly resets: string[] = [];

  constructor() {
    this.server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      if (req.headers['x-stream-protocol-version'] !== PORTFORWARD_PROTOCOL)
        return socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      this.sockets.add(socket);
      socket.write(spdyUpgradeResponse(PORTFORWARD_PROTOCOL));
      const seen: Record<string, string>[] = [];
      this.seen.push(seen);
      const pairs = new Map<string, { error?: SpdyStream; data?: SpdyStream }>();
      const session = new SpdySession(
        (b) => socket.write(b),
        (s) => {
          seen.push(s.headers);
          const p = pairs.get(s.headers.requestid) ?? {};
          pairs.set(s.headers.requestid, p);
          if (s.headers.streamtype === 'error') p.error = s;
          else p.data = s;
          if (!p.error || !p.data) return;
          const { error, data } = p;
          if (s.headers.port === '1') {
            data.onData((d) => data.write(Buffer.from(d.toString().toUpperCase())));
            data.onEnd(() => {
              if (data.resetStatus !== undefined) this.resets.push(s.headers.requestid);
              data.end();
              error.end();
            });
          } else {
            error.write(Buffer.from(`error forwarding port ${s.headers.port}: connection refused`));
            error.end();
            data.end();
          }
        },
        () => socket.end(),
      );
      socket.on('data', (d: Buffer) => session.feed(d));
      socket.on('close', () => {
        this.closed++;
        session.close();
      });
      if (head.length) session.feed(head);
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

describe("port-forward: kubectl's streams relayed to the runtime's port-forward connection", () => {
  const runtime = new FakeRuntime();
  /** the agent's side: a plain SPDY upgrade relayed to a fresh runtime connection */
  const agent = http.createServer((_req, res) => res.writeHead(404).end());
  let agentUrl = '';

  before(async () => {
    await runtime.start();
    agent.on('upgrade', async (_req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      const rt = await dialPortForward(`http://127.0.0.1:${runtime.port}/portforward/token`);
      socket.write(spdyUpgradeResponse(PORTFORWARD_PROTOCOL));
      relayPortForward(socketTransport(socket), head, rt);
    });
    await new Promise<void>((r) => agent.listen(0, '127.0.0.1', () => r()));
    agentUrl = `http://127.0.0.1:${(agent.address() as AddressInfo).port}/portForward/ns/pod`;
  });

  after(async () => {
    agent.closeAllConnections();
    await new Promise((r) => agent.close(r));
    await runtime.stop();
  });

  /** one local connection as kubectl makes it: the error stream (closed at once on kubectl's side), then the data stream */
  async function connection(kubectl: SpdyClient, requestID: number, port: number, send: string) {
    const headers = { streamType: 'error', port: String(port), requestID: String(requestID) };
    const error = await kubectl.session.openStream(headers);
    error.end();
    const errorText = collect(error);
    const data = await kubectl.session.openStream({ ...headers, streamType: 'data' });
    const dataText = collect(data);
    data.write(Buffer.from(send));
    data.end();
    return { error: await errorText, data: await dataText };
  }

  it('pairs by requestID reach the runtime with their headers; data, FIN and the error stream come back; a failed pair leaves the others working', async () => {
    const kubectl = await spdyConnect(agentUrl, [PORTFORWARD_PROTOCOL]);
    assert.equal(kubectl.protocol, PORTFORWARD_PROTOCOL);
    assert.deepEqual(await connection(kubectl, 0, 1, 'hello'), {
      error: { text: '', reset: false },
      data: { text: 'HELLO', reset: false },
    });
    assert.deepEqual(await connection(kubectl, 1, 2, 'lost'), {
      error: { text: 'error forwarding port 2: connection refused', reset: false },
      data: { text: '', reset: false },
    });
    // concurrent pairs on the same connection, after the failure
    const [a, b] = await Promise.all([connection(kubectl, 2, 1, 'one'), connection(kubectl, 3, 1, 'two')]);
    assert.equal(a.data.text, 'ONE');
    assert.equal(b.data.text, 'TWO');
    const seen = runtime.seen.at(-1)!;
    assert.deepEqual(seen.slice(0, 4), [
      { streamtype: 'error', port: '1', requestid: '0' },
      { streamtype: 'data', port: '1', requestid: '0' },
      { streamtype: 'error', port: '2', requestid: '1' },
      { streamtype: 'data', port: '2', requestid: '1' },
    ]);
    assert.equal(seen.length, 8);

    // kubectl going away closes the runtime's connection
    const closedBefore = runtime.closed;
    kubectl.session.goAway();
    kubectl.socket.end();
    await eventually('the runtime connection closed', () => runtime.closed !== closedBefore);
    assert.equal(runtime.closed, closedBefore + 1, "the runtime connection closed with kubectl's");
  });

  it("a reset of kubectl's data stream resets the runtime's; the runtime going away ends kubectl's connection", async () => {
    const kubectl = await spdyConnect(agentUrl, [PORTFORWARD_PROTOCOL]);
    const headers = { streamType: 'error', port: '1', requestID: '7' };
    const error = await kubectl.session.openStream(headers);
    error.end();
    const data = await kubectl.session.openStream({ ...headers, streamType: 'data' });
    data.write(Buffer.from('a'));
    const first = await new Promise<string>((resolve) => data.onData((d) => resolve(d.toString())));
    assert.equal(first, 'A');
    data.reset();
    await eventually("the runtime's stream reset", () => runtime.resets.includes('7'));
    assert.deepEqual(runtime.resets, ['7']);
    const gone = new Promise<void>((resolve) => kubectl.session.onceClosed(resolve));
    await runtime.stop();
    await gone;
    assert.ok(kubectl.session.isClosed);
  });
});
