import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, type ApiClient } from '../../lib/kube/api.ts';
import type { KubeObject } from '../../lib/kube/object.ts';
import * as L from '../pods/labels.ts';
import { MetricsReporter } from './reporter.ts';

test('a pod in a namespace being deleted does not hold back the metrics of the other pods and of the node', async () => {
  let cpu = 0;
  const stat = (ns: string, name: string) => ({
    attributes: {
      id: `${ns}-${name}`,
      labels: { [L.POD_NAMESPACE]: ns, [L.POD_NAME]: name, [L.CONTAINER_NAME]: 'c', [L.MANAGED_BY_NODE]: 'n1' },
    },
    cpu: { usage_core_nano_seconds: { value: String(cpu) } },
    memory: { working_set_bytes: { value: '1048576' } },
  });
  const cri = { listContainerStats: async () => [stat('gone', 'a'), stat('live', 'b')] };
  const written: string[] = [];
  const client = {
    async patch(r: { kind: string }, ns: string | undefined, name: string) {
      if (ns === 'gone') {
        throw new ApiError(
          403,
          'Forbidden',
          'unable to create new content in namespace gone because it is being terminated',
          {
            kind: 'Status',
            details: { causes: [{ reason: 'NamespaceTerminating', field: 'metadata.namespace' }] },
          },
        );
      }
      written.push(`${r.kind} ${ns ?? ''}/${name}`);
      return {};
    },
  } as unknown as ApiClient;
  const logs: string[] = [];
  const pod = (ns: string, name: string): KubeObject => ({ metadata: { namespace: ns, name, labels: {} } });
  const reporter = new MetricsReporter(client, cri as any, 'n1', pod, (m) => logs.push(m));
  await reporter.report(); // first samples: no rates yet
  cpu = 1e9;
  await new Promise((r) => setTimeout(r, 5)); // a rate needs time between the samples (two reports in one ms give none)
  await reporter.report();
  assert.ok(written.includes('PodMetrics live/b'), `the other pod's metrics are written: ${written.join(', ')}`);
  assert.ok(written.includes('NodeMetrics /n1'), `the node's metrics are written: ${written.join(', ')}`);
  assert.deepEqual(logs, [], 'a terminating namespace is not an error worth a log line');
});
