/**
 * Watch benchmark: how fast one watcher receives events, and fan-out of pod events to many watchers
 * (1,000 watchers, 100 pod writes/s): delivery latency from the write's start to its arrival at each watcher,
 * missed events, and the server's memory per open watcher (read once the watchers are connected and again once the
 * fan-out's events have been delivered to them; the larger reading is the figure). The fan-out runs twice: with the
 * watchers multiplexed on HTTP/2 connections of 100 streams (how a Go client such as kubectl or a client-go controller
 * watches: it opens another connection when one is full) and with one HTTP/1.1 connection per watcher. Each shape is
 * measured again against a bare node server (bench/bare-https.ts) writing the same events over the same connections:
 * the floor under its latency and memory on this machine.
 */
import https from 'node:https';
import http2 from 'node:http2';
import path from 'node:path';
import os from 'node:os';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import tls from 'node:tls';
import { startSkiff } from '../test/harness/skiff.ts';
import {
  benchPod,
  clientFromKubeconfig,
  cpuSeconds,
  percentile,
  pool,
  printTable,
  type BenchClient,
} from './client.ts';
import { startBare } from './bare-https.ts';

const SINGLE_EVENTS = 20_000;
const WATCHERS = Number(process.env.SKIFF_BENCH_WATCHERS ?? 1000);
const FANOUT_RATE = 100;
const FANOUT_SECONDS = 10;
const WARMUP_SECONDS = 2;
/** what precedes the send time each fan-out pod carries, as it appears in a watch event's bytes */
const SENT_MARK = '"bench.skiff.dev/sent":"';

/** open a watch; onLine gets each raw JSON line */
function openWatch(c: BenchClient, path: string, onLine: (line: string) => void): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        agent: c.agent,
        host: c.base.hostname,
        port: c.base.port,
        method: 'GET',
        path,
        headers: { Accept: 'application/json' },
      },
      (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`watch answered ${res.statusCode}`));
          return;
        }
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          buf += d;
          let i;
          while ((i = buf.indexOf('\n')) >= 0) {
            onLine(buf.slice(0, i));
            buf = buf.slice(i + 1);
          }
        });
        res.on('error', () => {});
        resolve(() => req.destroy());
      },
    );
    req.on('error', (e) => reject(e));
    req.end();
  });
}

/**
 * Finds the send-time mark each benchmark pod carries in the raw bytes of a watch answer (no HTTP parser, no
 * decoding to strings), so that 1,000 watchers in this process, which shares the machine with the server, cost as
 * little as they can. Feed it the body's bytes as they come.
 */
const EMPTY = Buffer.alloc(0);

function markScanner(mark: Buffer, onSent: (sentMs: number) => void): (d: Buffer) => void {
  let carry: Buffer = EMPTY;
  return (d) => {
    const buf = carry.length ? Buffer.concat([carry, d]) : d;
    let from = 0;
    carry = EMPTY;
    for (;;) {
      const i = buf.indexOf(mark, from);
      if (i < 0) break;
      const q = buf.indexOf(34 /* " */, i + mark.length);
      if (q < 0) {
        carry = Buffer.from(buf.subarray(i)); // the number continues in the next read
        return;
      }
      onSent(Number(buf.toString('latin1', i + mark.length, q)));
      from = q + 1;
    }
    // a mark cut by the end of this read: keep its start
    for (let p = Math.max(from, buf.length - mark.length + 1); p < buf.length; p++) {
      if (buf[p] === mark[0] && buf.subarray(p).equals(mark.subarray(0, buf.length - p))) {
        carry = Buffer.from(buf.subarray(p));
        break;
      }
    }
  };
}

