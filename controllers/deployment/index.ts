/**
 * The Deployment controller: owns one ReplicaSet per pod template ("<name>-<pod-template-hash>"), rolls from the old
 * ones to the new one (RollingUpdate within maxSurge/maxUnavailable, or Recreate), keeps revision annotations so that
 * `kubectl rollout history/undo` work, prunes history beyond revisionHistoryLimit, and reports progress: Available and
 * Progressing conditions as Kubernetes sets them, ProgressDeadlineExceeded when a rollout stalls, with the cause seen
 * on the new pods (ImagePullBackOff, CrashLoopBackOff, Unschedulable, ...) named in the message.
 */
import { isAlreadyExists, isNotFound } from '../../lib/kube/api.ts';
import type { Informer } from '../../lib/kube/informer.ts';
import { controllerOf, keyOf, sameStatus, type KubeObject } from '../../lib/kube/object.ts';
import { Deployments, Pods, ReplicaSets } from '../../lib/kube/resources.ts';
import {
  controlledBy,
  controllerRef,
  ignore,
  resolveController,
  type ControllerContext,
  type ControllerDefinition,
  type Reconciler,
  type Result,
} from '../controller.ts';
import { stallCauses } from './causes.ts';
import { templateHash } from '../../lib/kube/history.ts';
import { sameTemplate } from './hash.ts';
import { surgeAndUnavailable } from './rollout-math.ts';
import { rfc3339 } from '../../lib/time.ts';

export const REVISION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
const HASH_LABEL = 'pod-template-hash';
/** annotations of the Deployment not copied to its ReplicaSets */
const NOT_COPIED = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION,
  REVISION_HISTORY,
  DESIRED_REPLICAS,
  MAX_REPLICAS,
]);

const revisionOf = (rs: KubeObject) => Number(rs.metadata.annotations?.[REVISION] ?? 0) || 0;
const specReplicas = (rs: KubeObject): number => rs.spec?.replicas ?? 0;
const statusOf = (o: KubeObject, field: string): string =>
  JSON.stringify((o.status as Record<string, unknown> | undefined)?.[field]);

export const deploymentController: ControllerDefinition<DeploymentReconciler> = {
  name: 'deployment',
  component: 'deployment-controller',
  for: Deployments,
  owns: [ReplicaSets],
  watches: [
    // pods matter for Recreate (old pods gone) and for naming the cause of a stalled rollout
    {
      resource: Pods,
      ownerIndex: true,
      map: (p, r) => r.deploymentOfPod(p),
      add: ignore,
      update: (o, p) =>
        statusOf(o, 'containerStatuses') !== statusOf(p, 'containerStatuses') ||
        statusOf(o, 'conditions') !== statusOf(p, 'conditions'),
    },
  ],
  reconciler: (ctx) => new DeploymentReconciler(ctx),
};

interface DeploymentCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
}

/** a type, not an interface: sameStatus compares it as a record */
type DeploymentStatus = {
  observedGeneration?: number;
  replicas: number;
  updatedReplicas: number;
  readyReplicas: number;
  availableReplicas: number;
  unavailableReplicas?: number;
  collisionCount?: number;
  conditions?: DeploymentCondition[];
};

/** the conditions of a status being computed, from the stored ones; a set keeps lastTransitionTime while the status stays */
class Conditions {
  readonly list: DeploymentCondition[];

  constructor(
    old: DeploymentCondition[] | undefined,
    private readonly at: string,
  ) {
    this.list = (old ?? []).map((c) => ({ ...c }));
  }

  get(type: string): DeploymentCondition | undefined {
    return this.list.find((c) => c.type === type);
  }

  set(c: DeploymentCondition): void {
    const i = this.list.findIndex((x) => x.type === c.type);
    const prev = i >= 0 ? this.list[i] : undefined;
    const next = {
      ...c,
      lastUpdateTime: c.lastUpdateTime ?? this.at,
      lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : this.at,
    };
    if (i >= 0) this.list[i] = next;
    else this.list.push(next);
  }
}

export class DeploymentReconciler implements Reconciler {
  private readonly deployments: Informer;
  private readonly sets: Informer;
  private readonly pods: Informer;

