/**
 * The pod status the agent reports, computed as the kubelet does from the spec, what the runtime holds and what the
 * agent knows of waits (image pulls, back-offs, configuration errors) and probes: container states with reasons,
 * phase, conditions, IPs and the QoS class.
 */
import { readFileSync } from 'node:fs';
import type { Container, ContainerStateView, ContainerStatusView, Pod, PodCondition } from '../objects.ts';
import type { ContainerStatus } from '../cri/types.ts';
import * as L from './labels.ts';
import type { RuntimePod } from './runtime-cache.ts';
import { qosClass, type QosClass } from './spec.ts';
import { rfc3339 } from '../../lib/time.ts';

/** Why a container is not running, when the agent knows better than the runtime */
export interface Waiting {
  reason: string;
  message?: string;
}

export interface ProbeView {
  /** readiness: true once it succeeds (true when the container has no readiness probe) */
  ready(containerId: string, hasProbe: boolean): boolean;
  /** startup: true once it succeeds (true when the container has no startup probe) */
  started(containerId: string, hasProbe: boolean): boolean;
}

export interface StatusInputs {
  pod: Pod;
  runtime: RuntimePod;
  nodeIP: string;
  /** container name -> a wait the agent set (pull errors, back-off, config errors) */
  waiting: Map<string, Waiting>;
  probes: ProbeView;
  /** the pod is being stopped by the agent (deleted, or done) */
  terminating: boolean;
  /** when the agent first saw the pod */
  startTime: string;
  /** reads the termination message of a container (file or log tail) */
  terminationMessage?: (cs: ContainerStatus) => string | undefined;
  now?: Date;
}

function nsToTime(ns: string): string | undefined {
  const n = BigInt(ns || '0');
  if (n <= 0n) return undefined;
  return rfc3339(new Date(Number(n / 1_000_000n)));
}

/** the status the agent writes: what it owns of a pod's status (other conditions stay as others wrote them) */
export interface ReportedPodStatus {
  phase: string;
  conditions: PodCondition[];
  hostIP: string;
  hostIPs: { ip: string }[];
  startTime: string;
  containerStatuses: ContainerStatusView[];
  initContainerStatuses?: ContainerStatusView[];
  qosClass: QosClass;
  podIP?: string;
  podIPs?: { ip: string }[];
}

function terminatedState(cs: ContainerStatus, message?: string): ContainerStateView {
  let reason = cs.reason;
  if (!reason || reason === 'Unknown') reason = cs.exit_code === 0 ? 'Completed' : 'Error';
  return {
    terminated: {
      exitCode: cs.exit_code,
      reason,
      ...(message || cs.message ? { message: message || cs.message } : {}),
      startedAt: nsToTime(cs.started_at) ?? null,
      finishedAt: nsToTime(cs.finished_at) ?? null,
      containerID: `containerd://${cs.id}`,
    },
  };
}

function restartCountOf(cs: ContainerStatus | undefined): number {
  return cs ? Number(cs.annotations?.[L.RESTART_COUNT] ?? cs.metadata?.attempt ?? 0) : 0;
}