/** a watcher on its own TLS connection speaking HTTP/1.1: sends the GET itself and scans the chunked answer */
function openLeanWatch(
  c: BenchClient,
  path: string,
  mark: Buffer,
  onSent: (sentMs: number) => void,
): Promise<() => void> {
  const o = c.agent.options as tls.ConnectionOptions;
  return new Promise((resolve, reject) => {
    const sock = tls.connect({
      host: c.base.hostname,
      port: Number(c.base.port),
      ca: o.ca,
      cert: o.cert,
      key: o.key,
      servername: o.servername,
      ALPNProtocols: ['http/1.1'],
    });
    let head: Buffer | undefined = EMPTY;
    const scan = markScanner(mark, onSent);
    sock.on('secureConnect', () => {
      sock.write(`GET ${path} HTTP/1.1\r\nHost: ${c.base.host}\r\nAccept: application/json\r\n\r\n`);
    });
    sock.on('data', (d: Buffer) => {
      if (head) {
        const buf = Buffer.concat([head, d]);
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) {
          head = buf;
          return;
        }
        const status = buf.subarray(0, buf.indexOf('\r\n')).toString();
        if (!/^HTTP\/1\.1 200 /.test(status)) {
          sock.destroy();
          reject(new Error(`watch answered ${status}`));
          return;
        }
        head = undefined;
        resolve(() => sock.destroy());
        d = buf.subarray(end + 4);
      }
      scan(d);
    });
    sock.on('error', (e) => (head ? reject(e) : undefined));
  });
}

/** HTTP/2 connections for watchers, as a Go client (kubectl, client-go) opens them: a new one when one is full */
class Http2Connections {
  private readonly sessions: http2.ClientHttp2Session[] = [];
  private streams = 0;

  constructor(
    private readonly c: BenchClient,
    private readonly perConnection = 100,
  ) {}

  get count(): number {
    return this.sessions.length;
  }

  next(): http2.ClientHttp2Session {
    if (this.streams++ % this.perConnection === 0) {
      const o = this.c.agent.options as tls.ConnectionOptions;
      // the flow-control windows a Go client advertises: 4 MiB per stream, 1 GiB per connection
      const s = http2.connect(this.c.base.origin, {
        ca: o.ca,
        cert: o.cert,
        key: o.key,
        servername: o.servername,
        settings: { initialWindowSize: 4 << 20 },
      });
      s.on('connect', () => s.setLocalWindowSize(1 << 30));
      s.on('error', () => {});
      this.sessions.push(s);
    }
    return this.sessions[this.sessions.length - 1];
  }

  close(): void {
    for (const s of this.sessions) s.destroy();
  }
}

/** a watcher on a stream of a shared HTTP/2 connection: scans the DATA it receives */
function openH2Watch(
  conns: Http2Connections,
  path: string,
  mark: Buffer,
  onSent: (sentMs: number) => void,
): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const st = conns.next().request({ ':path': path, accept: 'application/json' });
    const scan = markScanner(mark, onSent);
    st.on('response', (h) => {
      if (h[':status'] !== 200) {
        st.close();
        reject(new Error(`watch answered ${h[':status']}`));
        return;
      }
      resolve(() => st.close());
    });
    st.on('data', scan);
    st.on('error', (e) => reject(e));
  });
}

type Shape = 'http2' | 'http1';

/**
 * Memory per watcher from two readings of a process's memory (each right after a full collection): the growth of its
 * RSS, and the growth of V8's heap plus the memory it is told of outside the heap (buffers, HTTP/2 sessions). RSS is
 * the complete figure but can hide growth that fits in pages the process already holds; the heap figure misses
 * memory nobody reports (TLS). The larger of the two is the figure.
 */
interface MemoryPerWatcher {
  rss: number;
  heap: number;
  bytes: number;
}

/** the growth between two readings, in bytes: of the RSS, and of the heap plus external memory */
interface Growth {
  rss: number;
  heap: number;
}

function growth(before: NodeJS.MemoryUsage, after: NodeJS.MemoryUsage): Growth {
  return { rss: after.rss - before.rss, heap: after.heapUsed + after.external - (before.heapUsed + before.external) };
}

