import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { keepAllocatorToSelf } from './allocator.ts';

describe('keepAllocatorToSelf', () => {
  it("takes only the launcher's library out of LD_PRELOAD", () => {
    const env: NodeJS.ProcessEnv = {
      SKIFF_PRELOAD: '/usr/lib/libjemalloc.so.2',
      LD_PRELOAD: '/opt/trace.so:/usr/lib/libjemalloc.so.2',
      PATH: '/bin',
    };
    assert.equal(keepAllocatorToSelf(env), '/usr/lib/libjemalloc.so.2');
    assert.deepEqual(env, { LD_PRELOAD: '/opt/trace.so', PATH: '/bin' });
  });
  it('drops LD_PRELOAD when nothing else was in it, and leaves a foreign one alone', () => {
    const mine: NodeJS.ProcessEnv = { SKIFF_PRELOAD: '/l/libjemalloc.so.2', LD_PRELOAD: '/l/libjemalloc.so.2' };
    keepAllocatorToSelf(mine);
    assert.deepEqual(mine, {});
    const foreign: NodeJS.ProcessEnv = { LD_PRELOAD: '/l/libjemalloc.so.2' };
    assert.equal(keepAllocatorToSelf(foreign), undefined);
    assert.deepEqual(foreign, { LD_PRELOAD: '/l/libjemalloc.so.2' });
  });
});
