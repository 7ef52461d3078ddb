import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { SPDY_DICTIONARY, SpdySession, type SpdyStream } from './spdy.ts';

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
    out.push({ control, type: control ? f.readUInt16BE(2) : 0, id: control ? (body.length >= 4 ? body.readUInt32BE(0) & 0x7fffffff : 0) : f.readUInt32BE(0) & 0x7fffffff, flags: f[4], body });
    off += 8 + len;
  }
  return out;
}

const tick = () => new Promise((r) => setTimeout(r, 20));

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
      await tick();
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
      assert.deepEqual(replies.map((f) => f.id), [1, 3]);
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
      await tick();
      const rst = Buffer.alloc(8);
      rst.writeUInt32BE(5, 0);
      rst.writeUInt32BE(5, 4);
      session.feed(TestClient.control(3, 0, rst));
      await tick();
      assert.ok(ended);
      assert.equal(stream!.finished, true);

      session.feed(await client.synStream(7, { streamtype: 'nonsense' }));
      await tick();
      sent.length = 0;
      stream!.reset();
      const [f] = frames(Buffer.concat(sent));
      assert.deepEqual([f.control, f.type, f.id, f.body.readUInt32BE(4)], [true, 3, 7, 5]);

      session.feed(TestClient.control(7, 0, Buffer.alloc(8)));
      await tick();
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
