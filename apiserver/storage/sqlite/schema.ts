/**
 * The SQLite layout of skiff's embedded store: an append-only revision log plus a table of live keys.
 *
 * log   one row per write. revision is the cluster revision (AUTOINCREMENT: never reused, even after the newest rows
 *       are compacted away). A delete writes a tombstone row (deleted = 1, empty value). prev_revision points to the
 *       row this write superseded (0 for the first write of a key), which is how compaction finds superseded rows.
 * live  key -> revision of its current log row, for keys that exist now: get/list/count at the latest revision are
 *       index lookups on it and never touch history.
 * meta  durable counters: compact_rev (oldest readable revision) and compact_done (how far row removal got).
 */
import type Database from 'better-sqlite3';

export const SCHEMA_VERSION = 1;

const DDL = `
CREATE TABLE IF NOT EXISTS log (
  revision        INTEGER PRIMARY KEY AUTOINCREMENT,
  key             TEXT    NOT NULL,
  value           TEXT    NOT NULL,
  create_revision INTEGER NOT NULL,
  prev_revision   INTEGER NOT NULL,
  deleted         INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS log_key_revision ON log (key, revision);
CREATE TABLE IF NOT EXISTS live (
  key      TEXT    PRIMARY KEY,
  revision INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
  name  TEXT    PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
`;

/** create the tables when missing and check the layout version; throws with a message naming the file otherwise */
export function ensureSchema(db: Database.Database, path: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new Error(
      `${path} uses storage layout version ${version}, newer than this skiff understands (${SCHEMA_VERSION}); upgrade skiff`,
    );
  }
  db.transaction(() => {
    db.exec(DDL);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  })();
}

export function readMeta(db: Database.Database, name: string): number {
  const row = db.prepare('SELECT value FROM meta WHERE name = ?').get(name) as { value: number } | undefined;
  return row?.value ?? 0;
}

/** the last revision ever assigned (survives compaction of the newest rows) */
export function readLastRevision(db: Database.Database): number {
  const row = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'log'").get() as { seq: number } | undefined;
  return row?.seq ?? 0;
}
