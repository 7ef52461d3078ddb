import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { bridge, bridgeSpdy, dialRuntime, negotiateSpdy, type StreamOptions } from './remotecommand.ts';
import { offeredStreamProtocols, spdyUpgradeResponse } from './server.ts';
import { SpdySession, spdyConnect, type SpdyStream } from './spdy.ts';
import { socketTransport } from './transport.ts';
import { eventually } from '../../test/harness/eventually.ts';

/**
 * A runtime streaming server as containerd's behaves over SPDY with v4.channel.k8s.io: it waits for the streams the
 * request asked for; its "process" upper-cases stdin onto stdout and, when stdin ends, says so on stderr and exits
 * with the code named in the URL (a v4 Status on the error stream); then the streams are reset and the connection
 * closed (GOAWAY).
 */
class FakeRuntime {
  private readonly server = http.createServer((_req, res) => res.writeHead(404).end());
  port = 0;
  /** per connection: the streams in the order they were opened, and what the runtime saw */
  readonly log: { streams: [number, string][]; resets: number[]; resize: string; stdinEnded: boolean }[] = [];

  constructor() {
    this.server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) =>
      this.upgrade(req, socket, head),
    );
  }

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as AddressInfo).port;
  }

  private readonly sockets = new Set<Duplex>();

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  url(o: StreamOptions, exitCode: number): string {
    const q = new URLSearchParams({
      stdin: String(o.stdin),
      stdout: String(o.stdout),
      stderr: String(o.stderr),
      tty: String(o.tty),
      exit: String(exitCode),
    });
    return `http://127.0.0.1:${this.port}/exec/token?${q}`;
  }

  private upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    if (!offeredStreamProtocols(req).includes('v4.channel.k8s.io') || q.get('refuse')) {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\n\r\nno thanks');
      return;
    }
    const want = [
      'error',
      ...['stdin', 'stdout', 'stderr'].filter(
        (t) => q.get(t) === 'true' && !(t === 'stderr' && q.get('tty') === 'true'),
      ),
      ...(q.get('tty') === 'true' ? ['resize'] : []),
    ];
    const entry = { streams: [] as [number, string][], resets: [] as number[], resize: '', stdinEnded: false };
    this.log.push(entry);
    const byType = new Map<string, SpdyStream>();
    const session = new SpdySession(
      (b) => socket.write(b),
      (s) => {
        const type = s.headers.streamtype;
        entry.streams.push([s.id, type]);
        byType.set(type, s);
        s.onEnd(() => {
          if (s.resetStatus !== undefined) entry.resets.push(s.id);
        });
        if (byType.size === want.length) run();
      },
    );
    const run = () => {
      const stdout = byType.get('stdout');
      const stderr = byType.get('stderr');
      const error = byType.get('error')!;
      const finish = () => {
        stderr?.write(Buffer.from('stdin ended\n'));
        const code = Number(q.get('exit'));
        const status = code
          ? {
              metadata: {},
              status: 'Failure',
              message: `command terminated with non-zero exit code: ${code}`,
              reason: 'NonZeroExitCode',
              details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
            }
          : { metadata: {}, status: 'Success' };
        error.write(Buffer.from(JSON.stringify(status)));
        for (const s of byType.values()) s.reset();
        session.goAway();
        socket.end();
      };
      byType.get('resize')?.onData((d) => (entry.resize += d.toString()));
      const stdin = byType.get('stdin');
      if (!stdin) return finish();
      stdin.onData((d) => stdout?.write(Buffer.from(d.toString().toUpperCase())));
      stdin.onEnd(() => {
        if (stdin.resetStatus !== undefined) return void entry.resets.push(stdin.id);
        entry.stdinEnded = true;
        finish();
      });
    };
    this.sockets.add(socket);
    socket.on('data', (d: Buffer) => session.feed(d));
    socket.on('end', () => socket.end()); // upgraded sockets of an http.Server are half-open ones
    socket.on('close', () => (this.sockets.delete(socket), session.close()));
    socket.on('error', () => session.close());
    socket.write(spdyUpgradeResponse('v4.channel.k8s.io'));
    if (head.length) session.feed(head);
  }
}

