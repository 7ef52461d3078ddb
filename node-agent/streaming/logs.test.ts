import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCriLog, streamLog, type LogOptions } from './logs.ts';
import { eventually } from '../../test/harness/eventually.ts';

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata', 'cri-format.txt');

async function read(opts: LogOptions, file = FIXTURE): Promise<string> {
  let out = '';
  await streamLog(file, opts, { write: (s) => ((out += s), true), closed: () => false }, () => false);
  return out;
}

describe('parseCriLog', () => {
  it('joins P parts with the F that ends them, keeping the first part time and stream', () => {
    const entries = parseCriLog(
      '2024-05-01T10:00:01Z stderr P ab\n2024-05-01T10:00:02Z stderr P cd\n2024-05-01T10:00:03Z stderr F ef\n',
    );
    assert.deepEqual(entries, [{ time: '2024-05-01T10:00:01Z', stream: 'stderr', text: 'abcdef\n' }]);
  });

  it('gives the parts no F has ended yet as an entry without a newline', () => {
    assert.deepEqual(
      parseCriLog(
        '2024-05-01T10:00:00Z stdout F x\n2024-05-01T10:00:01Z stdout P ab\n2024-05-01T10:00:02Z stdout P cd\n',
      ),
      [
        { time: '2024-05-01T10:00:00Z', stream: 'stdout', text: 'x\n' },
        { time: '2024-05-01T10:00:01Z', stream: 'stdout', text: 'abcd' },
      ],
    );
  });

  it('reads an empty line (F with no text) and spaces inside the text', () => {
    assert.deepEqual(
      parseCriLog('2024-05-01T10:00:03Z stdout F\n2024-05-01T10:00:04Z stdout F  two  spaces \n').map((e) => e.text),
      ['\n', ' two  spaces \n'],
    );
  });
});

describe('streamLog on a CRI log file', () => {
  it('the whole log, partial lines joined', async () => {
    assert.equal(await read({}), 'first line\na long line written in three parts\n\nhéllo wörld\nlast\n');
  });

  it('tailLines counts log lines (0 gives nothing, more than there are gives all)', async () => {
    assert.equal(await read({ tailLines: 2 }), 'héllo wörld\nlast\n');
    assert.equal(await read({ tailLines: 0 }), '');
    assert.equal(await read({ tailLines: 100 }), await read({}));
  });

  it('timestamps prefix each line with the runtime time (RFC3339Nano, as written)', async () => {
    assert.equal(
      await read({ timestamps: true, tailLines: 4 }),
      '2024-05-01T10:00:01.5Z a long line written in three parts\n2024-05-01T10:00:03Z \n2024-05-01T12:00:04.25+02:00 héllo wörld\n2024-05-01T10:00:05Z last\n',
    );
  });

  it('since keeps lines at or after the time, whatever the zone offset', async () => {
    assert.equal(await read({ sinceMs: Date.parse('2024-05-01T10:00:03Z') }), '\nhéllo wörld\nlast\n');
    assert.equal(await read({ sinceMs: Date.parse('2024-05-01T10:00:04.3Z') }), 'last\n');
    assert.equal(await read({ sinceMs: Date.parse('2024-05-01T11:00:00Z') }), '');
  });

  it('tail applies before since (tail picks the lines, since filters them)', async () => {
    assert.equal(await read({ tailLines: 3, sinceMs: Date.parse('2024-05-01T10:00:04Z') }), 'héllo wörld\nlast\n');
  });

  it('limitBytes cuts the output', async () => {
    assert.equal(await read({ limitBytes: 14 }), 'first line\na l');
    assert.equal(await read({ limitBytes: 0 }), await read({}), 'zero means no limit');
  });

  it('limitBytes counts bytes, not characters', async () => {
    const out = await read({ tailLines: 2, limitBytes: 3 });
    assert.equal(Buffer.byteLength(out), 3);
  });

  it('a missing file is an empty log', async () => {
    assert.equal(await read({}, '/nonexistent/skiff/0.log'), '');
  });

  it('follow sends lines written later, leaves a half-written line for later, and ends when the container stops', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-logs-'));
    try {
      const file = path.join(dir, '0.log');
      copyFileSync(FIXTURE, file);
      appendFileSync(file, '2024-05-01T10:00:06Z stdout F in the making'); // no newline yet
      let out = '';
      let running = true;
      const done = streamLog(
        file,
        { follow: true, tailLines: 1 },
        { write: (s) => ((out += s), true), closed: () => false },
        () => running,
      );
      await eventually('the last line sent', () => out.length > 0);
      assert.equal(out, 'last\n');
      appendFileSync(file, '\n2024-05-01T10:00:07Z stdout P two \n2024-05-01T10:00:07Z stdout F parts\n');
      await eventually('the new lines sent', () => out.includes('parts'));
      assert.equal(out, 'last\nin the making\ntwo parts\n');
      running = false;
      await done;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('output without a newline yet (a P line at the end) is shown as it is, also with tail and follow', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-logs-'));
    try {
      const file = path.join(dir, '0.log');
      writeFileSync(file, '2024-05-01T10:00:01Z stdout F first\n2024-05-01T10:00:02Z stdout P hello\n');
      assert.equal(await read({}, file), 'first\nhello');
      assert.equal(await read({ tailLines: 1, timestamps: true }, file), '2024-05-01T10:00:02Z hello');
      // follow shows the same, at once, and then the rest of the line when it comes
      let out = '';
      let running = true;
      const done = streamLog(
        file,
        { follow: true, tailLines: 1 },
        { write: (s) => ((out += s), true), closed: () => false },
        () => running,
      );
      await eventually('the partial line sent', () => out.length > 0);
      assert.equal(out, 'hello');
      appendFileSync(file, '2024-05-01T10:00:03Z stdout F  world\n');
      await eventually('the rest of the line sent', () => out.includes('world'));
      assert.equal(out, 'hello world\n');
      running = false;
      await done;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('follow stops when the client goes away', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-logs-'));
    try {
      const file = path.join(dir, '0.log');
      writeFileSync(file, '2024-05-01T10:00:06Z stdout F hello\n');
      let closed = false;
      const done = streamLog(file, { follow: true }, { write: () => true, closed: () => closed }, () => true);
      closed = true;
      // it ends (at its next check); the bound only turns a hang into a failure
      const ended = done.then(
        () => 'ended',
        (e: unknown) => `failed: ${e}`,
      );
      let result = '';
      void ended.then((r) => (result = r));
      await eventually('the follow ended', () => result);
      assert.equal(result, 'ended');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
