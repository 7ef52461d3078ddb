/**
 * Watch benchmark: how fast one watcher receives events, and fan-out of pod events to many watchers
 * (1,000 watchers, 100 pod writes/s): delivery latency from the write's start to its arrival at each watcher,
 * missed events, and the server's memory per open watcher.
 */
import https from 'node:https';
import { fork } from 'node:child_process';
import path from 'node:path';
import tls from 'node:tls';
import { startSkiff } from '../test/harness/skiff.ts';
import { benchPod, clientFromKubeconfig, cpuSeconds, percentile, pool, printTable, rssMb, type BenchClient } from './client.ts';

const SINGLE_EVENTS = 20_000;
const WATCHERS = Number(process.env.SKIFF_BENCH_WATCHERS ?? 1000);
const FANOUT_RATE = 100;
const FANOUT_SECONDS = 10;

/** open a watch; onLine gets each raw JSON line */
function openWatch(c: BenchClient, path: string, onLine: (line: string) => void): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const req = https.request({ agent: c.agent, host: c.base.hostname, port: c.base.port, method: 'GET', path, headers: { Accept: 'application/json' } }, (res) => {
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
    });
    req.on('error', (e) => reject(e));
    req.end();
  });
}

/**
 * A lean watcher for the fan-out: a TLS connection that sends the GET itself and scans the raw bytes of the
 * chunked answer for the send-time mark each benchmark pod carries (no HTTP parser, no decoding to strings), so that
 * 1,000 watchers in this process, which shares the machine with the server, cost as little as they can.
 */
const EMPTY = Buffer.alloc(0);

function openLeanWatch(c: BenchClient, path: string, mark: Buffer, onSent: (sentMs: number) => void): Promise<() => void> {
  const o = c.agent.options as tls.ConnectionOptions;
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: c.base.hostname, port: Number(c.base.port), ca: o.ca, cert: o.cert, key: o.key, servername: o.servername });
    let headerDone = false;
    let carry: Buffer = EMPTY;
    sock.on('secureConnect', () => {
      sock.write(`GET ${path} HTTP/1.1\r\nHost: ${c.base.host}\r\nAccept: application/json\r\n\r\n`);
    });
    sock.on('data', (d: Buffer) => {
      let buf = carry.length ? Buffer.concat([carry, d]) : d;
      if (!headerDone) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) {
          carry = buf;
          return;
        }
        const status = buf.subarray(0, buf.indexOf('\r\n')).toString();
        if (!/^HTTP\/1\.1 200 /.test(status)) {
          sock.destroy();
          reject(new Error(`watch answered ${status}`));
          return;
        }
        headerDone = true;
        resolve(() => sock.destroy());
        buf = buf.subarray(end + 4);
      }
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
    });
    sock.on('error', (e) => (headerDone ? undefined : reject(e)));
  });
}

/**
 * Bytes per open connection of a bare node:https server holding the same number of idle chunked responses: what the
 * runtime and its TLS library cost per connection before any API server code (the floor under bytes per watcher).
 */
