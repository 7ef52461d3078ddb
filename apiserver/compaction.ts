/** Compaction of the store's history, as Kubernetes' API server compacts etcd every 5 minutes. */
import type { Backend } from './storage/backend.ts';

/** revisions of history kept for watches to start from */
const KEPT_REVISIONS = 10_000;

/** keep a window of history for watches; older revisions are compacted away */
async function compactOld(backend: Backend, log: (m: string) => void): Promise<void> {
  try {
    const rev = await backend.currentRevision();
    const target = rev - KEPT_REVISIONS;
    if (target > (await backend.compactedRevision())) await backend.compact(target);
  } catch (e) {
    log(`compaction failed: ${(e as Error).message}`);
  }
}

/** compacts every 5 minutes until the returned function is called */
export function startCompaction(backend: Backend, log: (m: string) => void): () => void {
  const timer = setInterval(() => void compactOld(backend, log), 5 * 60_000);
  timer.unref();
  return () => clearInterval(timer);
}
