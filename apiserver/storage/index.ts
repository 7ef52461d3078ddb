/**
 * Choosing the storage driver from the --store URL:
 *   ""  or  sqlite://             the embedded store at <dataDir>/db/state.db (the default)
 *   sqlite:///abs/path/state.db   the embedded store at that file
 *   etcd://host:port[,host:port]  an etcd v3 cluster
 */
import { isAbsolute, join } from 'node:path';
import type { Backend } from './backend.ts';
import { EtcdBackend, parseEtcdUrl } from './etcd/etcd-backend.ts';
import { SqliteBackend, type SqliteOptions } from './sqlite/sqlite-backend.ts';

export { EtcdBackend } from './etcd/etcd-backend.ts';
export { SqliteBackend } from './sqlite/sqlite-backend.ts';
export * from './backend.ts';

export const SUPPORTED_SCHEMES = ['sqlite://', 'etcd://'] as const;

export interface OpenOptions {
  /** skiff's data directory; the default embedded store lives in <dataDir>/db/state.db */
  dataDir: string;
  /** tuning of the embedded store (compaction, checkpoints, batching) */
  sqlite?: Omit<SqliteOptions, 'path'>;
}

/** the database file of the default embedded store */
export function defaultSqlitePath(dataDir: string): string {
  return join(dataDir, 'db', 'state.db');
}

/** build (not start) the backend a store URL names */
export function openBackend(url: string, opts: OpenOptions): Backend {
  const u = url.trim();
  if (u === '' || u === 'sqlite://' || u === 'sqlite:') {
    return new SqliteBackend({ ...opts.sqlite, path: defaultSqlitePath(opts.dataDir) });
  }
  if (u.startsWith('sqlite://')) {
    const path = decodeURIComponent(u.slice('sqlite://'.length));
    if (!isAbsolute(path)) {
      throw new Error(
        `invalid store URL "${url}": the sqlite path must be absolute, e.g. sqlite:///var/lib/skiff/db/state.db`,
      );
    }
    return new SqliteBackend({ ...opts.sqlite, path });
  }
  if (u.startsWith('etcd://')) return new EtcdBackend(parseEtcdUrl(u));
  throw new Error(
    `unsupported store URL "${url}": supported schemes are ${SUPPORTED_SCHEMES.join(' and ')} (e.g. sqlite:///path/state.db or etcd://127.0.0.1:2379)`,
  );
}