async function idleHttpsBytesPerConnection(c: BenchClient, dataDir: string): Promise<number> {
  const pki = path.join(dataDir, 'pki');
  const child = fork(path.join(import.meta.dirname, 'idle-https.ts'), [path.join(pki, 'apiserver.crt'), path.join(pki, 'apiserver.key')], {
    execArgv: ['--expose-gc', '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = () => new Promise<any>((resolve) => child.once('message', resolve));
  const stops: (() => void)[] = [];
  try {
    const { port } = await next();
    const target: BenchClient = { ...c, base: new URL(`https://127.0.0.1:${port}`) };
    const rss = async () => {
      const m = next();
      child.send('rss');
      return (await m).rss as number;
    };
    const before = await rss();
    const mark = Buffer.from('"type":"BOOKMARK"');
    for (let i = 0; i < WATCHERS; i++) stops.push(await openLeanWatch(target, '/', mark, () => {}));
    await new Promise((r) => setTimeout(r, 1000));
    return ((await rss()) - before) / WATCHERS;
  } finally {
    for (const s of stops) s();
    child.disconnect();
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
    const r = await c.request('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: `cm-${i}` }, data: { i: String(i) } });
    if (r.status !== 201) {
      const m = await c.request('GET', '/metrics');
      throw new Error(`create failed: ${r.status} ${r.body.slice(0, 200)} ${m.body.split('\n').filter((l) => l.startsWith('apiserver_current_inflight')).join(' ')}`);
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

async function fanout(c: BenchClient, pid: number): Promise<{ p50: number; p99: number; missed: number; bytesPerWatcher: number; delivered: number; serverCpu: number; clientCpu: number; createP50: number; createP99: number }> {
  // retained memory: RSS after a full collection in the server (started with --expose-gc), before and after the
  // watchers are open, so that garbage of the TLS handshakes does not count as the watchers' memory
  const settledRss = async () => {
    process.kill(pid, 'SIGUSR2');
    await new Promise((r) => setTimeout(r, 1000));
    return rssMb(pid);
  };
  const rssBefore = await settledRss();
  const latencies: number[] = [];
  const counts = new Array<number>(WATCHERS).fill(0);
  const stops: (() => void)[] = [];
  const MARK = Buffer.from('"bench.skiff.dev/sent":"');
  for (let w = 0; w < WATCHERS; w++) {
    const idx = w;
    stops.push(
      await openLeanWatch(c, '/api/v1/namespaces/fanout/pods?watch=1&resourceVersion=0', MARK, (sent) => {
        latencies.push(performance.timeOrigin + performance.now() - sent);
        counts[idx]++;
      }),
    );
  }
  await new Promise((r) => setTimeout(r, 1000));
  const rssWatching = await settledRss();
  const bytesPerWatcher = ((rssWatching - rssBefore) * 1024 * 1024) / WATCHERS;
  const total = FANOUT_RATE * FANOUT_SECONDS;
  const serverCpu0 = cpuSeconds(pid);
  const clientCpu0 = cpuSeconds(process.pid);
  const t0 = Date.now();
  const writes: ReturnType<BenchClient['request']>[] = [];
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / FANOUT_RATE;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const pod = benchPod(`f-${i}`);
    pod.metadata.annotations['bench.skiff.dev/sent'] = String(performance.timeOrigin + performance.now());
    writes.push(c.request('POST', '/api/v1/namespaces/fanout/pods', pod));
  }
  const answers = await Promise.all(writes);
  const failed = answers.filter((r) => r.status !== 201);
  const createMs = answers.map((r) => r.ms).sort((a, b) => a - b);
  if (failed.length) throw new Error(`${failed.length} of ${total} pod creates failed, e.g. ${failed[0].status} ${failed[0].body.slice(0, 300)}`);
  const deadline = Date.now() + 20_000;
  while (counts.some((n) => n < total) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const seconds = (Date.now() - t0) / 1000;
  const serverCpu = (cpuSeconds(pid) - serverCpu0) / seconds;
  const clientCpu = (cpuSeconds(process.pid) - clientCpu0) / seconds;
  for (const s of stops) s();
  const missed = counts.reduce((a, n) => a + (total - n), 0);
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), missed, bytesPerWatcher, delivered: latencies.length, serverCpu, clientCpu, createP50: percentile(createMs, 50), createP99: percentile(createMs, 99) };
}

export async function run(): Promise<Record<string, unknown>> {
  // the API server alone: in the all-in-one server the scheduler would also write a status to each pod (no node fits)
  const s = await startSkiff({ command: 'apiserver', nodeArgs: ['--expose-gc'] });
  const c = clientFromKubeconfig(s.kubeconfig, WATCHERS + 200);
  try {
    const single = await singleWatcher(c);
    await c.request('POST', '/api/v1/namespaces', { metadata: { name: 'fanout' } });
    // no controller-manager runs here to give the namespace its default ServiceAccount, which pods need
    await c.request('POST', '/api/v1/namespaces/fanout/serviceaccounts', { metadata: { name: 'default' } });
    const f = await fanout(c, s.child.pid!);
    const floor = await idleHttpsBytesPerConnection(c, s.dataDir);
    printTable('One watcher', [
      ['live events/s (writes as fast as the API takes them)', 'replay events/s (from a past resourceVersion)', 'target'],
      [single.live.toFixed(0), single.replay.toFixed(0), '>= 5000'],
    ]);
    printTable(`${WATCHERS} watchers on pods, ${FANOUT_RATE} pod creates/s for ${FANOUT_SECONDS}s`, [
      ['delivered', 'missed', 'p50 ms', 'p99 ms', 'target p99 ms', 'server CPU (cores)', 'watchers\' CPU (cores)', 'create p50/p99 ms'],
      [f.delivered, f.missed, f.p50.toFixed(1), f.p99.toFixed(1), '100', f.serverCpu.toFixed(2), f.clientCpu.toFixed(2), `${f.createP50.toFixed(1)}/${f.createP99.toFixed(1)}`],
    ]);
    printTable(`Server memory per watcher (RSS after a full collection, ${WATCHERS} watchers, one TLS connection each)`, [
      ['API server bytes/watcher', 'target bytes', 'bare node:https bytes/connection (same run)', 'ratio to the bare server'],
      [f.bytesPerWatcher.toFixed(0), '20480', floor.toFixed(0), (f.bytesPerWatcher / floor).toFixed(2)],
    ]);
    return {
      single_watcher_events_per_s: Math.round(single.live),
      single_watcher_replay_events_per_s: Math.round(single.replay),
      fanout_p99_ms: Number(f.p99.toFixed(2)),
      fanout_p50_ms: Number(f.p50.toFixed(2)),
      fanout_missed_events: f.missed,
      bytes_per_watcher: Math.round(f.bytesPerWatcher),
      idle_https_bytes_per_connection: Math.round(floor),
      fanout_server_cpu_cores: Number(f.serverCpu.toFixed(2)),
      fanout_watchers_cpu_cores: Number(f.clientCpu.toFixed(2)),
      watchers: WATCHERS,
    };
  } finally {
    c.close();
    await s.stop();
    s.cleanup();
  }
}
