/**
 * Exec and attach between kubectl and the runtime. kubectl speaks to the agent (through the API server) over a
 * WebSocket with v5.channel.k8s.io or v4.channel.k8s.io: each message is a channel byte (0 stdin, 1 stdout, 2 stderr,
 * 3 error, 4 resize) then data; v5 adds channel 255, "close the stream named by the next byte", with which kubectl
 * signals the end of its stdin. The runtime's streaming server (the URL CRI Exec/Attach return) is spoken to over
 * SPDY/3.1 with v4.channel.k8s.io, where each of those is a stream of its own (header streamType) and the end of
 * stdin is a half-close (FIN) of the stdin stream: the runtime closes the process's stdin, so `cat` ends. (Over the
 * runtime's WebSocket form of v4 there is no way to close stdin alone.) The exit status comes on the error stream as a
 * v4 Status object (Success, or NonZeroExitCode with an ExitCode cause), relayed as is on channel 3.
 * kubectl before 1.30 speaks SPDY/3.1 itself (bridgeSpdy): its streams are relayed to the runtime's one for one.
 */
import { WebSocket } from 'ws';
import {
  closeSpdyClient,
  RST_PROTOCOL_ERROR,
  spdyConnect,
  type SpdyClient,
  type SpdySession,
  type SpdyStream,
} from './spdy.ts';
import { serveSpdy, socketTransport, throttle, wsTransport, type Transport } from './transport.ts';

/** what the runtime speaks over SPDY: v4 carries the exit code in a Status on the error stream */
export const RUNTIME_PROTOCOL = 'v4.channel.k8s.io';

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
const RESIZE = 4;
/** v5.channel.k8s.io: [255, channel] closes the channel */
const CLOSE = 255;

export interface StreamOptions {
  stdin: boolean;
  stdout: boolean;
  /** with a tty there is no stderr (the caller clears it, as the CRI request must match) */
  stderr: boolean;
  tty: boolean;
}

/** The runtime's end: the SPDY connection and its streams, all accepted (SYN_REPLY) by the runtime. */
export interface RuntimeStreams {
  conn: SpdyClient;
  error: SpdyStream;
  stdin?: SpdyStream;
  stdout?: SpdyStream;
  stderr?: SpdyStream;
  resize?: SpdyStream;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(what)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Connects to the runtime's streaming URL and opens the streams the CRI request asked for, in kubectl's order (error,
 * stdin, stdout, stderr, resize): the runtime waits for exactly those before it starts the command.
 */
export async function dialRuntime(url: string, o: StreamOptions, timeoutMs = 10_000): Promise<RuntimeStreams> {
  const conn = await spdyConnect(url, [RUNTIME_PROTOCOL], { timeoutMs });
  try {
    const open = (type: string) => conn.session.openStream({ streamtype: type });
    const error = await open('error');
    const stdin = o.stdin ? await open('stdin') : undefined;
    const stdout = o.stdout ? await open('stdout') : undefined;
    const stderr = o.stderr && !o.tty ? await open('stderr') : undefined;
    const resize = o.tty ? await open('resize') : undefined;
    const all = [error, stdin, stdout, stderr, resize].filter((s): s is SpdyStream => !!s);
    await withTimeout(
      Promise.all(all.map((s) => s.replied)),
      timeoutMs,
      `the runtime did not accept the ${all.map((s) => s.headers.streamtype).join(', ')} streams within ${timeoutMs} ms`,
    );
    return { conn, error, stdin, stdout, stderr, resize };
  } catch (e) {
    closeSpdyClient(conn, false);
    throw e;
  }
}

/**
 * Relays between kubectl's WebSocket and the runtime's streams until the runtime is done (its error stream or the
 * connection ends: the status has been sent) or kubectl goes away (the runtime's streams are reset).
 */
export function bridge(client: WebSocket, rt: RuntimeStreams): void {
  const v5 = client.protocol === 'v5.channel.k8s.io';
  const kt = wsTransport(client);
  const rtFlow = socketTransport(rt.conn.socket);
  // the runtime is not read while kubectl is slow, and kubectl not while the runtime is
  const toKubectl = throttle(kt, rtFlow);
  const toRuntime = throttle(rtFlow, kt);
  let done = false;

  const toClient = (channel: number, d: Buffer) => {
    kt.write(Buffer.concat([Buffer.from([channel]), d]));
    toKubectl();
  };

  /** the runtime finished: what it sent is queued before the close */
  const finish = () => {
    if (done) return;
    done = true;
    for (const s of [rt.stdin, rt.resize]) s?.end();
    closeSpdyClient(rt.conn, true);
    // not kt.end(): its 5 s cut could drop output still queued towards a slow kubectl; ws's own close timeout applies
    if (client.readyState === WebSocket.OPEN || client.readyState === WebSocket.CONNECTING) client.close(1000);
  };

  /** kubectl went away: the runtime's streams are cancelled */
  const abandon = () => {
    if (done) return;
    done = true;
    for (const s of [rt.error, rt.stdin, rt.stdout, rt.stderr, rt.resize]) s?.reset();
    closeSpdyClient(rt.conn, false);
  };

  // as kubelet does: an empty message on the first channel the client reads tells it the streams are up
  kt.write(Buffer.from([rt.stdout ? STDOUT : rt.stderr ? STDERR : ERROR]));

  // (what the runtime sent since the streams were accepted was kept for these handlers)
  rt.stdout?.onData((d) => toClient(STDOUT, d));
  rt.stderr?.onData((d) => toClient(STDERR, d));
  rt.error.onData((d) => toClient(ERROR, d));
  rt.error.onEnd(finish);
  rt.conn.session.onceClosed(finish);

  kt.onData((buf) => {
    if (!buf.length || done) return;
    const payload = buf.subarray(1);
    switch (buf[0]) {
      case STDIN:
        if (rt.stdin && !rt.stdin.finished) {
          rt.stdin.write(payload);
          toRuntime();
        }
        break;
      case RESIZE:
        rt.resize?.write(payload);
        break;
      case CLOSE:
        if (!v5) break;
        if (payload[0] === STDIN) rt.stdin?.end();
        else if (payload[0] === RESIZE) rt.resize?.end();
        break;
    }
  });
  kt.onClose(abandon);
}

/**
 * What kubectl < 1.30 offers over SPDY/3.1 (X-Stream-Protocol-Version, in its order of preference): v4 carries the exit
 * status as a JSON Status on the error stream; v3 and v2 (and channel.k8s.io, v1) only the words of a failure; v3 and v4
 * have a resize stream.
 */
export const SPDY_PROTOCOLS = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];

