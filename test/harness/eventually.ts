export interface EventuallyOptions {
  /** how long to wait at most; default 30 s */
  timeoutMs?: number;
  /** pause between attempts; default 50 ms (more for conditions that are costly to ask, such as a kubectl run) */
  everyMs?: number;
  /** an error thrown by the condition ends the wait at once (for conditions that detect a state they cannot leave) */
  failFast?: boolean;
}

/**
 * Waits until `f` returns a truthy value, retrying on falsy results and errors; fails naming what it waited for. The
 * timeout bounds a wait for something that never happens, so it is generous (a loaded 2-core machine): a condition
 * reached early ends the wait early. Options as an object (`{ timeoutMs, everyMs, failFast }`), or the timeout and
 * the pause as numbers.
 */
export async function eventually<T>(
  what: string,
  f: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeout: number | EventuallyOptions = {},
  every: number | EventuallyOptions = {},
): Promise<T> {
  const o: EventuallyOptions = {
    ...(typeof timeout === 'number' ? { timeoutMs: timeout } : timeout),
    ...(typeof every === 'number' ? { everyMs: every } : every),
  };
  const timeoutMs = o.timeoutMs ?? 30_000;
  const everyMs = o.everyMs ?? 50;
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v) return v as T;
    } catch (e) {
      if (o.failFast) throw new Error(`${what}: ${(e as Error).message}`, { cause: e });
      last = e;
    }
    if (Date.now() > end)
      throw new Error(`${what}: not reached in ${timeoutMs} ms${last ? ` (${(last as Error).message})` : ''}`, {
        cause: last,
      });
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
