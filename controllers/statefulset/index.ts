/**
 * The StatefulSet controller: pods with stable names <set>-<ordinal>, hostname and subdomain (serviceName) for
 * stable DNS, the labels statefulset.kubernetes.io/pod-name and apps.kubernetes.io/pod-index, and the revision they
 * were made from in controller-revision-hash. OrderedReady creates ordinals in order, each waiting for the previous
 * to be Running and Ready, and removes surplus ones from the highest down, one at a time; Parallel creates and
 * removes them all at once. RollingUpdate replaces pods from the highest ordinal down to spec's partition, one at a
 * time, each after the ones above are healthy again; OnDelete waits for pods to be deleted by someone else.
 * volumeClaimTemplates are not handled (no PersistentVolumeClaims in skiff yet).
 */
import { isAlreadyExists, isConflict, isNotFound, type ApiClient } from '../../lib/kube/api.ts';
import type { EventRecorder } from '../../lib/kube/events.ts';
import type { Informer } from '../../lib/kube/informer.ts';
import { controllerOf, keyOf, sameStatus, type KubeObject } from '../../lib/kube/object.ts';
import { isPodAvailable, isPodReady, msUntilAvailable } from '../../lib/kube/pods.ts';
import { ControllerRevisions, Pods, StatefulSets } from '../../lib/kube/resources.ts';
import { labelSelectorFromObject } from '../../lib/selectors.ts';
import {
  controlledBy,
  type ControllerContext,
  type ControllerDefinition,
  type Reconciler,
  type Result,
} from '../controller.ts';
import {
  addRevisionOwnerIndex,
  maxRevision,
  newRevision,
  ownedRevisions,
  revisionOfTemplate,
  REVISION_HASH_LABEL,
  revisionsToPrune,
  templateHash,
} from '../../lib/kube/history.ts';

export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';
/** the label of a StatefulSet's ControllerRevisions holding the template hash */
export const REVISION_TEMPLATE_HASH_LABEL = 'controller.kubernetes.io/hash';
export const statefulSetController: ControllerDefinition<StatefulSetReconciler> = {
  name: 'statefulset',
  component: 'statefulset-controller',
  for: StatefulSets,
  owns: [Pods],
  reconciler: (ctx) => new StatefulSetReconciler(ctx),
};

/** one pass over a set's pods */
interface Pass {
  set: KubeObject;
  /** spec.ordinals.start */
  start: number;
  /** the pod of each ordinal from start, in order */
  slots: (KubeObject | undefined)[];
  /** pods of ordinals beyond the replicas, highest first */
  condemned: KubeObject[];
  /** OrderedReady: one change at a time, each after the pods before it are healthy */
  monotonic: boolean;
  healthy(p: KubeObject): boolean;
}

/** the ordinal of a pod of the set, from its name; undefined when the name is not <set>-<n> */
export function ordinalOf(setName: string, podName: string): number | undefined {
  if (!podName.startsWith(`${setName}-`)) return undefined;
  const rest = podName.slice(setName.length + 1);
  return /^(0|[1-9]\d*)$/.test(rest) ? Number(rest) : undefined;
}

function runningAndReady(pod: KubeObject): boolean {
  return pod.status?.phase === 'Running' && isPodReady(pod);
}

function isCreated(pod: KubeObject): boolean {
  return !!pod.status?.phase;
}

function podRevision(pod: KubeObject): string | undefined {
  return pod.metadata.labels?.[REVISION_HASH_LABEL];
}

export class StatefulSetReconciler implements Reconciler {
  private readonly client: ApiClient;
  private readonly recorder: EventRecorder;
  private readonly sets: Informer;
  private readonly pods: Informer;
  private readonly revisions: Informer;
  private readonly now: () => number;

  constructor(ctx: ControllerContext) {
    this.client = ctx.client;
    this.recorder = ctx.recorder;
    this.sets = ctx.informers.informer(StatefulSets);
    this.pods = ctx.informers.informer(Pods);
    this.revisions = ctx.informers.informer(ControllerRevisions);
    this.now = ctx.now;
    addRevisionOwnerIndex(this.revisions);
  }