/** One entry of containerStatuses / initContainerStatuses. */
export function containerStatus(
  c: Container,
  all: ContainerStatus[],
  inputs: StatusInputs,
  podInitializing: boolean,
): ContainerStatusView {
  const mine = all.filter((x) => x.metadata.name === c.name);
  const cur = mine[0];
  const prev = mine[1];
  const wait = inputs.waiting.get(c.name);
  const base = { name: c.name, image: c.image, imageID: cur?.image_ref ?? '', restartCount: restartCountOf(cur) };
  const out: ContainerStatusView = { ...base, ready: false, started: false };
  if (cur) out.containerID = `containerd://${cur.id}`;
  if (!cur) {
    out.state = {
      waiting: {
        reason: wait?.reason ?? (podInitializing ? 'PodInitializing' : 'ContainerCreating'),
        ...(wait?.message ? { message: wait.message } : {}),
      },
    };
    out.lastState = {};
    return out;
  }
  if (cur.state === 'CONTAINER_RUNNING') {
    out.state = { running: { startedAt: nsToTime(cur.started_at) ?? null } };
    out.started = inputs.probes.started(cur.id, !!c.startupProbe);
    out.ready = out.started && inputs.probes.ready(cur.id, !!c.readinessProbe) && !inputs.terminating;
    out.lastState =
      prev && prev.state === 'CONTAINER_EXITED' ? terminatedState(prev, inputs.terminationMessage?.(prev)) : {};
  } else if (cur.state === 'CONTAINER_EXITED') {
    const term = terminatedState(cur, inputs.terminationMessage?.(cur));
    if (wait && !inputs.terminating) {
      // exited and waiting to be started again (back-off), as the kubelet shows a crash loop
      out.state = { waiting: { reason: wait.reason, ...(wait.message ? { message: wait.message } : {}) } };
      out.lastState = term;
    } else {
      out.state = term;
      out.lastState =
        prev && prev.state === 'CONTAINER_EXITED' ? terminatedState(prev, inputs.terminationMessage?.(prev)) : {};
    }
  } else if (cur.state === 'CONTAINER_CREATED') {
    out.state = {
      waiting: { reason: wait?.reason ?? 'ContainerCreating', ...(wait?.message ? { message: wait.message } : {}) },
    };
    out.lastState = prev && prev.state === 'CONTAINER_EXITED' ? terminatedState(prev) : {};
  } else {
    out.state = {
      waiting: {
        reason: 'ContainerStatusUnknown',
        message: 'The container could not be located when the pod was terminated',
      },
    };
    out.lastState = {};
  }
  return out;
}

function condition(type: string, ok: boolean, reason?: string, message?: string): PodCondition {
  return { type, status: ok ? 'True' : 'False', ...(ok ? {} : { reason, message }) };
}

/** what the phase reads of a container status */
export interface PhaseInput {
  state?: { running?: unknown; waiting?: unknown; terminated?: { exitCode: number } };
  lastState?: { terminated?: unknown };
}

