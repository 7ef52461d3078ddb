/**
 * One subsystem of the node agent, in the shape of Nomad's client hooks and k3s's components: the agent starts its
 * hooks in the order of its list (agent.ts) and stops them in reverse, in one loop.
 */
export interface Hook {
  /** names the hook in the agent's errors: `node agent: starting "network" failed: ...` */
  readonly name: string;
  start(): Promise<void>;
  /**
   * Undoes start. Also called when start failed part way, so it stops only what is there; the hooks started before
   * a failed one are stopped too, in reverse.
   */
  stop(): Promise<void>;
  /** whether the subsystem can do its work now (the agent is healthy when every started hook is) */
  ready?(): boolean;
  /** forgets what it runs without stopping it, as a killed agent would (for tests) */
  abandon?(): void;
}
