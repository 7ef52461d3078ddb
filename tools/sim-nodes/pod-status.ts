/**
 * The status a simulated kubelet reports for a pod bound to its node, by the conventions of sim-nodes (README.md):
 * every container runs and is ready, except images whose name contains "never-ready" (running, never ready) and
 * "does-not-exist" (waiting in ErrImagePull, then ImagePullBackOff; the pod stays Pending).
 */
import type { ContainerStatus, Pod, PodCondition, PodStatus } from '../../lib/kube/types/core-v1.ts';

export const NEVER_READY = 'never-ready';
export const DOES_NOT_EXIST = 'does-not-exist';

/** how a container of the pod fares */
export type ContainerFate = 'ready' | 'never-ready' | 'pull-error';

export function containerFate(image: string | undefined): ContainerFate {
  const img = image ?? '';
  if (img.includes(DOES_NOT_EXIST)) return 'pull-error';
  if (img.includes(NEVER_READY)) return 'never-ready';
  return 'ready';
}

export interface PodStatusInput {
  pod: Pod;
  hostIP: string;
  podIP: string;
  /** now, RFC 3339 */
  now: string;
  /** images that cannot be pulled are past their first failure: report ImagePullBackOff rather than ErrImagePull */
  pullBackOff: boolean;
}

/** a condition as the kubelet writes it: lastProbeTime null (which a merge patch takes as: none) */
export type WrittenPodCondition = Omit<PodCondition, 'lastProbeTime'> & { lastProbeTime: null };

/** the status as written: its conditions as the kubelet writes them */
export type WrittenPodStatus = Omit<PodStatus, 'conditions'> & { conditions: WrittenPodCondition[] };

function condition(
  pod: Pod,
  type: string,
  status: 'True' | 'False',
  now: string,
  reason?: string,
  message?: string,
): WrittenPodCondition {
  const old = pod.status?.conditions?.find((c) => c.type === type);
  const since = old && old.status === status && old.lastTransitionTime ? old.lastTransitionTime : now;
  const c: WrittenPodCondition = { type, status, lastProbeTime: null, lastTransitionTime: since };
  if (reason) c.reason = reason;
  if (message) c.message = message;
  return c;
}

function containerId(pod: Pod, name: string): string {
  return `sim://${String(pod.metadata.uid ?? '').replace(/-/g, '')}-${name}`;
}

/** the status to write (the whole of it, as the kubelet owns it) */
export function desiredPodStatus(input: PodStatusInput): WrittenPodStatus {
  const { pod, hostIP, podIP, now, pullBackOff } = input;
  const prev: PodStatus = pod.status ?? {};
  const startTime = prev.startTime ?? now;
  const containers = pod.spec?.containers ?? [];
  const previous = new Map((prev.containerStatuses ?? []).map((s) => [s.name, s]));
  const statuses = containers.map((c): ContainerStatus => {
    const fate = containerFate(c.image);
    // validation makes every container of a pod name its image
    const image = c.image ?? '';
    const base = { name: c.name, image, imageID: '', restartCount: 0, lastState: {} };
    if (fate === 'pull-error') {
      const waiting = pullBackOff
        ? { reason: 'ImagePullBackOff', message: `Back-off pulling image "${image}"` }
        : { reason: 'ErrImagePull', message: `failed to pull image "${image}": image not found in the registry` };
      return { ...base, ready: false, started: false, state: { waiting } };
    }
    const startedAt = previous.get(c.name)?.state?.running?.startedAt ?? now;
    return {
      ...base,
      containerID: containerId(pod, c.name),
      ready: fate === 'ready',
      started: true,
      state: { running: { startedAt } },
    };
  });
  const initStatuses = (pod.spec?.initContainers ?? []).map((c): ContainerStatus => ({
    name: c.name,
    image: c.image ?? '',
    imageID: '',
    containerID: containerId(pod, c.name),
    restartCount: 0,
    ready: true,
    started: false,
    lastState: {},
    state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: startTime, finishedAt: startTime } },
  }));
  const unready = statuses.filter((s) => !s.ready).map((s) => s.name);
  const allRunning = statuses.every((s) => s.state?.running);
  const ready = unready.length === 0;
  const notReadyMsg = `containers with unready status: [${unready.join(' ')}]`;
  const conditions = [
    condition(pod, 'PodReadyToStartContainers', 'True', now),
    condition(pod, 'Initialized', 'True', now),
    ready
      ? condition(pod, 'Ready', 'True', now)
      : condition(pod, 'Ready', 'False', now, 'ContainersNotReady', notReadyMsg),
    ready
      ? condition(pod, 'ContainersReady', 'True', now)
      : condition(pod, 'ContainersReady', 'False', now, 'ContainersNotReady', notReadyMsg),
    condition(pod, 'PodScheduled', 'True', now),
  ];
  const status: WrittenPodStatus = {
    phase: allRunning ? 'Running' : 'Pending',
    conditions,
    hostIP,
    hostIPs: [{ ip: hostIP }],
    podIP,
    podIPs: [{ ip: podIP }],
    startTime,
    containerStatuses: statuses,
  };
  if (initStatuses.length) status.initContainerStatuses = initStatuses;
  if (prev.qosClass) status.qosClass = prev.qosClass;
  return status;
}

/**
 * What of a status matters for deciding to write it again: phase, IPs, conditions' statuses and containers' states.
 * Times are left out so that an unchanged pod is never rewritten.
 */
export function statusSignature(status: PodStatus | WrittenPodStatus | undefined): string {
  if (!status) return '';
  const conds = (status.conditions ?? [])
    .map((c) => `${c.type}=${c.status}`)
    .sort()
    .join(',');
  const cs = (status.containerStatuses ?? [])
    .map((s) => `${s.name}:${s.ready}:${Object.keys(s.state ?? {})[0] ?? ''}:${s.state?.waiting?.reason ?? ''}`)
    .join(',');
  const init = (status.initContainerStatuses ?? []).length;
  return `${status.phase}|${status.podIP ?? ''}|${status.hostIP ?? ''}|${conds}|${cs}|${init}`;
}
