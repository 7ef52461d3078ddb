/**
 * storage.Backend: the one narrow interface every storage driver implements (kine's shape).
 *
 * Keys follow Kubernetes' etcd layout: /registry/<resource>/<namespace>/<name> (cluster-scoped: /registry/<resource>/<name>).
 * Values are opaque strings (skiff stores JSON). Every write gets a new, strictly increasing cluster revision,
 * assigned inside the write itself; a key's modRevision is the revision of its last write and is what
 * Kubernetes exposes as metadata.resourceVersion.
 */

export interface KeyValue {
  key: string;
  value: string;
  /** revision at which this key was created (since its last deletion) */
  createRevision: number;
  /** revision of the last write to this key */
  modRevision: number;
}

export interface WatchEvent {
  type: 'PUT' | 'DELETE';
  /** for PUT: the new value; for DELETE: the value that was deleted, with modRevision = the delete's revision */
  kv: KeyValue;
  /** the value before this event, when the driver knows it (always for DELETE) */
  prevKv?: KeyValue;
}

export interface ListOptions {
  /** resume after this key (exclusive); used for limit/continue */
  startAfter?: string;
  /** read at this revision (0 or undefined = latest). Older than the compacted revision -> CompactedError */
  revision?: number;
  /** at most this many items (0 or undefined = all) */
  limit?: number;
}

export interface ListResult {
  /** the revision the list was read at */
  revision: number;
  kvs: KeyValue[];
  /** true when more keys follow the last one returned */
  more: boolean;
}

export interface WriteResult {
  /** true when the write happened; false when the guard (expected revision) did not match */
  ok: boolean;
  /** revision of this write when ok, else the current store revision */
  revision: number;
  /** when ok: the stored kv (for delete: the deleted one). When !ok: the current kv, if the key exists */
  kv?: KeyValue;
}

export interface Watch {
  cancel(): void;
}

export interface WatchHandlers {
  /** events in revision order, never with a gap, never out of order; a batch shares no revision with the next */
  onEvents(events: WatchEvent[]): void;
  /** the watch ended (store closed, compacted start revision -> CompactedError, connection lost) */
  onError(err: Error): void;
}

export interface Backend {
  /** driver name, e.g. "sqlite" or "etcd" */
  readonly name: string;
  /** connect/open; resolves when the store can serve requests */
  start(): Promise<void>;
  close(): Promise<void>;
  /** cheap liveness check used by /readyz; rejects when the store is unreachable */
  ping(): Promise<void>;

  currentRevision(): Promise<number>;
  /** the oldest revision still readable/watchable (everything below has been compacted away) */
  compactedRevision(): Promise<number>;

  get(key: string, revision?: number): Promise<{ revision: number; kv?: KeyValue }>;
  /** all keys starting with prefix, in key order */
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;
  count(prefix: string): Promise<{ revision: number; count: number }>;

  /** create; ok=false (kv = existing) when the key already exists */
  create(key: string, value: string): Promise<WriteResult>;
  /** update guarded by the modRevision the caller read; ok=false on mismatch or when the key is gone */
  update(key: string, value: string, expectedModRevision: number): Promise<WriteResult>;
  /** delete; guarded when expectedModRevision is given (0/undefined = unconditional). ok=false if missing or mismatched */
  delete(key: string, expectedModRevision?: number): Promise<WriteResult>;

  /** watch keys with prefix for events with revision > fromRevision (fromRevision = 0: from now) */
  watch(prefix: string, fromRevision: number, handlers: WatchHandlers): Watch;

  /** drop history older than revision (the newest version of every live key is always kept) */
  compact(revision: number): Promise<void>;
}

/** the requested revision has been compacted away (HTTP 410 Gone, reason Expired, in the API) */
export class CompactedError extends Error {
  constructor(
    readonly requested: number,
    readonly compacted: number,
  ) {
    super(`required revision ${requested} has been compacted (oldest available is ${compacted})`);
    this.name = 'CompactedError';
  }
}

/** the revision requested is newer than the store's current revision */
export class FutureRevisionError extends Error {
  constructor(
    readonly requested: number,
    readonly current: number,
  ) {
    super(`required revision ${requested} is a future revision (current is ${current})`);
    this.name = 'FutureRevisionError';
  }
}

/** the store cannot be reached or failed; the message says what to check */
export class UnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnavailableError';
  }
}
