/**
 * SPDY/3.1 as Kubernetes' streaming protocols use it. Frames in, frames out: streams opened with SYN_STREAM (headers
 * compressed with zlib and SPDY/3's dictionary, one compression context per direction for the whole session),
 * answered with SYN_REPLY, DATA with FIN (a half-close), RST_STREAM, PING echoed, GOAWAY.
 *   - the server side, as kubectl's port-forward uses it (directly, or tunnelled in a WebSocket): the peer opens
 *     streams, the session replies to each;
 *   - the client side (spdyConnect), as the agent uses it towards the runtime's streaming server for exec and attach:
 *     an HTTP/1.1 upgrade to SPDY/3.1 offering X-Stream-Protocol-Version values, then streams opened with odd ids.
 * No flow control: the Go implementation on the other end (spdystream) neither sends WINDOW_UPDATE nor enforces
 * windows. Only what these uses need; not a general SPDY implementation.
 */
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import zlib from 'node:zlib';

/** SPDY/3's header compression dictionary: length-prefixed common header words, then a run of common values */
const DICTIONARY_WORDS = [
  'options',
  'head',
  'post',
  'put',
  'delete',
  'trace',
  'accept',
  'accept-charset',
  'accept-encoding',
  'accept-language',
  'accept-ranges',
  'age',
  'allow',
  'authorization',
  'cache-control',
  'connection',
  'content-base',
  'content-encoding',
  'content-language',
  'content-length',
  'content-location',
  'content-md5',
  'content-range',
  'content-type',
  'date',
  'etag',
  'expect',
  'expires',
  'from',
  'host',
  'if-match',
  'if-modified-since',
  'if-none-match',
  'if-range',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'pragma',
  'proxy-authenticate',
  'proxy-authorization',
  'range',
  'referer',
  'retry-after',
  'server',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'user-agent',
  'vary',
  'via',
  'warning',
  'www-authenticate',
  'method',
  'get',
  'status',
  '200 OK',
  'version',
  'HTTP/1.1',
  'url',
  'public',
  'set-cookie',
  'keep-alive',
  'origin',
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
const HEADERS = 8;
const FLAG_FIN = 1;
/** RST_STREAM status codes */
export const RST_PROTOCOL_ERROR = 1;
export const RST_REFUSED_STREAM = 3;
export const RST_CANCEL = 5;

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
    if (raw.length < 4) return headers;
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

  /** header names go out in lower case: SPDY/3 requires it (Go's framer rejects others) */
  encode(headers: Record<string, string>): Promise<Buffer> {
    const parts: Buffer[] = [];
    const count = Buffer.alloc(4);
    count.writeUInt32BE(Object.keys(headers).length);
    parts.push(count);
    for (const [k, v] of Object.entries(headers)) {
      for (const s of [k.toLowerCase(), v]) {
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
  private dataHandler?: (d: Buffer) => void;
  private endHandler?: () => void;
  /** data and end that arrived before their handler was set */
  private pending: Buffer[] = [];
  private endPending = false;
  /** this side sent FIN or RST_STREAM: nothing more goes out on the stream */
  finished = false;
  /** the peer sent FIN or RST_STREAM, or the session closed: nothing more comes in */
  remoteFinished = false;
  /** the status of the peer's RST_STREAM, if it reset the stream */
  resetStatus?: number;
  /** for a stream this side opened: the headers of the peer's SYN_REPLY; rejects if the peer resets it first or the session closes */
  readonly replied: Promise<Record<string, string>>;
  private settleReply!: (headers?: Record<string, string>, err?: Error) => void;
  private isReplied = false;

  constructor(
    readonly id: number,
    readonly headers: Record<string, string>,
    private readonly session: SpdySession,
  ) {
    this.replied = new Promise((resolve, reject) => {
      this.settleReply = (h, err) => (err ? reject(err) : resolve(h ?? {}));
    });
    this.replied.catch(() => {});
  }
  onData(cb: (d: Buffer) => void): void {
    this.dataHandler = cb;
    const queued = this.pending;
    this.pending = [];
    for (const d of queued) cb(d);
  }
  onEnd(cb: () => void): void {
    this.endHandler = cb;
    if (this.endPending) {
      this.endPending = false;
      cb();
    }
  }
  /** @internal */
  reply(headers: Record<string, string> | undefined, err?: Error): void {
    if (this.isReplied) return;
    this.isReplied = true;
    this.settleReply(headers, err);
  }
  /** @internal */
  receive(d: Buffer, fin: boolean): void {
    if (this.remoteFinished) return;
    if (d.length) {
      if (this.dataHandler) this.dataHandler(d);
      else this.pending.push(d);
    }
    if (fin) {
      this.remoteFinished = true;
      this.reply(undefined, new Error(`SPDY stream ${this.id} ended before its reply`));
      if (this.endHandler) this.endHandler();
      else this.endPending = true;
      this.session.forgetIfDone(this);
    }
  }
  write(d: Buffer): void {
    if (!this.finished && d.length) this.session.sendData(this.id, d, false);
  }
  /** half-close: FIN, the peer reads the end of the stream (EOF); data may still come in */
  end(): void {
    if (this.finished) return;
    this.finished = true;
    this.session.sendData(this.id, Buffer.alloc(0), true);
    this.session.forgetIfDone(this);
  }
  reset(status = RST_CANCEL): void {
    if (this.finished && this.remoteFinished) return;
    this.finished = true;
    this.session.sendRst(this.id, status);
    this.receive(Buffer.alloc(0), true);
  }
}

export interface SpdySessionOptions {
  /** the client side: streams this side opens get odd ids (the server's get even ones) */
  client?: boolean;
}

export class SpdySession {
  private buf: Buffer = Buffer.alloc(0);
  private readonly streams = new Map<number, SpdyStream>();
  private readonly codec = new HeaderCodec();
  /** frames are handled one after another: a stream's DATA waits for its (async) SYN_STREAM */
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly client: boolean;
  private nextId: number;
  private lastPeerId = 0;
  private readonly closeListeners: (() => void)[] = [];

  constructor(
    private readonly send: (b: Buffer) => void,
    private readonly onStream: (s: SpdyStream) => void,
    onClose: () => void = () => {},
    options: SpdySessionOptions = {},
  ) {
    this.closeListeners.push(onClose);
    this.client = options.client ?? false;
    this.nextId = this.client ? 1 : 2;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** called once when the session closes (GOAWAY, a broken frame, or close()) */
  onceClosed(cb: () => void): void {
    if (this.closed) cb();
    else this.closeListeners.push(cb);
  }

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

  /**
   * Opens a stream (SYN_STREAM with the headers, FIN too if `fin`): resolves once the frame is on its way, so that DATA
   * written to the stream follows it; `stream.replied` resolves on the peer's SYN_REPLY.
   */
  async openStream(headers: Record<string, string>, opts: { fin?: boolean } = {}): Promise<SpdyStream> {
    if (this.closed) throw new Error('the SPDY session is closed');
    const id = this.nextId;
    this.nextId += 2;
    const s = new SpdyStream(id, headers, this);
    this.streams.set(id, s);
    const block = await this.codec.encode(headers);
    if (this.closed) throw new Error('the SPDY session is closed');
    const head = Buffer.alloc(10); // stream id, associated stream id (none), priority 0, slot 0
    head.writeUInt32BE(id, 0);
    this.control(SYN_STREAM, opts.fin ? FLAG_FIN : 0, Buffer.concat([head, block]));
    if (opts.fin) s.finished = true;
    return s;
  }

  private async handle(f: Buffer): Promise<void> {
    if (this.closed) return;
    const flags = f[4];
    const body = f.subarray(8);
    const fin = (flags & FLAG_FIN) !== 0;
    if (!(f[0] & 0x80)) {
      const id = f.readUInt32BE(0) & 0x7fffffff;
      this.streams.get(id)?.receive(body, fin);
      return;
    }
    const type = f.readUInt16BE(2);
    if (type === SYN_STREAM) {
      const id = body.readUInt32BE(0) & 0x7fffffff;
      const headers = await this.codec.decode(body.subarray(10));
      this.lastPeerId = Math.max(this.lastPeerId, id);
      const s = new SpdyStream(id, headers, this);
      s.reply({});
      this.streams.set(id, s);
      const block = await this.codec.encode({});
      const payload = Buffer.alloc(4);
      payload.writeUInt32BE(id);
      this.control(SYN_REPLY, 0, Buffer.concat([payload, block]));
      this.onStream(s);
      if (fin) s.receive(Buffer.alloc(0), true);
    } else if (type === SYN_REPLY || type === HEADERS) {
      const id = body.readUInt32BE(0) & 0x7fffffff;
      // decoded even if unused: the next header block is compressed against this one
      const headers = await this.codec.decode(body.subarray(4));
      const s = this.streams.get(id);
      if (!s) return;
      if (type === SYN_REPLY) s.reply(headers);
      if (fin) s.receive(Buffer.alloc(0), true);
    } else if (type === RST_STREAM) {
      const id = body.readUInt32BE(0) & 0x7fffffff;
      const s = this.streams.get(id);
      if (s) {
        s.finished = true;
        s.resetStatus = body.length >= 8 ? body.readUInt32BE(4) : 0;
        s.reply(undefined, new Error(`SPDY stream ${id} was reset by the peer (status ${s.resetStatus})`));
        s.receive(Buffer.alloc(0), true);
        this.streams.delete(id);
      }
    } else if (type === PING) {
      // echo the peer's pings (ids of the other parity); ours would come back as answers
      const pingId = body.length >= 4 ? body.readUInt32BE(0) : 0;
      if ((pingId % 2 === 1) !== this.client) this.control(PING, 0, body);
    } else if (type === GOAWAY) {
      this.close();
    }
    // SETTINGS, WINDOW_UPDATE: nothing to do (no flow control on either side)
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
    this.streams.delete(id);
  }

  /** @internal a stream closed both ways is forgotten (a late frame for it is ignored) */
  forgetIfDone(s: SpdyStream): void {
    if (s.finished && s.remoteFinished) this.streams.delete(s.id);
  }

  private write(b: Buffer): void {
    if (!this.closed) this.send(b);
  }

  /** the transport ended: close once the frames already received have been handled */
  drainAndClose(): void {
    this.queue = this.queue.then(() => this.close());
  }

  /** GOAWAY (status OK, naming the last stream the peer opened), then close() */
  goAway(): void {
    if (this.closed) return;
    const p = Buffer.alloc(8);
    p.writeUInt32BE(this.lastPeerId, 0);
    this.control(GOAWAY, 0, p);
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.streams.values()) {
      s.reply(undefined, new Error('the SPDY session closed'));
      s.receive(Buffer.alloc(0), true);
    }
    this.streams.clear();
    this.codec.close();
    for (const cb of this.closeListeners.splice(0)) cb();
  }
}

export interface SpdyDialOptions {
  /** how long the upgrade may take (default 10 s) */
  timeoutMs?: number;
  method?: string;
  headers?: Record<string, string>;
  /** for https URLs */
  rejectUnauthorized?: boolean;
  /** streams the server opens (by default refused) */
  onStream?: (s: SpdyStream) => void;
}

export interface SpdyClient {
  session: SpdySession;
  /** the X-Stream-Protocol-Version the server chose */
  protocol: string;
  socket: Duplex;
}

/**
 * Ends a client connection: gracefully (GOAWAY, then the socket ends once what is queued has left; destroyed after 5 s
 * if the peer does not close) or at once (the session and socket torn down, e.g. when the other side went away).
 */
export function closeSpdyClient(c: SpdyClient, graceful: boolean): void {
  if (graceful) {
    c.session.goAway();
    c.socket.end();
    setTimeout(() => c.socket.destroy(), 5000).unref();
    return;
  }
  c.session.close();
  c.socket.destroy();
}

/**
 * The client side: an HTTP/1.1 request upgraded to SPDY/3.1 (`Connection: Upgrade`, `Upgrade: SPDY/3.1`, one
 * X-Stream-Protocol-Version line per protocol offered, in order of preference), answered with 101 and the protocol
 * the server chose. Anything else fails with the server's status and words.
 */
export function spdyConnect(url: string, protocols: string[], o: SpdyDialOptions = {}): Promise<SpdyClient> {
  const u = new URL(url);
  const timeoutMs = o.timeoutMs ?? 10_000;
  return new Promise<SpdyClient>((resolve, reject) => {
    let settled = false;
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(e);
    };
    const options: https.RequestOptions = {
      method: o.method ?? 'GET',
      agent: false,
      headers: { ...o.headers, Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': protocols },
    };
    if (o.rejectUnauthorized !== undefined) options.rejectUnauthorized = o.rejectUnauthorized;
    const req = u.protocol === 'https:' ? https.request(u, options) : http.request(u, options);
    const timer = setTimeout(() => {
      fail(new Error(`${u.host} did not upgrade to SPDY/3.1 within ${timeoutMs} ms`));
      req.destroy();
    }, timeoutMs);
    req.on('error', fail);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text = (text + d).slice(0, 4096)));
      res.on('end', () =>
        fail(
          new Error(
            `${u.host} refused the upgrade to SPDY/3.1: ${res.statusCode} ${res.statusMessage ?? ''}${text.trim() ? `: ${text.trim()}` : ''}`,
          ),
        ),
      );
      res.on('error', fail);
    });
    req.on('upgrade', (res, socket, head) => {
      const raw = res.headers['x-stream-protocol-version'];
      const protocol = (Array.isArray(raw) ? raw[0] : raw) ?? '';
      const upgrade = String(res.headers.upgrade ?? '').toLowerCase();
      if (upgrade !== 'spdy/3.1' || (protocols.length && !protocols.includes(protocol))) {
        socket.destroy();
        fail(
          new Error(
            `${u.host} answered the upgrade with ${res.headers.upgrade ?? 'no protocol'} and stream protocol "${protocol}" (offered ${protocols.join(', ')})`,
          ),
        );
        return;
      }
      if (settled) {
        socket.destroy();
        return;
      }
      settled = true;
      clearTimeout(timer);
      (socket as { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true);
      const session = new SpdySession(
        (b) => {
          if (!socket.destroyed) socket.write(b);
        },
        o.onStream ?? ((s) => s.reset(RST_REFUSED_STREAM)),
        () => socket.end(),
        { client: true },
      );
      socket.on('data', (d: Buffer) => session.feed(d));
      socket.on('close', () => session.drainAndClose());
      socket.on('error', () => session.drainAndClose());
      if (head.length) session.feed(head);
      resolve({ session, protocol, socket });
    });
    req.end();
  });
}
