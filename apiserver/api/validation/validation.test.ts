import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  isDns1035Label,
  isDns1123Label,
  isDns1123Subdomain,
  isQualifiedName,
  isValidLabelValue,
  isValidPortName,
  isConfigMapKey,
  isRelaxedEnvVarName,
  isEnvVarName,
} from './names.ts';
import {
  validateObjectMeta,
  validateObjectMetaUpdate,
  validateAnnotations,
  validateOwnerReferences,
  validateFinalizers,
} from './meta.ts';
import { validateLabelSelector, selectorMatches, renderLabelSelector } from './selector.ts';
import { validateCidr, validateIp, validatePortNumOrName } from './network.ts';
import { fieldErrorString, aggregateMessage } from '../status-errors.ts';
import { nameIsDnsLabel } from './names.ts';

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

test('DNS names', () => {
  assert.deepEqual(isDns1123Subdomain('example.com'), []);
  assert.deepEqual(isDns1123Subdomain('Web_1'), [SUBDOMAIN_MSG]);
  assert.deepEqual(isDns1123Label('my-name'), []);
  assert.deepEqual(isDns1123Label('a.b'), [LABEL_MSG]);
  assert.deepEqual(isDns1123Label('a'.repeat(64)), ['must be no more than 63 characters']);
  assert.deepEqual(isDns1123Subdomain('a'.repeat(254)), ['must be no more than 253 characters']);
  assert.deepEqual(isDns1035Label('1abc'), [
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
  ]);
  assert.deepEqual(isDns1035Label('abc-1'), []);
});

test('qualified names and label values', () => {
  assert.deepEqual(isQualifiedName('app.kubernetes.io/name'), []);
  assert.deepEqual(isQualifiedName('MyName'), []);
  assert.deepEqual(isQualifiedName('/name'), ['prefix part must be non-empty']);
  assert.deepEqual(isQualifiedName('a/b/c'), [
    "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
  ]);
  assert.equal(isQualifiedName('Bad_Prefix/x')[0].startsWith('prefix part a lowercase RFC 1123 subdomain'), true);
  assert.deepEqual(isQualifiedName('x/'), [
    'name part must be non-empty',
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
  ]);
  assert.deepEqual(isValidLabelValue(''), []);
  assert.deepEqual(isValidLabelValue('my_value.1'), []);
  assert.deepEqual(isValidLabelValue('-x'), [
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
  ]);
});

