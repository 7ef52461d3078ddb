/**
 * A role of skiff run in a process (scheduler, controller manager, node agent, ...): started in dependency order,
 * stopped in reverse, with a readiness signal. `leaderElected` makes a component active only while it holds a Lease,
 * so several copies can run with one active and the others standing by.
 */
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import type { ApiClient } from './kube/api.ts';
import { LeaderElector } from './kube/leader-election.ts';

export interface Component {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  healthy(): boolean;
}

export interface LeaderElectionConfig {
  client: ApiClient;
  /** Lease name in kube-system: "kube-scheduler", "kube-controller-manager" */
  lease: string;
  /** holder identity; by default host name + a random suffix */
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  log?(msg: string): void;
  /** called when leadership is lost after having been held: the process should exit, as Kubernetes' components do */
  onLost?(): void;
}

export function defaultIdentity(): string {
  return `${os.hostname()}_${randomUUID()}`;
}

/**
 * Runs `inner` only while holding the lease. start() returns at once (the component stands by until it leads);
 * healthy() is true while standing by too, as a standby is healthy.
 */
export function leaderElected(inner: Component, cfg: LeaderElectionConfig): Component & { isLeader(): boolean } {
  const log = cfg.log ?? ((m: string) => console.log(`${inner.name}: ${m}`));
  const identity = cfg.identity ?? defaultIdentity();
  let elector: LeaderElector | undefined;
  let running: Promise<void> | undefined;
  let stopping = false;
  return {
    name: inner.name,
    isLeader: () => elector?.isLeader() ?? false,
    async start() {
      elector = new LeaderElector({
        client: cfg.client,
        namespace: 'kube-system',
        name: cfg.lease,
        identity,
        leaseDurationMs: cfg.leaseDurationMs,
        renewDeadlineMs: cfg.renewDeadlineMs,
        retryPeriodMs: cfg.retryPeriodMs,
        onStartedLeading: () => {
          log(`became leader (lease kube-system/${cfg.lease}, identity ${identity})`);
          running = inner.start().catch((e) => log(`failed to start: ${(e as Error).message}`));
        },
        onStoppedLeading: () => {
          if (stopping) return;
          log(`lost the lease kube-system/${cfg.lease}; stopping`);
          void inner.stop().finally(() => cfg.onLost?.());
        },
        onNewLeader: (id) => {
          if (id !== identity) log(`standing by; the leader is ${id}`);
        },
      });
      void elector.run();
    },
    async stop() {
      stopping = true;
      await running;
      if (elector?.isLeader()) await inner.stop();
      await elector?.stop();
    },
    healthy: () => (elector?.isLeader() ? inner.healthy() : true),
  };
}
