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
import type { FlagSpec } from './flags.ts';

export const CONTROLLER_FLAGS: FlagSpec[] = [
  {
    name: 'controllers',
    help: 'controllers to run: "*" for the default set, "name" to add one, "-name" to leave one out (comma separated)',
    default: '*',
  },
  {
    name: 'queue',
    help: 'work queue: in process (empty) or redis://host:port to share the work among several controller managers',
    env: 'SKIFF_QUEUE',
    default: '',
  },
  {
    name: 'cluster-cidr',
    help: 'range from which each node gets its pod CIDR',
    default: DEFAULT_CONTROLLER_OPTIONS.clusterCIDR,
  },
  {
    name: 'node-monitor-grace-period',
    help: 'seconds without a heartbeat before a node is marked NotReady/Unknown',
    default: String(DEFAULT_CONTROLLER_OPTIONS.nodeMonitorGracePeriodMs / 1000),
  },
];

export const LEADER_FLAGS: FlagSpec[] = [
  {
    name: 'leader-elect',
    help: 'hold a Lease in kube-system while active, so that standbys can take over',
    boolean: true,
    default: 'true',
  },
  {
    name: 'leader-elect-identity',
    help: 'identity in the Lease (default: host name and a random suffix)',
    default: '',
  },
  {
    name: 'leader-elect-lease-duration',
    help: 'seconds a standby waits for a silent leader before taking over',
    default: '15',
  },
];

const truthy = (v: string | undefined) => v === 'true' || v === '1' || v === 'yes';

function seconds(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${flag}: "${v}" is not a positive number of seconds`);
  return n * 1000;
}

function withLeaderElection(
  c: Component,
  client: Client,
  lease: string,
  f: Record<string, string>,
  onLost: () => void,
): Component {
  if (!truthy(f['leader-elect'])) return c;
  const leaseDurationMs = seconds(f['leader-elect-lease-duration'] ?? '15', 'leader-elect-lease-duration');
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
  f: Record<string, string>,
  onLost: () => void,
  host?: string,
): Component {
  const queues = createQueueFactory(f.queue || undefined);
  const manager = new ControllerManager({
    client,
    queues: queues.factory,
    definitions: CONTROLLERS,
    enabled: (f.controllers || '*')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    options: {
      clusterCIDR: f['cluster-cidr'] || DEFAULT_CONTROLLER_OPTIONS.clusterCIDR,
      nodeMonitorGracePeriodMs: seconds(f['node-monitor-grace-period'] || '40', 'node-monitor-grace-period'),
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

export function schedulerRole(client: Client, f: Record<string, string>, onLost: () => void, host?: string): Component {
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
