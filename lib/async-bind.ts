/**
 * AsyncResource.prototype.bind as later Node versions have it: without the `asyncResource` property on the bound
 * function (DEP0172: runtime-deprecated in Node 20, End-of-Life and removed since). Node 20 defines that property
 * with two fresh deprecate() wrappers on every call, which makes a bind cost ~6 us, and node:http2 binds every
 * client request it sends: each etcd call of the API server (through grpc-js), each HTTP/2 request of a client.
 * leanAsyncBind() gives this process the later versions' bind: the function runs in the resource's async scope
 * (async hooks, AsyncLocalStorage), with the given `this`, and keeps its length.
 */
import { AsyncResource } from 'node:async_hooks';

const bind: AsyncResource['bind'] = function (this: AsyncResource, fn, thisArg?: unknown) {
  if (typeof fn !== 'function') {
    throw Object.assign(
      new TypeError(`The "fn" argument must be of type function. Received ${fn === null ? 'null' : typeof fn}`),
      { code: 'ERR_INVALID_ARG_TYPE' },
    );
  }
  const resource = this;
  const bound =
    thisArg === undefined
      ? function (this: unknown, ...args: unknown[]) {
          return resource.runInAsyncScope(fn, this, ...args);
        }
      : function (...args: unknown[]) {
          return resource.runInAsyncScope(fn, thisArg, ...args);
        };
  Object.defineProperty(bound, 'length', { configurable: true, enumerable: false, writable: false, value: fn.length });
  return bound as unknown as typeof fn;
};

/** whether this runtime's bind still adds the deprecated property (and so pays for it) */
export function hasDeprecatedBind(): boolean {
  return Object.hasOwn(
    new AsyncResource('skiff-probe').bind(() => {}),
    'asyncResource',
  );
}

/** installs the lean bind when the runtime's is the deprecated one; returns whether it did */
export function leanAsyncBind(): boolean {
  if (!hasDeprecatedBind()) return false;
  AsyncResource.prototype.bind = bind;
  return true;
}
