/**
 * Child process for the crash test: writes to the store at argv[2] as fast as it can (creates of fresh keys plus
 * guarded updates of one hot key, with frequent compaction and checkpoints) and prints a line for every write the
 * store acknowledged: "c <key>" or "u <n>". The parent kills it with SIGKILL at a random moment.
 */
import { writeSync } from 'node:fs';
import { SqliteBackend } from './sqlite-backend.ts';

const path = process.argv[2];
const round = process.argv[3] ?? '0';
if (!path) throw new Error('usage: crash-writer.ts <db path> [round]');
const b = new SqliteBackend({ path, compactIntervalMs: 20, compactRetain: 50, checkpointIntervalMs: 30 });
await b.start();
const value = 'v'.repeat(1500);
const hot = '/registry/hot';
let cur = (await b.get(hot)).kv ?? (await b.create(hot, '0')).kv!;
let n = Number(cur.value);
writeSync(1, 'ready\n');

async function creator(id: number): Promise<void> {
  for (let i = 0; ; i++) {
    const key = `/registry/crash/r${round}-w${id}-${i}`;
    const res = await b.create(key, value);
    if (!res.ok) throw new Error(`create of ${key} failed`);
    writeSync(1, `c ${key}\n`);
  }
}

async function updater(): Promise<void> {
  for (;;) {
    const res = await b.update(hot, String(n + 1), cur.modRevision);
    if (!res.ok) throw new Error('hot key update conflicted, but this process is its only writer');
    n++;
    cur = res.kv!;
    writeSync(1, `u ${n}\n`);
  }
}

await Promise.all([...Array.from({ length: 32 }, (_, i) => creator(i)), updater()]);
