/** Which of skiff's resources the API server in front of a controller actually serves. */
import type { ApiClient } from './api.ts';
import { ApiError } from './api.ts';
import type { Resource } from './resources.ts';

/**
 * The resources the API server answers a list of: one that it does not serve (404) would keep its informer from
 * ever syncing. Any other error leaves the resource in (its informer retries).
 */
export async function servedResources(
  client: ApiClient,
  candidates: readonly Resource[],
  log: (m: string) => void,
): Promise<Resource[]> {
  const served = await Promise.all(
    candidates.map(async (r) => {
      try {
        await client.list(r, { limit: 1 });
        return true;
      } catch (e) {
        if (e instanceof ApiError && e.code === 404) return false;
        log(`listing ${r.resource} to check that it is served failed (${(e as Error).message}); watching it anyway`);
        return true;
      }
    }),
  );
  const skipped = candidates.filter((_, i) => !served[i]);
  if (skipped.length) log(`not served by the API server, not watched: ${skipped.map((r) => r.resource).join(', ')}`);
  return candidates.filter((_, i) => served[i]);
}
