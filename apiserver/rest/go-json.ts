/**
 * The syntax error Go's encoding/json reports for a document that is not JSON, so that a request with a broken body
 * gets Kubernetes' own words ("invalid character 'n' looking for beginning of object key string", "unexpected end
 * of JSON input"). Only run once JSON.parse has failed: it walks the bytes as Go's scanner does, to the first error.
 */

const enum Ctx {
  ObjectKey,
  ObjectValue,
  ArrayValue,
}

/** Go's quoteChar: the byte as a Go quoted character, in single quotes */
function quoteChar(c: number): string {
  if (c === 0x27) return `'\\''`;
  if (c === 0x22) return `'"'`;
  const named: Record<number, string> = {
    7: '\\a',
    8: '\\b',
    9: '\\t',
    10: '\\n',
    11: '\\v',
    12: '\\f',
    13: '\\r',
    0x5c: '\\\\',
  };
  if (named[c]) return `'${named[c]}'`;
  if (c < 0x20 || c === 0x7f) return `'\\x${c.toString(16).padStart(2, '0')}'`;
  // a byte of a multi-byte character is shown as the code point of that byte, as Go's string(rune(c)) does
  return `'${String.fromCharCode(c)}'`;
}

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isHex = (c: number) => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);

/** Go's json error for `data`, or undefined when it is one valid JSON value (iterative: any depth, any length) */
export function goJsonSyntaxError(data: Uint8Array): string | undefined {
  const stack: Ctx[] = [];
  const n = data.length;
  let i = 0;
  const err = (c: number, context: string) => `invalid character ${quoteChar(c)} ${context}`;
  const EOF = 'unexpected end of JSON input';
  const skip = () => {
    while (i < n && isSpace(data[i])) i++;
  };

  /** a string from its opening quote: undefined once it is closed, else the error */
  const string = (): string | undefined => {
    i++;
    while (i < n) {
      const c = data[i++];
      if (c === 0x22) return undefined;
      if (c < 0x20) return err(c, 'in string literal');
      if (c !== 0x5c) continue;
      if (i >= n) return EOF;
      const e = data[i++];
      if (e === 0x75) {
        for (let k = 0; k < 4; k++) {
          if (i >= n) return EOF;
          if (!isHex(data[i])) return err(data[i], 'in \\u hexadecimal character escape');
          i++;
        }
      } else if (!'bfnrt\\/"'.includes(String.fromCharCode(e))) return err(e, 'in string escape code');
    }
    return EOF;
  };

  /** a number from its first character; a number may end the input (Go takes it as complete there) */
  const number = (): string | undefined => {
    if (data[i] === 0x2d) {
      i++;
      if (i >= n) return EOF;
      if (!isDigit(data[i])) return err(data[i], 'in numeric literal');
    }
    if (data[i] === 0x30) i++;
    else while (i < n && isDigit(data[i])) i++;
    if (i < n && data[i] === 0x2e) {
      i++;
      if (i >= n) return EOF;
      if (!isDigit(data[i])) return err(data[i], 'after decimal point in numeric literal');
      while (i < n && isDigit(data[i])) i++;
    }
    if (i < n && (data[i] === 0x65 || data[i] === 0x45)) {
      i++;
      if (i < n && (data[i] === 0x2b || data[i] === 0x2d)) i++;
      if (i >= n) return EOF;
      if (!isDigit(data[i])) return err(data[i], 'in exponent of numeric literal');
      while (i < n && isDigit(data[i])) i++;
    }
    return undefined;
  };

  const literal = (word: string): string | undefined => {
    for (let k = 1; k < word.length; k++) {
      i++;
      if (i >= n) return EOF;
      if (data[i] !== word.charCodeAt(k)) return err(data[i], `in literal ${word} (expecting '${word[k]}')`);
    }
    i++;
    return undefined;
  };

  // what is expected next: a value, an object key, or what may follow a complete value
  let want: 'value' | 'key' | 'end' = 'value';
  for (;;) {
    skip();
    if (want === 'value') {
      if (i >= n) return EOF;
      const c = data[i];
      let e: string | undefined;
      if (c === 0x7b || c === 0x5b) {
        i++;
        skip();
        if (i < n && data[i] === (c === 0x7b ? 0x7d : 0x5d)) {
          i++;
          want = 'end';
        } else if (c === 0x7b) {
          stack.push(Ctx.ObjectKey);
          want = 'key';
        } else stack.push(Ctx.ArrayValue);
        continue;
      }
      if (c === 0x22) e = string();
      else if (c === 0x2d || isDigit(c)) e = number();
      else if (c === 0x74) e = literal('true');
      else if (c === 0x66) e = literal('false');
      else if (c === 0x6e) e = literal('null');
      else return err(c, 'looking for beginning of value');
      if (e) return e;
      want = 'end';
      continue;
    }
    if (want === 'key') {
      if (i >= n) return EOF;
      if (data[i] !== 0x22) return err(data[i], 'looking for beginning of object key string');
      const e = string();
      if (e) return e;
      want = 'end';
      continue;
    }
    const top = stack[stack.length - 1];
    if (top === undefined) return i < n ? err(data[i], 'after top-level value') : undefined;
    if (i >= n) return EOF;
    const c = data[i++];
    if (top === Ctx.ObjectKey) {
      if (c !== 0x3a) return err(c, 'after object key');
      stack[stack.length - 1] = Ctx.ObjectValue;
      want = 'value';
    } else if (top === Ctx.ObjectValue) {
      if (c === 0x2c) {
        stack[stack.length - 1] = Ctx.ObjectKey;
        want = 'key';
      } else if (c === 0x7d) stack.pop();
      else return err(c, 'after object key:value pair');
    } else if (c === 0x2c) want = 'value';
    else if (c === 0x5d) stack.pop();
    else return err(c, 'after array element');
  }
}

/** Kubernetes' short view of a body in decoding errors: its start, as text for an object, else in hex */
export function summarizeBody(data: Uint8Array, max = 30): string {
  if (data.length === 0) return '<empty>';
  const head = Buffer.from(data.subarray(0, max));
  const more = data.length > max ? ' ...' : '';
  return data[0] === 0x7b ? head.toString('latin1') + more : head.toString('hex') + more;
}