  async reconcile(key: string): Promise<Result | void> {
    const set = this.sets.get(key);
    if (!set || set.metadata.deletionTimestamp) return;
    const selector = labelSelectorFromObject(set.spec?.selector);
    if (selector.empty) {
      this.recorder.event(
        set,
        'Warning',
        'SelectingAll',
        'This statefulset is selecting all pods. A non-empty selector is required.',
      );
      return;
    }
    const { current, update, revisions } = await this.history(set);
    const name = set.metadata.name!;
    const replicas = set.spec?.replicas ?? 1;
    const minReady = set.spec?.minReadySeconds ?? 0;
    const pods = controlledBy(this.pods, set.metadata.uid!).filter(
      (p) => selector.matches(p.metadata.labels) && ordinalOf(name, p.metadata.name!) !== undefined,
    );

    const status = this.computeStatus(set, pods, current, update, replicas);
    await this.writeStatus(set, status);
    await this.pruneHistory(set, revisions, pods, current, update);

    // then the pods, in three steps; an ordered set (OrderedReady) ends the pass at its first change or wait
    const pass = this.plan(set, pods);
    const recheck = this.availabilityRecheck(pods, minReady);
    const revisionFor = (ordinal: number) => this.revisionFor(set, ordinal, status, current, update);
    if ((await this.ensureReplicas(pass, revisionFor)) || (await this.removeCondemned(pass))) return recheck;
    await this.rollOut(pass, update);
    return recheck;
  }

  /** the pods by ordinal slot (replicas from spec.ordinals.start), and the surplus ones, highest ordinal first */
  private plan(set: KubeObject, pods: KubeObject[]): Pass {
    const name = set.metadata.name!;
    const start = set.spec?.ordinals?.start ?? 0;
    const replicas = set.spec?.replicas ?? 1;
    const minReady = set.spec?.minReadySeconds ?? 0;
    const slots: (KubeObject | undefined)[] = new Array(replicas).fill(undefined);
    const condemned: KubeObject[] = [];
    for (const p of pods) {
      const ord = ordinalOf(name, p.metadata.name!)!;
      if (ord >= start && ord < start + replicas) slots[ord - start] = p;
      else condemned.push(p);
    }
    condemned.sort((a, b) => ordinalOf(name, b.metadata.name!)! - ordinalOf(name, a.metadata.name!)!);
    return {
      set,
      start,
      slots,
      condemned,
      monotonic: (set.spec?.podManagementPolicy ?? 'OrderedReady') !== 'Parallel',
      healthy: (p) => runningAndReady(p) && (!minReady || isPodAvailable(p, minReady, this.now())),
    };
  }

