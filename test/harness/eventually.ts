export interface EventuallyOptions {
  /** pause between attempts; default 50 ms */
  everyMs?: number;
  /** an error thrown by the condition ends the wait at once (for conditions that detect a state they cannot leave) */
  failFast?: boolean;
}

/**
 * Waits until `f` returns a truthy value, retrying on falsy results and errors; fails naming what it waited for. The
 * timeout bounds a wait for something that never happens, so it is generous (a loaded 2-core machine): a condition
 * reached early ends the wait early.
 */
export async function eventually<T>(
  what: string,
  f: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 30_000,
  every: number | EventuallyOptions = {},
): Promise<T> {
  const o = typeof every === 'number' ? { everyMs: every } : every;
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
