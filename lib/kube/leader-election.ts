/**
 * Leader election on a coordination.k8s.io/v1 Lease, with the algorithm of Kubernetes' components:
 * - a candidate takes the Lease when it is absent (create), released (empty holderIdentity) or expired, that is when
 *   its record has not changed for leaseDurationSeconds as seen on this candidate's own clock (clocks of different
 *   machines are never compared); taking it from another holder increments leaseTransitions;
 * - the leader renews every retryPeriod; when it has not managed to renew for renewDeadline it stops leading;
 * - every write is an update guarded by the resourceVersion that was read, so two candidates never both win;
 * - stop() releases the Lease when leading (holderIdentity cleared, leaseDurationSeconds 1) so that a standby takes
 *   over at once; stop({ release: false }) just stops renewing, as a crashed leader would.
 * After losing the lease (not by stop()), the elector becomes a candidate again; onStartedLeading may thus be called
 * again after onStoppedLeading.
 */
import { isAlreadyExists, isConflict, isNotFound, type ApiClient } from './api.ts';
import { Leases } from './resources.ts';
import type { Lease, LeaseSpec } from './types/coordination-v1.ts';
import { microTime } from '../time.ts';

export type { Lease, LeaseSpec };

export interface LeaderElectorOptions {
  client: ApiClient;
  namespace: string;
  name: string;
  /** unique per candidate, e.g. "<hostname>_<uuid>" */
  identity: string;
  /** how long a standby waits after the last renewal it saw before taking over (default 15 s; whole seconds on the Lease) */
  leaseDurationMs?: number;
  /** how long the leader keeps retrying a failed renewal before it stops leading (default 10 s, or 2/3 of a shorter lease) */
  renewDeadlineMs?: number;
  /** the interval between attempts (default 2 s, or 1/5 of a shorter renew deadline; candidates add up to 120 % jitter) */
  retryPeriodMs?: number;
  onStartedLeading(): void;
  onStoppedLeading(): void;
  /** the holder changed (this candidate included) */
  onNewLeader?(identity: string): void;
  /** failures of API calls while electing (default: ignored, as they are retried) */
  log?(msg: string): void;
  /** wall clock in ms (tests) */
  clock?: () => number;
}

const JITTER_FACTOR = 1.2;

export class LeaderElector {
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly clock: () => number;

  private observed: LeaseSpec | undefined;
  private observedRv: string | undefined;
  private observedAt = 0;
  private reportedLeader = '';

