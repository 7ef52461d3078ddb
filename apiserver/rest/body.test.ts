import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_BODY_BYTES, parseYaml, withinExpandedSize } from './body.ts';
import { ApiError } from './status.ts';

/** a YAML document whose `data` is nine lists of nine, `levels` deep, of one alias each: 9^(levels+1) strings */
function laughs(levels: number): string {
  let y = 'kind: ControllerRevision\nx0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n';
  for (let i = 1; i <= levels; i++) y += `x${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]\n`;
  return `${y}data: *a${levels}\n`;
}

describe('request bodies in YAML', () => {
  it('takes documents with a few aliases, as any YAML', () => {
    const doc = parseYaml(Buffer.from('kind: Pod\nmetadata: {name: p, labels: &l {app: web}}\nspec: {nodeSelector: *l}\n'));
    assert.deepEqual(doc.spec.nodeSelector, { app: 'web' });
    assert.equal(parseYaml(Buffer.from(laughs(2))).data.length, 9);
  });

  it('refuses a document whose aliases expand beyond what a request may carry', () => {
    for (const levels of [5, 9]) {
      const text = laughs(levels);
      assert.ok(text.length < 1000);
      assert.throws(
        () => parseYaml(Buffer.from(text)),
        (e: unknown) => e instanceof ApiError && e.code === 400 && e.message === 'the body of the request was not valid YAML: yaml: document contains excessive aliasing',
      );
    }
  });

  it('sizes values as the JSON they stand for, stopping at the limit', () => {
    const big = { data: { a: 'x'.repeat(MAX_BODY_BYTES) } };
    assert.equal(withinExpandedSize(big), true);
    assert.equal(withinExpandedSize(big, MAX_BODY_BYTES), false);
    const shared = ['y'.repeat(1024)];
    const dag = Array(100).fill(Array(100).fill(shared));
    assert.equal(withinExpandedSize(dag, 1_000_000), false);
    assert.equal(withinExpandedSize(dag, 20_000_000), true);
  });
});
