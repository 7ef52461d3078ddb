import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseQuantity,
  formatQuantity,
  milliValue,
  wholeValue,
  canonicalQuantity,
  compareQuantities,
  QuantityParseError,
} from './quantity.ts';

test('quantities parse exactly and format canonically', () => {
  assert.equal(milliValue(parseQuantity('100m')), 100n);
  assert.equal(milliValue(parseQuantity('1')), 1000n);
  assert.equal(milliValue(parseQuantity('0.5')), 500n);
  assert.equal(wholeValue(parseQuantity('1Gi')), 1073741824n);
  assert.equal(wholeValue(parseQuantity('1e3')), 1000n);
  assert.equal(wholeValue(parseQuantity('128974848')), 128974848n);
  assert.equal(wholeValue(parseQuantity('129M')), 129000000n);
  assert.equal(milliValue(parseQuantity('1n')), 1n, 'rounds up to the next milli');
  assert.equal(formatQuantity(parseQuantity('0.5')), '500m');
  assert.equal(formatQuantity(parseQuantity('1000m')), '1');
  assert.equal(formatQuantity(parseQuantity('1000')), '1k');
  assert.equal(formatQuantity(parseQuantity('1500')), '1500');
  assert.equal(formatQuantity(parseQuantity('1.5Gi')), '1536Mi');
  assert.equal(formatQuantity(parseQuantity('1024Ki')), '1Mi');
  assert.equal(formatQuantity(parseQuantity('100Ki')), '100Ki');
  assert.equal(formatQuantity(parseQuantity('0.5Ki')), '512');
  assert.equal(formatQuantity(parseQuantity('1e3')), '1e3');
  assert.equal(formatQuantity(parseQuantity('0')), '0');
  assert.equal(formatQuantity(parseQuantity('-100m')), '-100m');
  assert.equal(canonicalQuantity(2), '2');
  assert.equal(canonicalQuantity('junk'), 'junk');
  assert.equal(compareQuantities(parseQuantity('1Gi'), parseQuantity('1G')), 1);
  for (const bad of ['', 'abc', '1KB', '1.2.3', 'm', '1 Gi', '1e'])
    assert.throws(() => parseQuantity(bad), QuantityParseError, bad);
});

test('quantities parsed again give the same value, and what did not parse fails again', () => {
  const a = parseQuantity('250m');
  const b = parseQuantity('250m');
  assert.deepEqual(b, { nanos: 250_000_000n, format: 'DecimalSI' });
  assert.ok(Object.isFrozen(a) && Object.isFrozen(b), 'a shared quantity cannot be changed by one of its users');
  // more distinct texts than the memory holds: every one still parses to its own value
  for (let i = 0; i < 10_000; i++) assert.equal(milliValue(parseQuantity(`${i}m`)), BigInt(i));
  assert.equal(milliValue(parseQuantity('250m')), 250n);
  for (let i = 0; i < 2; i++) assert.throws(() => parseQuantity('1KB'), QuantityParseError);
});