  private leading = false;
  private stopped = false;
  private release = true;
  private running: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly opts: LeaderElectorOptions) {
    // defaults 15 s / 10 s / 2 s; with only a shorter lease given, the others keep those proportions
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? Math.min(10_000, Math.floor((this.leaseDurationMs * 2) / 3));
    this.retryPeriodMs = opts.retryPeriodMs ?? Math.min(2_000, Math.floor(this.renewDeadlineMs / 5));
    this.clock = opts.clock ?? Date.now;
    if (this.leaseDurationMs <= this.renewDeadlineMs) {
      throw new Error(
        `leader election: the lease duration (${this.leaseDurationMs} ms) must be greater than the renew deadline (${this.renewDeadlineMs} ms)`,
      );
    }
    if (this.renewDeadlineMs <= JITTER_FACTOR * this.retryPeriodMs) {
      throw new Error(
        `leader election: the renew deadline (${this.renewDeadlineMs} ms) must be greater than ${JITTER_FACTOR} × the retry period (${this.retryPeriodMs} ms)`,
      );
    }
    if (this.leaseDurationMs < 1000)
      throw new Error(
        `leader election: the lease duration must be at least 1 s (Leases count whole seconds), got ${this.leaseDurationMs} ms`,
      );
    if (!opts.identity) throw new Error('leader election: an identity is required');
  }

  get identity(): string {
    return this.opts.identity;
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** the holder of the Lease as last seen ('' when released or not seen yet) */
  getLeader(): string {
    return this.observed?.holderIdentity ?? '';
  }

  /** campaigns, leads while it can, campaigns again after losing the lease; resolves after stop() */
  run(): Promise<void> {
    if (this.running) return this.running;
    this.stopped = false;
    this.running = this.loop().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** stops campaigning or leading; when leading, onStoppedLeading is called and the Lease released (unless release: false) */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    this.release = opts.release ?? true;
    this.stopped = true;
    this.wake?.();
    await this.running;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      // campaign
      while (!this.stopped && !(await this.attempt())) {
        await this.sleep(this.retryPeriodMs * (1 + Math.random() * JITTER_FACTOR));
      }
      if (this.stopped) {
        if (this.release) await this.releaseLease(); // an attempt in flight at stop() may have won
        break;
      }
      this.leading = true;
      this.call('onStartedLeading', () => this.opts.onStartedLeading());
      // lead: renew every retry period until a renewal fails for renewDeadline, or stop()
      while (!this.stopped) {
        await this.sleep(this.retryPeriodMs);
        if (this.stopped || !(await this.renew())) break;
      }
      this.leading = false;
      this.call('onStoppedLeading', () => this.opts.onStoppedLeading());
      if (this.stopped && this.release) await this.releaseLease();
    }
  }

  /** retries a renewal until it succeeds, another holder is seen, or the renew deadline passes */
  private async renew(): Promise<boolean> {
    const deadline = this.clock() + this.renewDeadlineMs;
    for (;;) {
      const left = deadline - this.clock();
      if (left <= 0) {
        this.opts.log?.(
          `leader election: could not renew lease ${this.opts.namespace}/${this.opts.name} within ${this.renewDeadlineMs} ms; stopping leading`,
        );
        return false;
      }
      if (await this.attempt(left)) return true;
      if (this.stopped) return true; // stop() decides what happens next
      if (this.observed?.holderIdentity && this.observed.holderIdentity !== this.opts.identity) {
        this.opts.log?.(
          `leader election: lease ${this.opts.namespace}/${this.opts.name} is now held by ${this.observed.holderIdentity}; stopping leading`,
        );
        return false;
      }
      await this.sleep(Math.min(this.retryPeriodMs, Math.max(0, deadline - this.clock())));
    }
  }

  private async attempt(timeoutMs = this.renewDeadlineMs): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => {
        this.opts.log?.(
          `leader election: a request for lease ${this.opts.namespace}/${this.opts.name} took longer than ${Math.round(timeoutMs)} ms`,
        );
        resolve(false);
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.tryAcquireOrRenew(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** one attempt to create, take or renew the Lease; true when this candidate holds it afterwards */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { client, namespace, name, identity } = this.opts;
    const now = this.clock();
    const desired: LeaseSpec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.max(1, Math.floor(this.leaseDurationMs / 1000)),
      acquireTime: microTime(new Date(now)),
      renewTime: microTime(new Date(now)),
      leaseTransitions: 0,
    };
    let lease: Lease;
    try {
      lease = await client.get(Leases, namespace, name);
    } catch (e) {
      if (!isNotFound(e)) {
        this.opts.log?.(`leader election: cannot read lease ${namespace}/${name}: ${(e as Error).message}`);
        return false;
      }
      try {
        const created = await client.create(Leases, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: desired,
        });
        this.observe(created);
        return true;
      } catch (e2) {
        if (!isAlreadyExists(e2))
          this.opts.log?.(`leader election: cannot create lease ${namespace}/${name}: ${(e2 as Error).message}`);
        return false;
      }
    }
    const old = lease.spec ?? {};
    this.observe(lease);
    const holder = old.holderIdentity ?? '';
    const held = holder !== '' && holder !== identity;
    if (held && this.observedAt + (old.leaseDurationSeconds ?? 0) * 1000 > now) return false; // another holder's fresh lease
    if (holder === identity) {
      desired.acquireTime = old.acquireTime ?? desired.acquireTime;
      desired.leaseTransitions = old.leaseTransitions ?? 0;
    } else {
      desired.leaseTransitions = (old.leaseTransitions ?? 0) + 1;
    }
    try {
      const updated = await client.update(Leases, { ...lease, spec: { ...old, ...desired } });
      this.observe(updated);
      return true;
    } catch (e) {
      if (!isConflict(e))
        this.opts.log?.(`leader election: cannot update lease ${namespace}/${name}: ${(e as Error).message}`);
      return false;
    }
  }

  private async releaseLease(): Promise<void> {
    if (this.observed?.holderIdentity !== this.opts.identity || this.observedRv === undefined) return;
    const now = this.clock();
    const lease: Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.opts.name, namespace: this.opts.namespace, resourceVersion: this.observedRv },
      spec: {
        holderIdentity: '',
        leaseDurationSeconds: 1,
        acquireTime: microTime(new Date(now)),
        renewTime: microTime(new Date(now)),
        leaseTransitions: this.observed.leaseTransitions ?? 0,
      },
    };
    try {
      this.observe(await this.opts.client.update(Leases, lease));
    } catch (e) {
      this.opts.log?.(
        `leader election: cannot release lease ${this.opts.namespace}/${this.opts.name}: ${(e as Error).message}`,
      );
    }
  }

  /** records what the Lease says; the expiry clock restarts whenever its record changes */
  private observe(lease: Lease): void {
    const spec = lease.spec ?? {};
    if (!this.observed || !sameRecord(this.observed, spec)) this.observedAt = this.clock();
    this.observed = { ...spec };
    this.observedRv = lease.metadata.resourceVersion;
    const holder = spec.holderIdentity ?? '';
    if (holder !== this.reportedLeader) {
      this.reportedLeader = holder;
      if (holder && this.opts.onNewLeader) this.call('onNewLeader', () => this.opts.onNewLeader!(holder));
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  private call(what: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.opts.log?.(`leader election: ${what} failed: ${(e as Error).message}`);
    }
  }
}

function sameRecord(a: LeaseSpec, b: LeaseSpec): boolean {
  return (
    a.holderIdentity === b.holderIdentity &&
    a.leaseDurationSeconds === b.leaseDurationSeconds &&
    a.acquireTime === b.acquireTime &&
    a.renewTime === b.renewTime &&
    a.leaseTransitions === b.leaseTransitions
  );
}
