import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { microTime, rfc3339 } from './time.ts';

describe('API times', () => {
  it('formats RFC 3339 with seconds, cutting fractions, for any order of calls', () => {
    const cases: Array<[number, string]> = [
      [Date.UTC(2026, 0, 2, 3, 4, 5, 999), '2026-01-02T03:04:05Z'],
      [Date.UTC(2026, 0, 2, 3, 4, 5, 0), '2026-01-02T03:04:05Z'],
      [Date.UTC(2026, 0, 2, 3, 4, 6, 1), '2026-01-02T03:04:06Z'],
      [Date.UTC(2026, 0, 2, 3, 4, 5, 500), '2026-01-02T03:04:05Z'],
      [-500, '1969-12-31T23:59:59Z'],
      [0, '1970-01-01T00:00:00Z'],
      [-1000, '1969-12-31T23:59:59Z'],
      [-1001, '1969-12-31T23:59:58Z'],
    ];
    for (const [ms, text] of cases) assert.equal(rfc3339(new Date(ms)), text, `${ms}`);
    assert.match(rfc3339(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.throws(() => rfc3339(new Date(NaN)), RangeError);
  });

  it('formats MicroTime with microseconds', () => {
    assert.equal(microTime(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678))), '2026-01-02T03:04:05.678000Z');
  });
});