/** The agent's part: reach the runtime first, then accept kubectl's WebSocket and bridge the two. */
class Agent {
  private readonly wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (ps) => ['v5.channel.k8s.io', 'v4.channel.k8s.io'].find((p) => ps.has(p)) ?? false,
  });
  private readonly server = http.createServer((_req, res) => res.writeHead(404).end());
  port = 0;
  runtimeUrl = '';
  opts: StreamOptions = { stdin: true, stdout: true, stderr: true, tty: false };

  constructor() {
    this.server.on('upgrade', async (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      try {
        const rt = await dialRuntime(this.runtimeUrl, this.opts, 2000);
        this.wss.handleUpgrade(req, socket, head, (ws) => bridge(ws, rt));
      } catch (e) {
        const msg = (e as Error).message;
        socket.end(`HTTP/1.1 500 Internal Server Error\r\nContent-Length: ${Buffer.byteLength(msg)}\r\n\r\n${msg}`);
      }
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

interface Session {
  ws: WebSocket;
  /** channel -> what came on it */
  got: Map<number, string>;
  /** the messages in order, as [channel, length] */
  order: [number, number][];
  closed: Promise<number>;
}

async function kubectl(agent: Agent, protocol: string): Promise<Session> {
  const ws = new WebSocket(`ws://127.0.0.1:${agent.port}/exec`, [protocol]);
  const got = new Map<number, string>();
  const order: [number, number][] = [];
  ws.on('message', (d: Buffer) => {
    order.push([d[0], d.length - 1]);
    got.set(d[0], (got.get(d[0]) ?? '') + d.subarray(1).toString());
  });
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  assert.equal(ws.protocol, protocol);
  return { ws, got, order, closed };
}

const send = (ws: WebSocket, channel: number, text = '') =>
  ws.send(Buffer.concat([Buffer.from([channel]), Buffer.from(text)]));
const tick = (ms = 50) => new Promise((r) => setTimeout(r, ms));

describe("exec and attach: kubectl's WebSocket (v5/v4) bridged to the runtime over SPDY (v4)", () => {
  const runtime = new FakeRuntime();
  const agent = new Agent();
  before(async () => {
    await runtime.start();
    await agent.start();
  });
  after(async () => {
    await agent.stop();
    await runtime.stop();
  });

  it('v5: stdin to the stdin stream, its close to a FIN; stdout, stderr and the exit status back; then the WebSocket closes', async () => {
    agent.opts = { stdin: true, stdout: true, stderr: true, tty: false };
    agent.runtimeUrl = runtime.url(agent.opts, 3);
    const k = await kubectl(agent, 'v5.channel.k8s.io');
    assert.deepEqual(runtime.log.at(-1)!.streams, [
      [1, 'error'],
      [3, 'stdin'],
      [5, 'stdout'],
      [7, 'stderr'],
    ]);
    send(k.ws, 0, 'hello ');
    send(k.ws, 0, 'world\n');
    await tick();
    assert.equal(runtime.log.at(-1)!.stdinEnded, false, 'stdin stays open until kubectl closes it');
    k.ws.send(Buffer.from([255, 0]));
    assert.equal(await k.closed, 1000);
    assert.deepEqual(k.order[0], [1, 0], 'first an empty message on stdout: the streams are up');
    assert.equal(k.got.get(1), 'HELLO WORLD\n');
    assert.equal(k.got.get(2), 'stdin ended\n');
    const status = JSON.parse(k.got.get(3)!);
    assert.equal(status.reason, 'NonZeroExitCode');
    assert.deepEqual(status.details.causes, [{ reason: 'ExitCode', message: '3' }]);
    assert.ok(runtime.log.at(-1)!.stdinEnded);
  });

  it('no stdin: the command runs at once and Success comes back', async () => {
    agent.opts = { stdin: false, stdout: true, stderr: false, tty: false };
    agent.runtimeUrl = runtime.url(agent.opts, 0);
    const k = await kubectl(agent, 'v5.channel.k8s.io');
    assert.equal(await k.closed, 1000);
    assert.deepEqual(runtime.log.at(-1)!.streams, [
      [1, 'error'],
      [3, 'stdout'],
    ]);
    assert.deepEqual(JSON.parse(k.got.get(3)!), { metadata: {}, status: 'Success' });
  });

  it('tty: no stderr stream, a resize stream fed from channel 4', async () => {
    agent.opts = { stdin: true, stdout: true, stderr: false, tty: true };
    agent.runtimeUrl = runtime.url(agent.opts, 0);
    const k = await kubectl(agent, 'v5.channel.k8s.io');
    assert.deepEqual(runtime.log.at(-1)!.streams, [
      [1, 'error'],
      [3, 'stdin'],
      [5, 'stdout'],
      [7, 'resize'],
    ]);
    send(k.ws, 4, '{"Width":80,"Height":24}');
    send(k.ws, 0, 'ls\n');
    k.ws.send(Buffer.from([255, 0]));
    assert.equal(await k.closed, 1000);
    assert.equal(runtime.log.at(-1)!.resize, '{"Width":80,"Height":24}');
    assert.equal(k.got.get(1), 'LS\n');
    assert.equal(k.got.get(2), undefined);
  });

  it("v4 has no close message: stdin stays open; kubectl going away resets the runtime's streams", async () => {
    agent.opts = { stdin: true, stdout: true, stderr: true, tty: false };
    agent.runtimeUrl = runtime.url(agent.opts, 0);
    const k = await kubectl(agent, 'v4.channel.k8s.io');
    send(k.ws, 0, 'x');
    k.ws.send(Buffer.from([255, 0])); // not a close in v4: ignored
    send(k.ws, 0, 'y'); // still reaches the command: stdin was not closed in between
    await eventually('both inputs echoed', () => k.got.get(1) === 'XY');
    const entry = runtime.log.at(-1)!;
    assert.equal(entry.stdinEnded, false);
    k.ws.close();
    await k.closed;
    await eventually("the runtime's four streams reset", () => entry.resets.length >= 4);
    assert.deepEqual(
      entry.resets.sort((a, b) => a - b),
      [1, 3, 5, 7],
    );
  });

  it('a runtime that refuses the upgrade: the agent reports its answer', async () => {
    agent.opts = { stdin: false, stdout: true, stderr: false, tty: false };
    agent.runtimeUrl = `${runtime.url(agent.opts, 0)}&refuse=1`;
    const ws = new WebSocket(`ws://127.0.0.1:${agent.port}/exec`, ['v5.channel.k8s.io']);
    const err = await new Promise<string>((resolve) => {
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d));
        res.on('end', () => resolve(`${res.statusCode} ${body}`));
      });
      ws.on('error', (e) => resolve(e.message));
    });
    assert.match(err, /^500 .*refused the upgrade to SPDY\/3\.1: 403 Forbidden: no thanks/);
  });
});

