import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseLabelSelector,
  parseFieldSelector,
  labelSelectorFromObject,
  newLabelRequirement,
  parseInt64,
  SelectorError,
} from './selectors.ts';

describe('label selectors', () => {
  it('matches every operator', () => {
    const labels = { app: 'web', tier: 'front', n: '5' };
    const cases: [string, boolean][] = [
      ['app=web', true],
      ['app==web', true],
      ['app!=web', false],
      ['app!=db', true],
      ['missing!=x', true],
      ['app in (web, db)', true],
      ['app notin (web)', false],
      ['app notin (db)', true],
      ['tier', true],
      ['!tier', false],
      ['!missing', true],
      ['app=web,tier=front', true],
      ['app=web,tier=back', false],
      ['app in (a,b),tier', false],
      ['n>4', true],
      ['n<5', false],
      ['', true],
    ];
    for (const [sel, want] of cases) assert.equal(parseLabelSelector(sel).matches(labels), want, sel);
  });
  it('compares gt and lt as 64-bit integers, as strconv.ParseInt reads them', () => {
    assert.equal(parseInt64('+5'), 5n);
    assert.equal(parseInt64('-9223372036854775808'), -(2n ** 63n));
    assert.equal(parseInt64('9223372036854775808'), undefined);
    for (const bad of ['', '12abc', '1.5', '0x10', '1e3', ' 1', '1_000']) assert.equal(parseInt64(bad), undefined, bad);
    assert.equal(parseLabelSelector('n>9007199254740992').matches({ n: '9007199254740993' }), true);
    assert.equal(parseLabelSelector('n>4').matches({ n: '12abc' }), false);
    assert.equal(parseLabelSelector('n>4').matches({ n: '9223372036854775808' }), false);
    assert.equal(parseLabelSelector('n<9223372036854775807').matches({ n: '5' }), true);
  });
  it("makes requirements with labels.NewRequirement's checks", () => {
    assert.deepEqual(newLabelRequirement('n', 'gt', ['5']), { key: 'n', op: 'gt', values: ['5'] });
    const refused: [string, Parameters<typeof newLabelRequirement>[1], string[]][] = [
      ['bad key!', 'exists', []],
      ['n', 'gt', ['1', '2']],
      ['n', 'lt', []],
      ['n', 'exists', ['x']],
      ['n', '!', ['x']],
      ['n', 'in', []],
      ['n', '=', ['a', 'b']],
      ['n', 'in', ['not a label value']],
    ];
    for (const [key, op, values] of refused)
      assert.throws(() => newLabelRequirement(key, op, values), SelectorError, `${key} ${op} ${values}`);
  });
  it("rejects malformed selectors in Kubernetes' words", () => {
    const cases: [string, string][] = [
      ['app in (a', "unable to parse requirement: found '', expected: ',' or ')'"],
      ['app=we b', "found 'b', expected: ',' or 'end of string'"],
      ['=x', "found '=', expected: !, identifier, or 'end of string'"],
      ['a===b', "unable to parse requirement: found '=', expected: identifier"],
      [
        'n>x',
        `unable to parse requirement: values[0]: Invalid value: "x": for 'Gt', 'Lt' operators, the value must be an integer`,
      ],
      ['a b c', "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"],
      ['app!', "unable to parse requirement: found '!', expected: in, notin, =, ==, !=, gt, lt"],
      ['a,', "found '', expected: identifier after ','"],
      ['app in x', "unable to parse requirement: found 'x' expected: '('"],
      [
        'app=a%b',
        `unable to parse requirement: values[0][app]: Invalid value: "a%b": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
      ],
    ];
    for (const [bad, message] of cases) {
      assert.throws(
        () => parseLabelSelector(bad),
        (e: unknown) => e instanceof SelectorError && e.message === message,
        bad,
      );
    }
    assert.match(
      (() => {
        try {
          parseLabelSelector('a/b/c=x');
        } catch (e) {
          return (e as Error).message;
        }
        return '';
      })(),
      /^unable to parse requirement: key: Invalid value: "a\/b\/c": a qualified name must consist of/,
    );
  });

  it('reads what Kubernetes reads: in and notin as values, empty values, longest symbols', () => {
    assert.equal(parseLabelSelector('app in ()').matches({ app: '' }), true);
    assert.equal(parseLabelSelector('app in (,x)').matches({ app: '' }), true);
    assert.equal(parseLabelSelector('app=').matches({ app: '' }), true);
    assert.equal(parseLabelSelector('app in (in, notin)').matches({ app: 'notin' }), true);
    assert.equal(parseLabelSelector('x!=in').matches({ x: 'in' }), false);
    assert.equal(parseLabelSelector(' app == web , !gone ').toString(), 'app=web,!gone');
  });
  it('gives the pinned value for index look-ups', () => {
    assert.equal(parseLabelSelector('app=web,x').equalityValue('app'), 'web');
    assert.equal(parseLabelSelector('app!=web').equalityValue('app'), undefined);
  });
  it('builds from a LabelSelector object', () => {
    const s = labelSelectorFromObject({
      matchLabels: { app: 'web' },
      matchExpressions: [{ key: 'tier', operator: 'In', values: ['a'] }],
    });
    assert.equal(s.matches({ app: 'web', tier: 'a' }), true);
    assert.equal(s.matches({ app: 'web', tier: 'b' }), false);
    assert.equal(labelSelectorFromObject(null).matches({}), false);
    assert.equal(labelSelectorFromObject({}).matches({ x: 'y' }), true);
  });
});

describe('field selectors', () => {
  it('matches = and !=', () => {
    const f = { 'metadata.name': 'a', 'spec.nodeName': 'n1', 'status.phase': 'Running' };
    assert.equal(parseFieldSelector('spec.nodeName=n1').matches(f), true);
    assert.equal(parseFieldSelector('spec.nodeName==n2').matches(f), false);
    assert.equal(parseFieldSelector('status.phase!=Failed,metadata.name=a').matches(f), true);
    assert.equal(parseFieldSelector('spec.nodeName=').matches({ 'spec.nodeName': '' }), true);
    assert.equal(parseFieldSelector('spec.nodeName=n1').equalityValue('spec.nodeName'), 'n1');
  });
  it("rejects garbage and bare , or = in values, in Kubernetes' words; reads escapes", () => {
    const cases: [string, string][] = [
      ['justaword', "invalid selector: 'justaword'; can't understand 'justaword'"],
      ['metadata.name===x', 'invalid field selector: unescaped character in value: ='],
      ['metadata.name=a\\x', 'invalid field selector: invalid escape sequence: \\x'],
    ];
    for (const [bad, message] of cases) {
      assert.throws(
        () => parseFieldSelector(bad),
        (e: unknown) => e instanceof SelectorError && e.message === message,
        bad,
      );
    }
    assert.equal(parseFieldSelector('metadata.name=a\\,b\\=c').equalityValue('metadata.name'), 'a,b=c');
    // no trimming: the field is "a " (and so not one a type supports)
    assert.deepEqual(parseFieldSelector('a =b').requirements, [{ field: 'a ', op: '=', value: 'b' }]);
  });
});
