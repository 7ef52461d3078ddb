import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { offeredStreamProtocols, spdyUpgradeResponse } from './server.ts';
import { SPDY_DICTIONARY, SpdySession, spdyConnect, type SpdyStream } from './spdy.ts';

/** The client half, written from the SPDY/3 framing: enough to talk to SpdySession as kubectl port-forward does. */
class TestClient {
  private readonly deflate = zlib.createDeflate({ dictionary: SPDY_DICTIONARY });
  private readonly inflate = zlib.createInflate({ dictionary: SPDY_DICTIONARY });

  private flush(z: zlib.Deflate | zlib.Inflate, input: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const out: Buffer[] = [];
      const onData = (d: Buffer) => out.push(d);
      z.on('data', onData);
      z.once('error', reject);
      z.write(input);
      z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        z.off('data', onData);
        resolve(Buffer.concat(out));
      });
    });
  }

  static control(type: number, flags: number, payload: Buffer): Buffer {
    const h = Buffer.alloc(8);
    h.writeUInt16BE(0x8003, 0);
    h.writeUInt16BE(type, 2);
    h[4] = flags;
    h.writeUIntBE(payload.length, 5, 3);
    return Buffer.concat([h, payload]);
  }

  static data(id: number, flags: number, payload: Buffer): Buffer {
    const h = Buffer.alloc(8);
    h.writeUInt32BE(id, 0);
    h[4] = flags;
    h.writeUIntBE(payload.length, 5, 3);
    return Buffer.concat([h, payload]);
  }

  async synStream(id: number, headers: Record<string, string>, flags = 0): Promise<Buffer> {
    const parts = [Buffer.alloc(4)];
    parts[0].writeUInt32BE(Object.keys(headers).length);
    for (const [k, v] of Object.entries(headers)) {
      for (const s of [k, v]) {
        const len = Buffer.alloc(4);
        len.writeUInt32BE(Buffer.byteLength(s));
        parts.push(len, Buffer.from(s));
      }
    }
    const block = await this.flush(this.deflate, Buffer.concat(parts));
    const head = Buffer.alloc(10); // stream id, associated id, priority + slot
    head.writeUInt32BE(id, 0);
    return TestClient.control(1, flags, Buffer.concat([head, block]));
  }

  async replyHeaderCount(block: Buffer): Promise<number> {
    return (await this.flush(this.inflate, block)).readUInt32BE(0);
  }

  close(): void {
    this.deflate.close();
    this.inflate.close();
  }
}

interface Frame {
  control: boolean;
  type: number;
  id: number;
  flags: number;
  body: Buffer;
}

function frames(buf: Buffer): Frame[] {
  const out: Frame[] = [];
  let off = 0;
  while (off + 8 <= buf.length) {
    const len = buf.readUIntBE(off + 5, 3);
    const f = buf.subarray(off, off + 8 + len);
    const control = (f[0] & 0x80) !== 0;
    const body = f.subarray(8);
    out.push({
      control,
      type: control ? f.readUInt16BE(2) : 0,
      id: control ? (body.length >= 4 ? body.readUInt32BE(0) & 0x7fffffff : 0) : f.readUInt32BE(0) & 0x7fffffff,
      flags: f[4],
      body,
    });
    off += 8 + len;
  }
  return out;
}

const tick = () => new Promise((r) => setTimeout(r, 20));

/** waits until `cond` holds (header blocks inflate asynchronously: a loaded machine takes longer than a tick) */
async function until(cond: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
}

