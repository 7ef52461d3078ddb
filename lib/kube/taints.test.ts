import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  countIntolerableTaintsPreferNoSchedule,
  doNotScheduleTaint,
  findMatchingUntoleratedTaint,
  preferNoScheduleTolerations,
  toleratesTaint,
  tolerationsTolerateTaint,
  type Taint,
  type Toleration,
} from './taints.ts';

const db: Taint = { key: 'dedicated', value: 'db', effect: 'NoSchedule' };

test('a toleration matches a taint by effect, key and operator as Kubernetes matches them', () => {
  const cases: [Toleration, boolean][] = [
    [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' }, true],
    [{ key: 'dedicated', value: 'db' }, true], // no operator is Equal, no effect is every effect
    [{ key: 'dedicated', value: 'web' }, false],
    [{ key: 'dedicated', operator: 'Exists' }, true],
    [{ key: 'dedicated', operator: 'Exists', effect: 'NoExecute' }, false],
    [{ key: 'other', operator: 'Exists' }, false],
    [{ operator: 'Exists' }, true], // an empty key with Exists tolerates everything
    [{ operator: 'Exists', effect: 'NoSchedule' }, true],
    [{ operator: 'Exists', effect: 'PreferNoSchedule' }, false],
    [{ key: 'dedicated', operator: 'Gt' as Toleration['operator'], value: '1' }, false],
  ];
  for (const [t, want] of cases) assert.equal(toleratesTaint(t, db), want, JSON.stringify(t));
  // a taint without a value is tolerated by Equal with an empty value
  assert.equal(toleratesTaint({ key: 'spot', operator: 'Equal' }, { key: 'spot', effect: 'NoSchedule' }), true);
  assert.equal(tolerationsTolerateTaint(undefined, db), false);
  assert.equal(
    tolerationsTolerateTaint(
      [
        { key: 'x', operator: 'Exists' },
        { key: 'dedicated', value: 'db' },
      ],
      db,
    ),
    true,
  );
});

test('the first untolerated taint among those the filter keeps', () => {
  const taints: Taint[] = [
    { key: 'spot', effect: 'PreferNoSchedule' },
    { key: 'gpu', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' },
  ];
  assert.deepEqual(findMatchingUntoleratedTaint(taints, [], doNotScheduleTaint), taints[1]);
  assert.deepEqual(findMatchingUntoleratedTaint(taints, []), taints[0], 'no filter: every taint counts');
  const gpu: Toleration[] = [{ key: 'gpu', operator: 'Exists' }];
  assert.deepEqual(findMatchingUntoleratedTaint(taints, gpu, doNotScheduleTaint), taints[2]);
  assert.equal(
    findMatchingUntoleratedTaint(taints, gpu, (t) => t.effect === 'NoSchedule'),
    undefined,
  );
  assert.equal(findMatchingUntoleratedTaint(undefined, undefined, doNotScheduleTaint), undefined);
});

test('PreferNoSchedule taints are counted against the tolerations of that effect or none', () => {
  const taints: Taint[] = [
    { key: 'spot', effect: 'PreferNoSchedule' },
    { key: 'old', effect: 'PreferNoSchedule' },
    { key: 'gpu', effect: 'NoSchedule' },
  ];
  const tolerations: Toleration[] = [
    { key: 'spot', operator: 'Exists', effect: 'PreferNoSchedule' },
    { key: 'old', operator: 'Exists', effect: 'NoSchedule' }, // another effect: does not count
    { key: 'gpu', operator: 'Exists' },
  ];
  const prefer = preferNoScheduleTolerations(tolerations);
  assert.deepEqual(prefer, [tolerations[0], tolerations[2]]);
  assert.equal(countIntolerableTaintsPreferNoSchedule(taints, prefer), 1);
  assert.equal(countIntolerableTaintsPreferNoSchedule(taints, []), 2);
  assert.equal(countIntolerableTaintsPreferNoSchedule(undefined, []), 0);
});
