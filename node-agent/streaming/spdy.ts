/**
 * The server side of SPDY/3.1 as kubectl's port-forward uses it (directly, or tunnelled in a WebSocket): frames in,
 * frames out, streams opened by the client with SYN_STREAM (headers compressed with zlib and SPDY/3's dictionary),
 * answered with SYN_REPLY, DATA with FIN, RST_STREAM, PING echoed. No flow control beyond what the client needs (it
 * does not enforce windows). Only what port-forward needs; not a general SPDY implementation.
 */
import zlib from 'node:zlib';

/** SPDY/3's header compression dictionary: length-prefixed common header words, then a run of common values */
const DICTIONARY_WORDS = [
  'options', 'head', 'post', 'put', 'delete', 'trace', 'accept', 'accept-charset', 'accept-encoding', 'accept-language',
  'accept-ranges', 'age', 'allow', 'authorization', 'cache-control', 'connection', 'content-base', 'content-encoding',
  'content-language', 'content-length', 'content-location', 'content-md5', 'content-range', 'content-type', 'date',
  'etag', 'expect', 'expires', 'from', 'host', 'if-match', 'if-modified-since', 'if-none-match', 'if-range',
  'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'pragma', 'proxy-authenticate',
  'proxy-authorization', 'range', 'referer', 'retry-after', 'server', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'user-agent', 'vary', 'via', 'warning', 'www-authenticate', 'method', 'get', 'status', '200 OK', 'version',
  'HTTP/1.1', 'url', 'public', 'set-cookie', 'keep-alive', 'origin',
];
const DICTIONARY_TAIL =
  '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505' +
  '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized' +
  '403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable' +
  'Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT' +
  'chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,' +
  'text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';

export const SPDY_DICTIONARY: Buffer = Buffer.concat([
  ...DICTIONARY_WORDS.map((w) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(w.length);
    return Buffer.concat([len, Buffer.from(w, 'latin1')]);
  }),
  Buffer.from(DICTIONARY_TAIL, 'latin1'),
]);

const SYN_STREAM = 1;
const SYN_REPLY = 2;
const RST_STREAM = 3;
const PING = 6;
const GOAWAY = 7;
const FLAG_FIN = 1;

/** zlib with a context kept across calls (SPDY compresses every header block of a session in one stream) */
class HeaderCodec {
  private readonly inflate = zlib.createInflate({ dictionary: SPDY_DICTIONARY });
  private readonly deflate = zlib.createDeflate({ dictionary: SPDY_DICTIONARY, level: 9 });
  private chain: Promise<unknown> = Promise.resolve();

  private run(z: zlib.Inflate | zlib.Deflate, input: Buffer): Promise<Buffer> {
    const p = this.chain.then(
      () =>
        new Promise<Buffer>((resolve, reject) => {
          const out: Buffer[] = [];
          const onData = (d: Buffer) => out.push(d);
          z.on('data', onData);
          z.once('error', reject);
          z.write(input);
          z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
            z.off('data', onData);
            z.off('error', reject);
            resolve(Buffer.concat(out));
          });
        }),
    );
    this.chain = p.catch(() => undefined);
    return p;
  }

  async decode(block: Buffer): Promise<Record<string, string>> {
    const raw = await this.run(this.inflate, block);
    const headers: Record<string, string> = {};
    let i = 4;
    const n = raw.readUInt32BE(0);
    for (let k = 0; k < n; k++) {
      const nl = raw.readUInt32BE(i);
      const name = raw.toString('utf8', i + 4, i + 4 + nl);
      i += 4 + nl;
      const vl = raw.readUInt32BE(i);
      headers[name.toLowerCase()] = raw.toString('utf8', i + 4, i + 4 + vl).split('\0')[0];
      i += 4 + vl;
    }
    return headers;
  }

  encode(headers: Record<string, string>): Promise<Buffer> {
    const parts: Buffer[] = [];
    const count = Buffer.alloc(4);
    count.writeUInt32BE(Object.keys(headers).length);
    parts.push(count);
    for (const [k, v] of Object.entries(headers)) {
      for (const s of [k, v]) {
        const b = Buffer.from(s);
        const len = Buffer.alloc(4);
        len.writeUInt32BE(b.length);
        parts.push(len, b);
      }
    }
    return this.run(this.deflate, Buffer.concat(parts));
  }

  close(): void {
    this.inflate.close();
    this.deflate.close();
  }
}

