/**
 * The byte pipe a SPDY session of kubectl's runs over, whichever way it came: the upgraded connection itself (plain
 * SPDY/3.1, kubectl < 1.31 and exec/attach of kubectl < 1.30), or the binary messages of a WebSocket (port-forward's
 * `SPDY/3.1+portforward.k8s.io` tunnel of kubectl 1.31+). Reading can be paused and writing reports congestion, so a
 * relay stops reading one side while the other is slow.
 */
import type { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import { SpdySession, type SpdyStream } from './spdy.ts';

/** Stop reading the other side while this much is queued towards a peer. */
export const HIGH_WATER = 1 << 20;

export interface Transport {
  write(b: Buffer): void;
  /** more than it should is queued towards the peer */
  congested(): boolean;
  /** once, when what is queued has gone down again */
  onceDrained(cb: () => void): void;
  pause(): void;
  resume(): void;
  onData(cb: (d: Buffer) => void): void;
  /** once, when the transport closed or failed */
  onClose(cb: () => void): void;
  /** after what is queued */
  end(): void;
  destroy(): void;
}

/** cb once, on the first of 'close' and 'error' */
function onCloseOrError(e: EventEmitter, cb: () => void): void {
  let called = false;
  const once = () => {
    if (called) return;
    called = true;
    cb();
  };
  e.on('close', once);
  e.on('error', once);
}

export function socketTransport(socket: Duplex): Transport {
  return {
    write: (b) => {
      if (!socket.destroyed && socket.writable) socket.write(b);
    },
    congested: () => socket.writableNeedDrain,
    onceDrained: (cb) => {
      if (!socket.writableNeedDrain) cb();
      else socket.once('drain', cb);
    },
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    onData: (cb) => socket.on('data', cb),
    onClose: (cb) => onCloseOrError(socket, cb),
    end: () => {
      socket.end();
      setTimeout(() => socket.destroy(), 5000).unref();
    },
    destroy: () => socket.destroy(),
  };
}

export function wsTransport(ws: WebSocket): Transport {
  let queued = 0;
  let drained: (() => void)[] = [];
  return {
    write: (b) => {
      if (ws.readyState !== WebSocket.OPEN) return;
      queued += b.length;
      ws.send(b, { binary: true }, () => {
        queued -= b.length;
        if (queued < HIGH_WATER / 2 && drained.length) {
          const cbs = drained;
          drained = [];
          for (const cb of cbs) cb();
        }
      });
    },
    congested: () => queued >= HIGH_WATER,
    onceDrained: (cb) => {
      if (queued < HIGH_WATER / 2) cb();
      else drained.push(cb);
    },
    pause: () => ws.pause(),
    resume: () => ws.resume(),
    onData: (cb) =>
      ws.on('message', (d: Buffer | ArrayBuffer | Buffer[]) =>
        cb(Buffer.isBuffer(d) ? d : Array.isArray(d) ? Buffer.concat(d) : Buffer.from(d)),
      ),
    onClose: (cb) => onCloseOrError(ws, cb),
    end: () => {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(1000);
      setTimeout(() => ws.terminate(), 5000).unref();
    },
    destroy: () => ws.terminate(),
  };
}

/** The server side of a SPDY session over a transport: the session closes with the transport, and ends it when it closes. */
export function serveSpdy(t: Transport, head: Buffer, onStream: (s: SpdyStream) => void): SpdySession {
  const session = new SpdySession(
    (b) => t.write(b),
    onStream,
    () => t.end(),
  );
  t.onData((d) => session.feed(d));
  t.onClose(() => session.drainAndClose());
  if (head.length) session.feed(head);
  return session;
}

/**
 * Writes towards `to` that stop reading `from` while `to` is congested. Returns the function to call after each write.
 */
export function throttle(
  to: Pick<Transport, 'congested' | 'onceDrained'>,
  from: Pick<Transport, 'pause' | 'resume'>,
): () => void {
  let paused = false;
  return () => {
    if (paused || !to.congested()) return;
    paused = true;
    from.pause();
    to.onceDrained(() => {
      paused = false;
      from.resume();
    });
  };
}
