import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseLabelSelector, parseFieldSelector, labelSelectorFromObject, SelectorError } from './selectors.ts';

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
  it('rejects malformed selectors with a reason', () => {
    for (const bad of ['app=we b', 'a b c', 'app in ()', '=x', 'n>x']) {
      assert.throws(() => parseLabelSelector(bad), SelectorError, bad);
    }
  });
  it('gives the pinned value for index look-ups', () => {
    assert.equal(parseLabelSelector('app=web,x').equalityValue('app'), 'web');
    assert.equal(parseLabelSelector('app!=web').equalityValue('app'), undefined);
  });
  it('builds from a LabelSelector object', () => {
    const s = labelSelectorFromObject({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a'] }] });
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
  it('rejects garbage', () => {
    assert.throws(() => parseFieldSelector('justaword'), SelectorError);
  });
});
