/**
 * API write and list benchmark: Pod creates (about 1.5 KB) through the API at concurrency 1, 16 and 64, next to the
 * raw put rate of the same backend in the same run (etcd3 puts to the same etcd; raw creates into the embedded store),
 * each side warmed up first by 2,000 operations of the same kind; and LIST of 10,000 pods with a label selector on a
 * server holding those. The server is `skiff apiserver` (the API server alone): in the all-in-one server the
 * scheduler would also write a status to every one of these pods, which have no node to go to.
 *
 * At concurrency 64 it also reads the CPU time each party spends per operation (etcd, the API server, this client),
 * and measures the floor under any API server here: a bare node HTTPS server (bench/bare-https.ts: the same
 * listener, TLS and certificates) answering the same creates with nothing behind them. All parties share the
 * machine's cores, so these figures tell how far a target is from what the machine can do at all.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { openBackend } from '../apiserver/storage/index.ts';
import { startSkiff } from '../test/harness/skiff.ts';
import { startEtcd } from '../test/harness/etcd.ts';
import {
  benchPod,
  clientFromKubeconfig,
  cpuSeconds,
  percentile,
  pool,
  printTable,
  rssMb,
  type BenchClient,
} from './client.ts';
import { startBare } from './bare-https.ts';

const RAW_OPS = 8000;
const API_OPS: Record<number, number> = { 1: 400, 16: 2000, 64: 8000 };
/** operations at concurrency 64 before any measured phase (raw and API alike): the figures are those of a running
 * client and server, not of their first calls (code still being compiled, pools and buffers being grown) */
const WARMUP_OPS = 2000;
const LIST_PODS = 10_000;
const LIST_REPS = 30;

const VALUE = JSON.stringify(benchPod('raw-value'));

/** a rate at concurrency 64 and the CPU each party spent per operation (microseconds) */
interface Rate {
  perS: number;
  /** this process's: the client's, or the embedded store's own for raw inserts */
  clientUs: number;
  serverUs?: number;
  etcdUs?: number;
}

/** runs fn and reads, per operation, the CPU time this process and each of `pids` spent meanwhile (microseconds) */
async function measured(
  n: number,
  pids: (number | undefined)[],
  fn: () => Promise<void>,
): Promise<{ perS: number; clientUs: number; us: (number | undefined)[] }> {
  const c0 = cpuSeconds(process.pid);
  const p0 = pids.map((p) => (p ? cpuSeconds(p) : 0));
  const t0 = performance.now();
  await fn();
  const secs = (performance.now() - t0) / 1000;
  const perOp = (s: number) => (1e6 * s) / n;
  return {
    perS: n / secs,
    clientUs: perOp(cpuSeconds(process.pid) - c0),
    us: pids.map((p, i) => (p ? perOp(cpuSeconds(p) - p0[i]) : undefined)),
  };
}

