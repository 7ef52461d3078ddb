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
 * BullMQ talks to Redis through RespClient, a small RESP2 client below implementing BullMQ's IRedisClient.
 */
import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { Queue, Worker, type IRedisClient, type IRedisTransaction, type Job } from 'bullmq';
import { ControllerRateLimiter } from './memory.ts';
import type { WorkQueue } from './queue.ts';

// ---------------------------------------------------------------------------------------------------------------
// RESP2 client
// ---------------------------------------------------------------------------------------------------------------

export interface RedisAddress {
  host: string;
  port: number;
  db?: number;
  connectionName?: string;
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
  if (u.username || u.password) throw new Error(`Redis URL "${url}": authentication is not supported; use a Redis reachable without a password`);
  const dbPart = u.pathname.replace(/^\//, '');
  if (dbPart !== '' && !/^\d+$/.test(dbPart)) throw new Error(`Redis URL "${url}": the path must be a database number (redis://host:port/0)`);
  return { host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1', port: u.port ? Number(u.port) : 6379, db: dbPart ? Number(dbPart) : 0 };
}

/** an error answered by Redis */
export class RedisReplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplyError';
  }
}

const CLOSED = 'Connection is closed.';
type Arg = string | number | Buffer;
type Transform = (reply: any) => any;
interface Pending {
  resolve(v: any): void;
  reject(e: Error): void;
  transform?: Transform;
}

const INCOMPLETE = Symbol('incomplete');

/** parses one RESP2 reply at pos; INCOMPLETE when the buffer does not hold all of it yet */
function parseReply(buf: Buffer, pos: number): { value: any; pos: number } | typeof INCOMPLETE {
  if (pos >= buf.length) return INCOMPLETE;
  const eol = buf.indexOf('\r\n', pos);
  if (eol < 0) return INCOMPLETE;
  const type = buf[pos];
  const line = buf.toString('utf8', pos + 1, eol);
  switch (type) {
    case 0x2b: // +
      return { value: line, pos: eol + 2 };
    case 0x2d: // -
      return { value: new RedisReplyError(line), pos: eol + 2 };
    case 0x3a: // :
      return { value: Number(line), pos: eol + 2 };
    case 0x24: { // $
      const len = Number(line);
      if (len < 0) return { value: null, pos: eol + 2 };
      const end = eol + 2 + len;
      if (end + 2 > buf.length) return INCOMPLETE;
      return { value: buf.toString('utf8', eol + 2, end), pos: end + 2 };
    }
    case 0x2a: { // *
      const n = Number(line);
      if (n < 0) return { value: null, pos: eol + 2 };
      const out: any[] = new Array(n);
      let p = eol + 2;
      for (let i = 0; i < n; i++) {
        const r = parseReply(buf, p);
        if (r === INCOMPLETE) return INCOMPLETE;
        out[i] = r.value;
        p = r.pos;
      }
      return { value: out, pos: p };
    }
    default:
      throw new Error(`unexpected byte ${type} in a Redis reply`);
  }
}

