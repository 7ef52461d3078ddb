import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MAX_BODY_BYTES,
  MAX_NESTING_DEPTH,
  nestingDeeperThan,
  parseJson,
  parseJsonText,
  parseYaml,
  withinExpandedSize,
} from './body.ts';
import { ApiError } from './status.ts';

/** a YAML document whose `data` is nine lists of nine, `levels` deep, of one alias each: 9^(levels+1) strings */
function laughs(levels: number): string {
  let y = 'kind: ControllerRevision\nx0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n';
  for (let i = 1; i <= levels; i++)
    y += `x${i}: &a${i} [${Array(9)
      .fill(`*a${i - 1}`)
      .join(', ')}]\n`;
  return `${y}data: *a${levels}\n`;
}

describe('request bodies in YAML', () => {
  it('takes documents with a few aliases, as any YAML', () => {
    const doc = parseYaml(
      Buffer.from('kind: Pod\nmetadata: {name: p, labels: &l {app: web}}\nspec: {nodeSelector: *l}\n'),
    );
    assert.deepEqual(doc.spec.nodeSelector, { app: 'web' });
    assert.equal(parseYaml(Buffer.from(laughs(2))).data.length, 9);
  });

  it('refuses a document whose aliases expand beyond what a request may carry', () => {
    for (const levels of [5, 9]) {
      const text = laughs(levels);
      assert.ok(text.length < 1000);
      assert.throws(
        () => parseYaml(Buffer.from(text)),
        (e: unknown) =>
          e instanceof ApiError &&
          e.code === 400 &&
          e.message === 'the body of the request was not valid YAML: yaml: document contains excessive aliasing',
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

/** JSON text of objects nested `n` deep ({"a":{"a":...1}}) */
const nested = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);

describe('nesting depth', () => {
  it('measures arrays and objects, the value itself as depth 1', () => {
    assert.equal(nestingDeeperThan(1, 0), false);
    assert.equal(nestingDeeperThan({}, 0), true);
    assert.equal(nestingDeeperThan({}, 1), false);
    assert.equal(nestingDeeperThan({ a: [1, { b: [] }] }, 3), true);
    assert.equal(nestingDeeperThan({ a: [1, { b: [] }] }, 4), false);
    assert.equal(nestingDeeperThan({ a: [1, { b: 'x' }], c: null }, 3), false);
    assert.equal(nestingDeeperThan(JSON.parse(nested(100_000)), 99_999), true);
    assert.equal(nestingDeeperThan(JSON.parse(nested(100_000)), 100_000), false);
  });

  it('refuses JSON bodies and YAML nested deeper than the limit with a 400, takes them at the limit', () => {
    assert.equal(parseJsonText(nested(MAX_NESTING_DEPTH)).a.a.a !== undefined, true);
    assert.throws(
      () => parseJsonText(nested(MAX_NESTING_DEPTH + 1)),
      /exceeded max depth: arrays and objects nest more than 1000 deep/,
    );
    assert.throws(() => parseJsonText('['.repeat(200_000) + ']'.repeat(200_000)), /exceeded max depth/);
    assert.throws(
      () => parseJson(Buffer.from(nested(50_000))),
      (e: unknown) =>
        e instanceof ApiError &&
        e.code === 400 &&
        /^the body of the request was not valid JSON: exceeded max depth/.test(e.message),
    );
    // YAML (flow style, as JSON is YAML)
    assert.equal(typeof parseYaml(Buffer.from(nested(MAX_NESTING_DEPTH))).a, 'object');
    assert.throws(
      () => parseYaml(Buffer.from(nested(MAX_NESTING_DEPTH + 1))),
      (e: unknown) =>
        e instanceof ApiError &&
        e.code === 400 &&
        e.message ===
          'the body of the request was not valid YAML: exceeded max depth: arrays and objects nest more than 1000 deep',
    );
  });

  it('counts what aliases nest where they appear', () => {
    // each anchor holds a list of the one before: nesting the loader never saw as such
    let y = 'x0: &a0 [1]\n';
    for (let i = 1; i <= 1200; i++) y += `x${i}: &a${i} [*a${i - 1}]\n`;
    assert.throws(() => parseYaml(Buffer.from(y)), /exceeded max depth/);
    const shallow = y.split('\n').slice(0, 500).join('\n');
    assert.equal(Array.isArray(parseYaml(Buffer.from(shallow)).x499), true);
  });
});
