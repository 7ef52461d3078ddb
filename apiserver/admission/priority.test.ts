import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lookupResource } from '../api/registry.ts';
import { Priority } from './priority.ts';
import { attributes } from './testing.ts';

describe('Priority', () => {
  const priority = new Priority();
  it('gives a new pod priority 0 and PreemptLowerPriority', () => {
    const pod = { metadata: { name: 'p' }, spec: {} as Record<string, unknown> };
    priority.admit(attributes({ object: pod }));
    assert.deepEqual(pod.spec, { priority: 0, preemptionPolicy: 'PreemptLowerPriority' });
  });

  it('keeps what the pod says, and leaves the priority of a named class unset', () => {
    const pod = { metadata: {}, spec: { priorityClassName: 'high', preemptionPolicy: 'Never' } };
    priority.admit(attributes({ object: pod }));
    assert.deepEqual(pod.spec, { priorityClassName: 'high', preemptionPolicy: 'Never' });
  });

  it('handles new pods only', () => {
    assert.equal(priority.handles('UPDATE'), false);
    const rs = { metadata: {}, spec: {} };
    priority.admit(attributes({ object: rs, resource: lookupResource('apps', 'v1', 'replicasets')! }));
    assert.deepEqual(rs.spec, {});
  });
});
