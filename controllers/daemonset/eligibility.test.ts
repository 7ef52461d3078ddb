import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../lib/kube/object.ts';
import { nodeShouldRunDaemonPod } from './eligibility.ts';

function gtDaemonSet(value: string): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent', namespace: 'default', uid: 'ds-1' },
    spec: {
      template: {
        metadata: { labels: { app: 'agent' } },
        spec: {
          containers: [{ name: 'c', image: 'busybox' }],
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [{ matchExpressions: [{ key: 'cores', operator: 'Gt', values: [value] }] }],
              },
            },
          },
        },
      },
    },
  };
}

const node = (cores: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name: 'n1', labels: { cores } },
});

test('Gt and Lt read 64-bit integers as the scheduler does: a label that is not one places no daemon pod', () => {
  assert.equal(nodeShouldRunDaemonPod(gtDaemonSet('8'), node('16')).shouldRun, true);
  assert.equal(nodeShouldRunDaemonPod(gtDaemonSet('8'), node('4')).shouldRun, false);
  // Number.parseInt read "16cores" as 16: the controller made a pod the scheduler could never place
  assert.equal(nodeShouldRunDaemonPod(gtDaemonSet('8'), node('16cores')).shouldRun, false);
  assert.equal(nodeShouldRunDaemonPod(gtDaemonSet('8x'), node('16')).shouldRun, false);
  assert.equal(nodeShouldRunDaemonPod(gtDaemonSet('9007199254740992'), node('9007199254740993')).shouldRun, true);
});
