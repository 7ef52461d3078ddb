/** Arithmetic of rollouts shared by the DaemonSet and StatefulSet controllers. */

/**
 * An int-or-percent (maxUnavailable, partition-like fields) against a total: "25%" of 10 is 3 when rounding up,
 * 2 when rounding down; a number is itself. A malformed value is an error naming it.
 */
export function scaledValue(v: number | string, total: number, roundUp: boolean): number {
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) {
    if (/^\d+$/.test(v)) return Number(v);
    throw new Error(`invalid value for IntOrString: invalid type: string is not a percentage: "${v}"`);
  }
  const exact = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/**
 * Runs fn over the items in batches of 1, 2, 4, ... (all of a batch at once), stopping after the first batch with
 * a failure, as Kubernetes' controllers create pods: a quota or admission error costs one call, not hundreds.
 * `attempted` counts the items fn was called for.
 */
export async function slowStartBatch<T>(
  items: T[],
  fn: (item: T) => Promise<void>,
  initial = 1,
): Promise<{ attempted: number; error?: Error }> {
  let done = 0;
  let size = Math.max(1, initial);
  while (done < items.length) {
    const batch = items.slice(done, done + size);
    done += batch.length;
    const results = await Promise.allSettled(batch.map(fn));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) return { attempted: done, error: failed.reason as Error };
    size *= 2;
  }
  return { attempted: done };
}
