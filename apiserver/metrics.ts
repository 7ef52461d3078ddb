/** The API server's Prometheus metrics, named as Kubernetes names them. */
import client from 'prom-client';
import type { Backend } from './storage/backend.ts';

export class ApiMetrics {
  readonly registry = new client.Registry();
  readonly requests = new client.Counter({
    name: 'apiserver_request_total',
    help: 'Counter of apiserver requests broken out for each verb, group, version, resource, subresource and HTTP response code.',
    labelNames: ['verb', 'group', 'version', 'resource', 'subresource', 'code'],
    registers: [this.registry],
  });
  readonly duration = new client.Histogram({
    name: 'apiserver_request_duration_seconds',
    help: 'Response latency distribution in seconds for each verb, group, version, resource and subresource.',
    labelNames: ['verb', 'group', 'version', 'resource', 'subresource'],
    buckets: [
      0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60,
    ],
    registers: [this.registry],
  });
  readonly inflight = new client.Gauge({
    name: 'apiserver_current_inflight_requests',
    help: 'Number of requests currently being served, by kind (readOnly or mutating).',
    labelNames: ['request_kind'],
    registers: [this.registry],
  });
  readonly watchers = new client.Gauge({
    name: 'apiserver_longrunning_requests',
    help: 'Number of long-running requests (watches) currently open.',
    labelNames: ['verb'],
    registers: [this.registry],
  });
  readonly terminatedWatchers = new client.Counter({
    name: 'apiserver_terminated_watchers_total',
    help: 'Counter of watchers closed due to unresponsiveness broken by resource type.',
    labelNames: ['resource'],
    registers: [this.registry],
  });
  readonly storage = new client.Histogram({
    name: 'apiserver_storage_operation_duration_seconds',
    help: 'Storage operation latency in seconds, by operation and storage driver.',
    labelNames: ['operation', 'driver'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  constructor() {
    client.collectDefaultMetrics({ register: this.registry });
  }
}

/** wrap a Backend so that every storage call is timed */
export function instrumentBackend(b: Backend, m: ApiMetrics): Backend {
  const timed =
    <A extends unknown[], R>(op: string, f: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      const end = m.storage.startTimer({ operation: op, driver: b.name });
      try {
        return await f(...a);
      } finally {
        end();
      }
    };
  return {
    name: b.name,
    start: () => b.start(),
    close: () => b.close(),
    ping: () => b.ping(),
    currentRevision: timed('current_revision', () => b.currentRevision()),
    compactedRevision: () => b.compactedRevision(),
    get: timed('get', (k: string, rev?: number) => b.get(k, rev)),
    list: timed('list', (p: string, o?: Parameters<Backend['list']>[1]) => b.list(p, o)),
    count: timed('count', (p: string) => b.count(p)),
    create: timed('create', (k: string, v: string) => b.create(k, v)),
    update: timed('update', (k: string, v: string, r: number) => b.update(k, v, r)),
    delete: timed('delete', (k: string, r?: number) => b.delete(k, r)),
    watch: (p, r, h) => b.watch(p, r, h),
    compact: timed('compact', (r: number) => b.compact(r)),
  };
}