/** per watcher, from the growth between two readings less what else grew meanwhile (`less`) */
function perWatcher(
  before: NodeJS.MemoryUsage,
  after: NodeJS.MemoryUsage,
  less: Growth = { rss: 0, heap: 0 },
): MemoryPerWatcher {
  const g = growth(before, after);
  const rss = (g.rss - less.rss) / WATCHERS;
  const heap = (g.heap - less.heap) / WATCHERS;
  return { rss, heap, bytes: Math.max(rss, heap) };
}

/** opens the watchers of one connection shape; returns how to stop them and how many connections they use */
async function openWatchers(
  c: BenchClient,
  shape: Shape,
  path: string,
  mark: Buffer,
  onSent: (watcher: number, sentMs: number) => void,
): Promise<{ stop: () => void; connections: number }> {
  const stops: (() => void)[] = [];
  const conns = new Http2Connections(c);
  for (let w = 0; w < WATCHERS; w++) {
    const cb = (sent: number) => onSent(w, sent);
    stops.push(await (shape === 'http2' ? openH2Watch(conns, path, mark, cb) : openLeanWatch(c, path, mark, cb)));
  }
  return {
    stop: () => {
      for (const s of stops) s();
      conns.close();
    },
    connections: shape === 'http2' ? conns.count : WATCHERS,
  };
}

/** the bare node server's figures: memory per watcher once connected and once the fan-out's events were delivered,
 * and the delivery latency of those events */
interface BareFloor {
  connected: MemoryPerWatcher;
  afterEvents: MemoryPerWatcher;
  /** the larger reading, as for the API server */
  bytes: number;
  p50: number;
  p99: number;
}

/**
 * A bare node server (bench/bare-https.ts) holding as many streamed answers over the same connections and writing
 * them the fan-out's events (the same line, as many, at the same rate, each with the time it was written where the
 * API server's carry the time their create was sent): what the runtime, its TLS library and HTTP/2 cost before any API
 * server code, read as the API server's figures are: the floor under bytes per watcher and delivery latency.
 */
