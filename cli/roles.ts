/**
 * The client-side roles of skiff as components: the scheduler and the controller manager, each behind leader election
 * (or, for the controller manager with a Redis queue, sharing the work with its peers instead). `skiff server` and the
 * single-role commands build them here, so both run the same thing.
 */
import type { Client } from '../lib/kube/client.ts';
import { ApiEventRecorder } from '../lib/kube/events.ts';
import { InformerFactory } from '../lib/kube/informer.ts';
import { leaderElected, type Component } from '../lib/component.ts';
import { createQueueFactory } from '../lib/workqueue/index.ts';
import { ControllerManager } from '../controllers/manager.ts';
import { CONTROLLERS } from '../controllers/registry.ts';
import { DEFAULT_CONTROLLER_OPTIONS } from '../controllers/controller.ts';
import { Scheduler } from '../scheduler/scheduler.ts';
import type { Flags } from './flags.ts';
import type { CONTROLLER_FLAGS, LEADER_FLAGS } from './flag-tables.ts';

export type LeaderFlags = Flags<typeof LEADER_FLAGS>;
export type ControllerFlags = Flags<typeof CONTROLLER_FLAGS>;

function withLeaderElection(
  c: Component,
  client: Client,
  lease: string,
  f: LeaderFlags,
  onLost: () => void,
): Component {
  if (!f['leader-elect']) return c;
  const leaseDurationMs = f['leader-elect-lease-duration'] * 1000;
  return leaderElected(c, {
    client,
    lease,
    identity: f['leader-elect-identity'] || undefined,
    leaseDurationMs,
    renewDeadlineMs: Math.round(leaseDurationMs * (2 / 3)),
    retryPeriodMs: Math.max(200, Math.round(leaseDurationMs / 7.5)),
    onLost,
  });
}

export function controllerManagerRole(
  client: Client,
  f: ControllerFlags & LeaderFlags,
  onLost: () => void,
  host?: string,
): Component {
  const queues = createQueueFactory(f.queue || undefined);
  const manager = new ControllerManager({
    client,
    queues: queues.factory,
    definitions: CONTROLLERS,
    // an empty --controllers= is the default set, as it always was
    enabled: f.controllers.length ? f.controllers : ['*'],
    options: {
      clusterCIDR: f['cluster-cidr'] || DEFAULT_CONTROLLER_OPTIONS.clusterCIDR,
      nodeMonitorGracePeriodMs: f['node-monitor-grace-period'] * 1000,
      sharedQueue: !!f.queue,
    },
    host,
  });
  const inner: Component = {
    name: 'controller-manager',
    start: () => manager.start(),
    async stop() {
      await manager.stop();
      await queues.close();
    },
    healthy: () => manager.healthy(),
  };
  // with a shared Redis queue every controller manager works; leader election is for the in-process queue
  return f.queue ? inner : withLeaderElection(inner, client, 'kube-controller-manager', f, onLost);
}

export function schedulerRole(client: Client, f: LeaderFlags, onLost: () => void, host?: string): Component {
  let scheduler: Scheduler | undefined;
  let informers: InformerFactory | undefined;
  const inner: Component = {
    name: 'scheduler',
    async start() {
      informers = new InformerFactory(client);
      scheduler = new Scheduler({
        client,
        informers,
        recorder: new ApiEventRecorder(client, 'default-scheduler', host),
      });
      await scheduler.start();
    },
    async stop() {
      await scheduler?.stop();
      informers?.stop();
    },
    healthy: () => scheduler?.healthy() ?? false,
  };
  return withLeaderElection(inner, client, 'kube-scheduler', f, onLost);
}
