/** Which of skiff's resources the API server in front of the controllers actually serves. */
import type { ApiClient } from '../lib/kube/api.ts';
import { ApiError } from '../lib/kube/api.ts';
import type { Resource } from '../lib/kube/resources.ts';

/**
 * The resources the API server answers a list of: one that it does not serve (404) would keep its informer from
 * ever syncing. Any other error leaves the resource in (its informer retries). Each resource is asked about once, by
 * whichever controller asks first (the garbage collector and the namespace controller both walk every resource).
 */
export class ServedResources {
  private readonly answers = new Map<Resource, Promise<boolean>>();

  constructor(
    private readonly client: ApiClient,
    private readonly log: (msg: string) => void,
  ) {}

  async of(candidates: readonly Resource[]): Promise<Resource[]> {
    const served = await Promise.all(candidates.map((r) => this.serves(r)));
    return candidates.filter((_, i) => served[i]);
  }

  private serves(r: Resource): Promise<boolean> {
    let answer = this.answers.get(r);
    if (!answer) this.answers.set(r, (answer = this.ask(r)));
    return answer;
  }

  private async ask(r: Resource): Promise<boolean> {
    try {
      await this.client.list(r, { limit: 1 });
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.code === 404) {
        this.log(`${r.resource}${r.group ? '.' + r.group : ''} is not served by the API server: not watched`);
        return false;
      }
      this.log(`listing ${r.resource} to check that it is served failed (${(e as Error).message}); watching it anyway`);
      return true;
    }
  }
}
