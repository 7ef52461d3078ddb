import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sameStatus } from './object.ts';

describe('sameStatus', () => {
  it('takes a field the server left out as its zero value', () => {
    assert.ok(
      sameStatus(
        { replicas: 2, observedGeneration: 3 },
        { replicas: 2, readyReplicas: 0, paused: false, reason: '', observedGeneration: 3 },
      ),
    );
    assert.ok(sameStatus(undefined, { readyReplicas: 0 }));
    assert.ok(!sameStatus({ replicas: 2 }, { replicas: 2, readyReplicas: 1 }));
    assert.ok(!sameStatus({ replicas: 2, readyReplicas: 1 }, { replicas: 2 }));
  });

  it('compares lists and objects by value, key order and undefined members aside', () => {
    const stored = { conditions: [{ type: 'Available', status: 'True', reason: 'X' }] };
    assert.ok(
      sameStatus(stored, { conditions: [{ reason: 'X', status: 'True', type: 'Available', message: undefined }] }),
    );
    assert.ok(!sameStatus(stored, { conditions: [{ type: 'Available', status: 'False', reason: 'X' }] }));
    assert.ok(!sameStatus(stored, { conditions: 'x' }));
  });
});
