import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { handOver } from './server.ts';
import type { SpdyClient } from './spdy.ts';
import { eventually } from '../../test/harness/eventually.ts';

/** a runtime connection that records how it was closed */
function fakeRuntime(): { rt: SpdyClient; closed: () => string | undefined } {
  let how: string | undefined;
  const socket = new PassThrough();
  socket.on('close', () => (how ??= 'destroyed'));
  const session = { close: () => (how = 'closed'), goAway: () => (how = 'goaway') };
  return {
    rt: { session: session as unknown as SpdyClient['session'], socket, protocol: 'v4.channel.k8s.io' },
    closed: () => how,
  };
}

describe("handing kubectl's upgraded connection over to a WebSocket bridge", () => {
  const servers: http.Server[] = [];
  afterEach(() => {
    for (const s of servers.splice(0)) s.close();
  });

  async function serve(rt: SpdyClient, onOpen: (ws: WebSocket) => void): Promise<number> {
    const wss = new WebSocketServer({ noServer: true });
    const server = http.createServer();
    server.on('upgrade', (req, socket, head) => handOver(wss, req, socket, head, rt, onOpen));
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return (server.address() as net.AddressInfo).port;
  }

  it('a refused handshake closes the runtime connection dialed for it', async () => {
    const { rt, closed } = fakeRuntime();
    let opened = false;
    const port = await serve(rt, () => (opened = true));
    // an upgrade without Sec-WebSocket-Key: ws answers 400 and never calls back
    const answer = await new Promise<string>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () =>
        c.write(
          'GET /exec HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n',
        ),
      );
      let got = '';
      c.on('data', (d) => (got += d));
      c.on('close', () => resolve(got));
    });
    assert.match(answer, /^HTTP\/1\.1 400 /);
    await eventually('the runtime connection closed', () => closed());
    assert.equal(closed(), 'closed');
    assert.equal(opened, false);
  });

  it('an accepted handshake leaves the runtime connection to the bridge, also after the client leaves', async () => {
    const { rt, closed } = fakeRuntime();
    let bridged: WebSocket | undefined;
    const port = await serve(rt, (ws) => (bridged = ws));
    const client = new WebSocket(`ws://127.0.0.1:${port}/exec`);
    await new Promise((r, j) => client.once('open', r).once('error', j));
    await eventually('the bridge started', () => bridged);
    assert.ok(bridged);
    client.terminate();
    await new Promise((r) => bridged!.once('close', r));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(closed(), undefined);
  });
});