  constructor(private readonly ctx: ControllerContext) {
    this.deployments = ctx.informers.informer(Deployments);
    this.sets = ctx.informers.informer(ReplicaSets);
    this.pods = ctx.informers.informer(Pods);
  }

  /** the Deployment of a pod's ReplicaSet */
  deploymentOfPod(p: KubeObject): string[] {
    const rs = resolveController(p, this.sets);
    const d = rs && resolveController(rs, this.deployments);
    return d ? [keyOf(d)] : [];
  }

  async reconcile(key: string): Promise<Result | void> {
    const cached = this.deployments.get(key);
    if (!cached) return;
    // a private copy: the revision annotation written below moves its resourceVersion for the status write
    const d: KubeObject = { ...cached, metadata: { ...cached.metadata } };
    const sets = this.ownedSets(d);
    if (d.metadata.deletionTimestamp) {
      await this.syncStatus(d, sets, this.findNew(d, sets));
      return;
    }
    if (d.spec?.paused) {
      const newRS = this.findNew(d, sets);
      await this.scaleWhilePaused(d, sets, newRS);
      return this.syncStatus(d, this.ownedSets(d), newRS);
    }
    if ((d.spec?.strategy?.type ?? 'RollingUpdate') === 'Recreate') return this.recreate(d, sets);
    return this.rollingUpdate(d, sets);
  }

  // ---- ReplicaSets ----

  private ownedSets(d: KubeObject): KubeObject[] {
    return controlledBy(this.sets, d.metadata.uid!);
  }

