import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { goJsonSyntaxError, summarizeBody } from './go-json.ts';

const e = (s: string) => goJsonSyntaxError(Buffer.from(s));

describe("Go's JSON syntax errors", () => {
  it('names the first bad character as Go does, with what it was looking for', () => {
    const cases: Array<[string, string | undefined]> = [
      ['{"a":1}', undefined],
      [' [1, -2.5e+3, true, false, null, "x\\u00e9\\n"] ', undefined],
      ['{not json', "invalid character 'n' looking for beginning of object key string"],
      ['', 'unexpected end of JSON input'],
      ['{"a":1', 'unexpected end of JSON input'],
      ['{"a" 1}', "invalid character '1' after object key"],
      ['{"a":1 "b":2}', `invalid character '"' after object key:value pair`],
      ['[1 2]', "invalid character '2' after array element"],
      ['{"a":1,}', "invalid character '}' looking for beginning of object key string"],
      ['[1,]', "invalid character ']' looking for beginning of value"],
      ['{"a":1}x', "invalid character 'x' after top-level value"],
      ['01', "invalid character '1' after top-level value"],
      ['-x', "invalid character 'x' in numeric literal"],
      ['1.e5', "invalid character 'e' after decimal point in numeric literal"],
      ['1e+', 'unexpected end of JSON input'],
      ['1ex', "invalid character 'x' in exponent of numeric literal"],
      ['tru', 'unexpected end of JSON input'],
      ['trux', "invalid character 'x' in literal true (expecting 'e')"],
      ['nul', 'unexpected end of JSON input'],
      ['"a\\qb"', "invalid character 'q' in string escape code"],
      ['"\\u12g4"', "invalid character 'g' in \\u hexadecimal character escape"],
      ['"a\tb"', "invalid character '\\t' in string literal"],
      ["{'a':1}", "invalid character '\\'' looking for beginning of object key string"],
      ['{"a":undefined}', "invalid character 'u' looking for beginning of value"],
    ];
    for (const [text, want] of cases) assert.equal(e(text), want, text);
  });

  it('walks any depth and length without recursion', () => {
    assert.equal(e('['.repeat(200_000) + ']'.repeat(200_000)), undefined);
    assert.equal(e(`[${'1,'.repeat(500_000)}1]`), undefined);
    assert.equal(e('['.repeat(200_000)), 'unexpected end of JSON input');
  });

  it('summarizes a body as Kubernetes does in decoding errors', () => {
    assert.equal(summarizeBody(Buffer.from('')), '<empty>');
    assert.equal(summarizeBody(Buffer.from('{not json')), '{not json');
    assert.equal(
      summarizeBody(Buffer.from('{"apiVersion":"v1","kind":"ConfigMap"}')),
      '{"apiVersion":"v1","kind":"Con ...',
    );
    assert.equal(summarizeBody(Buffer.from('xy')), '7879');
  });
});