describe('SpdySession (server side, as port-forward uses it)', () => {
  it('accepts stream pairs, replies, carries data both ways with FIN, echoes PING, and survives frames split anywhere', async () => {
    const sent: Buffer[] = [];
    const streams: SpdyStream[] = [];
    const received = new Map<number, string>();
    const ended = new Set<number>();
    const session = new SpdySession(
      (b) => sent.push(b),
      (s) => {
        streams.push(s);
        s.onData((d) => received.set(s.id, (received.get(s.id) ?? '') + d.toString()));
        s.onEnd(() => ended.add(s.id));
      },
    );
    const client = new TestClient();
    try {
      const wire = Buffer.concat([
        await client.synStream(1, { streamtype: 'error', port: '8080', requestid: '0' }),
        await client.synStream(3, { streamtype: 'data', port: '8080', requestid: '0' }),
        TestClient.data(3, 0, Buffer.from('GET / HTTP/1.0\r\n')),
        TestClient.data(3, 1, Buffer.from('\r\n')),
        TestClient.control(6, 0, Buffer.from([0, 0, 0, 7])),
      ]);
      // one byte at a time: the session must reassemble frames
      for (let i = 0; i < wire.length; i++) session.feed(wire.subarray(i, i + 1));
      await until(
        () => streams.length >= 2 && ended.has(3) && frames(Buffer.concat(sent)).some((f) => f.control && f.type === 6),
      );
      assert.deepEqual(
        streams.map((s) => [s.id, s.headers.streamtype, s.headers.port, s.headers.requestid]),
        [
          [1, 'error', '8080', '0'],
          [3, 'data', '8080', '0'],
        ],
        'the second header block decodes with the zlib context of the first',
      );
      assert.equal(received.get(3), 'GET / HTTP/1.0\r\n\r\n');
      assert.ok(ended.has(3), 'FIN ends the stream');
      const out = frames(Buffer.concat(sent));
      const replies = out.filter((f) => f.control && f.type === 2);
      assert.deepEqual(
        replies.map((f) => f.id),
        [1, 3],
      );
      for (const r of replies) assert.equal(await client.replyHeaderCount(r.body.subarray(4)), 0);
      const ping = out.find((f) => f.control && f.type === 6);
      assert.equal(ping?.body.readUInt32BE(0), 7);

      sent.length = 0;
      streams[1].write(Buffer.from('HTTP/1.0 200 OK\r\n\r\n'));
      streams[1].end();
      streams[1].write(Buffer.from('after the end')); // dropped
      const back = frames(Buffer.concat(sent));
      assert.deepEqual(
        back.map((f) => [f.control, f.id, f.flags, f.body.toString()]),
        [
          [false, 3, 0, 'HTTP/1.0 200 OK\r\n\r\n'],
          [false, 3, 1, ''],
        ],
      );
    } finally {
      session.close();
      client.close();
    }
  });

  it('RST_STREAM from the client ends the stream; reset() sends RST_STREAM CANCEL; GOAWAY closes the session', async () => {
    const sent: Buffer[] = [];
    let stream: SpdyStream | undefined;
    let ended = false;
    let closed = false;
    const session = new SpdySession(
      (b) => sent.push(b),
      (s) => {
        stream = s;
        s.onEnd(() => (ended = true));
      },
      () => (closed = true),
    );
    const client = new TestClient();
    try {
      session.feed(await client.synStream(5, { streamtype: 'data', port: '1', requestid: '2' }));
      await until(() => stream !== undefined);
      const rst = Buffer.alloc(8);
      rst.writeUInt32BE(5, 0);
      rst.writeUInt32BE(5, 4);
      session.feed(TestClient.control(3, 0, rst));
      await until(() => ended);
      assert.ok(ended);
      assert.equal(stream!.finished, true);

      const first = stream;
      session.feed(await client.synStream(7, { streamtype: 'nonsense' }));
      await until(() => stream !== first);
      sent.length = 0;
      stream!.reset();
      const [f] = frames(Buffer.concat(sent));
      assert.deepEqual([f.control, f.type, f.id, f.body.readUInt32BE(4)], [true, 3, 7, 5]);

      session.feed(TestClient.control(7, 0, Buffer.alloc(8)));
      await until(() => closed);
      assert.ok(closed);
    } finally {
      session.close();
      client.close();
    }
  });

  it('the header dictionary is SPDY/3 one (1423 bytes)', () => {
    assert.equal(SPDY_DICTIONARY.length, 1423);
    assert.equal(SPDY_DICTIONARY.subarray(0, 11).toString('latin1'), '\0\0\0\x07options');
  });
});

/** A client and a server session wired back to back (each one's frames fed to the other, a tick later). */
function pair(onStream: (s: SpdyStream) => void = () => {}) {
  const wire = { toServer: [] as Buffer[], toClient: [] as Buffer[] };
  // eslint-disable-next-line prefer-const -- the two sessions feed each other, so one is read before it is assigned
  let server!: SpdySession;
  const client = new SpdySession(
    (b) => (wire.toServer.push(b), setImmediate(() => server.feed(b))),
    (s) => s.reset(),
    () => {},
    { client: true },
  );
  server = new SpdySession((b) => (wire.toClient.push(b), setImmediate(() => client.feed(b))), onStream);
  return { client, server, wire };
}

function collect(s: SpdyStream): { text: () => string; ended: Promise<void> } {
  let text = '';
  s.onData((d) => (text += d.toString()));
  return { text: () => text, ended: new Promise((r) => s.onEnd(r)) };
}