describe("exec and attach: kubectl's SPDY/3.1 (v4, v3, v2; kubectl < 1.30) bridged to the runtime", () => {
  const runtime = new FakeRuntime();
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  let port = 0;
  let opts: StreamOptions = { stdin: true, stdout: true, stderr: true, tty: false };
  let runtimeUrl = '';
  before(async () => {
    await runtime.start();
    server.on('upgrade', async (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      const protocol = negotiateSpdy(offeredStreamProtocols(req))!;
      const rt = await dialRuntime(runtimeUrl, opts, 2000);
      socket.write(spdyUpgradeResponse(protocol));
      bridgeSpdy(socketTransport(socket), head, protocol, rt, opts, 1000);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await runtime.stop();
  });

  const collect = (st: SpdyStream) =>
    new Promise<string>((resolve) => {
      let text = '';
      st.onData((d) => (text += d.toString()));
      st.onEnd(() => resolve(text));
    });

  /** as kubectl does: streams error, stdin, stdout, stderr; stdin written, then its FIN */
  async function run(protocols: string[], input: string) {
    const k = await spdyConnect(`http://127.0.0.1:${port}/exec`, protocols);
    const open = (type: string) => k.session.openStream({ streamType: type });
    const error = await open('error');
    const stdin = await open('stdin');
    const stdout = await open('stdout');
    const stderr = await open('stderr');
    const got = Promise.all([collect(stdout), collect(stderr), collect(error)]);
    stdin.write(Buffer.from(input));
    stdin.end();
    const [out, err, status] = await got;
    await new Promise<void>((r) => k.session.onceClosed(r));
    return { protocol: k.protocol, out, err, status };
  }

  it("negotiation: kubectl's first protocol this side speaks; none offered is v1; none in common is refused", () => {
    assert.equal(negotiateSpdy(['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io']), 'v4.channel.k8s.io');
    assert.equal(negotiateSpdy(['v2.channel.k8s.io', 'channel.k8s.io']), 'v2.channel.k8s.io');
    assert.equal(negotiateSpdy([]), 'channel.k8s.io');
    assert.equal(negotiateSpdy(['v9.channel.k8s.io']), undefined);
  });

  it('v4: stdin and its FIN reach the runtime; stdout, stderr and the Status come back; the session then ends', async () => {
    opts = { stdin: true, stdout: true, stderr: true, tty: false };
    runtimeUrl = runtime.url(opts, 3);
    const r = await run(['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'], 'hello\n');
    assert.equal(r.protocol, 'v4.channel.k8s.io');
    assert.equal(r.out, 'HELLO\n');
    assert.equal(r.err, 'stdin ended\n');
    const status = JSON.parse(r.status);
    assert.equal(status.reason, 'NonZeroExitCode');
    assert.deepEqual(status.details.causes, [{ reason: 'ExitCode', message: '3' }]);
    assert.ok(runtime.log.at(-1)!.stdinEnded);
  });

  it('v2: the failure in words on the error stream, nothing on success', async () => {
    runtimeUrl = runtime.url(opts, 2);
    const failed = await run(['v2.channel.k8s.io'], 'x');
    assert.equal(failed.protocol, 'v2.channel.k8s.io');
    assert.equal(failed.out, 'X');
    assert.equal(failed.status, 'command terminated with non-zero exit code: 2');
    runtimeUrl = runtime.url(opts, 0);
    const ok = await run(['v2.channel.k8s.io'], 'y');
    assert.equal(ok.status, '');
  });

  it("kubectl not opening its streams in time: the runtime's streams are reset", async () => {
    runtimeUrl = runtime.url(opts, 0);
    const k = await spdyConnect(`http://127.0.0.1:${port}/exec`, ['v4.channel.k8s.io']);
    await k.session.openStream({ streamType: 'error' });
    await new Promise<void>((r) => k.session.onceClosed(r));
    assert.ok(runtime.log.at(-1)!.resets.length > 0, 'the runtime saw resets');
  });
});
