import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBackendContract } from '../contract.ts';
import { SqliteBackend } from './sqlite-backend.ts';

runBackendContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-sqlite-'));
  const backend = new SqliteBackend({ path: join(dir, 'db', 'state.db') });
  await backend.start();
  return {
    backend,
    async cleanup() {
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