describe('SpdySession (client side) and spdyConnect', () => {
  it('opens streams with odd ids and lower-case headers, waits for SYN_REPLY, half-closes stdin while output still flows', async () => {
    const accepted: SpdyStream[] = [];
    const { client, server, wire } = pair((s) => {
      accepted.push(s);
      if (s.headers.streamtype !== 'stdin') return;
      // the "process": upper-cases its input on the stdout stream, and reports on the error stream when its input ends
      const stdout = accepted.find((a) => a.headers.streamtype === 'stdout');
      const error = accepted.find((a) => a.headers.streamtype === 'error');
      s.onData((d) => stdout?.write(Buffer.from(d.toString().toUpperCase())));
      s.onEnd(() => {
        stdout?.write(Buffer.from('EOF\n'));
        stdout?.end();
        error?.write(Buffer.from('{"status":"Success"}'));
        error?.end();
      });
    });
    try {
      const error = await client.openStream({ streamType: 'error' });
      const stdout = await client.openStream({ streamtype: 'stdout' });
      const stdin = await client.openStream({ streamtype: 'stdin' });
      assert.deepEqual([error.id, stdout.id, stdin.id], [1, 3, 5]);
      assert.deepEqual(await Promise.all([error.replied, stdout.replied, stdin.replied]), [{}, {}, {}]);
      assert.deepEqual(
        accepted.map((s) => [s.id, s.headers]),
        [
          [1, { streamtype: 'error' }],
          [3, { streamtype: 'stdout' }],
          [5, { streamtype: 'stdin' }],
        ],
        'header names go out in lower case (Go refuses others); later blocks decode with the context of earlier ones',
      );
      const out = collect(stdout);
      const err = collect(error);
      stdin.write(Buffer.from('one\n'));
      stdin.write(Buffer.from('two\n'));
      stdin.end();
      stdin.write(Buffer.from('after the end')); // dropped
      await Promise.all([out.ended, err.ended]);
      assert.equal(out.text(), 'ONE\nTWO\nEOF\n');
      assert.equal(err.text(), '{"status":"Success"}');
      const stdinFrames = frames(Buffer.concat(wire.toServer)).filter((f) => !f.control && f.id === 5);
      assert.deepEqual(
        stdinFrames.map((f) => [f.flags, f.body.toString()]),
        [
          [0, 'one\n'],
          [0, 'two\n'],
          [1, ''],
        ],
        'the end of stdin is an empty DATA frame with FIN, nothing after it',
      );
      const syn = frames(Buffer.concat(wire.toServer)).filter((f) => f.control && f.type === 1);
      assert.deepEqual(
        syn.map((f) => f.id),
        [1, 3, 5],
      );
      const inflate = zlib.createInflate({ dictionary: SPDY_DICTIONARY });
      try {
        const firstBlock = await new Promise<Buffer>((resolve) => {
          const out: Buffer[] = [];
          inflate.on('data', (d: Buffer) => out.push(d));
          inflate.write(syn[0].body.subarray(10));
          inflate.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve(Buffer.concat(out)));
        });
        assert.ok(
          firstBlock.includes('streamtype') && !firstBlock.includes('streamType'),
          `on the wire: ${JSON.stringify(firstBlock.toString('latin1'))}`,
        );
      } finally {
        inflate.close();
      }
    } finally {
      client.close();
      server.close();
    }
  });

  it('data that arrives before its handler is kept; RST_STREAM before the reply rejects it; PING of the peer echoed, its own not; GOAWAY closes', async () => {
    const sent: Buffer[] = [];
    const session = new SpdySession(
      (b) => sent.push(b),
      () => {},
      () => {},
      { client: true },
    );
    const peer = new TestClient(); // its deflate plays the server's header compression
    let closed = 0;
    session.onceClosed(() => closed++);
    try {
      const a = await session.openStream({ streamtype: 'stdout' });
      const b = await session.openStream({ streamtype: 'stdin' });
      // SYN_REPLY: stream id then the header block (a SYN_STREAM's block minus its 10-byte head)
      const reply = (await peer.synStream(0, { server: 'x' })).subarray(8 + 10);
      const id = Buffer.alloc(4);
      id.writeUInt32BE(a.id);
      session.feed(TestClient.control(2, 0, Buffer.concat([id, reply])));
      session.feed(TestClient.data(a.id, 0, Buffer.from('early ')));
      session.feed(TestClient.data(a.id, 1, Buffer.from('output')));
      const rst = Buffer.alloc(8);
      rst.writeUInt32BE(b.id, 0);
      rst.writeUInt32BE(3, 4);
      session.feed(TestClient.control(3, 0, rst));
      const ping = (n: number) => {
        const p = Buffer.alloc(4);
        p.writeUInt32BE(n);
        return TestClient.control(6, 0, p);
      };
      session.feed(ping(2));
      session.feed(ping(1));
      assert.deepEqual(await a.replied, { server: 'x' });
      await assert.rejects(b.replied, /reset by the peer \(status 3\)/);
      assert.equal(b.resetStatus, 3);
      await tick();
      const out = collect(a); // handlers set late: nothing is lost
      await out.ended;
      assert.equal(out.text(), 'early output');
      const pings = frames(Buffer.concat(sent)).filter((f) => f.control && f.type === 6);
      assert.deepEqual(
        pings.map((f) => f.body.readUInt32BE(0)),
        [2],
        "the server's ping (even) is answered; an odd one would be an answer to ours",
      );

      const c = await session.openStream({ streamtype: 'error' });
      assert.equal(c.id, 5);
      session.feed(TestClient.control(7, 0, Buffer.alloc(8)));
      await assert.rejects(c.replied, /closed/);
      assert.equal(closed, 1);
      await assert.rejects(session.openStream({ streamtype: 'late' }), /closed/);
    } finally {
      session.close();
      peer.close();
    }
  });

  it('spdyConnect: upgrades with Connection/Upgrade and one X-Stream-Protocol-Version line per protocol, takes the chosen one, and reports a refusal', async () => {
    let seen: http.IncomingMessage | undefined;
    const echoed: string[] = [];
    const server = http.createServer((req, res) => {
      res.writeHead(403, { 'Content-Type': 'text/plain' }).end('unable to upgrade: unable to negotiate protocol');
    });
    server.on('upgrade', (req: http.IncomingMessage, socket, head: Buffer) => {
      seen = req;
      if (!offeredStreamProtocols(req).includes('v4.channel.k8s.io')) {
        socket.end(
          'HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 47\r\n\r\nunable to upgrade: unable to negotiate protocol',
        );
        return;
      }
      const session = new SpdySession(
        (b) => socket.write(b),
        (s) => {
          s.onData((d) => echoed.push(`${s.headers.streamtype}:${d}`));
          s.onEnd(() => {
            s.write(Buffer.from(`bye ${s.headers.streamtype}`));
            s.end();
            setImmediate(() => socket.end());
          });
        },
      );
      if (head.length) session.feed(head);
      socket.on('data', (d: Buffer) => session.feed(d));
      socket.on('close', () => session.close());
      // the 101 and the server's first frame in one write: the client must not lose what came with the 101
      const ping = Buffer.alloc(4);
      ping.writeUInt32BE(2);
      socket.write(
        Buffer.concat([Buffer.from(spdyUpgradeResponse('v4.channel.k8s.io')), TestClient.control(6, 0, ping)]),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/exec/token`;
    try {
      const conn = await spdyConnect(url, ['v4.channel.k8s.io', 'v3.channel.k8s.io']);
      assert.equal(conn.protocol, 'v4.channel.k8s.io');
      assert.equal(seen?.headers.connection, 'Upgrade');
      assert.equal(seen?.headers.upgrade, 'SPDY/3.1');
      const lines = [];
      for (let i = 0; i < seen!.rawHeaders.length; i += 2)
        if (seen!.rawHeaders[i].toLowerCase() === 'x-stream-protocol-version') lines.push(seen!.rawHeaders[i + 1]);
      assert.deepEqual(lines, ['v4.channel.k8s.io', 'v3.channel.k8s.io']);
      const closed = new Promise<void>((r) => conn.session.onceClosed(r));
      const stdin = await conn.session.openStream({ streamtype: 'stdin' });
      await stdin.replied;
      const back = collect(stdin);
      stdin.write(Buffer.from('hello'));
      stdin.end();
      await back.ended;
      assert.equal(back.text(), 'bye stdin');
      assert.deepEqual(echoed, ['stdin:hello']);
      await closed; // the server closed the connection: the session follows

      await assert.rejects(
        spdyConnect(url, ['v9.channel.k8s.io']),
        /refused the upgrade to SPDY\/3\.1: 403 Forbidden: unable to upgrade: unable to negotiate protocol/,
      );
      await assert.rejects(spdyConnect(`http://127.0.0.1:1/exec/x`, ['v4.channel.k8s.io']), /ECONNREFUSED/);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
