/**
 * The ReplicaSet controller: keeps `spec.replicas` pods matching the selector, owned through a controller
 * ownerReference. Creates in slow-start batches (1, 2, 4, ... at most 500 per sync), deletes the least valuable pods
 * first, adopts matching orphans and releases owned pods that stopped matching, and waits for its own creations and
 * deletions to be observed (expectations) before acting on the same ReplicaSet again.
 * The same reconciler runs core/v1 ReplicationControllers (the replication controller, as in Kubernetes), whose
 * selector is a label map.
 */
import { isNotFound } from '../../lib/kube/api.ts';
import type { Informer } from '../../lib/kube/informer.ts';
import { controllerOf, keyOf, type KubeObject, type OwnerReference } from '../../lib/kube/object.ts';
import { isPodActive, isPodAvailable, isPodReady, msUntilAvailable } from '../../lib/kube/pods.ts';
import { Pods, ReplicaSets, ReplicationControllers, type Resource } from '../../lib/kube/resources.ts';
import { labelSelectorFromObject, type LabelSelectorObject } from '../../lib/selectors.ts';
import {
  controlledBy,
  controllerRef,
  ignore,
  type ControllerContext,
  type ControllerDefinition,
  type Reconciler,
  type Result,
} from '../controller.ts';
import { Expectations } from '../expectations.ts';
import { lessValuableFirst } from './ranking.ts';
import { rfc3339 } from '../../lib/time.ts';

export const BURST_REPLICAS = 500;

/** a kind of replicated pods the reconciler runs: ReplicaSets, or ReplicationControllers */
export interface ReplicatedKind {
  resource: Resource;
  /** the label selector of an object, as a metav1.LabelSelector */
  selector(obj: KubeObject): LabelSelectorObject | undefined;
}

export const REPLICA_SETS: ReplicatedKind = { resource: ReplicaSets, selector: (rs) => rs.spec?.selector };
export const REPLICATION_CONTROLLERS: ReplicatedKind = {
  resource: ReplicationControllers,
  selector: (rc) => (rc.spec?.selector ? { matchLabels: rc.spec.selector } : undefined),
};

export function ownerRefFor(rs: KubeObject, kind: ReplicatedKind = REPLICA_SETS): OwnerReference {
  return controllerRef(rs, kind.resource);
}

