/**
 * Pod rows: READY "ready/total" (sidecar init containers count), STATUS as kubectl derives it from phase, reason,
 * init and container states and deletion, RESTARTS with the age of the last restart, and the wide columns.
 */
import { parseTime, since } from './duration.ts';
import {
  AGE_COLUMN,
  NAME_COLUMN,
  arr,
  column,
  int,
  type PrintContext,
  type PrintedRow,
  type Printer,
  type RowCondition,
} from './table.ts';

const SUCCEEDED: RowCondition[] = [
  { type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod ran to completion.' },
];
const FAILED: RowCondition[] = [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' }];

/** Pod.status.reason the node lifecycle controller sets on pods of an unreachable node */
const NODE_UNREACHABLE_REASON = 'NodeLost';

function isRestartableInit(c: any): boolean {
  return c?.restartPolicy === 'Always';
}

function conditionTrue(status: any, type: string): boolean {
  const c = arr(status?.conditions).find((x) => x?.type === type);
  return c?.status === 'True';
}

function hasReadyCondition(status: any): boolean {
  return arr(status?.conditions).some((c) => c?.type === 'Ready' && c?.status === 'True');
}

/** the later of `latest` and a container's last termination time */
function laterRestart(latest: number | undefined, cs: any): number | undefined {
  const t = parseTime(cs?.lastState?.terminated?.finishedAt);
  if (t === undefined) return latest;
  return latest === undefined || t > latest ? t : latest;
}

function podRow(pod: any, ctx: PrintContext): PrintedRow {
  const spec = pod?.spec ?? {};
  const status = pod?.status ?? {};
  const phase: string = status.phase ?? '';
  let reason: string = status.reason || phase;
  if (arr(status.conditions).some((c) => c?.type === 'PodScheduled' && c?.reason === 'SchedulingGated'))
    reason = 'SchedulingGated';

  const initSpecs = arr(spec.initContainers);
  const initByName = new Map<string, any>();
  let total = arr(spec.containers).length;
  for (const ic of initSpecs) {
    initByName.set(ic?.name, ic);
    if (isRestartableInit(ic)) total++;
  }

  let ready = 0;
  let restarts = 0;
  let sidecarRestarts = 0;
  let lastRestart: number | undefined;
  let lastSidecarRestart: number | undefined;
  let initializing = false;

  const initStatuses = arr(status.initContainerStatuses);
  for (let i = 0; i < initStatuses.length; i++) {
    const cs = initStatuses[i];
    restarts += int(cs?.restartCount);
    lastRestart = laterRestart(lastRestart, cs);
    const sidecar = isRestartableInit(initByName.get(cs?.name));
    if (sidecar) {
      sidecarRestarts += int(cs?.restartCount);
      lastSidecarRestart = laterRestart(lastSidecarRestart, cs);
    }
    const terminated = cs?.state?.terminated;
    const waiting = cs?.state?.waiting;
    if (terminated && int(terminated.exitCode) === 0) continue;
    if (sidecar && cs?.started === true) {
      if (cs?.ready) ready++;
      continue;
    }
    if (terminated) {
      if (!terminated.reason) {
        reason =
          int(terminated.signal) !== 0
            ? `Init:Signal:${int(terminated.signal)}`
            : `Init:ExitCode:${int(terminated.exitCode)}`;
      } else {
        reason = `Init:${terminated.reason}`;
      }
    } else if (waiting?.reason && waiting.reason !== 'PodInitializing') {
      reason = `Init:${waiting.reason}`;
    } else {
      reason = `Init:${i}/${initSpecs.length}`;
    }
    initializing = true;
    break;
  }

  if (!initializing || conditionTrue(status, 'Initialized')) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    const statuses = arr(status.containerStatuses);
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i];
      restarts += int(cs?.restartCount);
      lastRestart = laterRestart(lastRestart, cs);
      const waiting = cs?.state?.waiting;
      const terminated = cs?.state?.terminated;
      if (waiting?.reason) {
        reason = waiting.reason;
      } else if (terminated?.reason) {
        reason = terminated.reason;
      } else if (terminated) {
        reason =
          int(terminated.signal) !== 0 ? `Signal:${int(terminated.signal)}` : `ExitCode:${int(terminated.exitCode)}`;
      } else if (cs?.ready && cs?.state?.running) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === 'Completed' && hasRunning) reason = hasReadyCondition(status) ? 'Running' : 'NotReady';
  }

  if (pod?.metadata?.deletionTimestamp) {
    if (status.reason === NODE_UNREACHABLE_REASON) reason = 'Unknown';
    else if (phase !== 'Succeeded' && phase !== 'Failed') reason = 'Terminating';
  }

  const restartText =
    restarts !== 0 && lastRestart !== undefined ? `${restarts} (${since(lastRestart, ctx.now)} ago)` : String(restarts);

  const podIP: string = arr(status.podIPs)[0]?.ip ?? status.podIP ?? '';
  const gates = arr(spec.readinessGates);
  let gateText = '<none>';
  if (gates.length > 0) {
    let trueCount = 0;
    for (const g of gates) {
      const c = arr(status.conditions).find((x) => x?.type === g?.conditionType);
      if (c?.status === 'True') trueCount++;
    }
    gateText = `${trueCount}/${gates.length}`;
  }

  const row: PrintedRow = {
    cells: [
      pod?.metadata?.name ?? '',
      `${ready}/${total}`,
      reason,
      restartText,
      since(pod?.metadata?.creationTimestamp, ctx.now),
      podIP || '<none>',
      spec.nodeName || '<none>',
      status.nominatedNodeName || '<none>',
      gateText,
    ],
  };
  if (phase === 'Succeeded') row.conditions = SUCCEEDED;
  else if (phase === 'Failed') row.conditions = FAILED;
  return row;
}

export const podPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Ready', 'string', 'Ready containers out of all containers of the pod.'),
    column('Status', 'string', 'Summary of the pod phase and container states.'),
    column('Restarts', 'string', 'Container restarts in total, and how long ago the latest one happened.'),
    AGE_COLUMN,
    column('IP', 'string', 'The first IP address of the pod.', { priority: 1 }),
    column('Node', 'string', 'The node the pod is bound to.', { priority: 1 }),
    column('Nominated Node', 'string', 'The node the scheduler expects to place the pod on after preemption.', {
      priority: 1,
    }),
    column('Readiness Gates', 'string', 'Readiness gates satisfied out of all readiness gates.', { priority: 1 }),
  ],
  row: podRow,
};
