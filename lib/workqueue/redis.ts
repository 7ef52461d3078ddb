/**
 * The shared work queue: BullMQ on Redis, so that several controller-manager processes (each with its own RedisQueue
 * of the same name) share one queue with the guarantees of the in-process queue.
 *
 * Redis layout, for queue Q under prefix P (default "skiff"):
 * - BullMQ's queue P:Q holds the keys waiting or being processed, one job per key (job id = the key, escaped), so a
 *   key is queued at most once. A worker takes a job with Worker.getNextJob(token): BullMQ locks it (P:Q:<job>:lock =
 *   token, expiring after lockDurationMs); the holder renews the lock while processing, and done() completes the job
 *   (removing it). When a holder dies its lock expires and BullMQ's stalled-job check puts the job back in the wait
 *   list, so the key is processed elsewhere.
 * - P:Q:skiff:dirty (hash key → holder token): keys added while a holder processes them. add() checks the job and its
 *   lock in one Lua script: locked → mark dirty for that holder; queued → nothing; absent → add a job. After
 *   completing the job, done() clears its own mark in a script and queues the key again if it was marked. A periodic
 *   sweep turns marks whose holder no longer holds the key into adds (a holder that died between the two steps).
 * - P:Q:skiff:delayed (zset key → ready time ms): addAfter, keeping the earliest time per key (ZADD LT). Every
 *   process pops due keys atomically into P:Q:skiff:firing (a lease, so that a process dying after the pop does not
 *   lose them) and adds them; its timer aims at the earliest entry of the set.
 * - P:Q:skiff:failures (hash key → failures): the per-key backoff count; addRateLimited waits
 *   max(5 ms × 2^failures, the token bucket) like client-go, with the 10 qps / 100 burst bucket kept per process.
 *
 * The WorkQueue methods are synchronous; their Redis work runs in the background (flush() waits for it) and
 * failures go to `log`. numRequeues() answers from the count read when the key was handed out; len() from the last
 * count read (see waitingCount() for a fresh one).
 *
 * Redis is reached through ioredis. Each RedisQueue opens one connection, runs its own commands and scripts on it
 * and hands it to BullMQ's Queue and Worker as an instance, which BullMQ shares without closing it; the Worker adds a
 * duplicate of it for its blocking take (BZPOPMIN), which BullMQ owns and closes.
 */
import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { Queue, Worker, type Job } from 'bullmq';
import { ControllerRateLimiter } from './memory.ts';
import type { WorkQueue } from './queue.ts';

export interface RedisAddress {
  host: string;
  port: number;
  db: number;
}

/** parses redis://host:port[/db] */
export function parseRedisUrl(url: string): RedisAddress {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`invalid Redis URL "${url}": expected redis://host:port[/db]`);
  }
  if (u.protocol !== 'redis:') throw new Error(`unsupported Redis URL "${url}": expected redis://host:port[/db]`);
  if (u.username || u.password)
    throw new Error(`Redis URL "${url}": authentication is not supported; use a Redis reachable without a password`);
  const dbPart = u.pathname.replace(/^\//, '');
  if (dbPart !== '' && !/^\d+$/.test(dbPart))
    throw new Error(`Redis URL "${url}": the path must be a database number (redis://host:port/0)`);
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    db: dbPart ? Number(dbPart) : 0,
  };
}

/**
 * add(): KEYS job, job lock, dirty hash; ARGV job id. Held (locked) → mark dirty for the holder (1); queued → 0;
 * absent → 2, and the caller adds the job.
 */
const ADD_LUA = `
local token = redis.call('GET', KEYS[2])
if token then
  redis.call('HSET', KEYS[3], ARGV[1], token)
  return 1
end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
return 2`;

