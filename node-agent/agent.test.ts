/** The loop over the agent's hooks: order, failures named, and what a failed start leaves behind. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HookError, HookRunner } from './agent.ts';
import type { Hook } from './hooks/hook.ts';

/** hooks that record their calls in one list; `fail` names the hooks whose start or stop throws */
function fakeHooks(names: string[], fail: { start?: string; stop?: string[] } = {}) {
  const calls: string[] = [];
  const hooks: Hook[] = names.map((name) => ({
    name,
    async start() {
      calls.push(`start ${name}`);
      if (fail.start === name) throw Object.assign(new Error(`${name} broke`), { code: 401 });
    },
    async stop() {
      calls.push(`stop ${name}`);
      if (fail.stop?.includes(name)) throw new Error(`${name} would not stop`);
    },
  }));
  return { calls, runner: new HookRunner(hooks, () => {}) };
}

describe('agent hooks', () => {
  it('start in list order and stop in reverse, once', async () => {
    const { calls, runner } = fakeHooks(['runtime', 'node', 'pods']);
    await runner.start();
    assert.ok(runner.ready());
    await runner.stop();
    await runner.stop();
    assert.deepEqual(calls, ['start runtime', 'start node', 'start pods', 'stop pods', 'stop node', 'stop runtime']);
    assert.equal(runner.ready(), false);
  });

  it('a failed start names its hook, keeps the cause and its code, and stops it and every hook before it', async () => {
    const { calls, runner } = fakeHooks(['runtime', 'node', 'network', 'pods'], { start: 'network' });
    const err = await runner.start().then(
      () => assert.fail('start should fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof HookError);
    assert.equal(err.message, 'node agent: starting "network" failed: network broke');
    assert.equal(err.hook, 'network');
    assert.equal(err.code, 401);
    assert.equal((err.cause as Error).message, 'network broke');
    assert.deepEqual(calls, [
      'start runtime',
      'start node',
      'start network',
      'stop network',
      'stop node',
      'stop runtime',
    ]);
    calls.length = 0;
    await runner.stop();
    assert.deepEqual(calls, [], 'nothing is left to stop');
  });

  it('a failed stop names its hook and the others still stop', async () => {
    const { calls, runner } = fakeHooks(['runtime', 'dns', 'pods'], { stop: ['dns', 'pods'] });
    await runner.start();
    await assert.rejects(
      runner.stop(),
      /^Error: node agent: stopping "pods" failed: pods would not stop; node agent: stopping "dns" failed: dns would not stop$/,
    );
    assert.deepEqual(calls.slice(3), ['stop pods', 'stop dns', 'stop runtime']);
  });

  it('readiness is every started hook ready', async () => {
    let networkReady = false;
    const runner = new HookRunner(
      [
        { name: 'runtime', start: async () => {}, stop: async () => {} },
        { name: 'network', start: async () => {}, stop: async () => {}, ready: () => networkReady },
      ],
      () => {},
    );
    assert.equal(runner.ready(), false, 'not before start');
    await runner.start();
    assert.equal(runner.ready(), false);
    networkReady = true;
    assert.equal(runner.ready(), true);
  });
});
