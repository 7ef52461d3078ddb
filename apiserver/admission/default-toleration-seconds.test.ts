import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DefaultTolerationSeconds } from './default-toleration-seconds.ts';
import { attributes } from './testing.ts';

const admitted = (spec: Record<string, unknown>) => {
  const pod = { metadata: {}, spec };
  new DefaultTolerationSeconds().admit(attributes({ object: pod }));
  return pod.spec.tolerations;
};

describe('DefaultTolerationSeconds', () => {
  it('tolerates not-ready and unreachable nodes for 300 s', () => {
    assert.deepEqual(admitted({}), [
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    ]);
  });

  it("keeps the pod's own tolerations of them, by key or by a toleration of every taint", () => {
    const own = { key: 'node.kubernetes.io/not-ready', operator: 'Exists', tolerationSeconds: 5 };
    assert.deepEqual(admitted({ tolerations: [own] }), [
      own,
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    ]);
    const all = { operator: 'Exists' };
    assert.deepEqual(admitted({ tolerations: [all] }), [all]);
    // a toleration of another effect does not count
    const noSchedule = { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoSchedule' };
    assert.equal((admitted({ tolerations: [noSchedule] }) as unknown[]).length, 3);
  });
});