async function bareFloor(
  c: BenchClient,
  dataDir: string,
  shape: Shape,
  line: string,
  count: number,
): Promise<BareFloor> {
  const bare = await startBare(path.join(dataDir, 'pki'));
  let stop = () => {};
  try {
    const target: BenchClient = { ...c, base: new URL(`https://127.0.0.1:${bare.port}`) };
    const memory = async () => {
      const m = bare.next();
      bare.send('memory');
      return (await m).memory as NodeJS.MemoryUsage;
    };
    const before = await memory();
    const counts = new Array<number>(WATCHERS).fill(0);
    const warmup = FANOUT_RATE * WARMUP_SECONDS;
    const latencies: number[] = [];
    stop = (
      await openWatchers(target, shape, '/', Buffer.from(SENT_MARK), (w, sent) => {
        // as for the API server: the first events are the warm-up's, delivered and not counted
        if (++counts[w] > warmup) latencies.push(performance.timeOrigin + performance.now() - sent);
      })
    ).stop;
    await new Promise((r) => setTimeout(r, 1000));
    const connected = perWatcher(before, await memory());
    const written = bare.next();
    bare.send({ events: { line, count, rate: FANOUT_RATE, mark: SENT_MARK } });
    await written;
    const deadline = Date.now() + 20_000;
    while (counts.some((n) => n < count) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const missing = counts.reduce((a, n) => a + (count - n), 0);
    if (missing) throw new Error(`the bare server's watchers missed ${missing} of its ${count * WATCHERS} lines`);
    const afterEvents = perWatcher(before, await memory());
    latencies.sort((a, b) => a - b);
    return {
      connected,
      afterEvents,
      bytes: Math.max(connected.bytes, afterEvents.bytes),
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
    };
  } finally {
    stop();
    bare.stop();
  }
}

async function singleWatcher(c: BenchClient): Promise<{ live: number; replay: number }> {
  // live: a watcher receiving while writers push as fast as the API takes them
  let received = 0;
  let last = 0;
  const stop = await openWatch(c, '/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=0', () => {
    received++;
    last = performance.now();
  });
  const start = (await c.request('GET', '/api/v1/namespaces/default/configmaps?limit=1')).body;
  const startRv = JSON.parse(start).metadata.resourceVersion;
  const t0 = performance.now();
  await pool(SINGLE_EVENTS, 128, async (i) => {
    const r = await c.request('POST', '/api/v1/namespaces/default/configmaps', {
      metadata: { name: `cm-${i}` },
      data: { i: String(i) },
    });
    if (r.status !== 201) {
      const m = await c.request('GET', '/metrics');
      throw new Error(
        `create failed: ${r.status} ${r.body.slice(0, 200)} ${m.body
          .split('\n')
          .filter((l) => l.startsWith('apiserver_current_inflight'))
          .join(' ')}`,
      );
    }
  });
  const deadline = Date.now() + 30_000;
  while (received < SINGLE_EVENTS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  stop();
  if (received < SINGLE_EVENTS) throw new Error(`live watcher got ${received}/${SINGLE_EVENTS} events`);
  const live = SINGLE_EVENTS / ((last - t0) / 1000);
  // replay: the same events delivered to a new watcher from the resourceVersion before them
  let got = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const t1 = performance.now();
  const stop2 = await openWatch(c, `/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${startRv}`, () => {
    if (++got === SINGLE_EVENTS) done();
  });
  await Promise.race([finished, new Promise((r) => setTimeout(r, 60_000))]);
  const replay = got / ((performance.now() - t1) / 1000);
  stop2();
  if (got < SINGLE_EVENTS) throw new Error(`replaying watcher got ${got}/${SINGLE_EVENTS} events`);
  return { live, replay };
}

interface FanoutResult {
  shape: Shape;
  connections: number;
  p50: number;
  p99: number;
  missed: number;
  /** memory per watcher once the watchers are connected, before any event */
  connected: MemoryPerWatcher;
  /** memory per watcher once the fan-out's events have been delivered, less the memory of the pods they wrote */
  afterEvents: MemoryPerWatcher;
  /** the memory of the pods the fan-out writes, in the server without watchers (the reference taken off afterEvents) */
  pods: Growth;
  /** RSS growth per watcher (less the pods') still held once the watchers are closed: what of the after-events RSS
   * the process keeps whether or not watchers are open (memory its allocators keep after a peak) */
  closedRss: number;
  /** the figure: the larger of the two readings */
  bytes: number;
  delivered: number;
  serverCpu: number;
  clientCpu: number;
  createP50: number;
  createP99: number;
  /** one of the fan-out's event lines as a watcher got it (the bare reference writes the same) */
  line: string;
  /** how many events each watcher got, warm-up included */
  events: number;
}

async function fanout(
  c: BenchClient,
  pid: number,
  memoryReport: string,
  shape: Shape,
  ns: string,
): Promise<FanoutResult> {
  // retained memory: the server's figures after a full collection (SIGUSR2 under --expose-gc writes them to a file),
  // before and after the watchers are open, so that garbage of the TLS handshakes does not count as the watchers', and
  // again once the events have been delivered (what a watcher holds once data has flowed through it: buffers grown,
  // per-stream state)
  const settled = async () => {
    rmSync(memoryReport, { force: true });
    process.kill(pid, 'SIGUSR2');
    await new Promise((r) => setTimeout(r, 1000));
    return JSON.parse(readFileSync(memoryReport, 'utf8')) as NodeJS.MemoryUsage;
  };
  await c.request('POST', '/api/v1/namespaces', { metadata: { name: ns } });
  // no controller-manager runs here to give the namespace its default ServiceAccount, which pods need
  await c.request('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: 'default' } });
  const total = FANOUT_RATE * FANOUT_SECONDS;
  const written = FANOUT_RATE * WARMUP_SECONDS + total;
  // The reading after the events also holds the pods they wrote (in the store and the watch cache), which are not the
  // watchers' memory: as many of the same pods written first to another namespace, while no watcher is open, measure
  // that part, which is taken off the second reading (they stay in the cache's window too, within its capacity).
  const controlNs = `${ns}-control`;
  await c.request('POST', '/api/v1/namespaces', { metadata: { name: controlNs } });
  await c.request('POST', `/api/v1/namespaces/${controlNs}/serviceaccounts`, { metadata: { name: 'default' } });
  const empty = await settled();
  await pool(written, 32, async (i) => {
    const pod = benchPod(`f-${i}`);
    pod.metadata.annotations['bench.skiff.dev/sent'] = String(performance.timeOrigin + performance.now());
    const r = await c.request('POST', `/api/v1/namespaces/${controlNs}/pods`, pod);
    if (r.status !== 201) throw new Error(`pod create failed: ${r.status} ${r.body.slice(0, 300)}`);
  });
  const before = await settled();
  const pods = growth(empty, before);
  const latencies: number[] = [];
  const counts = new Array<number>(WATCHERS).fill(0);
  // events of pods written before `measuredFrom` are the warm-up's: delivered, not counted
  let measuredFrom = Infinity;
  const watchers = await openWatchers(
    c,
    shape,
    `/api/v1/namespaces/${ns}/pods?watch=1&resourceVersion=0`,
    Buffer.from(SENT_MARK),
    (w, sent) => {
      if (sent < measuredFrom) return;
      latencies.push(performance.timeOrigin + performance.now() - sent);
      counts[w]++;
    },
  );
  await new Promise((r) => setTimeout(r, 1000));
  const connected = perWatcher(before, await settled());
  // pods written at the benchmark's rate, each carrying the time its create was sent
  const writePods = async (from: number, count: number) => {
    const t0 = Date.now();
    const writes: ReturnType<BenchClient['request']>[] = [];
    for (let i = 0; i < count; i++) {
      const due = t0 + (i * 1000) / FANOUT_RATE;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const pod = benchPod(`f-${from + i}`);
      pod.metadata.annotations['bench.skiff.dev/sent'] = String(performance.timeOrigin + performance.now());
      writes.push(c.request('POST', `/api/v1/namespaces/${ns}/pods`, pod));
    }
    const answers = await Promise.all(writes);
    const failed = answers.filter((r) => r.status !== 201);
    if (failed.length)
      throw new Error(
        `${failed.length} of ${count} pod creates failed, e.g. ${failed[0].status} ${failed[0].body.slice(0, 300)}`,
      );
    return answers.map((r) => r.ms).sort((a, b) => a - b);
  };
  // warm-up: the same load for a while first, so that the figures are those of a running server and watchers, not
  // of their first calls (code still being compiled, buffers being grown)
  await writePods(0, FANOUT_RATE * WARMUP_SECONDS);
  await new Promise((r) => setTimeout(r, 500));
  const serverCpu0 = cpuSeconds(pid);
  const clientCpu0 = cpuSeconds(process.pid);
  const t0 = Date.now();
  measuredFrom = performance.timeOrigin + performance.now();
  const createMs = await writePods(FANOUT_RATE * WARMUP_SECONDS, total);
  const deadline = Date.now() + 20_000;
  while (counts.some((n) => n < total) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const seconds = (Date.now() - t0) / 1000;
  const serverCpu = (cpuSeconds(pid) - serverCpu0) / seconds;
  const clientCpu = (cpuSeconds(process.pid) - clientCpu0) / seconds;
  // the second reading, with the watchers still open and every event delivered
  const afterEvents = perWatcher(before, await settled(), pods);
  watchers.stop();
  await new Promise((r) => setTimeout(r, 1000));
  const closedRss = perWatcher(before, await settled(), pods).rss;
  const missed = counts.reduce((a, n) => a + (total - n), 0);
  latencies.sort((a, b) => a - b);
  const sample = await c.request('GET', `/api/v1/namespaces/${ns}/pods/f-0`);
  if (sample.status !== 200)
    throw new Error(`reading a fan-out pod failed: ${sample.status} ${sample.body.slice(0, 300)}`);
  return {
    shape,
    connections: watchers.connections,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    missed,
    connected,
    afterEvents,
    pods,
    closedRss,
    bytes: Math.max(connected.bytes, afterEvents.bytes),
    delivered: latencies.length,
    serverCpu,
    clientCpu,
    createP50: percentile(createMs, 50),
    createP99: percentile(createMs, 99),
    line: `{"type":"ADDED","object":${JSON.stringify(JSON.parse(sample.body))}}\n`,
    events: written,
  };
}

const SHAPE_NAMES: Record<Shape, string> = {
  http2: 'HTTP/2, 100 watches per connection (as kubectl and client-go connect)',
  http1: 'HTTP/1.1, one TLS connection per watcher',
};

/** a fresh API server for each part, so that one part's garbage and freed memory do not blur the next one's figures */
async function withServer<T>(
  fn: (c: BenchClient, pid: number, dataDir: string, memoryReport: string) => Promise<T>,
): Promise<T> {
  // the API server alone: in the all-in-one server the scheduler would also write a status to each pod (no node fits)
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'skiff-bench-watch-'));
  const memoryReport = path.join(dataDir, 'memory.json');
  const s = await startSkiff({
    command: 'apiserver',
    dataDir,
    nodeArgs: ['--expose-gc'],
    env: { SKIFF_MEMORY_REPORT: memoryReport },
  });
  const c = clientFromKubeconfig(s.kubeconfig, WATCHERS + 200);
  try {
    return await fn(c, s.child.pid!, s.dataDir, memoryReport);
  } finally {
    c.close();
    await s.stop();
    s.cleanup();
  }
}

export async function run(): Promise<Record<string, unknown>> {
  const single = await withServer((c) => singleWatcher(c));
  const shapes: Shape[] = ['http2', 'http1'];
  const results: FanoutResult[] = [];
  const floors: BareFloor[] = [];
  for (const shape of shapes) {
    const f = await withServer(async (c, pid, dataDir, memoryReport) => {
      const r = await fanout(c, pid, memoryReport, shape, 'fanout');
      floors.push(await bareFloor(c, dataDir, shape, r.line, r.events));
      return r;
    });
    results.push(f);
  }
  printTable('One watcher', [
    ['live events/s (writes as fast as the API takes them)', 'replay events/s (from a past resourceVersion)', 'target'],
    [single.live.toFixed(0), single.replay.toFixed(0), '>= 5000'],
  ]);
  printTable(
    `${WATCHERS} watchers on pods, ${FANOUT_RATE} pod creates/s for ${FANOUT_SECONDS}s (after ${WARMUP_SECONDS}s of the same load)`,
    [
      [
        'connections',
        'delivered',
        'missed',
        'p50 ms',
        'p99 ms',
        'target p99 ms',
        'server CPU (cores)',
        "watchers' CPU (cores)",
        'create p50/p99 ms',
        'bare node server, same connections and events (same run): p50 / p99 ms',
      ],
      ...results.map((f, i) => [
        `${SHAPE_NAMES[f.shape]}: ${f.connections}`,
        f.delivered,
        f.missed,
        f.p50.toFixed(1),
        f.p99.toFixed(1),
        '100',
        f.serverCpu.toFixed(2),
        f.clientCpu.toFixed(2),
        `${f.createP50.toFixed(1)}/${f.createP99.toFixed(1)}`,
        `${floors[i].p50.toFixed(1)} / ${floors[i].p99.toFixed(1)}`,
      ]),
    ],
  );
  const mb = (n: number) => (n / 2 ** 20).toFixed(1);
  printTable(
    `Server memory per watcher (after a full collection, ${WATCHERS} watchers; a reading is the larger of RSS growth and heap + external growth, ` +
      `read once connected and again once the events were delivered, less the memory of the pods they wrote; bytes/watcher is the larger reading)`,
    [
      [
        'connections',
        'connected: RSS / heap+ext growth',
        'connected bytes/watcher',
        'after events: RSS / heap+ext growth',
        'after events bytes/watcher',
        "pods' own RSS / heap+ext MB (taken off)",
        'RSS growth still held once closed',
        'API server bytes/watcher',
        'target bytes',
        'bare node server, same connections and events (same run): connected / after events',
        'ratio to the bare server',
      ],
      ...results.map((f, i) => [
        SHAPE_NAMES[f.shape],
        `${f.connected.rss.toFixed(0)} / ${f.connected.heap.toFixed(0)}`,
        f.connected.bytes.toFixed(0),
        `${f.afterEvents.rss.toFixed(0)} / ${f.afterEvents.heap.toFixed(0)}`,
        f.afterEvents.bytes.toFixed(0),
        `${mb(f.pods.rss)} / ${mb(f.pods.heap)}`,
        f.closedRss.toFixed(0),
        f.bytes.toFixed(0),
        '20480',
        `${floors[i].connected.bytes.toFixed(0)} / ${floors[i].afterEvents.bytes.toFixed(0)}`,
        (f.bytes / floors[i].bytes).toFixed(2),
      ]),
    ],
  );
  const [h2, h1] = results;
  // the same figures for each shape; the keys without prefix are those of one connection per watcher (1,000 clients,
  // e.g. one per node: the harder case), the HTTP/2 ones (watchers multiplexed as one Go client with many watches
  // connects) carry h2_
  const shapeFigures = (prefix: string, f: FanoutResult, floor: BareFloor) => ({
    [`${prefix}fanout_p99_ms`]: Number(f.p99.toFixed(2)),
    [`${prefix}fanout_p50_ms`]: Number(f.p50.toFixed(2)),
    [`${prefix}fanout_missed_events`]: f.missed,
    // the bare node server's delivery of the same events over the same connections (bench/bare-https.ts)
    [`${prefix}bare_fanout_p50_ms`]: Number(floor.p50.toFixed(2)),
    [`${prefix}bare_fanout_p99_ms`]: Number(floor.p99.toFixed(2)),
    // bytes per watcher: the larger of the reading once connected and the one once the events were delivered
    [`${prefix}bytes_per_watcher`]: Math.round(f.bytes),
    [`${prefix}rss_bytes_per_watcher`]: Math.round(f.connected.rss),
    [`${prefix}heap_bytes_per_watcher`]: Math.round(f.connected.heap),
    [`${prefix}connected_bytes_per_watcher`]: Math.round(f.connected.bytes),
    [`${prefix}after_events_bytes_per_watcher`]: Math.round(f.afterEvents.bytes),
    [`${prefix}after_events_rss_bytes_per_watcher`]: Math.round(f.afterEvents.rss),
    [`${prefix}after_events_heap_bytes_per_watcher`]: Math.round(f.afterEvents.heap),
    [`${prefix}after_events_pods_rss_bytes`]: Math.round(f.pods.rss),
    [`${prefix}after_events_pods_heap_bytes`]: Math.round(f.pods.heap),
    [`${prefix}closed_rss_bytes_per_watcher`]: Math.round(f.closedRss),
    // the bare node server's (bench/bare-https.ts): idle = once connected, after_events = once it wrote the same events
    [`${prefix}idle_bytes_per_watcher`]: Math.round(floor.connected.bytes),
    [`${prefix}bare_after_events_bytes_per_watcher`]: Math.round(floor.afterEvents.bytes),
    [`${prefix}bare_bytes_per_watcher`]: Math.round(floor.bytes),
    [`${prefix}ratio_to_bare`]: Number((f.bytes / floor.bytes).toFixed(2)),
    [`${prefix}fanout_server_cpu_cores`]: Number(f.serverCpu.toFixed(2)),
    [`${prefix}fanout_watchers_cpu_cores`]: Number(f.clientCpu.toFixed(2)),
    [`${prefix}fanout_connections`]: f.connections,
  });
  return {
    single_watcher_events_per_s: Math.round(single.live),
    single_watcher_replay_events_per_s: Math.round(single.replay),
    ...shapeFigures('', h1, floors[1]),
    ...shapeFigures('h2_', h2, floors[0]),
    watchers: WATCHERS,
  };
}
