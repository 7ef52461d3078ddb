import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  matchExpressionMatches,
  matchFieldMatches,
  nodeSelectorMatches,
  nodeSelectorTermMatches,
  preferredSchedulingScore,
  requiredNodeAffinityMatches,
  type NodeLike,
  type NodeSelectorRequirement,
} from './node-affinity.ts';

function node(name: string, labels: Record<string, string> = {}): NodeLike {
  return { metadata: { name, labels } };
}

const expr = (key: string, operator: NodeSelectorRequirement['operator'], values?: string[]) =>
  ({ key, operator, ...(values ? { values } : {}) }) as NodeSelectorRequirement;

test('match expressions: In, NotIn, Exists, DoesNotExist', () => {
  const labels = { disk: 'ssd', zone: 'a' };
  assert.equal(matchExpressionMatches(expr('disk', 'In', ['ssd', 'nvme']), labels), true);
  assert.equal(matchExpressionMatches(expr('disk', 'In', ['hdd']), labels), false);
  assert.equal(matchExpressionMatches(expr('gpu', 'In', ['yes']), labels), false);
  assert.equal(matchExpressionMatches(expr('zone', 'NotIn', ['b']), labels), true);
  assert.equal(matchExpressionMatches(expr('zone', 'NotIn', ['a']), labels), false);
  assert.equal(matchExpressionMatches(expr('gpu', 'NotIn', ['yes']), labels), true, 'a missing label is not in');
  assert.equal(matchExpressionMatches(expr('disk', 'Exists'), labels), true);
  assert.equal(matchExpressionMatches(expr('gpu', 'DoesNotExist'), labels), true);
  assert.equal(matchExpressionMatches(expr('constructor', 'Exists'), labels), false, 'own labels only');
  // what labels.NewRequirement refuses matches nothing
  assert.equal(matchExpressionMatches(expr('disk', 'In', []), labels), false);
  assert.equal(matchExpressionMatches(expr('disk', 'Exists', ['ssd']), labels), false);
  assert.equal(matchExpressionMatches(expr('gpu', 'DoesNotExist', ['x']), labels), false);
  assert.equal(matchExpressionMatches(expr('bad key!', 'DoesNotExist'), labels), false);
  assert.equal(
    matchExpressionMatches(expr('disk', 'Like' as NodeSelectorRequirement['operator'], ['ssd']), labels),
    false,
  );
});

test('Gt and Lt compare 64-bit integers; a value that does not parse as one matches nothing', () => {
  const gt = (label: string, value: string) => matchExpressionMatches(expr('n', 'Gt', [value]), { n: label });
  const lt = (label: string, value: string) => matchExpressionMatches(expr('n', 'Lt', [value]), { n: label });
  assert.equal(gt('10', '5'), true);
  assert.equal(gt('5', '5'), false);
  assert.equal(lt('3', '5'), true);
  assert.equal(lt('007', '8'), true, 'leading zeros are decimal');
  // the DaemonSet controller read these with Number.parseInt, which stops at the first non-digit ("12abc" is 12):
  // its pods went to nodes the scheduler refused them
  assert.equal(gt('12abc', '5'), false);
  assert.equal(gt('12', '5x'), false);
  assert.equal(gt('1.5', '1'), false);
  assert.equal(gt('0x10', '1'), false);
  assert.equal(gt('', '1'), false);
  // past 2^53 a double cannot tell these apart; int64 can
  assert.equal(gt('9007199254740993', '9007199254740992'), true);
  // past int64 strconv.ParseInt fails: no match
  assert.equal(gt('9223372036854775808', '1'), false);
  assert.equal(gt('9223372036854775807', '1'), true);
  assert.equal(lt('1', '9223372036854775808'), false);
  // exactly one value; a missing label is neither greater nor less
  assert.equal(matchExpressionMatches(expr('n', 'Gt', ['1', '2']), { n: '5' }), false);
  assert.equal(matchExpressionMatches(expr('n', 'Gt', []), { n: '5' }), false);
  assert.equal(matchExpressionMatches(expr('n', 'Lt', ['5']), {}), false);
});

