import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LOG_BACKLOG_LIMIT, logCheck, runChecks } from './health.ts';

test('the log check fails while log output piles up unwritten, and says so', async () => {
  const out = { writableLength: 0 };
  const check = logCheck(out);
  assert.deepEqual(await runChecks('livez', [check], true), { ok: true, body: '[+]log ok\nlivez check passed\n' });
  out.writableLength = LOG_BACKLOG_LIMIT + 1;
  const r = await runChecks('livez', [check], false);
  assert.equal(r.ok, false);
  assert.equal(
    r.body,
    `[-]log failed: logging is blocked: ${LOG_BACKLOG_LIMIT + 1} bytes of log output wait to be written\nlivez check failed\n`,
  );
});