  private findNew(d: KubeObject, sets: KubeObject[]): KubeObject | undefined {
    const matching = sets.filter((rs) => sameTemplate(rs.spec?.template, d.spec?.template));
    // the oldest wins if several match (as Kubernetes)
    matching.sort((a, b) => String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)));
    return matching[0];
  }

  private copiedAnnotations(d: KubeObject): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) if (!NOT_COPIED.has(k)) out[k] = v;
    return out;
  }

  /** the new ReplicaSet, created (with replicas) if missing; an old one reused gets the next revision */
  private async getOrCreateNew(
    d: KubeObject,
    sets: KubeObject[],
    initialReplicas: number,
  ): Promise<{ rs: KubeObject; created: boolean }> {
    const old = sets.filter((rs) => !sameTemplate(rs.spec?.template, d.spec?.template));
    const maxOld = Math.max(0, ...old.map(revisionOf));
    const existing = this.findNew(d, sets);
    if (existing) return { rs: await this.reviseNew(d, existing, maxOld), created: false };
    return this.createNew(d, initialReplicas, String(maxOld + 1));
  }

  /** the existing new ReplicaSet gets the next revision if an older one had it, and the annotations it lacks */
  private async reviseNew(d: KubeObject, existing: KubeObject, maxOld: number): Promise<KubeObject> {
    const { maxSurge } = surgeAndUnavailable(d);
    const replicas = d.spec?.replicas ?? 1;
    const ann = existing.metadata.annotations ?? {};
    const wantRev = revisionOf(existing) > maxOld ? String(revisionOf(existing)) : String(maxOld + 1);
    const patch: Record<string, string | null> = {};
    if (ann[REVISION] !== wantRev) {
      patch[REVISION] = wantRev;
      if (ann[REVISION])
        patch[REVISION_HISTORY] = ann[REVISION_HISTORY] ? `${ann[REVISION_HISTORY]},${ann[REVISION]}` : ann[REVISION];
    }
    if (ann[DESIRED_REPLICAS] !== String(replicas)) patch[DESIRED_REPLICAS] = String(replicas);
    if (ann[MAX_REPLICAS] !== String(replicas + maxSurge)) patch[MAX_REPLICAS] = String(replicas + maxSurge);
    for (const [k, v] of Object.entries(this.copiedAnnotations(d))) if (ann[k] !== v) patch[k] = v;
    let rs = existing;
    if (Object.keys(patch).length) {
      rs = await this.ctx.client.patch(
        ReplicaSets,
        existing.metadata.namespace,
        existing.metadata.name!,
        { metadata: { annotations: patch } },
        'merge',
      );
    }
    await this.setDeploymentRevision(d, wantRev);
    return rs;
  }

  /** a ReplicaSet "<name>-<pod-template-hash>" of the template, with revision `next` */
  private async createNew(
    d: KubeObject,
    initialReplicas: number,
    next: string,
  ): Promise<{ rs: KubeObject; created: boolean }> {
    const { maxSurge } = surgeAndUnavailable(d);
    const replicas = d.spec?.replicas ?? 1;
    const collisionCount = d.status?.collisionCount ?? 0;
    const hash = templateHash(d.spec?.template, collisionCount);
    const template = structuredClone(d.spec?.template ?? {});
    template.metadata ??= {};
    template.metadata.labels = { ...(template.metadata.labels ?? {}), [HASH_LABEL]: hash };
    const selector = structuredClone(d.spec?.selector ?? {});
    selector.matchLabels = { ...(selector.matchLabels ?? {}), [HASH_LABEL]: hash };
    const rs: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: d.metadata.namespace,
        labels: { ...(d.spec?.template?.metadata?.labels ?? {}), [HASH_LABEL]: hash },
        annotations: {
          ...this.copiedAnnotations(d),
          [REVISION]: next,
          [DESIRED_REPLICAS]: String(replicas),
          [MAX_REPLICAS]: String(replicas + maxSurge),
        },
        ownerReferences: [controllerRef(d, Deployments)],
      },
      spec: { replicas: initialReplicas, minReadySeconds: d.spec?.minReadySeconds ?? 0, selector, template },
    };
    try {
      const created = await this.ctx.client.create(ReplicaSets, rs);
      this.ctx.recorder.event(
        d,
        'Normal',
        'ScalingReplicaSet',
        `Scaled up replica set ${created.metadata.name} from 0 to ${initialReplicas}`,
      );
      await this.setDeploymentRevision(d, next);
      return { rs: created, created: true };
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      const clash = await this.ctx.client.get(ReplicaSets, d.metadata.namespace, rs.metadata.name!);
      if (controllerOf(clash)?.uid === d.metadata.uid && sameTemplate(clash.spec?.template, d.spec?.template))
        return { rs: clash, created: false };
      // a hash collision with another template: count it and try another name on the next sync
      await this.ctx.client.patch(
        Deployments,
        d.metadata.namespace,
        d.metadata.name!,
        { status: { collisionCount: collisionCount + 1 } },
        'merge',
        { subresource: 'status' },
      );
      throw new Error(
        `replica set name ${rs.metadata.name} is taken by another template; retrying with collisionCount ${collisionCount + 1}`,
        { cause: e },
      );
    }
  }

  private async setDeploymentRevision(d: KubeObject, rev: string): Promise<void> {
    if (d.metadata.annotations?.[REVISION] === rev) return;
    const updated = await this.ctx.client.patch(
      Deployments,
      d.metadata.namespace,
      d.metadata.name!,
      { metadata: { annotations: { [REVISION]: rev } } },
      'merge',
    );
    d.metadata.annotations = updated.metadata.annotations;
    d.metadata.resourceVersion = updated.metadata.resourceVersion;
  }

  private async scale(d: KubeObject, rs: KubeObject, to: number): Promise<KubeObject> {
    const from = specReplicas(rs);
    if (from === to) return rs;
    const { maxSurge } = surgeAndUnavailable(d);
    const replicas = d.spec?.replicas ?? 1;
    const updated = await this.ctx.client.patch<KubeObject>(
      ReplicaSets,
      rs.metadata.namespace,
      rs.metadata.name!,
      {
        metadata: {
          annotations: { [DESIRED_REPLICAS]: String(replicas), [MAX_REPLICAS]: String(replicas + maxSurge) },
        },
        spec: { replicas: to },
      },
      'merge',
    );
    this.ctx.recorder.event(
      d,
      'Normal',
      'ScalingReplicaSet',
      `Scaled ${to > from ? 'up' : 'down'} replica set ${rs.metadata.name} from ${from} to ${to}`,
    );
    return updated;
  }

  // ---- strategies ----

  private async rollingUpdate(d: KubeObject, sets: KubeObject[]): Promise<Result | void> {
    const replicas = d.spec?.replicas ?? 1;
    const { maxSurge, maxUnavailable } = surgeAndUnavailable(d);
    let newRS = this.findNew(d, sets);
    const oldSets = () => sets.filter((rs) => rs !== newRS && rs.metadata.uid !== newRS?.metadata.uid);
    const total = () => sets.reduce((n, rs) => n + specReplicas(rs), 0);
    let created = false;
    if (!newRS) {
      const current = total();
      const start = Math.max(0, Math.min(replicas, replicas + maxSurge - current));
      const r = await this.getOrCreateNew(d, sets, start);
      newRS = r.rs;
      created = r.created;
      sets = [...sets, newRS];
    } else {
      newRS = (await this.getOrCreateNew(d, sets, specReplicas(newRS))).rs;
      sets = sets.map((rs) => (rs.metadata.uid === newRS!.metadata.uid ? newRS! : rs));
      // scale the new set up within the surge, or down to the wanted count
      const cur = specReplicas(newRS);
      let target = cur;
      if (cur > replicas) target = replicas;
      else if (cur < replicas) {
        const room = replicas + maxSurge - total();
        if (room > 0) target = cur + Math.min(room, replicas - cur);
      }
      if (target !== cur) {
        newRS = await this.scale(d, newRS, target);
        sets = sets.map((rs) => (rs.metadata.uid === newRS!.metadata.uid ? newRS! : rs));
      }
    }
    // scale old sets down while keeping replicas - maxUnavailable available
    const olds = oldSets().filter((rs) => specReplicas(rs) > 0);
    if (olds.length) {
      const minAvailable = replicas - maxUnavailable;
      const all = total();
      const newUnavailable = Math.max(0, specReplicas(newRS) - (newRS.status?.availableReplicas ?? 0));
      let budget = all - minAvailable - newUnavailable;
      // first the old pods that are not available anyway
      for (const rs of olds.sort(byCreation)) {
        if (budget <= 0) break;
        const unhealthy = Math.max(0, specReplicas(rs) - (rs.status?.availableReplicas ?? 0));
        const cut = Math.min(unhealthy, budget);
        if (cut > 0) {
          const scaled = await this.scale(d, rs, specReplicas(rs) - cut);
          budget -= cut;
          sets = sets.map((x) => (x.metadata.uid === scaled.metadata.uid ? scaled : x));
        }
      }
      const available = sets.reduce((n, rs) => n + (rs.status?.availableReplicas ?? 0), 0);
      let surplus = available - minAvailable;
      for (const rs of oldSets()
        .filter((x) => specReplicas(x) > 0)
        .sort(byCreation)) {
        if (surplus <= 0) break;
        const cut = Math.min(specReplicas(rs), surplus);
        const scaled = await this.scale(d, rs, specReplicas(rs) - cut);
        surplus -= cut;
        sets = sets.map((x) => (x.metadata.uid === scaled.metadata.uid ? scaled : x));
      }
    }
    return this.syncStatus(d, sets, newRS, created);
  }

  private async recreate(d: KubeObject, sets: KubeObject[]): Promise<Result | void> {
    let newRS = this.findNew(d, sets);
    const olds = sets.filter((rs) => rs.metadata.uid !== newRS?.metadata.uid);
    let scaledDown = false;
    for (const rs of olds) {
      if (specReplicas(rs) > 0) {
        await this.scale(d, rs, 0);
        scaledDown = true;
      }
    }
    const oldPodsRunning = olds.some((rs) =>
      controlledBy(this.pods, rs.metadata.uid!).some(
        (p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed',
      ),
    );
    if (scaledDown || oldPodsRunning) return this.syncStatus(d, this.ownedSets(d), newRS);
    const replicas = d.spec?.replicas ?? 1;
    let created = false;
    if (!newRS) {
      const r = await this.getOrCreateNew(d, sets, replicas);
      newRS = r.rs;
      created = r.created;
    } else {
      newRS = (await this.getOrCreateNew(d, sets, specReplicas(newRS))).rs;
      newRS = await this.scale(d, newRS, replicas);
    }
    return this.syncStatus(d, [...olds, newRS], newRS, created);
  }

  private async scaleWhilePaused(d: KubeObject, sets: KubeObject[], newRS: KubeObject | undefined): Promise<void> {
    const active = sets.filter((rs) => specReplicas(rs) > 0);
    const only = active.length === 1 ? active[0] : !active.length ? newRS : undefined;
    if (only) await this.scale(d, only, d.spec?.replicas ?? 1);
  }

  // ---- status ----

  /** the status of the replica counts and conditions, written when it changed; history pruned once complete */
  private async syncStatus(
    d: KubeObject,
    sets: KubeObject[],
    newRS: KubeObject | undefined,
    created = false,
  ): Promise<Result | void> {
    const replicas = d.spec?.replicas ?? 1;
    const status = this.counts(d, sets, newRS);
    const old: Partial<DeploymentStatus> = d.status ?? {};
    const conds = new Conditions(old.conditions, rfc3339(new Date(this.ctx.now())));
    this.available(d, status, conds);
    const complete =
      !!newRS &&
      status.updatedReplicas === replicas &&
      status.replicas === replicas &&
      status.availableReplicas === replicas;
    const requeue = this.progressing(d, status, old, conds, newRS, { created, complete });
    if (conds.list.length) status.conditions = conds.list;
    if (!sameStatus(old, status)) {
      try {
        await this.ctx.client.update(Deployments, { ...d, status }, { subresource: 'status' });
      } catch (e) {
        if (isNotFound(e)) return;
        throw e;
      }
    }
    if (complete) await this.pruneHistory(d, sets, newRS);
    return requeue !== undefined ? { requeueAfterMs: requeue } : undefined;
  }

  /** the replica counts, summed over the ReplicaSets */
  private counts(d: KubeObject, sets: KubeObject[], newRS: KubeObject | undefined): DeploymentStatus {
    const sum = (f: (rs: KubeObject) => number) => sets.reduce((n, rs) => n + f(rs), 0);
    const status: DeploymentStatus = {
      observedGeneration: d.metadata.generation,
      replicas: sum((rs) => rs.status?.replicas ?? 0),
      updatedReplicas: newRS?.status?.replicas ?? 0,
      readyReplicas: sum((rs) => rs.status?.readyReplicas ?? 0),
      availableReplicas: sum((rs) => rs.status?.availableReplicas ?? 0),
    };
    status.unavailableReplicas = Math.max(0, (d.spec?.replicas ?? 1) - status.availableReplicas);
    if (d.status?.collisionCount) status.collisionCount = d.status.collisionCount;
    return status;
  }

  /** Available: at least replicas - maxUnavailable available */
  private available(d: KubeObject, status: DeploymentStatus, conds: Conditions): void {
    const { maxUnavailable } = surgeAndUnavailable(d);
    const minAvailable = status.availableReplicas >= (d.spec?.replicas ?? 1) - maxUnavailable;
    const availCond = conds.get('Available');
    if (availCond && (availCond.status === 'True') === minAvailable) return;
    conds.set(
      minAvailable
        ? {
            type: 'Available',
            status: 'True',
            reason: 'MinimumReplicasAvailable',
            message: 'Deployment has minimum availability.',
          }
        : {
            type: 'Available',
            status: 'False',
            reason: 'MinimumReplicasUnavailable',
            message: 'Deployment does not have minimum availability.',
          },
    );
  }

  /** Progressing, as Kubernetes reports a rollout: paused, resumed, complete, moving, or past its deadline */
  private progressing(
    d: KubeObject,
    status: DeploymentStatus,
    old: Partial<DeploymentStatus>,
    conds: Conditions,
    newRS: KubeObject | undefined,
    { created, complete }: { created: boolean; complete: boolean },
  ): number | undefined {
    const prog = conds.get('Progressing');
    const rsName = newRS?.metadata.name ?? '';
    if (d.spec?.paused) {
      if (prog?.reason !== 'DeploymentPaused')
        conds.set({
          type: 'Progressing',
          status: 'Unknown',
          reason: 'DeploymentPaused',
          message: 'Deployment is paused',
        });
    } else if (prog?.reason === 'DeploymentPaused') {
      conds.set({
        type: 'Progressing',
        status: 'Unknown',
        reason: 'DeploymentResumed',
        message: 'Deployment is resumed',
      });
    } else if (complete) {
      const message = `ReplicaSet "${rsName}" has successfully progressed.`;
      if (prog?.reason !== 'NewReplicaSetAvailable' || prog.message !== message)
        conds.set({ type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message });
    } else if (newRS) {
      return this.rollingOut(d, status, old, conds, newRS, created);
    }
    return undefined;
  }

  /** Progressing while the new ReplicaSet rolls out; the time until its deadline, to look again then */
  private rollingOut(
    d: KubeObject,
    status: DeploymentStatus,
    old: Partial<DeploymentStatus>,
    conds: Conditions,
    newRS: KubeObject,
    created: boolean,
  ): number | undefined {
    const prog = conds.get('Progressing');
    const rsName = newRS.metadata.name ?? '';
    const deadlineMs = (d.spec?.progressDeadlineSeconds ?? 600) * 1000;
    const now = this.ctx.now();
    const causes = stallCauses(controlledBy(this.pods, newRS.metadata.uid!));
    // progress as Kubernetes counts it: more updated, ready or available pods, or fewer old ones, or a new spec
    const moved =
      !prog ||
      old.observedGeneration !== status.observedGeneration ||
      status.updatedReplicas > (old.updatedReplicas ?? 0) ||
      status.readyReplicas > (old.readyReplicas ?? 0) ||
      status.availableReplicas > (old.availableReplicas ?? 0) ||
      status.replicas - status.updatedReplicas < (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
    const progressing = `ReplicaSet "${rsName}" is progressing.` + (causes ? ` Waiting for: ${causes}` : '');
    let requeue: number | undefined;
    if (created) {
      conds.set({
        type: 'Progressing',
        status: 'True',
        reason: 'NewReplicaSetCreated',
        message: `Created new replica set "${rsName}"`,
      });
    } else if (moved) {
      conds.set({ type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: progressing });
    } else if (prog && prog.reason !== 'ProgressDeadlineExceeded') {
      const since = prog.lastUpdateTime ?? prog.lastTransitionTime ?? rfc3339(new Date(now));
      const left = Date.parse(since) + deadlineMs - now;
      if (left <= 0) {
        const msg = `ReplicaSet "${rsName}" has timed out progressing.${causes ? ` ${causes}` : ''}`;
        conds.set({ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: msg });
        this.ctx.recorder.event(
          d,
          'Warning',
          'ProgressDeadlineExceeded',
          `Deployment "${d.metadata.name}" has timed out progressing.${causes ? ` ${causes}` : ''}`,
        );
      } else {
        requeue = left + 100;
        // the cause is kept current without counting as progress
        prog.message = progressing;
      }
    } else if (prog?.reason === 'ProgressDeadlineExceeded' && causes) {
      prog.message = `ReplicaSet "${rsName}" has timed out progressing. ${causes}`;
    }
    if (requeue === undefined) {
      const p = conds.get('Progressing');
      if (p?.status === 'True') requeue = Math.max(100, Date.parse(p.lastUpdateTime ?? '') + deadlineMs - now + 100);
    }
    return requeue;
  }

  private async pruneHistory(d: KubeObject, sets: KubeObject[], newRS: KubeObject | undefined): Promise<void> {
    const limit = d.spec?.revisionHistoryLimit ?? 10;
    const idle = sets
      .filter(
        (rs) =>
          rs.metadata.uid !== newRS?.metadata.uid &&
          specReplicas(rs) === 0 &&
          (rs.status?.replicas ?? 0) === 0 &&
          !rs.metadata.deletionTimestamp,
      )
      .sort((a, b) => revisionOf(a) - revisionOf(b));
    const extra = idle.length - limit;
    for (let i = 0; i < extra; i++) {
      try {
        await this.ctx.client.delete(ReplicaSets, idle[i].metadata.namespace, idle[i].metadata.name!, {
          preconditions: { uid: idle[i].metadata.uid },
        });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }
}

function byCreation(a: KubeObject, b: KubeObject): number {
  return String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp));
}
