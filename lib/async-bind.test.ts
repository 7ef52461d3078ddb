import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AsyncLocalStorage, AsyncResource, executionAsyncId } from 'node:async_hooks';
import http2 from 'node:http2';
import { once } from 'node:events';
import { hasDeprecatedBind, leanAsyncBind } from './async-bind.ts';

describe('lean AsyncResource.bind', () => {
  const original = AsyncResource.prototype.bind;
  const runtimeHadIt = hasDeprecatedBind();

  it('replaces the runtime bind only where it carries the deprecated property', () => {
    try {
      assert.equal(leanAsyncBind(), runtimeHadIt);
      assert.equal(hasDeprecatedBind(), false);
      assert.equal(leanAsyncBind(), false, 'a second call finds nothing to replace');
    } finally {
      AsyncResource.prototype.bind = original;
    }
  });

  it('runs the function in the resource scope with its this, arguments and length', () => {
    try {
      leanAsyncBind();
      const als = new AsyncLocalStorage<string>();
      const r = als.run('inside', () => new AsyncResource('test'));
      let seen: { id: number; store?: string; self: unknown; args: unknown[] } | undefined;
      function target(this: unknown, a: number, b: number) {
        seen = { id: executionAsyncId(), store: als.getStore(), self: this, args: [a, b] };
        return a + b;
      }
      const bound = r.bind(target);
      assert.equal(bound.length, 2);
      assert.equal(Object.hasOwn(bound, 'asyncResource'), false);
      const holder = { bound };
      assert.equal(holder.bound(1, 2), 3);
      assert.deepEqual(seen, { id: r.asyncId(), store: 'inside', self: holder, args: [1, 2] });
      // bind(fn, thisArg): documented, though @types/node declares only fn
      const withThis = (r.bind as unknown as (fn: typeof target, thisArg: unknown) => typeof target).call(
        r,
        target,
        'me',
      );
      withThis.call('other', 3, 4);
      assert.equal(seen!.self, 'me');
      assert.throws(() => r.bind(42 as never), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    } finally {
      AsyncResource.prototype.bind = original;
    }
  });

  it('keeps node:http2 client requests working (they bind through it)', async () => {
    const server = http2.createServer((req, res) => res.end(`got ${req.url}`));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      leanAsyncBind();
      const port = (server.address() as { port: number }).port;
      const session = http2.connect(`http://127.0.0.1:${port}`);
      // the first request is sent before the session is connected: it waits for the connection through a bound callback
      const bodies = await Promise.all(
        ['/a', '/b'].map(
          (p) =>
            new Promise<string>((resolve, reject) => {
              const req = session.request({ ':path': p });
              let body = '';
              req.setEncoding('utf8');
              req.on('data', (d) => (body += d));
              req.on('end', () => resolve(body));
              req.on('error', reject);
              req.end();
            }),
        ),
      );
      session.close();
      assert.deepEqual(bodies, ['got /a', 'got /b']);
    } finally {
      AsyncResource.prototype.bind = original;
      server.close();
    }
  });
});
