/**
 * One pod's worker, as kubelet's pod workers keep them: the newest desired state from the API (an update replaces the
 * one before it, seen or not, so a sync always works on the newest), a phase that only moves forward through the
 * table below (so a kill is never undone by an update), and syncs that never overlap (requests during a sync collapse
 * into one more, which sees the newest state).
 */
import type { Pod } from '../objects.ts';
import { rfc3339 } from '../../lib/time.ts';
import type { Waiting } from './status.ts';
import type { PreparedVolume } from './volumes.ts';

/**
 * Where a pod's worker is in the pod's life (kubelet's SyncPod, TerminatingPod, TerminatedPod and finished):
 * - syncing: the pod should run; each sync converges the runtime on its spec (a pod that completed stays here, its
 *   containers kept for their logs);
 * - terminating: the pod must stop (it is being deleted, the API no longer has it, or the API never knew it); its
 *   containers are stopped with their grace period;
 * - terminated: its containers and sandbox are stopped; what is left is the final status and the deletion;
 * - finished: the final status is written and the deletion confirmed.
 * A terminated or finished worker whose pod the API no longer has removes what the node holds for it and is dropped.
 */
export type WorkerPhase = 'syncing' | 'terminating' | 'terminated' | 'finished';

/** the only transitions a worker makes; anything else is refused */
export const WORKER_TRANSITIONS: Readonly<Record<WorkerPhase, readonly WorkerPhase[]>> = {
  syncing: ['terminating'],
  terminating: ['terminated'],
  terminated: ['finished'],
  finished: [],
};

export function canTransition(from: WorkerPhase, to: WorkerPhase): boolean {
  return WORKER_TRANSITIONS[from].includes(to);
}

/** one sync of the pod; resolves with the ms until the next one (0: none until something changes) */
export type SyncFn = (w: PodWorker) => Promise<number>;

export class PodWorker {
  private desired?: Pod;
  private current: WorkerPhase = 'syncing';
  private gone = false;
  /** when the agent first saw the pod (the status's startTime when the API has none) */
  readonly startTime = rfc3339(new Date());
  /** container name -> why it waits, when the agent knows better than the runtime (pulls, back-off, config errors) */
  readonly waiting = new Map<string, Waiting>();
  /** the status last written, as JSON (an unchanged status is not written again) */
  lastStatus?: string;
  /** the pod's volumes on the host, from the last sync */
  volumes?: Map<string, PreparedVolume>;
  private busy = false;
  private again = false;
  private closed = false;
  private timer?: NodeJS.Timeout;

  constructor(
    readonly uid: string,
    private readonly sync: SyncFn,
  ) {}

  /** the newest desired state from the API (undefined: the agent only knows the pod from the runtime) */
  get pod(): Pod | undefined {
    return this.desired;
  }

  get phase(): WorkerPhase {
    return this.current;
  }

  /** the API no longer has the pod (or never had it) */
  get removed(): boolean {
    return this.gone;
  }

  /** a sync is running */
  get syncing(): boolean {
    return this.busy;
  }

  /** A newer desired state: it replaces the one before it. The phase stays as it is: an update never undoes a kill. */
  update(pod: Pod): void {
    this.desired = pod;
  }

  /** The pod must stop. Final: the worker never runs the pod again. */
  kill(): void {
    if (this.current === 'syncing') this.moveTo('terminating');
  }

  /** The API no longer has the pod (or never had it): a kill, and the cleanup once the pod is stopped. Final too. */
  remove(): void {
    this.gone = true;
    this.kill();
  }

  /** Moves to the next phase; a transition that is not in WORKER_TRANSITIONS is refused with an error. */
  moveTo(to: WorkerPhase): void {
    if (!canTransition(this.current, to))
      throw new Error(`pod ${this.uid}: a pod worker cannot go from ${this.current} to ${to}`);
    this.current = to;
  }

  /** Asks for a sync: syncs never overlap, and requests during one collapse into one more. */
  kick(): void {
    if (this.closed) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    void this.loop();
  }

  /** No more syncs (the worker is dropped, or the agent stops); a running one ends on its own. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private async loop(): Promise<void> {
    this.busy = true;
    try {
      do {
        this.again = false;
        clearTimeout(this.timer);
        const next = await this.sync(this);
        if (this.closed) return;
        if (next > 0 && !this.again) this.timer = setTimeout(() => this.kick(), next);
      } while (this.again && !this.closed);
    } finally {
      this.busy = false;
    }
  }
}