/** kubelet's phase from the container statuses and the restart policy */
export function podPhase(
  pod: Pod,
  initStatuses: PhaseInput[],
  statuses: PhaseInput[],
  initDone: boolean,
  initFailed: boolean,
): string {
  const policy = pod.spec?.restartPolicy ?? 'Always';
  if (initFailed && policy === 'Never') return 'Failed';
  if (!initDone) return 'Pending';
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const s of statuses) {
    if (s.state?.running) running++;
    else if (s.state?.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated) stopped++;
      else waiting++;
    }
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0) {
    if (policy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (policy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

/** The whole status of a pod. Conditions keep their lastTransitionTime while their status stays the same. */
export function podStatus(inputs: StatusInputs): ReportedPodStatus {
  const { pod, runtime } = inputs;
  const now = rfc3339(inputs.now ?? new Date());
  const spec = pod.spec ?? {};
  const sandbox = runtime.sandboxes[0];
  const sandboxReady = sandbox?.state === 'SANDBOX_READY';
  const all = runtime.containers;
  // init containers: done when each exited 0 (or, for restartable sidecars, is running)
  const inits = spec.initContainers ?? [];
  const initStatuses: ContainerStatusView[] = [];
  let initDone = true;
  let initFailed = false;
  const pending: string[] = [];
  for (const c of inits) {
    const s = containerStatus(c, all, inputs, false);
    initStatuses.push(s);
    const sidecar = c.restartPolicy === 'Always';
    const ok = sidecar ? !!s.state?.running && s.started : s.state?.terminated?.exitCode === 0;
    if (!ok) {
      initDone = false;
      pending.push(c.name);
      const failed = s.state?.terminated && s.state.terminated.exitCode !== 0;
      if (failed) initFailed = true;
    }
    if (!sidecar) s.ready = s.state?.terminated?.exitCode === 0;
  }
  const statuses = (spec.containers ?? []).map((c) => containerStatus(c, all, inputs, !initDone));
  const phase = podPhase(pod, initStatuses, statuses, initDone, initFailed);
  const unready = statuses.filter((s) => !s.ready).map((s) => s.name);
  const gates = spec.readinessGates ?? [];
  const gatesOk = gates.every((g) =>
    (pod.status?.conditions ?? []).some((c) => c.type === g.conditionType && c.status === 'True'),
  );
  const done = phase === 'Succeeded' || phase === 'Failed';
  const containersReady = unready.length === 0 && !done;
  const conds = [
    condition('PodReadyToStartContainers', sandboxReady),
    condition(
      'Initialized',
      initDone,
      'ContainersNotInitialized',
      `containers with incomplete status: [${pending.join(' ')}]`,
    ),
    condition(
      'Ready',
      containersReady && gatesOk,
      done ? 'PodCompleted' : 'ContainersNotReady',
      done ? '' : `containers with unready status: [${unready.join(' ')}]`,
    ),
    condition(
      'ContainersReady',
      containersReady,
      done ? 'PodCompleted' : 'ContainersNotReady',
      done ? '' : `containers with unready status: [${unready.join(' ')}]`,
    ),
  ];
  if (done) {
    conds[1] = { type: 'Initialized', status: 'True', reason: 'PodCompleted' };
    for (const c of conds.slice(2)) c.message = undefined;
  }
  if (!containersReady || !gatesOk) {
    if (!gatesOk && containersReady) {
      conds[2].reason = 'ReadinessGatesNotReady';
      conds[2].message = `corresponding condition of pod readiness gate "${gates.map((g) => g.conditionType).join('", "')}" does not exist.`;
    }
  }
  const previous = new Map((pod.status?.conditions ?? []).map((c) => [c.type, c]));
  const conditions: PodCondition[] = [];
  for (const c of conds) {
    const old = previous.get(c.type);
    if (c.message === undefined || c.message === '') delete c.message;
    if (c.reason === undefined) delete c.reason;
    conditions.push({
      ...c,
      lastProbeTime: null,
      lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : now,
    });
  }
  // conditions owned by others (PodScheduled, DisruptionTarget, readiness gates) are not written: the strategic
  // merge patch of the status merges conditions by type
  const ip = spec.hostNetwork ? inputs.nodeIP : sandbox?.network?.ip || pod.status?.podIP;
  const status: ReportedPodStatus = {
    phase,
    conditions,
    hostIP: inputs.nodeIP,
    hostIPs: [{ ip: inputs.nodeIP }],
    startTime: pod.status?.startTime ?? inputs.startTime,
    containerStatuses: statuses,
    qosClass: qosClass(pod),
  };
  if (ip) {
    status.podIP = ip;
    status.podIPs = [{ ip }, ...(sandbox?.network?.additional_ips ?? []).map((a) => ({ ip: a.ip }))];
  }
  if (inits.length) status.initContainerStatuses = initStatuses;
  return status;
}

/** The termination message of an exited container: its termination-message file, else (FallbackToLogsOnError) its log's tail. */
export function readTerminationMessage(cs: ContainerStatus, messageFile: string | undefined): string | undefined {
  const MAX = 4096;
  if (messageFile) {
    try {
      const b = readFileSync(messageFile);
      if (b.length) return b.subarray(0, MAX).toString('utf8');
    } catch {
      /* none */
    }
  }
  if (cs.annotations?.[L.TERMINATION_MESSAGE_POLICY] === 'FallbackToLogsOnError' && cs.exit_code !== 0 && cs.log_path) {
    try {
      const lines = readFileSync(cs.log_path, 'utf8').split('\n').filter(Boolean).slice(-80);
      const text = lines.map((l) => l.split(' ').slice(3).join(' ')).join('\n');
      return text.slice(-2048);
    } catch {
      return undefined;
    }
  }
  return undefined;
}
