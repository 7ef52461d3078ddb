import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aggregateMessage, fieldErrorString, fieldErrorText, invalidStatus, renderValue } from './status-errors.ts';
import {
  duplicate,
  forbidden,
  GoValue,
  invalid,
  notFound,
  notSupported,
  required,
  tooLong,
  tooMany,
} from './validation/errors.ts';

test('each error type renders as Kubernetes prints it', () => {
  assert.equal(fieldErrorText(required('a')), 'Required value');
  assert.equal(
    fieldErrorText(required('a', 'must specify a handler type')),
    'Required value: must specify a handler type',
  );
  assert.equal(fieldErrorText(invalid('a', 'X', 'bad')), 'Invalid value: "X": bad');
  assert.equal(fieldErrorText(invalid('a', 5, 'bad')), 'Invalid value: 5: bad');
  assert.equal(fieldErrorText(invalid('a', true, 'bad')), 'Invalid value: true: bad');
  assert.equal(fieldErrorText(invalid('a', null, 'bad')), 'Invalid value: null: bad');
  assert.equal(fieldErrorText(invalid('a', { app: 'x' }, 'm')), 'Invalid value: map[string]string{"app":"x"}: m');
  assert.equal(fieldErrorText(invalid('a', ['a', 'b'], 'm')), 'Invalid value: []string{"a", "b"}: m');
  assert.equal(fieldErrorText(invalid('a', new GoValue('v1.X{}'), 'm')), 'Invalid value: v1.X{}: m');
  assert.equal(
    fieldErrorText(notSupported('a', 'X', ['A', 'B'])),
    'Unsupported value: "X": supported values: "A", "B"',
  );
  assert.equal(fieldErrorText(forbidden('a', 'nope')), 'Forbidden: nope');
  assert.equal(fieldErrorText(duplicate('a', 'x')), 'Duplicate value: "x"');
  assert.equal(fieldErrorText(notFound('a', 'x')), 'Not found: "x"');
  assert.equal(fieldErrorText(tooLong('a', 10)), 'Too long: may not be more than 10 bytes');
  assert.equal(fieldErrorText(tooMany('a', 5, 3)), 'Too many: 5: must have at most 3 items');
  assert.equal(renderValue('tab\there "q"'), '"tab\\there \\"q\\""');
  assert.equal(
    fieldErrorString(tooLong('', 1)),
    'Too long: may not be more than 1 byte',
    'an error about the whole object has no field prefix',
  );
});

test('invalidStatus builds the 422 Status', () => {
  const one = invalidStatus('Deployment', 'web', [required('spec.template.spec.containers[0].image')], 'apps');
  assert.deepEqual(one, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'Deployment.apps "web" is invalid: spec.template.spec.containers[0].image: Required value',
    reason: 'Invalid',
    details: {
      name: 'web',
      group: 'apps',
      kind: 'Deployment',
      causes: [
        { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.template.spec.containers[0].image' },
      ],
    },
    code: 422,
  });
  assert.deepEqual(Object.keys(one.details), ['name', 'group', 'kind', 'causes']);
  const two = invalidStatus('Pod', 'p', [required('a'), invalid('b', 'x', 'msg')]);
  assert.equal(two.message, 'Pod "p" is invalid: [a: Required value, b: Invalid value: "x": msg]');
  assert.equal('group' in two.details, false, 'the core group is omitted');
  assert.equal(aggregateMessage([required('a'), required('a')]), 'a: Required value');
});