  /** step 1: replicas in ordinal order: finished pods replaced, missing ones created; true: the pass ends here */
  private async ensureReplicas(pass: Pass, revisionFor: (ordinal: number) => KubeObject): Promise<boolean> {
    const { set, start, slots, monotonic, healthy } = pass;
    for (let i = 0; i < slots.length; i++) {
      const ordinal = start + i;
      const pod = slots[i];
      if (
        pod &&
        (pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded') &&
        !pod.metadata.deletionTimestamp
      ) {
        await this.deletePod(set, pod);
        if (monotonic) return true;
        continue;
      }
      if (!pod) {
        await this.createPod(set, ordinal, revisionFor(ordinal));
        if (monotonic) return true;
        continue;
      }
      if (pod.metadata.deletionTimestamp && monotonic) return true;
      if (!healthy(pod) && monotonic) return true;
    }
    return false;
  }

  /** step 2: surplus pods, highest ordinal first; ordered, only once every other pod is healthy */
  private async removeCondemned(pass: Pass): Promise<boolean> {
    const { set, slots, condemned, monotonic, healthy } = pass;
    for (const pod of condemned) {
      if (pod.metadata.deletionTimestamp) {
        if (monotonic) return true;
        continue;
      }
      // ordered: only once every other pod is healthy (or this one is the first unhealthy)
      if (monotonic && !healthy(pod) && slots.some((p) => !p || !healthy(p))) return true;
      await this.deletePod(set, pod);
      if (monotonic) return true;
    }
    return false;
  }

  /** step 3, RollingUpdate: from the highest ordinal down to the partition, one pod of an old revision at a time */
  private async rollOut(pass: Pass, update: KubeObject): Promise<void> {
    const { set, start, slots, healthy } = pass;
    if ((set.spec?.updateStrategy?.type ?? 'RollingUpdate') !== 'RollingUpdate') return;
    const partition = set.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
    for (let i = slots.length - 1; i >= Math.max(partition - start, 0); i--) {
      const pod = slots[i];
      if (!pod) return;
      if (podRevision(pod) !== update.metadata.name && !pod.metadata.deletionTimestamp) {
        await this.deletePod(set, pod);
        return;
      }
      if (!healthy(pod) || pod.metadata.deletionTimestamp) return;
    }
  }

  /** which revision a new pod of this ordinal is made from: the current one below the partition */
  private revisionFor(
    set: KubeObject,
    ordinal: number,
    status: Record<string, unknown>,
    current: KubeObject,
    update: KubeObject,
  ): KubeObject {
    if ((set.spec?.updateStrategy?.type ?? 'RollingUpdate') !== 'RollingUpdate') return update;
    const partition = set.spec?.updateStrategy?.rollingUpdate?.partition;
    const start = set.spec?.ordinals?.start ?? 0;
    if (partition === undefined || partition === null)
      return ordinal - start < Number(status.currentReplicas ?? 0) ? current : update;
    return ordinal < partition ? current : update;
  }

  /** the pod of an ordinal, made from a revision's template */
  newPod(set: KubeObject, ordinal: number, revision: KubeObject): KubeObject {
    const template = structuredClone(revision.data?.spec?.template ?? set.spec?.template ?? {});
    delete template.$patch;
    const name = `${set.metadata.name}-${ordinal}`;
    const spec = template.spec ?? {};
    spec.hostname = name;
    if (set.spec?.serviceName) spec.subdomain = set.spec.serviceName;
    const metadata: KubeObject['metadata'] = {
      name,
      namespace: set.metadata.namespace,
      labels: {
        ...(template.metadata?.labels ?? {}),
        [POD_NAME_LABEL]: name,
        [POD_INDEX_LABEL]: String(ordinal),
        [REVISION_HASH_LABEL]: revision.metadata.name!,
      },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'StatefulSet',
          name: set.metadata.name!,
          uid: set.metadata.uid!,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    };
    if (template.metadata?.annotations) metadata.annotations = { ...template.metadata.annotations };
    return { apiVersion: 'v1', kind: 'Pod', metadata, spec };
  }

  private async createPod(set: KubeObject, ordinal: number, revision: KubeObject): Promise<void> {
    const pod = this.newPod(set, ordinal, revision);
    try {
      await this.client.create(Pods, pod);
      this.recorder.event(
        set,
        'Normal',
        'SuccessfulCreate',
        `create Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} successful`,
      );
    } catch (e) {
      // the cache has not seen it yet
      if (isAlreadyExists(e)) return;
      this.recorder.event(
        set,
        'Warning',
        'FailedCreate',
        `create Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${(e as Error).message}`,
      );
      throw e;
    }
  }

  private async deletePod(set: KubeObject, pod: KubeObject): Promise<void> {
    try {
      await this.client.delete(Pods, pod.metadata.namespace, pod.metadata.name!, {
        preconditions: { uid: pod.metadata.uid },
      });
      this.recorder.event(
        set,
        'Normal',
        'SuccessfulDelete',
        `delete Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} successful`,
      );
    } catch (e) {
      if (isNotFound(e) || isConflict(e)) return;
      this.recorder.event(
        set,
        'Warning',
        'FailedDelete',
        `delete Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${(e as Error).message}`,
      );
      throw e;
    }
  }

  /** the update revision (the current template's, created or renumbered as needed) and the current one */
  private async history(
    set: KubeObject,
  ): Promise<{ current: KubeObject; update: KubeObject; revisions: KubeObject[] }> {
    let revisions = ownedRevisions(this.revisions, set.metadata.uid!);
    const template = set.spec?.template ?? {};
    const max = maxRevision(revisions);
    let update = revisionOfTemplate(revisions, template);
    if (update && Number(update.revision ?? 0) < max) {
      update = await this.client.update(ControllerRevisions, { ...update, revision: max + 1 });
      revisions = revisions.map((r) => (r.metadata.name === update!.metadata.name ? update! : r));
    }
    if (!update) {
      const hash = templateHash(template, set.status?.collisionCount);
      const labels = { ...(template.metadata?.labels ?? {}), [REVISION_TEMPLATE_HASH_LABEL]: hash };
      const cr = newRevision(set, `${set.metadata.name}-${hash}`, labels, template, max + 1);
      try {
        update = await this.client.create(ControllerRevisions, cr);
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
        const other = await this.client.get<KubeObject>(ControllerRevisions, set.metadata.namespace, cr.metadata.name!);
        if (controllerOf(other)?.uid !== set.metadata.uid || !revisionOfTemplate([other], template)) {
          await this.client.update(
            StatefulSets,
            { ...set, status: { ...set.status, collisionCount: (set.status?.collisionCount ?? 0) + 1 } },
            { subresource: 'status' },
          );
          throw new Error(
            `statefulset ${keyOf(set)}: the ControllerRevision ${cr.metadata.name} exists with another template; collisionCount raised, trying again`,
            { cause: e },
          );
        }
        update = other;
      }
      revisions = [...revisions, update];
    }
    const current = revisions.find((r) => r.metadata.name === set.status?.currentRevision) ?? update;
    return { current, update, revisions };
  }

  private computeStatus(
    set: KubeObject,
    pods: KubeObject[],
    current: KubeObject,
    update: KubeObject,
    replicas: number,
  ): Record<string, unknown> {
    const minReady = set.spec?.minReadySeconds ?? 0;
    const now = this.now();
    let count = 0;
    let ready = 0;
    let available = 0;
    let currentReplicas = 0;
    let updated = 0;
    for (const p of pods) {
      if (isCreated(p)) count++;
      if (runningAndReady(p)) {
        ready++;
        if (isPodAvailable(p, minReady, now)) available++;
      }
      if (isCreated(p) && !p.metadata.deletionTimestamp) {
        if (podRevision(p) === current.metadata.name) currentReplicas++;
        if (podRevision(p) === update.metadata.name) updated++;
      }
    }
    let currentRevision = current.metadata.name!;
    // a finished rolling update: the update revision becomes the current one
    const rolling = (set.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
    if (rolling && updated === replicas && ready === replicas && count === replicas) {
      currentReplicas = updated;
      currentRevision = update.metadata.name!;
    }
    const status: Record<string, unknown> = { replicas: count, availableReplicas: available };
    if (set.metadata.generation !== undefined) status.observedGeneration = set.metadata.generation;
    if (ready) status.readyReplicas = ready;
    if (currentReplicas) status.currentReplicas = currentReplicas;
    if (updated) status.updatedReplicas = updated;
    status.currentRevision = currentRevision;
    status.updateRevision = update.metadata.name;
    status.collisionCount = set.status?.collisionCount ?? 0;
    if (set.status?.conditions) status.conditions = set.status.conditions;
    return status;
  }

  private async writeStatus(set: KubeObject, status: Record<string, unknown>): Promise<void> {
    if (sameStatus(set.status, status)) return;
    try {
      await this.client.update(StatefulSets, { ...set, status }, { subresource: 'status' });
    } catch (e) {
      if (isNotFound(e)) return;
      if (!isConflict(e)) throw e;
      const fresh = await this.client.get<KubeObject>(StatefulSets, set.metadata.namespace, set.metadata.name!);
      if (fresh.metadata.uid !== set.metadata.uid) return;
      await this.client.update(StatefulSets, { ...fresh, status }, { subresource: 'status' });
    }
  }

  /** old revisions beyond spec.revisionHistoryLimit (default 10) that neither the status nor a pod uses */
  private async pruneHistory(
    set: KubeObject,
    revisions: KubeObject[],
    pods: KubeObject[],
    current: KubeObject,
    update: KubeObject,
  ): Promise<void> {
    const live = new Set<string>([current.metadata.name!, update.metadata.name!]);
    for (const p of pods) {
      const r = podRevision(p);
      if (r) live.add(r);
    }
    for (const r of revisionsToPrune(revisions, live, set.spec?.revisionHistoryLimit ?? 10)) {
      try {
        await this.client.delete(ControllerRevisions, r.metadata.namespace, r.metadata.name!);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }

  private availabilityRecheck(pods: KubeObject[], minReady: number): Result | undefined {
    if (!minReady) return undefined;
    let soonest = Infinity;
    const now = this.now();
    for (const p of pods) {
      const ms = msUntilAvailable(p, minReady, now);
      if (ms > 0) soonest = Math.min(soonest, ms);
    }
    return soonest === Infinity ? undefined : { requeueAfterMs: soonest + 50 };
  }
}
