/** kill -9 the writer at random moments: every acknowledged write survives and the file stays intact */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { SqliteBackend } from './sqlite-backend.ts';

const writer = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'skiff-crash-'));
const path = join(dir, 'state.db');
const children = new Set<number>();

after(() => {
  for (const pid of children) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

/**
 * run the writer, SIGKILL it killAfterMs after its first acknowledged create (so that however slow the machine, some
 * writes are there to check), return the acknowledged lines
 */
function runAndKill(round: number, killAfterMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, path, String(round)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child.pid!);
    let out = '';
    let err = '';
    let killed = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!killed && out.startsWith('ready\n') && /\nc [^\n]*\n/.test(out)) {
        killed = true;
        setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code, signal) => {
      children.delete(child.pid!);
      if (signal !== 'SIGKILL') return reject(new Error(`writer exited on its own (${code}): ${err}`));
      const lines = out.split('\n');
      lines.pop(); // possibly cut short by the kill
      resolve(lines.slice(1));
    });
  });
}

describe('sqlite crash safety', () => {
  it('survives SIGKILL at random moments without losing acknowledged writes', { timeout: 180_000 }, async () => {
    let total = 0;
    for (let round = 0; round < 4; round++) {
      const acked = await runAndKill(round, 150 + Math.floor(Math.random() * 400));
      const keys = acked.filter((l) => l.startsWith('c ')).map((l) => l.slice(2));
      const hot = acked.filter((l) => l.startsWith('u ')).map((l) => Number(l.slice(2)));
      assert.ok(keys.length > 0, `round ${round}: the writer acknowledged some creates before the kill`);
      total += keys.length;

      const b = new SqliteBackend({ path, compactIntervalMs: 0, checkpointIntervalMs: 0 });
      await b.start();
      try {
        for (const key of keys) assert.ok((await b.get(key)).kv, `round ${round}: acknowledged ${key} is missing`);
        const stored = Number((await b.get('/registry/hot')).kv?.value);
        if (hot.length > 0)
          assert.ok(
            stored >= hot[hot.length - 1],
            `round ${round}: hot key at ${stored}, acknowledged ${hot[hot.length - 1]}`,
          );
        const all = await b.list('/registry/crash/');
        assert.ok(all.kvs.length >= total);
        const rev = await b.currentRevision();
        const next = await b.create(`/registry/after-crash-${round}`, 'x');
        assert.equal(next.revision, rev + 1, 'revisions continue after recovery');
      } finally {
        await b.close();
      }
      const db = new Database(path);
      try {
        assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      } finally {
        db.close();
      }
    }
  });
});