async function rawEmbedded(): Promise<Rate> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-bench-raw-'));
  const b = openBackend('', { dataDir: dir });
  await b.start();
  try {
    const put = async (key: string) => {
      const r = await b.create(key, VALUE);
      if (!r.ok) throw new Error('raw create failed');
    };
    await pool(WARMUP_OPS, 64, (i) => put(`/registry/pods/warm/raw-${i}`));
    const m = await measured(RAW_OPS, [], () => pool(RAW_OPS, 64, (i) => put(`/registry/pods/default/raw-${i}`)));
    return { perS: m.perS, clientUs: m.clientUs };
  } finally {
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function rawEtcd(endpoint: string, etcdPid: number): Promise<Rate> {
  const client = new Etcd3({ hosts: `http://${endpoint}` });
  try {
    await pool(WARMUP_OPS, 64, async (i) => {
      await client.put(`/raw/pods/warm/raw-${i}`).value(VALUE);
    });
    const m = await measured(RAW_OPS, [etcdPid], () =>
      pool(RAW_OPS, 64, async (i) => {
        await client.put(`/raw/pods/default/raw-${i}`).value(VALUE);
      }),
    );
    return { perS: m.perS, clientUs: m.clientUs, etcdUs: m.us[0] };
  } finally {
    client.close();
  }
}

interface ApiFigures {
  rates: Record<number, { perS: number; p50: number; p99: number }>;
  /** CPU per create at concurrency 64 */
  c64: Rate;
  rss: number;
  /** the bare node server's creates, with this server's certificates (measured on the embedded run) */
  bare?: Rate;
}

/** creates at `conc` in flight; latencies of each, CPU per create of this client and of `pids` */
async function creates(c: BenchClient, n: number, conc: number, prefix: string, pids: (number | undefined)[] = []) {
  const lat: number[] = [];
  const m = await measured(n, pids, () =>
    pool(n, conc, async (i) => {
      const r = await c.request(
        'POST',
        '/api/v1/namespaces/default/pods',
        benchPod(`${prefix}-${i}`, { idx: String(i % 10) }),
      );
      if (r.status !== 201) throw new Error(`create failed: ${r.status} ${r.body.slice(0, 300)}`);
      lat.push(r.ms);
    }),
  );
  lat.sort((a, b) => a - b);
  return { ...m, p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

async function apiRun(store: string | undefined, etcdPid?: number): Promise<ApiFigures> {
  const s = await startSkiff({ store, command: 'apiserver' });
  const c = clientFromKubeconfig(s.kubeconfig, 128);
  try {
    const rates: ApiFigures['rates'] = {};
    let c64: Rate | undefined;
    await creates(c, WARMUP_OPS, 64, 'warm');
    for (const conc of [1, 16, 64]) {
      const m = await creates(c, API_OPS[conc], conc, `c${conc}`, [s.child.pid, etcdPid]);
      rates[conc] = { perS: m.perS, p50: m.p50, p99: m.p99 };
      if (conc === 64) c64 = { perS: m.perS, clientUs: m.clientUs, serverUs: m.us[0], etcdUs: m.us[1] };
    }
    const rss = rssMb(s.child.pid!);
    // the floor, on the embedded run (the server idle meanwhile): the same creates answered by a bare node server
    let bare: Rate | undefined;
    if (!store) {
      const b = await startBare(path.join(s.dataDir, 'pki'));
      const bc = clientFromKubeconfig(s.kubeconfig, 128, `https://127.0.0.1:${b.port}`);
      try {
        await creates(bc, WARMUP_OPS, 64, 'warm');
        const m = await creates(bc, API_OPS[64], 64, 'bare', [b.pid]);
        bare = { perS: m.perS, clientUs: m.clientUs, serverUs: m.us[0] };
      } finally {
        bc.close();
        b.stop();
      }
    }
    return { rates, c64: c64!, rss, bare };
  } finally {
    c.close();
    await s.stop();
    s.cleanup();
  }
}

/** p99 of LISTs of 10,000 pods with a label selector (half match), on a fresh server (embedded store) holding them */
async function listRun(): Promise<number> {
  const s = await startSkiff({ command: 'apiserver' });
  const c = clientFromKubeconfig(s.kubeconfig, 128);
  try {
    await c.request('POST', '/api/v1/namespaces', { metadata: { name: 'bench-list' } });
    // no controller-manager runs here to give the namespace its default ServiceAccount, which pods need
    await c.request('POST', '/api/v1/namespaces/bench-list/serviceaccounts', { metadata: { name: 'default' } });
    await pool(LIST_PODS, 64, async (i) => {
      const r = await c.request(
        'POST',
        '/api/v1/namespaces/bench-list/pods',
        benchPod(`list-${i}`, { idx: String(i % 10) }),
      );
      if (r.status !== 201) throw new Error(`create failed: ${r.status} ${r.body.slice(0, 300)}`);
    });
    const lat: number[] = [];
    for (let i = 0; i < LIST_REPS; i++) {
      const r = await c.request(
        'GET',
        '/api/v1/namespaces/bench-list/pods?labelSelector=app%3Dbench%2Cidx%20in%20(1%2C2%2C3%2C4%2C5)',
      );
      if (r.status !== 200) throw new Error(`list failed: ${r.status}`);
      if (i === 0) {
        const items = JSON.parse(r.body).items.length;
        if (items !== LIST_PODS / 2) throw new Error(`list returned ${items} pods, expected ${LIST_PODS / 2}`);
      }
      lat.push(r.ms);
    }
    lat.sort((a, b) => a - b);
    return percentile(lat, 99);
  } finally {
    c.close();
    await s.stop();
    s.cleanup();
  }
}

export async function run(): Promise<Record<string, unknown>> {
  const etcd = await startEtcd();
  try {
    const rawE = await rawEtcd(etcd.endpoint, etcd.pid);
    const apiE = await apiRun(etcd.url, etcd.pid);
    const rawS = await rawEmbedded();
    const apiS = await apiRun(undefined);
    const listP99 = await listRun();
    const fmt = (n: number) => n.toFixed(0);
    const ms = (n: number) => n.toFixed(1);
    const us = (n: number | undefined) => (n === undefined ? '-' : n.toFixed(0));
    printTable('Pod creates through the API (about 1.5 KB each) vs raw store puts, same run', [
      [
        'backend',
        'raw puts/s (c64)',
        'API c1/s',
        'API c16/s',
        'API c64/s',
        'ratio c64',
        'p50 c16 ms',
        'p99 c16 ms',
        'p99 c64 ms',
        'server RSS MB',
      ],
      ...(
        [
          ['etcd', rawE, apiE],
          ['embedded', rawS, apiS],
        ] as const
      ).map(([name, raw, a]) => [
        name,
        fmt(raw.perS),
        fmt(a.rates[1].perS),
        fmt(a.rates[16].perS),
        fmt(a.rates[64].perS),
        (a.rates[64].perS / raw.perS).toFixed(2),
        ms(a.rates[16].p50),
        ms(a.rates[16].p99),
        ms(a.rates[64].p99),
        a.rss.toFixed(0),
      ]),
    ]);
    const bare = apiS.bare!;
    printTable('CPU per operation at concurrency 64, microseconds (all parties share the machine)', [
      ['operations', 'per s', 'etcd', 'server', 'client (this process)'],
      ['raw etcd puts (etcd3)', fmt(rawE.perS), us(rawE.etcdUs), '-', us(rawE.clientUs)],
      ['API creates, etcd', fmt(apiE.c64.perS), us(apiE.c64.etcdUs), us(apiE.c64.serverUs), us(apiE.c64.clientUs)],
      ['raw embedded inserts (in this process)', fmt(rawS.perS), '-', '-', us(rawS.clientUs)],
      ['API creates, embedded', fmt(apiS.c64.perS), '-', us(apiS.c64.serverUs), us(apiS.c64.clientUs)],
      [
        'bare node HTTPS server, same creates (no API, no store)',
        fmt(bare.perS),
        '-',
        us(bare.serverUs),
        us(bare.clientUs),
      ],
    ]);
    printTable('LIST of 10,000 pods with a label selector (half match), embedded store', [
      ['p99 ms', 'target ms'],
      [ms(listP99), '300'],
    ]);
    // What the targets leave an API server of the machine's cores, from the CPU the other parties were measured to
    // spend per create: at the target rate, etcd's and the client's CPU come first.
    const cores = os.availableParallelism();
    const budget = (rate: number, othersUs: number) => Math.max(0, (cores * 1e6) / rate - othersUs);
    const etcdTarget = rawE.perS * 0.8;
    const etcdBudget = budget(etcdTarget, (apiE.c64.etcdUs ?? 0) + apiE.c64.clientUs);
    const embeddedBudget = budget(rawE.perS, apiS.c64.clientUs);
    console.log(
      `\nreference: raw etcd puts at c64 = ${fmt(rawE.perS)}/s; target API >= 80% of it (${fmt(etcdTarget)}/s), embedded >= raw etcd, p99 c16 <= 50 ms`,
    );
    console.log(
      `what the targets leave the API server on ${cores} cores, after the CPU etcd and the client were measured to spend per create: ` +
        `etcd target ${fmt(etcdTarget)}/s: ${fmt(etcdBudget)} us per create (measured ${us(apiE.c64.serverUs)}); ` +
        `embedded target ${fmt(rawE.perS)}/s: ${fmt(embeddedBudget)} us per create (measured ${us(apiS.c64.serverUs)}); ` +
        `a bare node HTTPS server spends ${us(bare.serverUs)} us to answer the same create`,
    );
    const cpu = (r: Rate) => ({
      server_us_per_create: r.serverUs === undefined ? undefined : Math.round(r.serverUs),
      client_us_per_create: Math.round(r.clientUs),
      etcd_us_per_create: r.etcdUs === undefined ? undefined : Math.round(r.etcdUs),
    });
    const figures = (raw: Rate, a: ApiFigures, serverBudget: number) => ({
      raw_puts_per_s: Math.round(raw.perS),
      api_creates_per_s: Math.round(a.rates[64].perS),
      ratio: Number((a.rates[64].perS / raw.perS).toFixed(3)),
      create_p99_ms_c16: Number(a.rates[16].p99.toFixed(2)),
      api_creates_per_s_c1: Math.round(a.rates[1].perS),
      api_creates_per_s_c16: Math.round(a.rates[16].perS),
      raw_cpu_us_per_put: {
        client: Math.round(raw.clientUs),
        etcd: raw.etcdUs === undefined ? undefined : Math.round(raw.etcdUs),
      },
      cpu_us_per_create_c64: cpu(a.c64),
      // the API server CPU per create the target leaves on this machine's cores (see above)
      server_us_per_create_at_target: Math.round(serverBudget),
    });
    return {
      etcd: figures(rawE, apiE, etcdBudget),
      embedded: {
        ...figures(rawS, apiS, embeddedBudget),
        ratio_to_raw_etcd: Number((apiS.rates[64].perS / rawE.perS).toFixed(3)),
      },
      bare_https: {
        creates_per_s: Math.round(bare.perS),
        server_us_per_create: Math.round(bare.serverUs!),
        client_us_per_create: Math.round(bare.clientUs),
      },
      cores,
      list_10k_p99_ms: Number(listP99.toFixed(2)),
    };
  } finally {
    await etcd.stop();
  }
}