/** a new pod from the template of a ReplicaSet (or ReplicationController) */
export function podFromTemplate(rs: KubeObject, kind: ReplicatedKind = REPLICA_SETS): KubeObject {
  const t = rs.spec?.template ?? {};
  const meta = t.metadata ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${rs.metadata.name}-`,
      namespace: rs.metadata.namespace,
      labels: { ...(meta.labels ?? {}) },
      ...(meta.annotations ? { annotations: { ...meta.annotations } } : {}),
      ...(meta.finalizers ? { finalizers: [...meta.finalizers] } : {}),
      ownerReferences: [ownerRefFor(rs, kind)],
    },
    spec: structuredClone(t.spec ?? {}),
  };
}

/** the controller of a kind of replicated pods: ReplicaSets, or ReplicationControllers */
function replicatedController(
  kind: ReplicatedKind,
  name: string,
  component: string,
): ControllerDefinition<ReplicaSetReconciler> {
  return {
    name,
    component,
    for: kind.resource,
    owns: [{ resource: Pods, expectations: (r) => r.expectations }],
    watches: [
      // an orphan may be adopted by the sets whose selector matches it
      {
        resource: Pods,
        map: (p, r) => (controllerOf(p) ? [] : r.selecting(p)),
        update: (old, p) => JSON.stringify(old.metadata.labels) !== JSON.stringify(p.metadata.labels),
        delete: ignore,
      },
    ],
    reconciler: (ctx) => new ReplicaSetReconciler(ctx, kind),
  };
}

export const replicaSetController = replicatedController(REPLICA_SETS, 'replicaset', 'replicaset-controller');

export const replicationController = replicatedController(
  REPLICATION_CONTROLLERS,
  'replicationcontroller',
  'replication-controller',
);

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

interface ReplicaSetStatus {
  replicas: number;
  fullyLabeledReplicas: number;
  readyReplicas: number;
  availableReplicas: number;
  observedGeneration?: number;
  conditions?: Condition[];
}

export class ReplicaSetReconciler implements Reconciler {
  readonly expectations = new Expectations();
  private readonly sets: Informer;
  private readonly pods: Informer;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly kind: ReplicatedKind = REPLICA_SETS,
  ) {
    this.sets = ctx.informers.informer(kind.resource);
    this.pods = ctx.informers.informer(Pods);
  }

  /** the keys of the sets of the pod's namespace whose selector matches its labels */
  selecting(p: KubeObject): string[] {
    return this.sets
      .listNamespace(p.metadata.namespace ?? '')
      .filter((rs) => labelSelectorFromObject(this.kind.selector(rs)).matches(p.metadata.labels))
      .map(keyOf);
  }

  async reconcile(key: string): Promise<Result | void> {
    const rs = this.sets.get(key);
    if (!rs) {
      this.expectations.delete(key);
      return;
    }
    const selector = labelSelectorFromObject(this.kind.selector(rs));
    const owned = await this.claimPods(rs, selector);
    let active = owned.filter(isPodActive);
    if (this.ctx.options.sharedQueue && active.length !== (rs.spec?.replicas ?? 1)) {
      // another process may have acted on this ReplicaSet last: count its pods as the API has them now
      const live = await this.ctx.client.list(Pods, {
        namespace: rs.metadata.namespace,
        labelSelector: selector.toString(),
      });
      active = live.items.filter((p) => controllerOf(p)?.uid === rs.metadata.uid && isPodActive(p));
    }
    let failure: Error | undefined;
    if (this.expectations.satisfied(key) && !rs.metadata.deletionTimestamp) {
      try {
        await this.manageReplicas(rs, key, active);
      } catch (e) {
        failure = e as Error;
      }
    }
    const requeue = await this.updateStatus(rs, active, failure);
    if (failure) throw failure;
    return requeue;
  }

  /** owned pods that match; adopts matching orphans and releases owned pods that no longer match */
  private async claimPods(rs: KubeObject, selector: ReturnType<typeof labelSelectorFromObject>): Promise<KubeObject[]> {
    const out: KubeObject[] = [];
    for (const p of controlledBy(this.pods, rs.metadata.uid!)) {
      if (selector.matches(p.metadata.labels)) out.push(p);
      else if (!p.metadata.deletionTimestamp) await this.release(rs, p);
    }
    if (rs.metadata.deletionTimestamp || selector.empty) return out;
    for (const p of this.pods.listNamespace(rs.metadata.namespace!)) {
      if (controllerOf(p) || p.metadata.deletionTimestamp || !selector.matches(p.metadata.labels)) continue;
      try {
        const adopted = await this.ctx.client.patch(
          Pods,
          p.metadata.namespace,
          p.metadata.name!,
          {
            metadata: {
              ownerReferences: [...(p.metadata.ownerReferences ?? []), ownerRefFor(rs, this.kind)],
              uid: p.metadata.uid,
            },
          },
          'strategic',
        );
        out.push(adopted);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    return out;
  }

  private async release(rs: KubeObject, p: KubeObject): Promise<void> {
    try {
      await this.ctx.client.patch(
        Pods,
        p.metadata.namespace,
        p.metadata.name!,
        {
          metadata: {
            ownerReferences: (p.metadata.ownerReferences ?? []).filter((r) => r.uid !== rs.metadata.uid),
            uid: p.metadata.uid,
          },
        },
        'merge',
      );
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  private async manageReplicas(rs: KubeObject, key: string, active: KubeObject[]): Promise<void> {
    const want = rs.spec?.replicas ?? 1;
    const diff = active.length - want;
    if (diff < 0) {
      const n = Math.min(-diff, BURST_REPLICAS);
      this.expectations.expectCreations(key, n);
      let created = 0;
      let batch = 1;
      let firstError: Error | undefined;
      while (created < n && !firstError) {
        const size = Math.min(batch, n - created);
        const results = await Promise.allSettled(
          Array.from({ length: size }, () => this.ctx.client.create(Pods, podFromTemplate(rs, this.kind))),
        );
        for (const r of results) {
          if (r.status === 'fulfilled') {
            this.ctx.recorder.event(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${r.value.metadata.name}`);
          } else {
            this.expectations.creationObserved(key);
            firstError ??= r.reason as Error;
            this.ctx.recorder.event(rs, 'Warning', 'FailedCreate', `Error creating: ${(r.reason as Error).message}`);
          }
        }
        created += size;
        batch *= 2;
      }
      // creations never attempted after a failure will not be observed either
      for (let i = created; i < n; i++) this.expectations.creationObserved(key);
      if (firstError) throw firstError;
    } else if (diff > 0) {
      const victims = [...active].sort(lessValuableFirst).slice(0, Math.min(diff, BURST_REPLICAS));
      this.expectations.expectDeletions(
        key,
        victims.map((p) => p.metadata.uid!),
      );
      const results = await Promise.allSettled(
        victims.map((p) =>
          this.ctx.client.delete(Pods, p.metadata.namespace, p.metadata.name!, {
            preconditions: { uid: p.metadata.uid },
          }),
        ),
      );
      let firstError: Error | undefined;
      results.forEach((r, i) => {
        const p = victims[i];
        if (r.status === 'fulfilled') {
          this.ctx.recorder.event(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
        } else {
          this.expectations.deletionObserved(key, p.metadata.uid);
          if (!isNotFound(r.reason)) {
            firstError ??= r.reason as Error;
            this.ctx.recorder.event(rs, 'Warning', 'FailedDelete', `Error deleting: ${(r.reason as Error).message}`);
          }
        }
      });
      if (firstError) throw firstError;
    }
  }

  private async updateStatus(rs: KubeObject, active: KubeObject[], failure: Error | undefined): Promise<Result | void> {
    const minReady = rs.spec?.minReadySeconds ?? 0;
    const now = this.ctx.now();
    const templateLabels: Record<string, string> = rs.spec?.template?.metadata?.labels ?? {};
    let ready = 0;
    let available = 0;
    let fully = 0;
    let soonest = Infinity;
    for (const p of active) {
      if (Object.entries(templateLabels).every(([k, v]) => p.metadata.labels?.[k] === v)) fully++;
      if (!isPodReady(p)) continue;
      ready++;
      if (isPodAvailable(p, minReady, now)) available++;
      else soonest = Math.min(soonest, msUntilAvailable(p, minReady, now));
    }
    const conditions = ((rs.status?.conditions ?? []) as Condition[]).filter((c) => c.type !== 'ReplicaFailure');
    const want = rs.spec?.replicas ?? 1;
    if (failure && active.length < want) {
      conditions.push({
        type: 'ReplicaFailure',
        status: 'True',
        reason: 'FailedCreate',
        message: failure.message,
        lastTransitionTime: rfc3339(new Date(now)),
      });
    }
    const status: ReplicaSetStatus = {
      replicas: active.length,
      fullyLabeledReplicas: fully,
      readyReplicas: ready,
      availableReplicas: available,
      observedGeneration: rs.metadata.generation,
      ...(conditions.length ? { conditions } : {}),
    };
    const cur = rs.status ?? {};
    const same =
      (cur.replicas ?? 0) === status.replicas &&
      (cur.fullyLabeledReplicas ?? 0) === status.fullyLabeledReplicas &&
      (cur.readyReplicas ?? 0) === status.readyReplicas &&
      (cur.availableReplicas ?? 0) === status.availableReplicas &&
      cur.observedGeneration === status.observedGeneration &&
      JSON.stringify(cur.conditions ?? []) === JSON.stringify(conditions);
    if (!same) {
      try {
        await this.ctx.client.update(this.kind.resource, { ...rs, status }, { subresource: 'status' });
      } catch (e) {
        // gone: nothing to report; a conflict: a newer version is on its way through the watch and is retried
        if (isNotFound(e)) return;
        throw e;
      }
    }
    if (soonest !== Infinity) return { requeueAfterMs: soonest + 50 };
  }
}
