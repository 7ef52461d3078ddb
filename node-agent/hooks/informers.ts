/**
 * The API watches the hooks share (the pods bound here, Nodes, Services, EndpointSlices): started once every hook
 * before this one has registered its handlers, so none misses an object; the start waits for the first lists.
 */
import type { Hook } from './hook.ts';
import type { AgentState } from './state.ts';

export class InformersHook implements Hook {
  readonly name = 'informers';

  constructor(private readonly s: AgentState) {}

  async start(): Promise<void> {
    this.s.informers.factory.start();
    await this.s.informers.factory.waitForSync();
  }

  async stop(): Promise<void> {
    this.s.informers.factory.stop();
  }

  ready(): boolean {
    return this.s.informers.factory.health().every((h) => h.synced);
  }

  abandon(): void {
    this.s.informers.factory.stop();
  }
}
