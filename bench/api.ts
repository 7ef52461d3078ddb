/**
 * API write and list benchmark: Pod creates (about 1.5 KB) through the API at concurrency 1, 16 and 64, next to the
 * raw put rate of the same backend in the same run (etcd3 puts to the same etcd; raw creates into the embedded store),
 * each side warmed up first by 2,000 operations of the same kind; and LIST of 10,000 pods with a label selector on a
 * server holding those. The server is `skiff apiserver` (the API server alone): in the all-in-one server the
 * scheduler would also write a status to every one of these pods, which have no node to go to.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { openBackend } from '../apiserver/storage/index.ts';
import { startSkiff } from '../test/harness/skiff.ts';
import { startEtcd } from '../test/harness/etcd.ts';
import { benchPod, clientFromKubeconfig, percentile, pool, printTable, rssMb } from './client.ts';

const RAW_OPS = 8000;
const API_OPS: Record<number, number> = { 1: 400, 16: 2000, 64: 8000 };
/** operations at concurrency 64 before any measured phase (raw and API alike): the figures are those of a running
 * client and server, not of their first calls (code still being compiled, pools and buffers being grown) */
const WARMUP_OPS = 2000;
const LIST_PODS = 10_000;
const LIST_REPS = 30;

const VALUE = JSON.stringify(benchPod('raw-value'));

async function rawEmbedded(): Promise<number> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-bench-raw-'));
  const b = openBackend('', { dataDir: dir });
  await b.start();
  try {
    const put = async (key: string) => {
      const r = await b.create(key, VALUE);
      if (!r.ok) throw new Error('raw create failed');
    };
    await pool(WARMUP_OPS, 64, (i) => put(`/registry/pods/warm/raw-${i}`));
    const t0 = performance.now();
    await pool(RAW_OPS, 64, (i) => put(`/registry/pods/default/raw-${i}`));
    return RAW_OPS / ((performance.now() - t0) / 1000);
  } finally {
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function rawEtcd(endpoint: string): Promise<number> {
  const client = new Etcd3({ hosts: `http://${endpoint}` });
  try {
    await pool(WARMUP_OPS, 64, async (i) => {
      await client.put(`/raw/pods/warm/raw-${i}`).value(VALUE);
    });
    const t0 = performance.now();
    await pool(RAW_OPS, 64, async (i) => {
      await client.put(`/raw/pods/default/raw-${i}`).value(VALUE);
    });
    return RAW_OPS / ((performance.now() - t0) / 1000);
  } finally {
    client.close();
  }
}

interface ApiFigures {
  rates: Record<number, { perS: number; p50: number; p99: number }>;
  rss: number;
}

async function apiRun(store: string | undefined): Promise<ApiFigures> {
  const s = await startSkiff({ store, command: 'apiserver' });
  const c = clientFromKubeconfig(s.kubeconfig, 128);
  try {
    const rates: ApiFigures['rates'] = {};
    await pool(WARMUP_OPS, 64, async (i) => {
      const r = await c.request('POST', '/api/v1/namespaces/default/pods', benchPod(`warm-${i}`, { idx: String(i % 10) }));
      if (r.status !== 201) throw new Error(`create failed: ${r.status} ${r.body.slice(0, 300)}`);
    });
    for (const conc of [1, 16, 64]) {
      const n = API_OPS[conc];
      const lat: number[] = [];
      const t0 = performance.now();
      await pool(n, conc, async (i) => {
        const r = await c.request('POST', '/api/v1/namespaces/default/pods', benchPod(`c${conc}-${i}`, { idx: String(i % 10) }));
        if (r.status !== 201) throw new Error(`create failed: ${r.status} ${r.body.slice(0, 300)}`);
        lat.push(r.ms);
      });
      const secs = (performance.now() - t0) / 1000;
      lat.sort((a, b) => a - b);
      rates[conc] = { perS: n / secs, p50: percentile(lat, 50), p99: percentile(lat, 99) };
    }
    return { rates, rss: rssMb(s.child.pid!) };
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
      const r = await c.request('POST', '/api/v1/namespaces/bench-list/pods', benchPod(`list-${i}`, { idx: String(i % 10) }));
      if (r.status !== 201) throw new Error(`create failed: ${r.status} ${r.body.slice(0, 300)}`);
    });
    const lat: number[] = [];
    for (let i = 0; i < LIST_REPS; i++) {
      const r = await c.request('GET', '/api/v1/namespaces/bench-list/pods?labelSelector=app%3Dbench%2Cidx%20in%20(1%2C2%2C3%2C4%2C5)');
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
    const rawE = await rawEtcd(etcd.endpoint);
    const apiE = await apiRun(etcd.url);
    const rawS = await rawEmbedded();
    const apiS = await apiRun(undefined);
    const listP99 = await listRun();
    const fmt = (n: number) => n.toFixed(0);
    const ms = (n: number) => n.toFixed(1);
    printTable('Pod creates through the API (about 1.5 KB each) vs raw store puts, same run', [
      ['backend', 'raw puts/s (c64)', 'API c1/s', 'API c16/s', 'API c64/s', 'ratio c64', 'p50 c16 ms', 'p99 c16 ms', 'p99 c64 ms', 'server RSS MB'],
      ...(
        [
          ['etcd', rawE, apiE],
          ['embedded', rawS, apiS],
        ] as const
      ).map(([name, raw, a]) => [
        name,
        fmt(raw),
        fmt(a.rates[1].perS),
        fmt(a.rates[16].perS),
        fmt(a.rates[64].perS),
        (a.rates[64].perS / raw).toFixed(2),
        ms(a.rates[16].p50),
        ms(a.rates[16].p99),
        ms(a.rates[64].p99),
        a.rss.toFixed(0),
      ]),
    ]);
    printTable('LIST of 10,000 pods with a label selector (half match), embedded store', [
      ['p99 ms', 'target ms'],
      [ms(listP99), '300'],
    ]);
    console.log(`\nreference: raw etcd puts at c64 = ${fmt(rawE)}/s; target API >= 80% of it (${fmt(rawE * 0.8)}/s), embedded >= raw etcd, p99 c16 <= 50 ms`);
    const figures = (raw: number, a: ApiFigures) => ({
      raw_puts_per_s: Math.round(raw),
      api_creates_per_s: Math.round(a.rates[64].perS),
      ratio: Number((a.rates[64].perS / raw).toFixed(3)),
      create_p99_ms_c16: Number(a.rates[16].p99.toFixed(2)),
      api_creates_per_s_c1: Math.round(a.rates[1].perS),
      api_creates_per_s_c16: Math.round(a.rates[16].perS),
    });
    return {
      etcd: figures(rawE, apiE),
      embedded: { ...figures(rawS, apiS), ratio_to_raw_etcd: Number((apiS.rates[64].perS / rawE).toFixed(3)) },
      list_10k_p99_ms: Number(listP99.toFixed(2)),
    };
  } finally {
    await etcd.stop();
  }
}