export class SpdyStream {
  private dataHandler: (d: Buffer) => void = () => {};
  private endHandler: () => void = () => {};
  finished = false;
  constructor(
    readonly id: number,
    readonly headers: Record<string, string>,
    private readonly session: SpdySession,
  ) {}
  onData(cb: (d: Buffer) => void): void {
    this.dataHandler = cb;
  }
  onEnd(cb: () => void): void {
    this.endHandler = cb;
  }
  /** @internal */
  receive(d: Buffer, fin: boolean): void {
    if (d.length) this.dataHandler(d);
    if (fin) this.endHandler();
  }
  write(d: Buffer): void {
    if (!this.finished) this.session.sendData(this.id, d, false);
  }
  end(): void {
    if (this.finished) return;
    this.finished = true;
    this.session.sendData(this.id, Buffer.alloc(0), true);
  }
  reset(): void {
    this.finished = true;
    this.session.sendRst(this.id, 5 /* CANCEL */);
  }
}

export class SpdySession {
  private buf: Buffer = Buffer.alloc(0);
  private readonly streams = new Map<number, SpdyStream>();
  private readonly codec = new HeaderCodec();
  /** frames are handled one after another: a stream's DATA waits for its (async) SYN_STREAM */
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly send: (b: Buffer) => void,
    private readonly onStream: (s: SpdyStream) => void,
    private readonly onClose: () => void = () => {},
  ) {}

  feed(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= 8) {
      const len = this.buf.readUIntBE(5, 3);
      if (this.buf.length < 8 + len) break;
      const frame = this.buf.subarray(0, 8 + len);
      this.buf = this.buf.subarray(8 + len);
      this.queue = this.queue.then(() => this.handle(frame)).catch(() => this.close());
    }
  }

  private async handle(f: Buffer): Promise<void> {
    if (this.closed) return;
    const flags = f[4];
    const body = f.subarray(8);
    if (!(f[0] & 0x80)) {
      const id = f.readUInt32BE(0) & 0x7fffffff;
      this.streams.get(id)?.receive(body, (flags & FLAG_FIN) !== 0);
      return;
    }
    const type = f.readUInt16BE(2);
    if (type === SYN_STREAM) {
      const id = body.readUInt32BE(0) & 0x7fffffff;
      const headers = await this.codec.decode(body.subarray(10));
      const s = new SpdyStream(id, headers, this);
      this.streams.set(id, s);
      const block = await this.codec.encode({});
      const payload = Buffer.alloc(4);
      payload.writeUInt32BE(id);
      this.control(SYN_REPLY, 0, Buffer.concat([payload, block]));
      this.onStream(s);
      if (flags & FLAG_FIN) s.receive(Buffer.alloc(0), true);
    } else if (type === RST_STREAM) {
      const id = body.readUInt32BE(0) & 0x7fffffff;
      const s = this.streams.get(id);
      if (s) {
        s.finished = true;
        s.receive(Buffer.alloc(0), true);
        this.streams.delete(id);
      }
    } else if (type === PING) {
      this.control(PING, 0, body);
    } else if (type === GOAWAY) {
      this.close();
    }
    // SETTINGS, WINDOW_UPDATE, HEADERS: nothing to do for port-forward
  }

  private control(type: number, flags: number, payload: Buffer): void {
    const h = Buffer.alloc(8);
    h.writeUInt16BE(0x8003, 0);
    h.writeUInt16BE(type, 2);
    h[4] = flags;
    h.writeUIntBE(payload.length, 5, 3);
    this.write(Buffer.concat([h, payload]));
  }

  /** @internal */
  sendData(id: number, data: Buffer, fin: boolean): void {
    const MAX = 0xffffff;
    let off = 0;
    do {
      const part = data.subarray(off, off + MAX);
      off += part.length;
      const h = Buffer.alloc(8);
      h.writeUInt32BE(id & 0x7fffffff, 0);
      h[4] = fin && off >= data.length ? FLAG_FIN : 0;
      h.writeUIntBE(part.length, 5, 3);
      this.write(Buffer.concat([h, part]));
    } while (off < data.length);
  }

  /** @internal */
  sendRst(id: number, status: number): void {
    const p = Buffer.alloc(8);
    p.writeUInt32BE(id, 0);
    p.writeUInt32BE(status, 4);
    this.control(RST_STREAM, 0, p);
  }

  private write(b: Buffer): void {
    if (!this.closed) this.send(b);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.streams.values()) s.receive(Buffer.alloc(0), true);
    this.streams.clear();
    this.codec.close();
    this.onClose();
  }
}