function encode(args: Arg[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

function flatten(args: unknown[]): Arg[] {
  const out: Arg[] = [];
  for (const a of args) {
    if (Array.isArray(a)) out.push(...flatten(a));
    else if (a === undefined || a === null) out.push('');
    else out.push(a as Arg);
  }
  return out;
}

function pairsToObject(reply: any): Record<string, string> {
  const o: Record<string, string> = {};
  if (Array.isArray(reply)) for (let i = 0; i + 1 < reply.length; i += 2) o[reply[i]] = reply[i + 1];
  return o;
}

interface Script {
  lua: string;
  sha: string;
  numberOfKeys: number;
}

/**
 * A RESP2 connection to one Redis server: commands are pipelined on one socket and answered in order; commands sent
 * before the connection is ready wait for it; a lost connection fails the commands in flight and reconnects.
 */
export class RespClient extends EventEmitter implements IRedisClient {
  status = 'wait';
  readonly isCluster = false;
  options: Record<string, any>;
  private socket: Socket | undefined;
  private buf: Buffer = Buffer.alloc(0);
  private readonly inflight: Pending[] = [];
  private offline: { data: Buffer; pending: Pending[] }[] = [];
  private readonly scripts = new Map<string, Script>();
  private loaded = new Set<string>();
  private closing = false;
  private attempts = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;

  constructor(private readonly address: RedisAddress) {
    super();
    this.options = { host: address.host, port: address.port, db: address.db ?? 0, connectionName: address.connectionName };
    this.setMaxListeners(50);
    void this.connect().catch(() => {
      // reported through 'error'; retried
    });
  }

  connect(): Promise<void> {
    if (this.status === 'ready') return Promise.resolve();
    if (this.status === 'end') {
      this.closing = false;
      this.status = 'wait';
    }
    if (!this.connecting) {
      this.connecting = new Promise<void>((resolve, reject) => {
        const onReady = () => {
          this.off('end', onEnd);
          resolve();
        };
        const onEnd = () => {
          this.off('ready', onReady);
          reject(new Error(CLOSED));
        };
        this.once('ready', onReady);
        this.once('end', onEnd);
      }).finally(() => {
        this.connecting = undefined;
      });
      this.open();
    }
    return this.connecting;
  }

  private open(): void {
    if (this.closing) return;
    this.status = 'connecting';
    const s = netConnect({ host: this.address.host, port: this.address.port });
    this.socket = s;
    s.setNoDelay(true);
    s.on('connect', () => this.handshake(s));
    s.on('data', (d: Buffer) => this.onData(d));
    s.on('error', (e) => this.emitError(e));
    s.on('close', () => this.onClose(s));
  }

  private handshake(s: Socket): void {
    const steps: Arg[][] = [];
    if (this.address.db) steps.push(['SELECT', this.address.db]);
    if (this.address.connectionName) steps.push(['CLIENT', 'SETNAME', this.address.connectionName]);
    const all = steps.map((args) => new Promise<any>((resolve, reject) => {
      this.inflight.push({ resolve, reject });
      s.write(encode(args));
    }));
    Promise.all(all).then(
      (replies) => {
        const err = replies.find((r) => r instanceof Error);
        if (err) {
          this.emitError(new Error(`Redis at ${this.address.host}:${this.address.port} refused the connection set-up: ${err.message}`));
          s.destroy();
          return;
        }
        this.attempts = 0;
        this.loaded = new Set();
        this.status = 'ready';
        const queued = this.offline;
        this.offline = [];
        for (const q of queued) {
          this.inflight.push(...q.pending);
          s.write(q.data);
        }
        this.emit('ready');
      },
      () => {
        // the socket closed during set-up: onClose reconnects
      },
    );
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    let pos = 0;
    for (;;) {
      let r;
      try {
        r = parseReply(this.buf, pos);
      } catch (e) {
        this.emitError(e as Error);
        this.socket?.destroy();
        return;
      }
      if (r === INCOMPLETE) break;
      pos = r.pos;
      const p = this.inflight.shift();
      if (!p) continue;
      if (r.value instanceof RedisReplyError) p.reject(r.value);
      else {
        try {
          p.resolve(p.transform ? p.transform(r.value) : r.value);
        } catch (e) {
          p.reject(e as Error);
        }
      }
    }
    this.buf = pos >= this.buf.length ? Buffer.alloc(0) : this.buf.subarray(pos);
  }

  private onClose(s: Socket): void {
    if (this.socket !== s) return;
    this.socket = undefined;
    this.buf = Buffer.alloc(0);
    for (const p of this.inflight.splice(0)) p.reject(new Error(CLOSED));
    this.emit('close');
    if (this.closing) {
      this.endNow();
      return;
    }
    this.status = 'reconnecting';
    this.emit('reconnecting');
    const delay = Math.min(2000, 50 * 2 ** this.attempts++);
    this.reconnectTimer = setTimeout(() => this.open(), delay);
  }

  private endNow(): void {
    if (this.status === 'end') return;
    this.status = 'end';
    for (const q of this.offline.splice(0)) for (const p of q.pending) p.reject(new Error(CLOSED));
    this.emit('end');
  }

  private emitError(e: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', e);
  }

  disconnect(_reconnect?: boolean): void {
    this.closing = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const s = this.socket;
    if (s) s.destroy();
    else process.nextTick(() => this.endNow());
  }

  async quit(): Promise<string> {
    if (this.status === 'end') return 'OK';
    const ended = new Promise<void>((resolve) => this.once('end', () => resolve()));
    if (this.status !== 'ready') {
      this.disconnect();
    } else {
      const reply = this.call('QUIT');
      this.closing = true; // the server closes the connection after QUIT: no reconnection
      await reply.catch(() => 'OK');
      this.socket?.end();
    }
    await ended;
    return 'OK';
  }

  duplicate(opts?: { connectionName?: string }): RespClient {
    return new RespClient({ ...this.address, ...(opts?.connectionName ? { connectionName: opts.connectionName } : {}) });
  }

  /** sends one command; resolves with its reply (strings, numbers, arrays, null) */
  call(...args: Arg[]): Promise<any> {
    return this.sendBatch([args], [undefined])[0];
  }

  /** writes several commands at once (nothing else in between) and answers each */
  private sendBatch(cmds: Arg[][], transforms: (Transform | undefined)[]): Promise<any>[] {
    const pending: Pending[] = [];
    const promises = cmds.map((_, i) => new Promise<any>((resolve, reject) => pending.push({ resolve, reject, transform: transforms[i] })));
    const data = Buffer.concat(cmds.map(encode));
    if (this.status === 'end' || this.closing) {
      for (const p of pending) p.reject(new Error(CLOSED));
    } else if (this.status === 'ready' && this.socket) {
      this.inflight.push(...pending);
      this.socket.write(data);
    } else {
      this.offline.push({ data, pending });
      if (this.status === 'wait') void this.connect().catch(() => {});
    }
    return promises;
  }

  private send(args: Arg[], transform?: Transform): Promise<any> {
    return this.sendBatch([args], [transform])[0];
  }

  defineCommand(name: string, def: { numberOfKeys: number; lua: string }): void {
    this.scripts.set(name, { lua: def.lua, numberOfKeys: def.numberOfKeys, sha: createHash('sha1').update(def.lua).digest('hex') });
    (this as any)[name] = (...args: unknown[]) => this.runCommand(name, args);
  }

  private script(name: string): Script {
    const s = this.scripts.get(name);
    if (!s) throw new Error(`Redis script "${name}" is not defined`);
    return s;
  }

  /** loads the scripts into the server's cache once per connection, so that EVALSHA (also inside MULTI) finds them */
  private async ensureLoaded(names: Iterable<string>): Promise<void> {
    for (const n of names) {
      const s = this.script(n);
      if (this.loaded.has(s.sha)) continue;
      await this.send(['SCRIPT', 'LOAD', s.lua]);
      this.loaded.add(s.sha);
    }
  }

  async runCommand(name: string, args: any[]): Promise<any> {
    const s = this.script(name);
    const flat = flatten(args);
    await this.ensureLoaded([name]);
    try {
      return await this.send(['EVALSHA', s.sha, s.numberOfKeys, ...flat]);
    } catch (e) {
      if (!(e instanceof RedisReplyError) || !e.message.startsWith('NOSCRIPT')) throw e;
      this.loaded.delete(s.sha);
      return this.send(['EVAL', s.lua, s.numberOfKeys, ...flat]);
    }
  }

  multi(): IRedisTransaction {
    return new Batch(this, true);
  }

  pipeline(): IRedisTransaction {
    return new Batch(this, false);
  }

  /** runs a batch for Batch.exec */
  async execBatch(cmds: { args: Arg[]; transform?: Transform; script?: string }[], atomic: boolean): Promise<[Error | null, any][] | null> {
    await this.ensureLoaded(new Set(cmds.flatMap((c) => (c.script ? [c.script] : []))));
    if (!atomic) {
      const replies = this.sendBatch(cmds.map((c) => c.args), cmds.map((c) => c.transform));
      return Promise.all(replies.map((p) => p.then((v) => [null, v] as [null, any], (e: Error) => [e, undefined] as [Error, any])));
    }
    const all = [['MULTI'], ...cmds.map((c) => c.args), ['EXEC']];
    const replies = this.sendBatch(all, []);
    const settled = await Promise.all(replies.map((p) => p.then((v) => ({ v }), (e: Error) => ({ e }))));
    const exec = settled[settled.length - 1];
    if ('e' in exec) throw exec.e;
    if (exec.v === null) return null;
    return (exec.v as any[]).map((v, i) => {
      if (v instanceof Error) return [v, undefined];
      const t = cmds[i].transform;
      return [null, t ? t(v) : v];
    });
  }

  scriptArgs(name: string, args: any[]): Arg[] {
    const s = this.script(name);
    return ['EVALSHA', s.sha, s.numberOfKeys, ...flatten(args)];
  }

  hgetall(key: string): Promise<Record<string, string>> {
    return this.send(['HGETALL', key], pairsToObject);
  }
  hget(key: string, field: string): Promise<string | null> {
    return this.send(['HGET', key, field]);
  }
  hmget(key: string, ...fields: string[]): Promise<(string | null)[]> {
    return this.send(['HMGET', key, ...fields]);
  }
  hset(key: string, data: Record<string, string | number>): Promise<number> {
    return this.send(['HSET', key, ...Object.entries(data).flat()]);
  }
  hdel(key: string, ...fields: string[]): Promise<number> {
    return this.send(['HDEL', key, ...fields]);
  }
  hexists(key: string, field: string): Promise<number> {
    return this.send(['HEXISTS', key, field]);
  }
  get(key: string): Promise<string | null> {
    return this.send(['GET', key]);
  }
  set(key: string, value: string | number, options?: { PX?: number; EX?: number }): Promise<string | null> {
    const args: Arg[] = ['SET', key, value];
    if (options?.PX != null) args.push('PX', options.PX);
    else if (options?.EX != null) args.push('EX', options.EX);
    return this.send(args);
  }
  del(...keys: string[]): Promise<number> {
    return this.send(['DEL', ...keys]);
  }
  zrange(key: string, start: number, end: number, options?: { WITHSCORES?: boolean }): Promise<string[]> {
    return this.send(['ZRANGE', key, start, end, ...(options?.WITHSCORES ? ['WITHSCORES'] : [])]);
  }
  zrevrange(key: string, start: number, end: number, options?: { WITHSCORES?: boolean }): Promise<string[]> {
    return this.send(['ZREVRANGE', key, start, end, ...(options?.WITHSCORES ? ['WITHSCORES'] : [])]);
  }
  zcard(key: string): Promise<number> {
    return this.send(['ZCARD', key]);
  }
  zscore(key: string, member: string): Promise<string | null> {
    return this.send(['ZSCORE', key, member]);
  }
  lrange(key: string, start: number, end: number): Promise<string[]> {
    return this.send(['LRANGE', key, start, end]);
  }
  llen(key: string): Promise<number> {
    return this.send(['LLEN', key]);
  }
  ltrim(key: string, start: number, end: number): Promise<string> {
    return this.send(['LTRIM', key, start, end]);
  }
  lpos(key: string, value: string): Promise<number | null> {
    return this.send(['LPOS', key, value]);
  }
  smembers(key: string): Promise<string[]> {
    return this.send(['SMEMBERS', key]);
  }
  xadd(key: string, id: string, fields: Record<string, string | number>, options?: { MAXLEN?: number; approximate?: boolean }): Promise<string> {
    const args: Arg[] = ['XADD', key];
    if (options?.MAXLEN != null) args.push('MAXLEN', ...(options.approximate !== false ? ['~'] : []), options.MAXLEN);
    args.push(id, ...Object.entries(fields).flat());
    return this.send(args);
  }
  xread(streams: { key: string; id: string }[], options?: { BLOCK?: number; COUNT?: number }): Promise<any> {
    const args: Arg[] = ['XREAD'];
    if (options?.BLOCK != null) args.push('BLOCK', options.BLOCK);
    if (options?.COUNT != null) args.push('COUNT', options.COUNT);
    args.push('STREAMS', ...streams.map((s) => s.key), ...streams.map((s) => s.id));
    return this.send(args);
  }
  xtrim(key: string, strategy: 'MAXLEN', threshold: number, options?: { approximate?: boolean }): Promise<number> {
    return this.send(['XTRIM', key, strategy, ...(options?.approximate !== false ? ['~'] : []), threshold]);
  }
  bzpopmin(key: string, timeout: number): Promise<[key: string, member: string, score: string] | null> {
    return this.send(['BZPOPMIN', key, timeout]);
  }
  info(): Promise<string> {
    return this.send(['INFO']);
  }
  clientSetName(name: string): Promise<any> {
    this.address.connectionName = name;
    return this.send(['CLIENT', 'SETNAME', name]);
  }
  clientList(): Promise<string> {
    return this.send(['CLIENT', 'LIST']);
  }
  clientInfo(): Promise<string> {
    return this.send(['CLIENT', 'INFO']);
  }
  scan(cursor: string | number, options: { MATCH?: string; COUNT?: number }): Promise<[string, string[]]> {
    const args: Arg[] = ['SCAN', cursor];
    if (options?.MATCH != null) args.push('MATCH', options.MATCH);
    if (options?.COUNT != null) args.push('COUNT', options.COUNT);
    return this.send(args);
  }
  scanStream(options: { match: string; count?: number }): Readable {
    let cursor = '0';
    let finished = false;
    const stream: Readable = new Readable({
      objectMode: true,
      read: () => {
        if (finished) return;
        this.scan(cursor, { MATCH: options.match, COUNT: options.count }).then(
          ([next, keys]) => {
            cursor = next;
            finished = next === '0';
            stream.push(keys);
            if (finished) stream.push(null);
          },
          (e: Error) => stream.destroy(e),
        );
      },
    });
    return stream;
  }
}

/** MULTI or pipeline for BullMQ */
class Batch implements IRedisTransaction {
  private readonly cmds: { args: Arg[]; transform?: Transform; script?: string }[] = [];
  constructor(
    private readonly client: RespClient,
    private readonly atomic: boolean,
  ) {}
  private add(args: Arg[], transform?: Transform, script?: string): this {
    this.cmds.push({ args, transform, script });
    return this;
  }
  hgetall(key: string): this {
    return this.add(['HGETALL', key], pairsToObject);
  }
  hset(key: string, data: Record<string, string | number>): this {
    return this.add(['HSET', key, ...Object.entries(data).flat()]);
  }
  hscan(key: string, cursor: string | number, options?: { COUNT?: number }): this {
    return this.add(['HSCAN', key, cursor, ...(options?.COUNT != null ? ['COUNT', options.COUNT] : [])]);
  }
  smembers(key: string): this {
    return this.add(['SMEMBERS', key]);
  }
  sscan(key: string, cursor: string | number, options?: { COUNT?: number }): this {
    return this.add(['SSCAN', key, cursor, ...(options?.COUNT != null ? ['COUNT', options.COUNT] : [])]);
  }
  zrange(key: string, start: number, end: number): this {
    return this.add(['ZRANGE', key, start, end]);
  }
  lrange(key: string, start: number, end: number): this {
    return this.add(['LRANGE', key, start, end]);
  }
  llen(key: string): this {
    return this.add(['LLEN', key]);
  }
  del(...keys: string[]): this {
    return this.add(['DEL', ...keys]);
  }
  runCommand(name: string, args: any[]): this {
    return this.add(this.client.scriptArgs(name, args), undefined, name);
  }
  exec(): Promise<[Error | null, any][] | null> {
    return this.client.execBatch(this.cmds, this.atomic);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The queue
// ---------------------------------------------------------------------------------------------------------------

/** add: held → mark dirty for the holder (1); queued → nothing (0); absent → the caller adds a job (2) */
const ADD_LUA = `
local token = redis.call('GET', KEYS[2])
if token then
  redis.call('HSET', KEYS[3], ARGV[1], token)
  return 1
end
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
return 2`;

/** after completing: clears the holder's own dirty mark; 1 when the key must be queued again */
const DONE_LUA = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  if redis.call('EXISTS', KEYS[2]) == 0 then return 1 end
end
return 0`;

/** moves due delayed keys (and expired leases of keys another process popped but did not add) to the firing lease */
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

/** dirty marks whose holder no longer holds the key: dropped; returned when the key is not queued (to be added) */
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

interface Held {
  job: Job;
  token: string;
}

const LEASE_MS = 10_000;
const POP_LIMIT = 200;

export class RedisQueue implements WorkQueue {
  readonly prefix: string;
  private readonly client: RespClient;
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
    if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`queue name "${name}": use letters, digits, '.', '_' and '-' only`);
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

    this.client = new RespClient(parseRedisUrl(opts.url));
    this.client.on('error', (e: Error) => this.report(`Redis at ${opts.url}: ${e.message}`));
    this.client.on('ready', () => {
      this.lastError = '';
    });
    this.client.defineCommand('skiffAdd', { numberOfKeys: 3, lua: ADD_LUA });
    this.client.defineCommand('skiffDone', { numberOfKeys: 2, lua: DONE_LUA });
    this.client.defineCommand('skiffPopDue', { numberOfKeys: 2, lua: POP_DUE_LUA });
    this.client.defineCommand('skiffSweep', { numberOfKeys: 1, lua: SWEEP_LUA });

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
    this.sweepTimer = setInterval(() => this.track(this.sweep()), Math.max(100, opts.stalledIntervalMs ?? this.lockDurationMs));
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
        const n = Number(await this.client.call('HINCRBY', this.failuresKey, key, 1));
        if (this.held.has(key)) this.failures.set(key, n);
        await this.addLater(key, this.limiter.whenFailures(n - 1));
      })(),
    );
  }

  forget(key: string): void {
    this.failures.delete(key);
    if (this.closed) return;
    this.track(this.client.call('HDEL', this.failuresKey, key).then(() => undefined));
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
      if (this.held.size > 0) this.log(`shutting down with keys still being processed (${this.heldKeys().join(', ')}); they are released after ${this.lockDurationMs} ms`);
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
      await this.worker.close(true).catch(() => {});
      await this.pumping?.catch(() => {});
      this.client.disconnect();
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
    const r = await this.client.runCommand('skiffAdd', [this.base + id, `${this.base}${id}:lock`, this.dirtyKey, id]);
    if (r === 2) await this.queue.add('sync', { key }, { jobId: id });
  }

  private async addLater(key: string, delayMs: number): Promise<void> {
    if (!(delayMs > 0)) return this.addNow(key);
    const at = Date.now() + delayMs;
    await this.client.call('ZADD', this.delayedKey, 'LT', at, key);
    this.scheduleDelayed(at);
  }

  private scheduleDelayed(at: number): void {
    if (this.closed || at >= this.delayTimerAt) return;
    if (this.delayTimer) clearTimeout(this.delayTimer);
    this.delayTimerAt = at;
    this.delayTimer = setTimeout(() => {
      this.delayTimer = undefined;
      this.delayTimerAt = Infinity;
      this.track(this.fireDelayed());
    }, Math.max(0, at - Date.now()));
  }

  private async fireDelayed(): Promise<void> {
    const now = Date.now();
    let next = now + this.pollIntervalMs;
    try {
      const [due, nd, nf] = (await this.client.runCommand('skiffPopDue', [this.delayedKey, this.firingKey, now, now + LEASE_MS, POP_LIMIT])) as [string[], string, string];
      await Promise.all(
        due.map(async (key) => {
          await this.addNow(key);
          await this.client.call('ZREM', this.firingKey, key);
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
        failures = Number(await this.client.call('HGET', this.failuresKey, key)) || 0;
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
      this.report(`${key} was done after its lock expired (${(e as Error).message}); it may have been processed elsewhere meanwhile`);
    }
    const id = jobIdOf(key);
    if ((await this.client.runCommand('skiffDone', [this.dirtyKey, this.base + id, id, h.token])) === 1) {
      await this.queue.add('sync', { key }, { jobId: id });
    }
  }

  private async extendLocks(): Promise<void> {
    if (this.held.size === 0) return;
    const entries = [...this.held.values()];
    const failed = await this.worker.extendJobLocks(entries.map((e) => e.job.id!), entries.map((e) => e.token), this.lockDurationMs);
    if (failed.length > 0) this.report(`lost the lock of ${failed.map(keyOfJobId).join(', ')}: another process may be processing them`);
  }

  private async sweep(): Promise<void> {
    const ids = (await this.client.runCommand('skiffSweep', [this.dirtyKey, this.base])) as string[];
    await Promise.all(ids.map((id) => this.addNow(keyOfJobId(id))));
  }
}