test('matchFields: In and NotIn with one value on metadata.name', () => {
  const n1 = node('n1');
  assert.equal(matchFieldMatches(expr('metadata.name', 'In', ['n1']), n1), true);
  assert.equal(matchFieldMatches(expr('metadata.name', 'In', ['n2']), n1), false);
  assert.equal(matchFieldMatches(expr('metadata.name', 'NotIn', ['n2']), n1), true);
  assert.equal(matchFieldMatches(expr('metadata.name', 'In', ['n1', 'n2']), n1), false, 'one value only');
  assert.equal(matchFieldMatches(expr('metadata.name', 'Exists'), n1), false, 'In and NotIn only');
  assert.equal(matchFieldMatches(expr('metadata.uid', 'In', ['n1']), n1), false, 'other fields are empty');
});

test('terms: requirements AND-ed, terms OR-ed, empty or unparsable terms match no node', () => {
  const ssd = node('n1', { disk: 'ssd', zone: 'a' });
  const term = { matchExpressions: [expr('disk', 'In', ['ssd'])], matchFields: [expr('metadata.name', 'In', ['n1'])] };
  assert.equal(nodeSelectorTermMatches(term, ssd), true);
  assert.equal(nodeSelectorTermMatches(term, node('n2', { disk: 'ssd' })), false);
  assert.equal(nodeSelectorTermMatches({}, ssd), false);
  assert.equal(nodeSelectorTermMatches({ matchExpressions: [], matchFields: [] }, ssd), false);
  const broken = { matchExpressions: [expr('disk', 'In', ['ssd']), expr('zone', 'Gt', ['x'])] };
  assert.equal(nodeSelectorTermMatches(broken, ssd), false, 'one bad requirement spoils its term');
  assert.equal(nodeSelectorMatches({ nodeSelectorTerms: [broken, term] }, ssd), true, 'but not the other terms');
  assert.equal(nodeSelectorMatches({ nodeSelectorTerms: [] }, ssd), false);
  assert.equal(nodeSelectorMatches(undefined, ssd), false);
});

test("a pod spec's nodeSelector and required node affinity must both hold", () => {
  const ssd = node('n1', { disk: 'ssd', zone: 'a' });
  assert.equal(requiredNodeAffinityMatches({}, ssd), true);
  assert.equal(requiredNodeAffinityMatches(undefined, ssd), true);
  assert.equal(requiredNodeAffinityMatches({ nodeSelector: { disk: 'ssd' } }, ssd), true);
  assert.equal(requiredNodeAffinityMatches({ nodeSelector: { disk: 'hdd' } }, ssd), false);
  assert.equal(requiredNodeAffinityMatches({ nodeSelector: { gpu: '' } }, ssd), false, 'a missing label is not ""');
  const required = (zone: string) => ({
    requiredDuringSchedulingIgnoredDuringExecution: {
      nodeSelectorTerms: [{ matchExpressions: [expr('zone', 'In', [zone])] }],
    },
  });
  assert.equal(
    requiredNodeAffinityMatches({ nodeSelector: { disk: 'ssd' }, affinity: { nodeAffinity: required('a') } }, ssd),
    true,
  );
  assert.equal(
    requiredNodeAffinityMatches({ nodeSelector: { disk: 'ssd' }, affinity: { nodeAffinity: required('b') } }, ssd),
    false,
  );
  assert.equal(
    requiredNodeAffinityMatches(
      { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } } },
      ssd,
    ),
    false,
    'a required node affinity without terms matches nothing',
  );
});

test('preferred terms score the sum of the weights of those that match', () => {
  const ssd = node('n1', { disk: 'ssd', zone: 'a' });
  const terms = [
    { weight: 80, preference: { matchExpressions: [expr('disk', 'In', ['ssd'])] } },
    { weight: 15, preference: { matchExpressions: [expr('zone', 'In', ['a'])] } },
    { weight: 5, preference: { matchExpressions: [expr('zone', 'In', ['b'])] } },
    { weight: 0, preference: { matchExpressions: [expr('disk', 'Exists')] } },
    { weight: 7, preference: {} },
  ];
  assert.equal(preferredSchedulingScore(terms, ssd), 95);
  assert.equal(preferredSchedulingScore(undefined, ssd), 0);
});
