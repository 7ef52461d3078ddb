/**
 * Cluster DNS benchmark: dnsperf against the node agent's DNS server (in a real `skiff server`, answering from its
 * watch of 100 Services), and against Knot DNS (Debian's knotd) serving the same 100 records from a zone file, in the
 * same run, same client settings. Prints queries per second and p99 latency of both and the ratio.
 * Reference figure: CoreDNS 33,669 QPS for cluster names on 2 vCPUs (coredns/deployment Scaling_CoreDNS.md).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from '../lib/kube/client.ts';
import { Services } from '../lib/kube/resources.ts';
import { startSkiff } from '../test/harness/skiff.ts';
import { eventually } from '../test/harness/eventually.ts';
import { printTable } from './client.ts';

const exec = promisify(execFile);
const SERVICES = 100;
const SECONDS = Number(process.env.SKIFF_BENCH_SECONDS ?? 15);
const COREDNS_QPS = 33_669;

interface Result {
  qps: number;
  p99Ms: number;
}

/** dnsperf twice: once for throughput, once verbose for the latency of each answer (p99) */
async function dnsperf(server: string, port: number, file: string): Promise<Result> {
  const args = ['-s', server, '-p', String(port), '-d', file, '-c', '16', '-T', '2', '-l', String(SECONDS)];
  const { stdout } = await exec('dnsperf', args, { maxBuffer: 1 << 26 });
  const qps = Number(/Queries per second:\s+([\d.]+)/.exec(stdout)?.[1] ?? 0);
  const lost = Number(/Queries lost:\s+(\d+)/.exec(stdout)?.[1] ?? 0);
  if (!qps) throw new Error(`dnsperf printed no rate:\n${stdout}`);
  const latencies: number[] = [];
  await new Promise<void>((resolve, reject) => {
    const p = spawn('dnsperf', [...args.slice(0, -2), '-l', String(Math.max(5, Math.floor(SECONDS / 3))), '-v'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let rest = '';
    p.stdout.on('data', (d: Buffer) => {
      const lines = (rest + d.toString()).split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) if (l.startsWith('> ')) latencies.push(Number(l.slice(l.lastIndexOf(' ') + 1)) * 1000);
    });
    p.on('error', reject);
    p.on('exit', () => resolve());
  });
  latencies.sort((a, b) => a - b);
  const p99 = latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))] ?? NaN;
  if (lost > qps * SECONDS * 0.01) console.log(`  (${server}: ${lost} queries lost)`);
  return { qps, p99Ms: p99 };
}

async function knot(
  dir: string,
  address: string,
  port: number,
  records: [string, string][],
): Promise<() => Promise<void>> {
  const zone = [
    '$ORIGIN cluster.local.',
    '$TTL 5',
    '@ SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5',
    '@ NS ns.dns.cluster.local.',
    'ns.dns A 127.0.0.1',
    ...records.map(([name, ip]) => `${name.replace(/\.cluster\.local$/, '')} A ${ip}`),
  ].join('\n');
  writeFileSync(path.join(dir, 'cluster.local.zone'), zone + '\n');
  writeFileSync(
    path.join(dir, 'knot.conf'),
    `server:\n  listen: ${address}@${port}\n  rundir: ${dir}\n  background-workers: 1\nlog:\n  - target: stderr\n    any: error\ndatabase:\n  storage: ${dir}\ntemplate:\n  - id: default\n    storage: ${dir}\nzone:\n  - domain: cluster.local\n    file: cluster.local.zone\n`,
  );
  const p = spawn('knotd', ['-c', path.join(dir, 'knot.conf')], { stdio: 'ignore' });
  await eventually(
    'knotd answers',
    async () =>
      (await exec('dig', [`@${address}`, '-p', String(port), '+short', records[0][0]])).stdout.trim() === records[0][1],
    10_000,
    100,
  );
  return async () => {
    p.kill('SIGTERM');
    await new Promise((r) => p.once('exit', r));
  };
}

export async function run(): Promise<Record<string, unknown>> {
  const suffix = Math.random().toString(36).slice(2, 7);
  const dnsAddress = `169.254.23.${1 + Math.floor(Math.random() * 250)}`;
  const s = await startSkiff({
    agent: true,
    args: [
      '--node-name',
      `dns-bench-${suffix}`,
      '--bridge',
      `skd${suffix}`,
      '--cluster-cidr',
      '10.199.0.0/16',
      '--cluster-dns',
      dnsAddress,
      '--proxy-mode',
      'none',
      '--disable-scheduler',
    ],
  });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-dns-bench-'));
  let stopKnot: (() => Promise<void>) | undefined;
  try {
    const c = await Client.fromKubeconfig(s.kubeconfig);
    const records: [string, string][] = [];
    for (let i = 0; i < SERVICES; i++) {
      const svc = await c.create(Services, {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: `svc-${i}`, namespace: 'default' },
        spec: { ports: [{ port: 80 }] },
      } as any);
      records.push([`svc-${i}.default.svc.cluster.local`, (svc as any).spec.clusterIP]);
    }
    c.close();
    const last = records[records.length - 1];
    await eventually(
      'the agent serves every Service',
      async () => (await exec('dig', [`@${dnsAddress}`, '+short', last[0]])).stdout.trim() === last[1],
      20_000,
      100,
    );
    const file = path.join(dir, 'queries.txt');
    writeFileSync(file, records.map(([n]) => `${n} A`).join('\n') + '\n');
    const knotAddress = '127.0.0.1';
    const knotPort = 20000 + Math.floor(Math.random() * 20000);
    stopKnot = await knot(dir, knotAddress, knotPort, records);
    console.log(`dnsperf, ${SECONDS} s each, 16 clients, 2 threads, ${SERVICES} cluster names`);
    const skiff = await dnsperf(dnsAddress, 53, file);
    const reference = await dnsperf(knotAddress, knotPort, file);
    const ratio = skiff.qps / reference.qps;
    printTable('cluster DNS', [
      ['server', 'QPS', 'p99 ms', 'vs CoreDNS 33,669 QPS'],
      ['skiff agent', skiff.qps.toFixed(0), skiff.p99Ms.toFixed(2), (skiff.qps / COREDNS_QPS).toFixed(2)],
      [
        'Knot DNS 3.2 (same records)',
        reference.qps.toFixed(0),
        reference.p99Ms.toFixed(2),
        (reference.qps / COREDNS_QPS).toFixed(2),
      ],
      ['ratio skiff / Knot', ratio.toFixed(2), '', ''],
    ]);
    return {
      qps: Math.round(skiff.qps),
      p99_ms: Number(skiff.p99Ms.toFixed(3)),
      reference_qps: Math.round(reference.qps),
      ratio: Number(ratio.toFixed(3)),
      coredns_published_qps: COREDNS_QPS,
    };
  } finally {
    await stopKnot?.();
    await s.stop();
    s.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}