/** done(): KEYS dirty hash, job; ARGV job id, holder token. After completing: clears the holder's own dirty mark; 1 when the key must be queued again */
const DONE_LUA = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  if redis.call('EXISTS', KEYS[2]) == 0 then return 1 end
end
return 0`;

/**
 * KEYS delayed, firing; ARGV now, lease end, limit. Moves due delayed keys (and expired leases of keys another process popped but did not add) to the firing lease; returns them with the earliest delayed and firing times ('' when empty) */
const POP_DUE_LUA = `
local out = {}
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, k in ipairs(due) do
  redis.call('ZREM', KEYS[1], k)
  redis.call('ZADD', KEYS[2], ARGV[2], k)
  table.insert(out, k)
end
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, k in ipairs(stale) do
  redis.call('ZADD', KEYS[2], ARGV[2], k)
  table.insert(out, k)
end
local nd = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local nf = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
return {out, nd[2] or '', nf[2] or ''}`;

/** KEYS dirty hash; ARGV the job key prefix. Dirty marks whose holder no longer holds the key: dropped; returned when the key is not queued (to be added) */
const SWEEP_LUA = `
local all = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #all, 2 do
  local id, token = all[i], all[i + 1]
  local base = ARGV[1] .. id
  if redis.call('GET', base .. ':lock') ~= token then
    redis.call('HDEL', KEYS[1], id)
    if redis.call('EXISTS', base) == 0 then table.insert(out, id) end
  end