test('port names, config keys, env names', () => {
  assert.deepEqual(isValidPortName('http'), []);
  assert.deepEqual(isValidPortName('Http'), ['must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)']);
  assert.deepEqual(isValidPortName('123'), ['must contain at least one letter (a-z)']);
  assert.deepEqual(isValidPortName('a--b'), ['must not contain consecutive hyphens']);
  assert.deepEqual(isValidPortName('averyveryverylongname'), ['must be no more than 15 characters']);
  assert.deepEqual(isConfigMapKey('key.name'), []);
  assert.deepEqual(isConfigMapKey('..x'), ["must not start with '..'"]);
  assert.match(
    isConfigMapKey('a b')[0],
    /^a valid config key must consist of alphanumeric characters, '-', '_' or '.' \(e\.g\. 'key\.name', {2}or 'KEY_NAME', {2}or 'key-name'/,
  );
  assert.deepEqual(isRelaxedEnvVarName('1FOO'), []);
  assert.deepEqual(isRelaxedEnvVarName('A=B'), [
    "a valid environment variable name must consist only of printable ASCII characters other than '='",
  ]);
  assert.equal(isEnvVarName('1FOO').length, 1);
});

test('object metadata', () => {
  const s = (errs: any[]) => errs.map(fieldErrorString);
  assert.deepEqual(s(validateObjectMeta({ name: 'ok', namespace: 'default' }, true)), []);
  assert.deepEqual(s(validateObjectMeta({ namespace: 'default' }, true)), [
    'metadata.name: Required value: name or generateName is required',
  ]);
  assert.deepEqual(s(validateObjectMeta({ name: 'x' }, true)), ['metadata.namespace: Required value']);
  assert.deepEqual(s(validateObjectMeta({ name: 'x', namespace: 'ns' }, false)), [
    'metadata.namespace: Forbidden: not allowed on this type',
  ]);
  assert.deepEqual(
    s(validateObjectMeta({ name: 'web-', generateName: 'web-', namespace: 'd' }, true, nameIsDnsLabel)).length,
    1,
    'generateName with a trailing dash is fine, the full name is not',
  );
  assert.deepEqual(
    s(validateObjectMeta({ name: 'x', namespace: 'Bad_NS' }, true))[0].startsWith(
      'metadata.namespace: Invalid value: "Bad_NS": a lowercase RFC 1123 label',
    ),
    true,
  );
  assert.deepEqual(
    s(validateObjectMeta({ name: 'x', labels: { app: 'a b' } }, false))[0].startsWith(
      'metadata.labels: Invalid value: "a b": a valid label must be',
    ),
    true,
  );
  assert.deepEqual(s(validateAnnotations({ a: 'x'.repeat(256 * 1024) }, 'metadata.annotations')), [
    'metadata.annotations: Too long: may not be more than 262144 bytes',
  ]);
  assert.deepEqual(
    s(validateAnnotations({ 'Example.COM/Key': 'v' }, 'metadata.annotations')),
    [],
    'annotation keys are case-insensitive',
  );
  assert.deepEqual(
    s(validateOwnerReferences([{ apiVersion: 'apps/', kind: '', name: '', uid: '' }], 'metadata.ownerReferences')),
    [
      'metadata.ownerReferences.apiVersion: Invalid value: "apps/": version must not be empty',
      'metadata.ownerReferences.kind: Invalid value: "": kind must not be empty',
      'metadata.ownerReferences.name: Invalid value: "": name must not be empty',
      'metadata.ownerReferences.uid: Invalid value: "": uid must not be empty',
    ],
  );
  const two = [
    { apiVersion: 'v1', kind: 'A', name: 'a', uid: '1', controller: true },
    { apiVersion: 'v1', kind: 'B', name: 'b', uid: '2', controller: true },
  ];
  const e = s(validateOwnerReferences(two, 'metadata.ownerReferences'));
  assert.equal(e.length, 1);
  assert.match(
    e[0],
    /Only one reference can have Controller set to true\. Found "true" in references for A\/a and B\/b$/,
  );
  assert.deepEqual(s(validateFinalizers(['example.com/f', 'kubernetes'], 'metadata.finalizers')), []);
  assert.deepEqual(s(validateFinalizers(['orphan', 'foregroundDeletion'], 'metadata.finalizers')), [
    'metadata.finalizers: Invalid value: []string{"orphan", "foregroundDeletion"}: finalizer orphan and foregroundDeletion cannot be both set',
  ]);
  assert.deepEqual(
    s(validateObjectMetaUpdate({ name: 'a', namespace: 'x', uid: 'u2' }, { name: 'a', namespace: 'x', uid: 'u1' })),
    ['metadata.uid: Invalid value: "u2": field is immutable'],
  );
});

test('label selectors', () => {
  const s = (errs: any[]) => errs.map(fieldErrorString);
  assert.deepEqual(
    s(validateLabelSelector({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }, 'spec.selector')),
    ["spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"],
  );
  assert.deepEqual(
    s(validateLabelSelector({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }, 'spec.selector')),
    [
      "spec.selector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
    ],
  );
  assert.deepEqual(s(validateLabelSelector({ matchExpressions: [{ key: 'a', operator: 'Is' }] }, 'spec.selector')), [
    'spec.selector.matchExpressions[0].operator: Invalid value: "Is": not a valid selector operator',
  ]);
  const sel = { matchLabels: { app: 'x' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] };
  assert.equal(selectorMatches(sel, { app: 'x', tier: 'web' }), true);
  assert.equal(selectorMatches(sel, { app: 'x', tier: 'db' }), false);
  assert.equal(selectorMatches(sel, { app: 'y' }), false);
  assert.equal(selectorMatches({}, {}), true);
  assert.equal(
    renderLabelSelector({ matchLabels: { b: '2', a: '1' } }).text,
    'v1.LabelSelector{MatchLabels:map[string]string{"a":"1", "b":"2"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}',
  );
});

test('IPs, CIDRs, ports; aggregate messages', () => {
  assert.deepEqual(validateIp('f', '10.0.0.1'), []);
  assert.equal(
    fieldErrorString(validateIp('f', '10.0.0.256')[0]),
    'f: Invalid value: "10.0.0.256": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
  );
  assert.deepEqual(validateCidr('f', '10.244.0.0/16'), []);
  assert.deepEqual(validateCidr('f', 'fd00::/64'), []);
  assert.equal(validateCidr('f', '10.0.0.0/33').length, 1);
  assert.equal(
    fieldErrorString(validatePortNumOrName('p', 70000)[0]),
    'p: Invalid value: 70000: must be between 1 and 65535, inclusive',
  );
  assert.deepEqual(validatePortNumOrName('p', 'http'), []);
  const errs = [...validatePortNumOrName('p', 0), ...validatePortNumOrName('p', 0)];
  assert.equal(
    aggregateMessage(errs),
    'p: Invalid value: 0: must be between 1 and 65535, inclusive',
    'duplicates collapse',
  );
});
