/** A lean HTTPS client for benchmarks: the admin kubeconfig's credentials, keep-alive, latency per request. */
import https from 'node:https';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';

export interface BenchClient {
  request(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: string; ms: number }>;
  agent: https.Agent;
  base: URL;
  close(): void;
}

/** `server` (https://host:port) sends the requests elsewhere with the same credentials */
export function clientFromKubeconfig(file: string, maxSockets = 128, server?: string): BenchClient {
  const kc: any = yaml.load(readFileSync(file, 'utf8'));
  const cluster = kc.clusters[0].cluster;
  const user = kc.users[0].user;
  const b64 = (s: string) => Buffer.from(s, 'base64');
  const agent = new https.Agent({
    keepAlive: true,
    maxSockets,
    ca: b64(cluster['certificate-authority-data']),
    cert: user['client-certificate-data'] ? b64(user['client-certificate-data']) : undefined,
    key: user['client-key-data'] ? b64(user['client-key-data']) : undefined,
  });
  const base = new URL(server ?? cluster.server);
  const token = user.token as string | undefined;
  return {
    agent,
    base,
    close: () => agent.destroy(),
    request(method, path, body, headers = {}) {
      const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const t0 = performance.now();
      return new Promise((resolve, reject) => {
        const req = https.request(
          {
            agent,
            host: base.hostname,
            port: base.port,
            method,
            path,
            headers: {
              Accept: 'application/json',
              ...(data ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) } : {}),
              ...(token ? { Authorization: `Bearer ${token}` } : {}),
              ...headers,
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                body: Buffer.concat(chunks).toString(),
                ms: performance.now() - t0,
              }),
            );
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        if (data) req.write(data);
        req.end();
      });
    },
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function printTable(title: string, rows: (string | number)[][]): void {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  console.log(`\n${title}`);
  rows.forEach((r, i) => {
    console.log(r.map((v, c) => String(v).padEnd(widths[c])).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  });
}

/** a pod of about 1.5 KB, as the benchmarks of Kubernetes use */
export function benchPod(name: string, labels: Record<string, string> = {}): any {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      labels: { app: 'bench', ...labels },
      annotations: { 'bench.skiff.dev/padding': 'x'.repeat(600) },
    },
    spec: {
      containers: [
        {
          name: 'app',
          image: 'registry.local/bench/app:1.0',
          command: ['/bin/app', '--serve', '--port=8080'],
          ports: [{ containerPort: 8080, name: 'http' }],
          env: [
            { name: 'MODE', value: 'bench' },
            { name: 'LEVEL', value: 'info' },
          ],
          resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '200m', memory: '128Mi' } },
        },
      ],
      restartPolicy: 'Always',
    },
  };
}

/** run fn over 0..n-1 with at most `concurrency` in flight */
export async function pool(n: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

/** CPU seconds (user + system, all threads) a process has used so far */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // after "pid (comm) ": state is field 3, utime 14, stime 15
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}