end
return out`;

/** BullMQ job ids may contain neither ':' nor be integers: keys are escaped and prefixed */
export function jobIdOf(key: string): string {
  return `k/${key.replace(/%/g, '%25').replace(/:/g, '%3A')}`;
}

export function keyOfJobId(id: string): string {
  return id.slice(2).replace(/%3A/g, ':').replace(/%25/g, '%');
}

export interface RedisQueueOptions {
  /** redis://host:port[/db] */
  url: string;
  /** the prefix of every Redis key (default "skiff") */
  prefix?: string;
  /** how long a key stays held by a process that stopped renewing its lock (default 30 s) */
  lockDurationMs?: number;
  /** how often held keys of dead processes are looked for (default: the lock duration) */
  stalledIntervalMs?: number;
  /** how often the delayed set is read when no entry is due earlier (default 1 s) */
  pollIntervalMs?: number;
  /** how long shutDown() waits for keys being processed here to be done (default 30 s) */
  shutdownGraceMs?: number;
  /** the overall retry rate limit of this process (default 10 qps, burst 100) */
  qps?: number;
  burst?: number;
  log?(msg: string): void;
}

/** the Lua scripts, defined on the connection with defineCommand (keys first, then arguments) */
interface ScriptCommands {
  skiffAdd(job: string, lock: string, dirty: string, id: string): Promise<0 | 1 | 2>;
  skiffDone(dirty: string, job: string, id: string, token: string): Promise<0 | 1>;
  skiffPopDue(
    delayed: string,
    firing: string,
    now: number,
    leaseEnd: number,
    limit: number,
  ): Promise<[string[], string, string]>;
  skiffSweep(dirty: string, jobPrefix: string): Promise<string[]>;
}

/** ioredis options of a connection to the Redis named by a redis:// URL, fit for BullMQ */
export function redisOptions(url: string, connectionName?: string): RedisOptions {
  const addr = parseRedisUrl(url);
  return {
    host: addr.host,
    port: addr.port,
    db: addr.db,
    connectionName,
    // BullMQ's workers need commands that wait for a lost connection to come back rather than fail after a few retries
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
  };
}

interface Held {
  job: Job;
  token: string;
}

const LEASE_MS = 10_000;
const POP_LIMIT = 200;

export class RedisQueue implements WorkQueue {
  readonly prefix: string;
  private readonly client: Redis & ScriptCommands;
  private readonly queue: Queue;
  private readonly worker: Worker;
  private readonly base: string;
  private readonly dirtyKey: string;
  private readonly delayedKey: string;
  private readonly firingKey: string;
  private readonly failuresKey: string;
  private readonly lockDurationMs: number;
  private readonly pollIntervalMs: number;
  private readonly shutdownGraceMs: number;
  private readonly limiter: ControllerRateLimiter;
  private readonly log: (msg: string) => void;

  private readonly held = new Map<string, Held>();
  private readonly failures = new Map<string, number>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private readonly inflight = new Set<Promise<void>>();
  private pumping: Promise<void> | undefined;
  private pumpActive = false;
  private closed = false;
  private closing: Promise<void> | undefined;
  private lastLen = 0;
  private delayTimer: NodeJS.Timeout | undefined;
  private delayTimerAt = Infinity;
  private readonly lockTimer: NodeJS.Timeout;
  private readonly sweepTimer: NodeJS.Timeout;
  private lastError = '';

  constructor(
    readonly name: string,
    opts: RedisQueueOptions,
  ) {
    if (!/^[A-Za-z0-9._-]+$/.test(name))
      throw new Error(`queue name "${name}": use letters, digits, '.', '_' and '-' only`);
    this.prefix = opts.prefix ?? 'skiff';
    this.lockDurationMs = opts.lockDurationMs ?? 30_000;
    this.pollIntervalMs = opts.pollIntervalMs ?? 1000;
    this.shutdownGraceMs = opts.shutdownGraceMs ?? 30_000;
    this.limiter = new ControllerRateLimiter(opts.qps, opts.burst);
    this.log = opts.log ?? ((m) => console.error(`work queue ${name}: ${m}`));
    this.base = `${this.prefix}:${name}:`;
    this.dirtyKey = `${this.base}skiff:dirty`;
    this.delayedKey = `${this.base}skiff:delayed`;
    this.firingKey = `${this.base}skiff:firing`;
    this.failuresKey = `${this.base}skiff:failures`;

    // the name shown by CLIENT LIST, which allows no spaces
    const client = new Redis(redisOptions(opts.url, `${this.prefix}:${name}`.replace(/[^\x21-\x7e]/g, '_')));
    client.on('error', (e: Error) => this.report(`Redis at ${opts.url}: ${e.message}`));
    client.on('ready', () => {
      this.lastError = '';
    });
    client.defineCommand('skiffAdd', { numberOfKeys: 3, lua: ADD_LUA });
    client.defineCommand('skiffDone', { numberOfKeys: 2, lua: DONE_LUA });
    client.defineCommand('skiffPopDue', { numberOfKeys: 2, lua: POP_DUE_LUA });
    client.defineCommand('skiffSweep', { numberOfKeys: 1, lua: SWEEP_LUA });
    this.client = client as Redis & ScriptCommands;

    this.queue = new Queue(name, {
      connection: this.client,
      prefix: this.prefix,
      defaultJobOptions: { removeOnComplete: true, removeOnFail: true },
    });
    this.worker = new Worker(name, null, {
      connection: this.client,
      prefix: this.prefix,
      autorun: false,
      lockDuration: this.lockDurationMs,
      stalledInterval: opts.stalledIntervalMs ?? this.lockDurationMs,
      // a stalled key always goes back to the queue, however often its holders die
      maxStalledCount: 1_000_000_000,
      drainDelay: 5,
    });
    this.queue.on('error', (e: Error) => this.report(e.message));
    this.worker.on('error', (e: Error) => this.report(e.message));
    this.worker.startStalledCheckTimer().catch((e: Error) => this.report(`stalled-key check: ${e.message}`));

    this.lockTimer = setInterval(() => this.track(this.extendLocks()), Math.max(50, this.lockDurationMs / 2));
    this.sweepTimer = setInterval(
      () => this.track(this.sweep()),
      Math.max(100, opts.stalledIntervalMs ?? this.lockDurationMs),
    );
    this.scheduleDelayed(Date.now());
  }

  add(key: string): void {
    if (this.closed) return;
    this.track(this.addNow(key));
  }

  addAfter(key: string, delayMs: number): void {
    if (this.closed) return;
    if (!(delayMs > 0)) {
      this.add(key);
      return;
    }
    this.track(this.addLater(key, delayMs));
  }

  addRateLimited(key: string): void {
    if (this.closed) return;
    this.track(
      (async () => {
        const n = await this.client.hincrby(this.failuresKey, key, 1);
        if (this.held.has(key)) this.failures.set(key, n);
        await this.addLater(key, this.limiter.whenFailures(n - 1));
      })(),
    );
  }

  forget(key: string): void {
    this.failures.delete(key);
    if (this.closed) return;
    this.track(this.client.hdel(this.failuresKey, key).then(() => undefined));
  }

  /** the failures of the key as read when it was handed out to this process (and counted since) */
  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  get(): Promise<string | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      if (!this.pumpActive) {
        this.pumpActive = true;
        this.pumping = this.pump();
      }
    });
  }

  done(key: string): void {
    const h = this.held.get(key);
    if (!h) return;
    this.held.delete(key);
    this.failures.delete(key);
    this.track(this.finish(key, h));
  }

  /** keys waiting, as last read from Redis */
  len(): number {
    return this.lastLen;
  }

  /** keys waiting, read now */
  async waitingCount(): Promise<number> {
    this.lastLen = await this.queue.getWaitingCount();
    return this.lastLen;
  }

  /** resolves when the Redis work of the calls made so far is finished */
  async flush(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  /** keys this process is processing */
  heldKeys(): string[] {
    return [...this.held.keys()];
  }

  /**
   * Stops handing out keys (waiters of get() receive undefined), waits for the keys being processed here to be done
   * (up to shutdownGraceMs; keys still held afterwards are released by their lock timeout), then closes the
   * connections.
   */
  shutDown(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    for (const w of this.waiters.splice(0)) w(undefined);
    if (this.delayTimer) clearTimeout(this.delayTimer);
    this.closing = (async () => {
      const end = Date.now() + this.shutdownGraceMs;
      while (this.held.size > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      if (this.held.size > 0)
        this.log(
          `shutting down with keys still being processed (${this.heldKeys().join(', ')}); they are released after ${this.lockDurationMs} ms`,
        );
      clearInterval(this.lockTimer);
      clearInterval(this.sweepTimer);
      await this.flush();
      await this.worker.close(true).catch(() => {});
      await this.pumping;
      await this.flush();
      await this.queue.close().catch(() => {});
      await this.client.quit().catch(() => {});
    })();
    return this.closing;
  }

  /**
   * Drops the connections without finishing anything, as a crashed process would: keys held here are released by
   * their lock timeout. For tests of that path.
   */
  async abandon(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w(undefined);
    if (this.delayTimer) clearTimeout(this.delayTimer);
    clearInterval(this.lockTimer);
    clearInterval(this.sweepTimer);
    this.held.clear();
    this.closing = (async () => {
      // no QUIT, nothing released: the main connection first, then (force) the worker's blocking one
      this.client.disconnect();
      await this.worker.close(true).catch(() => {});
      await this.pumping?.catch(() => {});
      await this.queue.close().catch(() => {});
    })();
    await this.closing;
  }

  private track(p: Promise<void>): void {
    const t = p.catch((e: Error) => this.report(e.message)).finally(() => this.inflight.delete(t));
    this.inflight.add(t);
  }

  private report(msg: string): void {
    if (msg === this.lastError) return; // once per distinct failure, not on every retry
    this.lastError = msg;
    this.log(msg);
  }

  private async addNow(key: string): Promise<void> {
    const id = jobIdOf(key);
    if ((await this.client.skiffAdd(this.base + id, `${this.base}${id}:lock`, this.dirtyKey, id)) === 2)
      await this.queue.add('sync', { key }, { jobId: id });
  }

  private async addLater(key: string, delayMs: number): Promise<void> {
    if (!(delayMs > 0)) return this.addNow(key);
    const at = Date.now() + delayMs;
    await this.client.zadd(this.delayedKey, 'LT', at, key);
    this.scheduleDelayed(at);
  }

  private scheduleDelayed(at: number): void {
    if (this.closed || at >= this.delayTimerAt) return;
    if (this.delayTimer) clearTimeout(this.delayTimer);
    this.delayTimerAt = at;
    this.delayTimer = setTimeout(
      () => {
        this.delayTimer = undefined;
        this.delayTimerAt = Infinity;
        this.track(this.fireDelayed());
      },
      Math.max(0, at - Date.now()),
    );
  }

  private async fireDelayed(): Promise<void> {
    const now = Date.now();
    let next = now + this.pollIntervalMs;
    try {
      const [due, nd, nf] = await this.client.skiffPopDue(
        this.delayedKey,
        this.firingKey,
        now,
        now + LEASE_MS,
        POP_LIMIT,
      );
      await Promise.all(
        due.map(async (key) => {
          await this.addNow(key);
          await this.client.zrem(this.firingKey, key);
        }),
      );
      if (due.length >= POP_LIMIT) next = now;
      if (nd) next = Math.min(next, Number(nd));
      if (nf) next = Math.min(next, Number(nf));
    } finally {
      this.scheduleDelayed(next);
    }
  }

  /** takes keys from BullMQ while get() has waiters; pumpActive is cleared synchronously when it stops */
  private async pump(): Promise<void> {
    try {
      await this.pumpLoop();
    } catch (e) {
      this.pumpActive = false;
      this.report(`cannot take a key: ${(e as Error).message}`);
    }
  }

  private async pumpLoop(): Promise<void> {
    for (;;) {
      if (this.waiters.length === 0 || this.closed) {
        this.pumpActive = false; // synchronously with the last check, so that the next get() starts a new pump
        return;
      }
      const token = randomUUID();
      let job: Job | undefined;
      try {
        job = await this.worker.getNextJob(token, { block: true });
      } catch (e) {
        if (this.closed) {
          this.pumpActive = false;
          return;
        }
        this.report(`cannot take a key: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      if (!job?.id) continue;
      const key = typeof job.data?.key === 'string' ? (job.data.key as string) : keyOfJobId(job.id);
      let failures = 0;
      try {
        failures = Number(await this.client.hget(this.failuresKey, key)) || 0;
      } catch {
        // numRequeues answers 0
      }
      const waiter = this.waiters.shift();
      if (!waiter || this.closed) {
        // nobody wants it any more: back to the queue for another process
        if (waiter) this.waiters.unshift(waiter);
        await job.moveToWait(token).catch((e: Error) => this.report(`cannot give back ${key}: ${e.message}`));
        this.pumpActive = false;
        return;
      }
      this.held.set(key, { job, token });
      this.failures.set(key, failures);
      this.track(this.waitingCount().then(() => undefined));
      waiter(key);
    }
  }

  private async finish(key: string, h: Held): Promise<void> {
    try {
      await h.job.moveToCompleted('done', h.token, false);
    } catch (e) {
      this.report(
        `${key} was done after its lock expired (${(e as Error).message}); it may have been processed elsewhere meanwhile`,
      );
    }
    const id = jobIdOf(key);
    if ((await this.client.skiffDone(this.dirtyKey, this.base + id, id, h.token)) === 1) {
      await this.queue.add('sync', { key }, { jobId: id });
    }
  }

  private async extendLocks(): Promise<void> {
    if (this.held.size === 0) return;
    const entries = [...this.held.values()];
    const failed = await this.worker.extendJobLocks(
      entries.map((e) => e.job.id!),
      entries.map((e) => e.token),
      this.lockDurationMs,
    );
    if (failed.length > 0)
      this.report(`lost the lock of ${failed.map(keyOfJobId).join(', ')}: another process may be processing them`);
  }

  private async sweep(): Promise<void> {
    const ids = await this.client.skiffSweep(this.dirtyKey, this.base);
    await Promise.all(ids.map((id) => this.addNow(keyOfJobId(id))));
  }
}