/** The first protocol kubectl offered that this side speaks; a client that offers none gets v1, as from kubelet. */
export function negotiateSpdy(offered: string[]): string | undefined {
  if (!offered.length) return 'channel.k8s.io';
  return offered.find((p) => SPDY_PROTOCOLS.includes(p));
}

const STREAM_TYPES = ['error', 'stdin', 'stdout', 'stderr', 'resize'];

/**
 * Exec and attach for kubectl over SPDY/3.1 (its session served over `t`, after the 101 naming `protocol`): kubectl opens
 * a stream per streamType (error, then stdin, stdout, stderr, resize as asked); once all have come, each is relayed to
 * the runtime's stream of that type: stdin and resize to the runtime (the end of kubectl's stdin, a FIN, as a FIN),
 * stdout and stderr back, and the runtime's v4 status on the error stream, as is for v4, as words of the failure for
 * older protocols (nothing on success). When the runtime is done kubectl's streams are ended and the session goes
 * away; kubectl going away (or not opening its streams within `timeoutMs`) resets the runtime's streams.
 */
export function bridgeSpdy(
  t: Transport,
  head: Buffer,
  protocol: string,
  rt: RuntimeStreams,
  o: StreamOptions,
  timeoutMs = 30_000,
): SpdySession {
  const v4 = protocol === 'v4.channel.k8s.io';
  const resizable = o.tty && (v4 || protocol === 'v3.channel.k8s.io');
  const expected = ['error'];
  if (o.stdin) expected.push('stdin');
  if (o.stdout) expected.push('stdout');
  if (o.stderr && !o.tty) expected.push('stderr');
  if (resizable) expected.push('resize');
  const k = new Map<string, SpdyStream>();
  const rtFlow = socketTransport(rt.conn.socket);
  const toKubectl = throttle(t, rtFlow);
  const toRuntime = throttle(rtFlow, t);
  const statusText: Buffer[] = [];
  let started = false;
  let done = false;

  const session = serveSpdy(t, head, (s) => {
    const type = s.headers.streamtype ?? '';
    if (done || k.has(type) || !STREAM_TYPES.includes(type)) return s.reset(RST_PROTOCOL_ERROR);
    k.set(type, s);
    if (!started && expected.every((e) => k.has(e))) start();
  });
  const timer = setTimeout(() => {
    if (!started) abandon();
  }, timeoutMs);
  timer.unref();

  function start(): void {
    started = true;
    clearTimeout(timer);
    const stdin = k.get('stdin');
    stdin?.onData((d) => {
      if (rt.stdin && !rt.stdin.finished) {
        rt.stdin.write(d);
        toRuntime();
      }
    });
    stdin?.onEnd(() => {
      if (!session.isClosed) rt.stdin?.end();
    });
    const resize = k.get('resize');
    resize?.onData((d) => rt.resize?.write(d));
    resize?.onEnd(() => {
      if (!session.isClosed) rt.resize?.end();
    });
    const out = (from: SpdyStream | undefined, type: string) =>
      from?.onData((d) => {
        k.get(type)?.write(d);
        toKubectl();
      });
    out(rt.stdout, 'stdout');
    out(rt.stderr, 'stderr');
    rt.error.onData((d) => {
      if (v4) k.get('error')?.write(d);
      else statusText.push(d);
    });
    rt.error.onEnd(finish);
    rt.conn.session.onceClosed(finish);
  }

  /** the runtime is done: what it sent is on its way; kubectl's streams end, then the session */
  function finish(): void {
    if (done) return;
    done = true;
    if (!v4 && statusText.length) {
      const text = Buffer.concat(statusText).toString();
      let message = text;
      try {
        const status = JSON.parse(text) as { status?: string; message?: string };
        message = status.status === 'Success' ? '' : (status.message ?? text);
      } catch {
        /* not a Status: passed on as it is */
      }
      if (message) k.get('error')?.write(Buffer.from(message));
    }
    for (const s of k.values()) s.end();
    for (const s of [rt.stdin, rt.resize]) s?.end();
    closeSpdyClient(rt.conn, true);
    session.goAway();
  }

  /** kubectl went away (or never opened its streams): the runtime's streams are cancelled */
  function abandon(): void {
    if (done) return;
    done = true;
    clearTimeout(timer);
    for (const s of [rt.error, rt.stdin, rt.stdout, rt.stderr, rt.resize]) s?.reset();
    closeSpdyClient(rt.conn, false);
    session.close();
    t.destroy();
  }

  session.onceClosed(abandon);
  return session;
}
