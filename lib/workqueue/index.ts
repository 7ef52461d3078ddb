/** Where a component's work queues come from: in process by default, or shared through Redis (`--queue redis://...`). */
import { MemoryQueue } from './memory.ts';
import type { QueueFactory, WorkQueue } from './queue.ts';
import { parseRedisUrl, RedisQueue, type RedisQueueOptions } from './redis.ts';

export type { QueueFactory, WorkQueue } from './queue.ts';
export { MemoryQueue } from './memory.ts';
export { RedisQueue } from './redis.ts';

export interface QueueFactoryHandle {
  factory: QueueFactory;
  /** shuts every queue made by the factory down (and closes their connections) */
  close(): Promise<void>;
}

/**
 * undefined (or empty) → MemoryQueue; redis://host:port[/db] → RedisQueue (Redis keys prefixed "skiff");
 * anything else is an error saying what is accepted.
 */
export function createQueueFactory(
  url?: string,
  redisOptions: Omit<RedisQueueOptions, 'url'> = {},
): QueueFactoryHandle {
  const made: WorkQueue[] = [];
  const close = async () => {
    await Promise.all(made.splice(0).map((q) => q.shutDown()));
  };
  if (url === undefined || url === '') {
    return {
      factory: (name) => {
        const q = new MemoryQueue(name);
        made.push(q);
        return q;
      },
      close,
    };
  }
  if (!url.startsWith('redis://')) {
    throw new Error(
      `unsupported work queue "${url}": use redis://host:port[/db] to share queues through Redis, or leave --queue out for in-process queues`,
    );
  }
  parseRedisUrl(url); // a malformed URL fails here, at start-up
  return {
    factory: (name) => {
      const q = new RedisQueue(name, { ...redisOptions, url, prefix: redisOptions.prefix ?? 'skiff' });
      made.push(q);
      return q;
    },
    close,
  };
}
