/**
 * kubectl port-forward through the runtime, as kubelet does it: CRI PortForward gives a URL of the runtime's streaming
 * server, the agent connects there over SPDY/3.1 with portforward.k8s.io, and every stream kubectl opens (a pair per
 * local connection: streamType error and data, each with the headers port and requestID) is opened alike on that
 * connection. Data, FIN and RST_STREAM are passed on both ways. The runtime pairs the streams by requestID, connects to
 * localhost:port inside the pod's network namespace (so a server bound to the pod's 127.0.0.1 is reachable), and writes
 * what went wrong on the pair's error stream, which reaches kubectl's error stream like any data.
 * Either connection ending ends the other.
 */
import {
  closeSpdyClient,
  RST_PROTOCOL_ERROR,
  spdyConnect,
  type SpdyClient,
  type SpdySession,
  type SpdyStream,
} from './spdy.ts';
import { serveSpdy, socketTransport, throttle, type Transport } from './transport.ts';

export const PORTFORWARD_PROTOCOL = 'portforward.k8s.io';

/** Connects to the URL CRI PortForward returned. */
export function dialPortForward(url: string, timeoutMs = 10_000): Promise<SpdyClient> {
  return spdyConnect(url, [PORTFORWARD_PROTOCOL], { timeoutMs });
}

/** Serves kubectl's SPDY session over `t` (whose first bytes may be `head`) and relays it to the runtime's connection. */
export function relayPortForward(t: Transport, head: Buffer, rt: SpdyClient): SpdySession {
  const rtFlow = socketTransport(rt.socket);
  // the runtime is not read while kubectl is slow, and kubectl not while the runtime is
  const toKubectl = throttle(t, rtFlow);
  const toRuntime = throttle(rtFlow, t);

  const pair = (ks: SpdyStream, rs: SpdyStream) => {
    ks.onData((d) => {
      rs.write(d);
      toRuntime();
    });
    rs.onData((d) => {
      ks.write(d);
      toKubectl();
    });
    // a FIN is passed on as a FIN; a reset, or the end of either connection, as a reset
    const mirror = (from: SpdyStream, to: SpdyStream) => () => {
      if (from.resetStatus !== undefined || session.isClosed || rt.session.isClosed) to.reset();
      else to.end();
    };
    ks.onEnd(mirror(ks, rs));
    rs.onEnd(mirror(rs, ks));
  };

  const session = serveSpdy(t, head, (ks) => {
    const { streamtype, port, requestid } = ks.headers;
    if ((streamtype !== 'error' && streamtype !== 'data') || !port) return ks.reset(RST_PROTOCOL_ERROR);
    const headers: Record<string, string> = { streamType: streamtype, port };
    if (requestid !== undefined) headers.requestID = requestid;
    // opened in the order kubectl opened them (ids and header blocks are allocated in call order)
    rt.session.openStream(headers).then(
      (rs) => pair(ks, rs),
      () => ks.reset(),
    );
  });

  session.onceClosed(() => closeSpdyClient(rt, true));
  rt.session.onceClosed(() => session.goAway());
  return session;
}
